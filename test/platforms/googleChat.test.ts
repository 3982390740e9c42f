/**
 * The Google Chat plugin through the shared webhook and send pipelines, against the Google Chat
 * emulator: Chat's bearer JWT (project-number tokens with X.509 certificates, app-URL ID tokens
 * with JWKS; every way they can be wrong → 401), events into envelopes, answers through the Chat
 * API with a service account token, and Google Chat's markup.
 */
import { generateKeyPairSync } from 'node:crypto';

import { DEFAULT_ACCESS_POLICY } from '../../nodes/core/access-policy';
import type { WebhookRequest } from '../../nodes/core/channel';
import type { Envelope } from '../../nodes/core/envelope';
import { replyTo } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { markdownToGoogleChat } from '../../nodes/GoogleChat/googleChat.format';
import { createGoogleChatClient, googleChatPlugin, type GoogleChatCredential } from '../../nodes/GoogleChat/googleChat.plugin';
import { GoogleChatEmulator } from '../emulators/googleChat';
import type { SignOptions } from '../emulators/teams';

type ChatSign = SignOptions & { oidc?: boolean; unsigned?: boolean; email?: string };

const chat = new GoogleChatEmulator();
let credential: GoogleChatCredential;

beforeAll(async () => {
	await chat.start();
	credential = chat.credential();
});
afterAll(() => chat.stop());

function deliver(event: unknown, sign: ChatSign = {}, held: GoogleChatCredential = credential): Promise<WebhookOutcome> {
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (!sign.unsigned) headers.authorization = `Bearer ${chat.token(sign)}`;
	const rawBody = JSON.stringify(event);
	const request: WebhookRequest = { method: 'POST', headers, rawBody: Buffer.from(rawBody), body: JSON.parse(rawBody), query: {}, url: 'https://n8n.example.com/webhook/gchat/webhook' };
	return handleWebhookDelivery(googleChatPlugin, {
		request,
		context: { workflowId: 'wf', nodeId: 'node', webhookId: 'gchat-test', options: {}, now: Date.now() },
		credentialFor: async (verifies) => ({ credential: held, verified: verifies(held) }),
		policy: DEFAULT_ACCESS_POLICY,
		sessionScope: 'chat',
		recent: new RecentKeys(),
	});
}

async function only(event: unknown): Promise<Envelope> {
	const outcome = await deliver(event);
	if (outcome.kind !== 'taken') throw new Error(`Expected the event to be taken, got ${outcome.kind}: ${outcome.reason}`);
	expect(outcome.envelopes).toHaveLength(1);
	return outcome.envelopes[0];
}

describe("Google Chat's bearer JWT", () => {
	test('a token from chat@system.gserviceaccount.com for the project number is taken', async () => {
		expect(await deliver(chat.message({ text: 'hi' }))).toMatchObject({ kind: 'taken', answer: { status: 200 } });
	});

	test("a Google ID token whose email is Chat's, for the app URL audience, is taken", async () => {
		const appUrl = 'https://n8n.example.com/webhook/gchat/webhook';
		expect(await deliver(chat.message({ text: 'hi' }), { oidc: true, aud: appUrl }, { ...credential, audience: appUrl })).toMatchObject({ kind: 'taken' });
	});

	test.each<[string, ChatSign]>([
		['expired', { expiresIn: -600 }],
		['for another project (wrong audience)', { aud: '999999999999' }],
		['from another issuer', { iss: 'attacker@evil.iam.gserviceaccount.com' }],
		['signed with an unknown key ID', { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }],
		["signed with another key under Google's key ID", { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, kid: chat.kid }],
		['with alg none', { alg: 'none' }],
		['with a tampered payload (audience swapped after signing)', { aud: '999999999999', tamper: { aud: chat.projectNumber } }],
		['an ID token of another Google account', { oidc: true, email: 'someone@gmail.com' }],
		['missing (no Authorization header)', { unsigned: true }],
	])('a token %s is refused 401 and starts nothing', async (_case, sign) => {
		expect(await deliver(chat.message({ text: 'forged' }), sign)).toMatchObject({ kind: 'forged', answer: { status: 401 } });
	});

	test('the certificates are fetched once and kept across requests and unknown key IDs', async () => {
		await deliver(chat.message({ text: 'warm' }));
		const fetches = () => chat.server.matching((request) => request.path.startsWith('/service_accounts/v1/metadata/x509/chat')).length;
		const before = fetches();
		for (let i = 0; i < 4; i++) await deliver(chat.message({ text: 'x' }), { privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey });
		await deliver(chat.message({ text: 'y' }));
		expect(fetches()).toBe(before);
	});
});

