/**
 * Nextcloud Talk: what only it does — the signature over random + body, rich-object mentions,
 * one-to-one conversations told by the room API, replies signed over the message — and the
 * documentation's sample payloads through the shared webhook pipeline.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DEFAULT_ACCESS_POLICY } from '../../nodes/core/access-policy';
import type { WebhookRequest } from '../../nodes/core/channel';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery } from '../../nodes/core/webhook-delivery';
import { nextcloudTalkPlugin, readTalkContent, type NextcloudTalkCredential } from '../../nodes/NextcloudTalk/nextcloudTalk.plugin';
import { NextcloudTalkEmulator } from '../emulators/nextcloudTalk';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'nextcloudTalk', `${name}.json`), 'utf8')) as { source: string; payload: Record<string, unknown> };

/** Signed as the documentation's PHP sample checks it: hash_hmac('sha256', RANDOM . body, secret). */
function signedRequest(payload: unknown, secret: string): WebhookRequest {
	const rawBody = JSON.stringify(payload);
	const random = 'A'.repeat(32) + 'b'.repeat(32);
	const signature = createHmac('sha256', secret).update(random + rawBody).digest('hex');
	return { method: 'POST', headers: { 'content-type': 'application/json', 'x-nextcloud-talk-random': random, 'x-nextcloud-talk-signature': signature.toUpperCase() }, rawBody: Buffer.from(rawBody), body: payload, query: {}, url: 'https://n8n.example.com/webhook/x/webhook' };
}

const receive = (request: WebhookRequest, credential: NextcloudTalkCredential, policy = DEFAULT_ACCESS_POLICY) =>
	handleWebhookDelivery(nextcloudTalkPlugin, {
		request,
		context: { workflowId: 'w', nodeId: 'n', webhookId: 'h', options: {}, now: Date.parse('2026-12-04T12:00:00Z') },
		credentialFor: async (verifies) => ({ credential, verified: verifies(credential) }),
		policy,
		sessionScope: 'chat',
		recent: new RecentKeys(),
	});

describe('Nextcloud Talk', () => {
	const secret = 'a'.repeat(48);

	describe('recorded payloads (Talk bots documentation)', () => {
		test('the sample chat message, signed (upper-case hex is accepted as the PHP sample lower-cases it), is a conversation message with its mention written out', async () => {
			const { source, payload } = fixture('chat-message');
			expect(source).toBe('https://nextcloud-talk.readthedocs.io/en/latest/bots/');
			const outcome = await receive(signedRequest(payload, secret), { baseUrl: 'https://nextcloud.local', botSecret: secret }, { ...DEFAULT_ACCESS_POLICY, groupActivation: 'all' });
			expect(outcome).toMatchObject({
				kind: 'taken',
				envelopes: [
					{
						sessionId: 'nextcloudtalk:nextcloud.local:group:n3xtc10ud',
						chat: { id: 'n3xtc10ud', type: 'group', title: 'world' },
						sender: { id: 'users/ada-lovelace', name: 'Ada Lovelace', username: 'ada-lovelace', isBot: false },
						message: { id: '1567', text: 'hi @world !', mentionsBot: false },
					},
				],
			});
		});

		test('without an API user every conversation is a group: the unmentioned sample starts nothing under the default', async () => {
			const outcome = await receive(signedRequest(fixture('chat-message').payload, secret), { baseUrl: 'https://nextcloud.local', botSecret: secret });
			expect(outcome).toMatchObject({ kind: 'taken', envelopes: [] });
		});

		test('the bot being added to a conversation (Join) is acknowledged and starts nothing', async () => {
			const outcome = await receive(signedRequest(fixture('bot-added').payload, secret), { baseUrl: 'https://nextcloud.local', botSecret: secret });
			expect(outcome).toMatchObject({ kind: 'taken', envelopes: [], dropped: [expect.stringMatching(/"Join" activities are not messages/)] });
		});

		test('a body signed with another secret is refused 401', async () => {
			const outcome = await receive(signedRequest(fixture('chat-message').payload, 'b'.repeat(48)), { baseUrl: 'https://nextcloud.local', botSecret: secret });
			expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		});
	});

	test('a mention of the bot by name, as a rich object or typed, addresses it; a leading one is taken off', () => {
		const rich = JSON.stringify({ message: '{mention-user1} /new', parameters: { 'mention-user1': { type: 'user', id: 'Clawgate', name: 'Clawgate' } } });
		expect(readTalkContent(rich, 'Clawgate')).toEqual({ text: '/new', mentionsBot: true });
		expect(readTalkContent(JSON.stringify({ message: 'ask @clawgate later', parameters: [] }), 'Clawgate')).toEqual({ text: 'ask @clawgate later', mentionsBot: true });
		expect(readTalkContent(JSON.stringify({ message: 'mail @clawgatewatch', parameters: [] }), 'Clawgate')).toEqual({ text: 'mail @clawgatewatch', mentionsBot: false });
	});

	describe('against the emulator', () => {
		const talk = new NextcloudTalkEmulator();
		beforeAll(() => talk.start());
		afterAll(() => talk.stop());

		test('a one-to-one conversation (room type 1, asked with the API user) is a DM; the answer is signed over the message and quotes in groups only', async () => {
			const room = talk.newConversation('one-to-one');
			const activity = talk.message(room, { id: 'users/ada', name: 'Ada' }, 'hello');
			const { headers, rawBody } = talk.signedDelivery(activity);
			const request: WebhookRequest = { method: 'POST', headers, rawBody: Buffer.from(rawBody), body: activity, query: {}, url: '' };
			const outcome = await receive(request, talk.credential() as never);
			expect(outcome).toMatchObject({ kind: 'taken', envelopes: [{ chat: { id: room, type: 'dm' } }] });
			const client = nextcloudTalkPlugin.createClient(talk.credential() as never) as never;
			await nextcloudTalkPlugin.outbound.postMessage(client, { chatId: room, text: 'hi Ada', replyToId: null, threadId: null, linkPreviews: false, accountId: null });
			expect(talk.posted.at(-1)).toMatchObject({ conversation: room, message: 'hi Ada', replyTo: null, referenceId: expect.stringMatching(/^[0-9a-f]{64}$/) });
		});
	});
});
