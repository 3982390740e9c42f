/**
 * Synology Chat: what only it does — two integrations (chatbot and outgoing webhook) told apart
 * by their tokens, channel answers through the incoming webhook, and the documentation's field
 * lists through the shared webhook pipeline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DEFAULT_ACCESS_POLICY } from '../../nodes/core/access-policy';
import type { WebhookRequest } from '../../nodes/core/channel';
import { deliverText } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery } from '../../nodes/core/webhook-delivery';
import { createSynologyChatClient, synologyChatPlugin, type SynologyChatCredential } from '../../nodes/SynologyChat/synologyChat.plugin';
import { SynologyChatEmulator } from '../emulators/synologyChat';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'synologyChat', `${name}.json`), 'utf8')) as { source: string; payload: Record<string, string> };

function formRequest(fields: Record<string, string>): WebhookRequest {
	const rawBody = new URLSearchParams(fields).toString();
	return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: Buffer.from(rawBody), body: { ...fields }, query: {}, url: 'https://n8n.example.com/webhook/x/webhook' };
}

async function receive(fields: Record<string, string>, credential: SynologyChatCredential, policy = DEFAULT_ACCESS_POLICY) {
	let reads = 0;
	const outcome = await handleWebhookDelivery(synologyChatPlugin, {
		request: formRequest(fields),
		context: { workflowId: 'w', nodeId: 'n', webhookId: 'h', options: {}, now: Date.parse('2026-12-04T12:00:00Z') },
		credentialFor: async (verifies) => {
			reads++;
			return { credential, verified: verifies(credential) };
		},
		policy,
		sessionScope: 'chat',
		recent: new RecentKeys(),
	});
	return { outcome, reads };
}

describe('Synology Chat', () => {
	describe('recorded payloads (Synology Chat integration documentation)', () => {
		test("the chatbot's post is a DM from user_id, proven by the bot token, its token kept out of raw", async () => {
			const { source, payload } = fixture('chatbot-direct-message');
			expect(source).toMatch(/^https:\/\/kb\.synology\.com\//);
			const { outcome } = await receive(payload, { baseUrl: 'https://nas.example.com:5001', botToken: payload.token });
			expect(outcome).toMatchObject({
				kind: 'taken',
				envelopes: [
					{
						sessionId: 'synologychat:nas.example.com:5001:dm:4',
						chat: { id: '4', type: 'dm' },
						sender: { id: '4', username: 'ada', isBot: false },
						message: { id: '12884901911', text: 'hello bot', timestamp: '2023-11-14T22:15:00.456Z' },
					},
				],
			});
			expect(JSON.stringify(outcome.kind === 'taken' && outcome.envelopes)).not.toContain(payload.token);
		});

		test("an outgoing webhook's post with its trigger word is a channel message that addresses the bot, the word taken off", async () => {
			const { payload } = fixture('outgoing-webhook-trigger-word');
			const { outcome } = await receive(payload, { baseUrl: 'https://nas.example.com', outgoingToken: payload.token });
			expect(outcome).toMatchObject({ kind: 'taken', envelopes: [{ chat: { id: 'channel:3', type: 'group', title: 'general' }, message: { text: 'what is on the agenda?', mentionsBot: true } }] });
		});

		test("a post whose token is neither the credential's bot token nor its outgoing webhook token is refused 401", async () => {
			const { payload } = fixture('chatbot-direct-message');
			const { outcome } = await receive(payload, { baseUrl: 'https://nas.example.com', botToken: 'another-bot-token', outgoingToken: 'another-outgoing-token' });
			expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		});
	});

	test('a post without a token is refused before the credential is read', async () => {
		const fields: Record<string, string> = { ...fixture('chatbot-direct-message').payload };
		delete fields.token;
		const { outcome, reads } = await receive(fields, { baseUrl: 'https://nas.example.com', botToken: 'x' });
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(reads).toBe(0);
	});

	describe('sending', () => {
		const synology = new SynologyChatEmulator();
		beforeAll(() => synology.start());
		afterAll(() => synology.stop());

		test('an answer to a channel goes through the incoming webhook; without its token the error says what to set', async () => {
			const channel = `channel:${synology.incomingChannelId}`;
			await deliverText(synologyChatPlugin, createSynologyChatClient(synology.credential() as never), { chatId: channel, markdown: '**Lunch** at noon', replyToId: null, threadId: null, linkPreviews: false });
			expect(synology.textsTo(channel)).toEqual(['Lunch at noon']);
			const failure = await deliverText(synologyChatPlugin, createSynologyChatClient({ ...synology.credential(), incomingToken: '' } as never), { chatId: channel, markdown: 'x', replyToId: null, threadId: null, linkPreviews: false }).catch((error: Error) => error);
			expect((failure as Error).message).toMatch(/incoming webhook token/);
		});
	});
});
