/**
 * The Microsoft Teams plugin through the shared webhook and send pipelines, against the Teams
 * emulator: the Bot Connector's JWT (every way it can be wrong → 401), activities into envelopes
 * (personal, group chat, channel mentions), and answers through the serviceUrl with a cached bot token.
 */
import { generateKeyPairSync } from 'node:crypto';

import { DEFAULT_ACCESS_POLICY, type AccessPolicy } from '../../nodes/core/access-policy';
import type { WebhookRequest } from '../../nodes/core/channel';
import type { Envelope } from '../../nodes/core/envelope';
import { deliverText, replyTo } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { createTeamsClient, teamsPlugin, type TeamsCredential } from '../../nodes/Teams/teams.plugin';
import { TeamsEmulator, type SignOptions } from '../emulators/teams';

const teams = new TeamsEmulator();
let credential: TeamsCredential;

beforeAll(async () => {
	await teams.start();
	credential = teams.credential();
});
afterAll(() => teams.stop());

function deliver(activity: unknown, sign: SignOptions & { unsigned?: boolean } = {}, policy: Partial<AccessPolicy> = {}, recent = new RecentKeys()): Promise<WebhookOutcome> {
	const { headers, rawBody } = teams.signedDelivery(activity, sign);
	const request: WebhookRequest = { method: 'POST', headers, rawBody: Buffer.from(rawBody), body: JSON.parse(rawBody), query: {}, url: 'https://n8n.example.com/webhook/teams/webhook' };
	return handleWebhookDelivery(teamsPlugin, {
		request,
		context: { workflowId: 'wf', nodeId: 'node', webhookId: 'teams-test', options: {}, now: Date.now() },
		credentialFor: async (verifies) => ({ credential, verified: verifies(credential) }),
		policy: { ...DEFAULT_ACCESS_POLICY, ...policy },
		sessionScope: 'chat',
		recent,
	});
}

async function only(activity: unknown): Promise<Envelope> {
	const outcome = await deliver(activity);
	if (outcome.kind !== 'taken') throw new Error(`Expected the activity to be taken, got ${outcome.kind}: ${outcome.reason}`);
	expect(outcome.envelopes).toHaveLength(1);
	return outcome.envelopes[0];
}

const keyFetches = () => teams.calls('/v1/.well-known/keys').length;

describe("the Bot Connector's JWT", () => {
	test('a token signed by the emulator for this app is taken', async () => {
		expect(await deliver(teams.activity({ text: 'hi' }))).toMatchObject({ kind: 'taken', answer: { status: 200 } });
	});

	test.each<[string, SignOptions & { unsigned?: boolean }]>([
		['expired (past the 5-minute clock skew)', { expiresIn: -600 }],
		['for another app (wrong audience)', { aud: '11111111-2222-3333-4444-555555555555' }],
		['from another issuer', { iss: 'https://login.microsoftonline.com/attacker/v2.0' }],
		['not valid yet (nbf in 10 minutes)', { notBefore: Math.floor(Date.now() / 1000) + 600 }],
		['signed with an unknown key ID', { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }],
		["signed with another key under the emulator's key ID", { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, kid: teams.kid }],
		['with alg none', { alg: 'none' }],
		['with alg HS256', { alg: 'HS256' }],
		['with a tampered payload (audience swapped after signing)', { aud: 'other-app', tamper: { aud: teams.appId } }],
		['issued for another serviceUrl', { serviceUrl: 'https://attacker.example.com/' }],
		['missing (no Authorization header)', { unsigned: true }],
	])('a token %s is refused 401 and starts nothing', async (_case, sign) => {
		const outcome = await deliver(teams.activity({ text: 'forged' }), sign);
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
	});

	test('the keys are fetched once and kept; unknown key IDs do not make the bot fetch again within the cooldown', async () => {
		await deliver(teams.activity({ text: 'warm' }));
		const before = keyFetches();
		for (let i = 0; i < 5; i++) await deliver(teams.activity({ text: 'rotate?' }), { privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey });
		for (let i = 0; i < 3; i++) await deliver(teams.activity({ text: 'fine' }));
		expect(keyFetches()).toBe(before);
	});

	test('when the signing keys cannot be fetched, the request fails (n8n answers 500 and the Bot Connector retries) and is not taken', async () => {
		const { headers, rawBody } = teams.signedDelivery(teams.activity({ text: 'hi' }));
		const unreachable = { ...credential, baseUrl: 'http://127.0.0.1:9' };
		const delivery = handleWebhookDelivery(teamsPlugin, {
			request: { method: 'POST', headers, rawBody: Buffer.from(rawBody), body: JSON.parse(rawBody), query: {}, url: 'https://n8n.example.com/webhook/teams/webhook' },
			context: { workflowId: 'wf', nodeId: 'node', webhookId: 'teams-unreachable', options: {}, now: Date.now() },
			credentialFor: async (verifies) => ({ credential: unreachable, verified: verifies(unreachable) }),
			policy: DEFAULT_ACCESS_POLICY,
			sessionScope: 'chat',
			recent: new RecentKeys(),
		});
		await expect(delivery).rejects.toThrow();
	});

	test('a signed body that is no activity is answered 400', async () => {
		expect(await deliver({ text: 'no type' })).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
	});
});