describe('events into envelopes', () => {
	test('a DM is a dm chat named by its space; the sender is users/…', async () => {
		const space = chat.newSpace('DM');
		const event = chat.message({ text: 'What is the capital of France?', space });
		const envelope = await only(event);
		expect(envelope).toMatchObject({
			channel: 'googlechat',
			via: 'googleChat',
			accountId: chat.projectNumber,
			chat: { id: space.name, type: 'dm', threadId: null },
			sender: { id: 'users/12345678901234567890', name: 'Ada Lovelace', isBot: false },
			message: { id: (event.message as { name: string }).name, text: 'What is the capital of France?' },
		});
	});

	test('a space message with an @mention of the app is emitted in its thread, its text without the mention', async () => {
		const space = chat.newSpace('ROOM');
		const event = chat.message({ text: '/new and then', space, mentionBot: true });
		const envelope = await only(event);
		expect(envelope.chat).toMatchObject({ id: space.name, type: 'group', threadId: ((event.message as Record<string, unknown>).thread as { name: string }).name });
		expect(envelope.message).toMatchObject({ text: '/new and then', mentionsBot: true, command: 'new' });
		expect(envelope.sessionId).toBe(`googlechat:${chat.projectNumber}:group:${space.name}:${envelope.chat.threadId}`);
	});

	test('a space message without a mention, another bot, ADDED_TO_SPACE and REMOVED_FROM_SPACE start nothing', async () => {
		expect(await deliver(chat.message({ text: 'chatting', space: chat.newSpace('ROOM') }))).toMatchObject({ kind: 'taken', envelopes: [] });
		expect(await deliver(chat.message({ text: 'beep', sender: { name: 'users/777', displayName: 'Bot', type: 'BOT' } }))).toMatchObject({ kind: 'taken', envelopes: [] });
		expect(await deliver(chat.spaceEvent('ADDED_TO_SPACE'))).toMatchObject({ kind: 'answered', answer: { status: 200 } });
		expect(await deliver(chat.spaceEvent('REMOVED_FROM_SPACE'))).toMatchObject({ kind: 'answered', answer: { status: 200 } });
	});

	test('a signed body that is no event is answered 400', async () => {
		expect(await deliver({ message: 'no type' })).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
	});
});

describe('answers through the Chat API', () => {
	test('an answer in a space goes to its thread (REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD) with a token fetched once', async () => {
		const client = createGoogleChatClient(credential);
		const tokensBefore = chat.issuedTokens.length;
		const space = chat.newSpace('ROOM');
		const envelope = await only(chat.message({ text: 'hi', space, mentionBot: true }));
		await replyTo(googleChatPlugin, client, { envelope, text: '**Yes**, see [docs](https://example.com)', quote: true, inThread: true, linkPreviews: false });
		await replyTo(googleChatPlugin, client, { envelope, text: 'again', quote: true, inThread: true, linkPreviews: false });
		expect(chat.posted.filter((message) => message.space === space.name)).toMatchObject([
			{ text: '*Yes*, see <https://example.com|docs>', thread: envelope.chat.threadId, messageReplyOption: 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD' },
			{ text: 'again', thread: envelope.chat.threadId },
		]);
		expect(chat.issuedTokens.length - tokensBefore).toBeLessThanOrEqual(1);
	});

	test('an edit replaces the text (PATCH updateMask=text); names that are not Chat names are refused without a call', async () => {
		const client = createGoogleChatClient(credential);
		const space = chat.newSpace('DM');
		const [name] = await googleChatPlugin.outbound.postMessage(client, { chatId: space.name, text: 'draft', replyToId: null, threadId: null, linkPreviews: false, accountId: null });
		await googleChatPlugin.outbound.editMessage!(client, { chatId: space.name, messageId: name, text: 'final', threadId: null });
		expect(chat.posted.find((message) => message.name === name)).toMatchObject({ text: 'final', edited: 1 });
		const before = chat.server.requests.length;
		await expect(googleChatPlugin.outbound.postMessage(client, { chatId: 'spaces/x/../../v1/other', text: 'x', replyToId: null, threadId: null, linkPreviews: false, accountId: null })).rejects.toThrow(/not a Google Chat space name/);
		expect(chat.server.requests.length).toBe(before);
	});

	test('a service account Google does not know fails in words that point at the credential, never carrying the key', async () => {
		const other = JSON.parse(new GoogleChatEmulator().serviceAccountJson());
		const envelope = await only(chat.message({ text: 'hi' }));
		const failure = await replyTo(googleChatPlugin, createGoogleChatClient({ ...credential, serviceAccountJson: JSON.stringify(other) }), { envelope, text: 'x', quote: false, inThread: true, linkPreviews: false }).catch((error: Error) => error);
		expect((failure as Error).message).toMatch(/Service Account JSON/);
		expect((failure as Error).message).not.toContain(other.private_key.slice(40, 80));
	});
});

describe("Google Chat's markup", () => {
	test.each([
		['**bold** and *italic* and ~~gone~~', '*bold* and _italic_ and ~gone~'],
		['`code` and a [link](https://example.com/a|b)', '`code` and a <https://example.com/a%7Cb|link>'],
		['# Title\n\n- one\n- two', '*Title*\n\n• one\n• two'],
		['```js\nconst a = 1;\n```', '```\nconst a = 1;\n```'],
		['hi <users/all> and a < b', 'hi ‹users/all> and a < b'],
		['[click](javascript:alert(1))', 'click (javascript:alert(1))'],
	])('%j shows as %j', (markdown, expected) => {
		expect(markdownToGoogleChat(markdown)).toBe(expected);
	});
});