describe('activities into envelopes', () => {
	test('a personal chat is a DM: the conversation, the sender, the text, the activity as raw', async () => {
		const activity = teams.activity({ text: 'What is the capital of France?' });
		const envelope = await only(activity);
		expect(envelope).toMatchObject({
			channel: 'teams',
			via: 'teams',
			accountId: teams.appId,
			chat: { id: (activity.conversation as { id: string }).id, type: 'dm', threadId: null },
			sender: { id: '29:1ada', name: 'Ada Lovelace', isBot: false },
			message: { id: activity.id, text: 'What is the capital of France?', mentionsBot: false },
		});
		expect((envelope.raw as { serviceUrl: string }).serviceUrl).toBe(teams.serviceUrl);
	});

	test('a group chat message without a mention starts nothing; with one it is emitted without the <at> text', async () => {
		const plain = await deliver(teams.activity({ text: 'just chatting', conversationType: 'groupChat' }));
		expect(plain).toMatchObject({ kind: 'taken', envelopes: [] });
		const envelope = await only(teams.activity({ text: '/new please', conversationType: 'groupChat', mentionBot: true }));
		expect(envelope.chat.type).toBe('group');
		expect(envelope.message).toMatchObject({ text: '/new please', mentionsBot: true, command: 'new' });
	});

	test('a channel mention is a "channel" chat in its reply chain; Allowed Chats may name the channel itself', async () => {
		const activity = teams.activity({ text: 'status?', conversationType: 'channel', mentionBot: true });
		const channelId = String((activity.conversation as { id: string }).id).split(';')[0];
		const outcome = await deliver(activity, {}, { allowedChatIds: [channelId] });
		expect(outcome).toMatchObject({ kind: 'taken', envelopes: [{ chat: { type: 'channel' }, message: { text: 'status?' } }] });
	});

	test('the bot\'s own activity and conversationUpdate start nothing', async () => {
		expect(await deliver(teams.ownActivity('echo'))).toMatchObject({ kind: 'taken', envelopes: [] });
		expect(await deliver(teams.conversationUpdate())).toMatchObject({ kind: 'taken', envelopes: [] });
	});

	test('with Allowed Tenants, people of other Microsoft 365 organisations start nothing', async () => {
		const handled = async (tenants: string) => {
			const { headers, rawBody } = teams.signedDelivery(teams.activity({ text: 'hi' }));
			return await handleWebhookDelivery(teamsPlugin, {
				request: { method: 'POST', headers, rawBody: Buffer.from(rawBody), body: JSON.parse(rawBody), query: {}, url: 'https://n8n.example.com/webhook/teams/webhook' },
				context: { workflowId: 'wf', nodeId: 'node', webhookId: 'teams-tenants', options: { allowedTenants: tenants }, now: Date.now() },
				credentialFor: async (verifies) => ({ credential, verified: verifies(credential) }),
				policy: DEFAULT_ACCESS_POLICY,
				sessionScope: 'chat',
				recent: new RecentKeys(),
			});
		};
		expect(await handled('00000000-0000-0000-0000-000000000001')).toMatchObject({ kind: 'taken', envelopes: [], dropped: [expect.stringMatching(/Allowed Tenants/)] });
		expect(await handled(`00000000-0000-0000-0000-000000000001, ${teams.tenantId.toUpperCase()}`)).toMatchObject({ kind: 'taken', envelopes: [expect.anything()] });
	});

	test('the same activity delivered twice is emitted once', async () => {
		const recent = new RecentKeys();
		const activity = teams.activity({ text: 'twice' });
		expect(await deliver(activity, {}, {}, recent)).toMatchObject({ envelopes: [expect.anything()] });
		expect(await deliver(activity, {}, {}, recent)).toMatchObject({ kind: 'taken', envelopes: [] });
	});
});

describe('answers through the Bot Connector', () => {
	test('a reply goes to the activity\'s serviceUrl with a bot token, which is fetched once for many sends', async () => {
		const client = createTeamsClient(credential);
		const tokensBefore = teams.issuedTokens.length;
		const envelope = await only(teams.activity({ text: 'hi', conversationType: 'groupChat', mentionBot: true }));
		await replyTo(teamsPlugin, client, { envelope, text: '**bold** answer', quote: true, inThread: true, linkPreviews: false });
		await replyTo(teamsPlugin, client, { envelope, text: 'second', quote: false, inThread: true, linkPreviews: false });
		expect(teams.textsTo(envelope.chat.id)).toEqual(['**bold** answer', 'second']);
		// In groups the first answer replies to the activity (POST .../activities/{id}).
		expect(teams.posted.filter((activity) => activity.conversationId === envelope.chat.id).map((activity) => activity.replyToId)).toEqual([envelope.message.id, null]);
		expect(teams.issuedTokens.length - tokensBefore).toBeLessThanOrEqual(1);
	});

	test('edits replace the text (PUT) and typing posts a typing activity', async () => {
		const client = createTeamsClient(credential);
		const envelope = await only(teams.activity({ text: 'hi' }));
		const target = teamsPlugin.outbound.replyTarget!(envelope, true);
		const sent = await deliverText(teamsPlugin, client, { ...target, markdown: 'draft', replyToId: null, linkPreviews: false });
		await teamsPlugin.outbound.editMessage!(client, { chatId: target.chatId, messageId: sent.messageIds[0], text: 'final', threadId: null });
		await teamsPlugin.outbound.sendTyping!(client, target);
		expect(teams.posted.find((activity) => activity.id === sent.messageIds[0])).toMatchObject({ text: 'final', edited: 1 });
		expect(teams.typing).toContain(envelope.chat.id);
	});

	test('without a Base URL the bot token goes only to Teams service hosts over https', async () => {
		const client = createTeamsClient({ ...credential, baseUrl: '' });
		const before = teams.server.requests.length;
		for (const chatId of [`${teams.serviceUrl}|a:1x`, 'https://attacker.example.com/|a:1x', 'https://smba.trafficmanager.net.attacker.example/|a:1x']) {
			await expect(deliverText(teamsPlugin, client, { chatId, threadId: null, markdown: 'secret?', replyToId: null, linkPreviews: false })).rejects.toThrow(/not a Microsoft Teams service/);
		}
		expect(teams.server.requests.length).toBe(before);
	});

	test('a wrong app password fails in words that point at the credential, never carrying the password', async () => {
		const wrong = { ...credential, appPassword: 'not-the-password-0123456789' };
		const envelope = await only(teams.activity({ text: 'hi' }));
		const failure = await replyTo(teamsPlugin, createTeamsClient(wrong), { envelope, text: 'x', quote: false, inThread: true, linkPreviews: false }).catch((error: Error) => error);
		expect((failure as Error).message).toMatch(/App ID and App Password/);
		expect((failure as Error).message).not.toContain(wrong.appPassword);
	});
});
