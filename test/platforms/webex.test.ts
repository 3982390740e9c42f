/**
 * The Webex plugin through the shared webhook pipeline and the shared send pipeline, against the
 * Webex emulator (signed notifications in, the message fetched by ID, REST calls out), plus the
 * recorded payloads copied from Webex's documentation.
 */
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { DEFAULT_ACCESS_POLICY, type AccessPolicy } from '../../nodes/core/access-policy';
import type { WebhookRequest } from '../../nodes/core/channel';
import type { Envelope, SessionScope } from '../../nodes/core/envelope';
import { deliverText } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { createWebexClient, type WebexCredential } from '../../nodes/Webex/webex.api';
import { webexPlugin, webexWebhookSecret } from '../../nodes/Webex/webex.plugin';
import { WebexEmulator, type WebexDeliveryOptions } from '../emulators/webex';

const webex = new WebexEmulator();
let credential: WebexCredential;
const HOOK = { workflowId: 'wf', nodeId: 'node', webhookId: 'webex-test' };

beforeAll(async () => {
	await webex.start();
	credential = { botToken: webex.token, webhookSecret: '', baseUrl: webex.apiUrl };
});
afterAll(() => webex.stop());

interface DeliverSettings {
	recent?: RecentKeys;
	policy?: Partial<AccessPolicy>;
	sessionScope?: SessionScope;
	reads?: { count: number };
	credential?: WebexCredential;
}

function requestOf(headers: Record<string, string>, rawBody: string): WebhookRequest {
	let body: unknown = {};
	try {
		body = JSON.parse(rawBody);
	} catch {
		body = {};
	}
	return { method: 'POST', headers, rawBody: Buffer.from(rawBody), body, query: {}, url: 'https://n8n.example.com/webhook/webex-test/webhook' };
}

function deliverRequest(request: WebhookRequest, settings: DeliverSettings = {}): Promise<WebhookOutcome> {
	return handleWebhookDelivery(webexPlugin, {
		request,
		context: { ...HOOK, options: {}, now: Date.now() },
		async credentialFor(verifies) {
			if (settings.reads) settings.reads.count++;
			const held = settings.credential ?? credential;
			return { credential: held, verified: verifies(held) };
		},
		policy: { ...DEFAULT_ACCESS_POLICY, ...settings.policy },
		sessionScope: settings.sessionScope ?? 'chat',
		recent: settings.recent ?? new RecentKeys(),
	});
}

/** Signed with the secret the trigger gave Webex: derived from the bot token and the trigger node. */
function deliver(notification: unknown, settings: DeliverSettings = {}, options: WebexDeliveryOptions = {}): Promise<WebhookOutcome> {
	const { headers, rawBody } = webex.signedDelivery(notification, webexWebhookSecret(settings.credential ?? credential, HOOK), options);
	return deliverRequest(requestOf(headers, rawBody), settings);
}

function envelopesOf(outcome: WebhookOutcome): Envelope[] {
	if (outcome.kind !== 'taken') throw new Error(`Expected the delivery to be taken, got ${outcome.kind}: ${outcome.reason}`);
	return outcome.envelopes;
}

async function only(notification: unknown, settings: DeliverSettings = {}): Promise<Envelope> {
	const envelopes = envelopesOf(await deliver(notification, settings));
	expect(envelopes).toHaveLength(1);
	return envelopes[0];
}

const fetches = () => webex.calls('GET /v1/messages/').length;

describe('Webex webhooks: proof of origin', () => {
	test('a notification signed with the derived secret is taken and acknowledged 200', async () => {
		const ada = webex.newPerson();
		expect(await deliver(webex.post({ from: ada, room: webex.directRoom(ada), text: 'hi' }))).toMatchObject({ kind: 'taken', answer: { status: 200 } });
	});

	test('the secret differs per trigger node and bot, and the credential\'s Webhook Secret replaces it when set', () => {
		const derived = webexWebhookSecret(credential, HOOK);
		expect(derived).not.toBe(webexWebhookSecret(credential, { ...HOOK, webhookId: 'other' }));
		expect(derived).not.toBe(webexWebhookSecret({ ...credential, botToken: 'another-bot' }, HOOK));
		expect(derived).not.toContain(webex.token);
		expect(webexWebhookSecret({ ...credential, webhookSecret: ' chosen-secret ' }, HOOK)).toBe('chosen-secret');
	});

	test('with a Webhook Secret in the credential, that secret verifies and the derived one does not', async () => {
		const ada = webex.newPerson();
		const chosen = { ...credential, webhookSecret: 'a-secret-of-my-choosing' };
		const notification = webex.post({ from: ada, room: webex.directRoom(ada), text: 'hi' });
		expect(await deliver(notification, { credential: chosen })).toMatchObject({ kind: 'taken' });
		expect(await deliver(notification, { credential: chosen }, { secret: webexWebhookSecret(credential, HOOK) })).toMatchObject({ kind: 'forged' });
	});

	test('a forged notification is refused 401 and reads no message', async () => {
		const ada = webex.newPerson();
		const before = fetches();
		const outcome = await deliver(webex.post({ from: ada, room: webex.directRoom(ada), text: 'forged' }), {}, { secret: 'not-the-secret' });
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(fetches()).toBe(before);
	});

	test('an unsigned request is refused 401 without reading the credential', async () => {
		const reads = { count: 0 };
		const ada = webex.newPerson();
		expect(await deliver(webex.post({ from: ada, room: webex.directRoom(ada), text: 'x' }), { reads }, { unsigned: true })).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(reads.count).toBe(0);
	});

	test('a body changed after signing is refused 401', async () => {
		const ada = webex.newPerson();
		const notification = webex.post({ from: ada, room: webex.directRoom(ada), text: 'x' });
		expect(await deliver(notification, {}, { bodyOverride: JSON.stringify(notification).replace('"messages"', '"rooms"') })).toMatchObject({ kind: 'forged' });
	});
});

describe('Webex webhooks: malformed and not messages', () => {
	test.each([
		['not JSON', 'this is not json'],
		['no data', JSON.stringify({ resource: 'messages', event: 'created' })],
		['a message without an ID', JSON.stringify({ resource: 'messages', event: 'created', data: { roomId: 'r' } })],
	])('a signed body with %s is answered 400', async (_name, rawBody) => {
		const headers = { 'content-type': 'application/json', 'x-spark-signature': createHmac('sha1', webexWebhookSecret(credential, HOOK)).update(rawBody).digest('hex') };
		expect(await deliverRequest(requestOf(headers, rawBody))).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
	});

	test('memberships and deleted messages start nothing and read nothing', async () => {
		const ada = webex.newPerson();
		const message = webex.messages.get(String((webex.post({ from: ada, room: webex.directRoom(ada), text: 'x' }).data as { id: string }).id))!;
		const before = fetches();
		for (const [resource, event] of [['memberships', 'created'], ['messages', 'deleted']]) {
			const outcome = await deliver(webex.notification(message, resource, event));
			expect(envelopesOf(outcome)).toEqual([]);
			expect(outcome.kind === 'taken' && outcome.dropped[0]).toMatch(new RegExp(`"${resource}:${event}" webhooks are not new messages`));
		}
		expect(fetches()).toBe(before);
	});

	test("the bot's own post starts nothing and is not fetched", async () => {
		const ada = webex.newPerson();
		const before = fetches();
		const outcome = await deliver(webex.post({ from: webex.bot, room: webex.directRoom(ada), text: 'my own answer' }), { policy: { includeBots: true } });
		expect(envelopesOf(outcome)).toEqual([]);
		expect(outcome.kind === 'taken' && outcome.dropped[0]).toMatch(/the bot sent it itself/);
		expect(fetches()).toBe(before);
	});

	test('another bot is dropped before the fetch, and emitted as a bot with Include Other Bots', async () => {
		const deploy = webex.newPerson('Deploy', 'deploy@webex.bot');
		const before = fetches();
		expect(envelopesOf(await deliver(webex.post({ from: deploy, room: webex.directRoom(deploy), text: 'deployed' })))).toEqual([]);
		expect(fetches()).toBe(before);
		const envelope = await only(webex.post({ from: deploy, room: webex.directRoom(deploy), text: 'deployed' }), { policy: { includeBots: true } });
		expect(envelope.sender).toMatchObject({ id: deploy.id, username: 'deploy@webex.bot', isBot: true });
	});

	test('a message deleted before it could be read starts nothing', async () => {
		const ada = webex.newPerson();
		const notification = webex.post({ from: ada, room: webex.directRoom(ada), text: 'oops' });
		webex.messages.delete(String((notification.data as { id: string }).id));
		const outcome = await deliver(notification);
		expect(envelopesOf(outcome)).toEqual([]);
		expect(outcome.kind === 'taken' && outcome.dropped[0]).toMatch(/deleted before it could be read/);
	});
});

describe('Webex webhooks: messages', () => {
	test('a direct message becomes a dm envelope of the room, with the text read from the API', async () => {
		const ada = webex.newPerson('Ada Lovelace');
		const room = webex.directRoom(ada);
		const notification = webex.post({ from: ada, room, text: 'hello Webex' });
		expect(JSON.stringify(notification)).not.toContain('hello Webex');
		const envelope = await only(notification);
		const message = webex.messages.get(String((notification.data as { id: string }).id))!;
		const { raw, ...fields } = envelope;
		expect(fields).toEqual({
			sessionId: `webex:${webex.bot.id}:dm:${room.id}`,
			channel: 'webex',
			via: 'webex',
			accountId: webex.bot.id,
			event: 'message',
			chat: { id: room.id, type: 'dm', threadId: null, title: null },
			sender: { id: ada.id, name: null, username: ada.email, isBot: false },
			message: { id: message.id, text: 'hello Webex', replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: message.created },
		});
		expect(raw).toEqual({ webhook: notification, message });
	});

	test('a space message without a mention starts nothing (React To: mentions)', async () => {
		const outcome = await deliver(webex.post({ from: webex.newPerson(), room: webex.newGroupRoom(), text: 'just chatting' }));
		expect(envelopesOf(outcome)).toEqual([]);
		expect(outcome.kind === 'taken' && outcome.dropped[0]).toMatch(/neither mentions nor replies/);
	});

	test('a mention is a group message addressed to the bot, without the bot\'s name in front', async () => {
		const room = webex.newGroupRoom();
		const envelope = await only(webex.post({ from: webex.newPerson(), room, text: 'what is new?', mentionBot: true }));
		expect(envelope).toMatchObject({ chat: { id: room.id, type: 'group' }, message: { text: 'what is new?', mentionsBot: true } });
	});

	test('"@Clawgate /new" in a space is the command new', async () => {
		expect((await only(webex.post({ from: webex.newPerson(), room: webex.newGroupRoom(), text: '/new', mentionBot: true }))).message).toMatchObject({ text: '/new', command: 'new' });
	});

	test('a message in a thread carries the thread in chat.threadId and its session', async () => {
		const room = webex.newGroupRoom();
		const ada = webex.newPerson();
		const root = webex.post({ from: ada, room, text: 'kick-off' });
		const rootId = String((root.data as { id: string }).id);
		const envelope = await only(webex.post({ from: ada, room, text: 'and now?', mentionBot: true, parentId: rootId }));
		expect(envelope.chat.threadId).toBe(rootId);
		expect(envelope.sessionId).toBe(`webex:${webex.bot.id}:group:${room.id}:${rootId}`);
	});

	test('files are attachments by URL', async () => {
		const ada = webex.newPerson();
		const envelope = await only(webex.post({ from: ada, room: webex.directRoom(ada), text: 'see attached', files: ['https://webexapis.com/v1/contents/Y2lz1'] }));
		expect(envelope.message.attachments).toEqual([{ kind: 'document', id: 'https://webexapis.com/v1/contents/Y2lz1', mimeType: null, name: null, size: null }]);
	});

	test('a notification delivered twice makes one envelope', async () => {
		const recent = new RecentKeys();
		const ada = webex.newPerson();
		const notification = webex.post({ from: ada, room: webex.directRoom(ada), text: 'once' });
		expect(envelopesOf(await deliver(notification, { recent }))).toHaveLength(1);
		expect(envelopesOf(await deliver(notification, { recent }))).toEqual([]);
	});

	test('per-user sessions split a space', async () => {
		const room = webex.newGroupRoom();
		const ada = webex.newPerson();
		const envelope = await only(webex.post({ from: ada, room, text: 'mine', mentionBot: true }), { sessionScope: 'user' });
		expect(envelope.sessionId).toBe(`webex:${webex.bot.id}:group:${room.id}:user:${ada.id}`);
	});
});

describe('Webex: reading the message is capped and timed', () => {
	let server: Server;
	let base = '';
	const botId = 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ib3Q';

	beforeAll(async () => {
		// A Webex that answers the message fetch with far more than a message can hold.
		server = createServer((request, response) => {
			// Holds this one request open, as a Webex that hangs would.
			if (request.url === '/v1/messages/never-answered') return;
			response.writeHead(200, { 'content-type': 'application/json' });
			if (request.url === '/v1/people/me') return void response.end(JSON.stringify({ id: botId, displayName: 'Bot' }));
			response.end(JSON.stringify({ id: 'm', roomId: 'r', personId: 'p', text: 'x'.repeat(2 * 1024 * 1024) }));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(() => {
		server.closeAllConnections();
		return new Promise<void>((resolve) => server.close(() => resolve()));
	});

	test('a Webex that does not answer the fetch within 10 seconds fails the request instead of holding it', async () => {
		const held = { botToken: 'token-of-the-silent-test', webhookSecret: '', baseUrl: base };
		const rawBody = JSON.stringify({ resource: 'messages', event: 'created', data: { id: 'never-answered', roomId: 'r', personId: 'p', personEmail: 'ada@example.com' } });
		const headers = { 'content-type': 'application/json', 'x-spark-signature': createHmac('sha1', webexWebhookSecret(held, HOOK)).update(rawBody).digest('hex') };
		const started = Date.now();
		await expect(deliverRequest(requestOf(headers, rawBody), { credential: held })).rejects.toThrow(/Could not reach the Webex API to read the message .*TimeoutError/);
		expect(Date.now() - started).toBeGreaterThanOrEqual(9_500);
		expect(Date.now() - started).toBeLessThan(15_000);
	}, 30_000);

	test('an answer larger than 512 KB is refused, not read whole', async () => {
		const held = { botToken: 'token-of-the-capped-test', webhookSecret: '', baseUrl: base };
		const rawBody = JSON.stringify({ resource: 'messages', event: 'created', data: { id: 'm', roomId: 'r', personId: 'p', personEmail: 'ada@example.com', roomType: 'direct' } });
		const headers = { 'content-type': 'application/json', 'x-spark-signature': createHmac('sha1', webexWebhookSecret(held, HOOK)).update(rawBody).digest('hex') };
		await expect(deliverRequest(requestOf(headers, rawBody), { credential: held })).rejects.toThrow(/more than 512 KB/);
	});
});

describe('Webex outbound', () => {
	const client = () => createWebexClient(credential);
	const send = (chatId: string, markdown: string, threadId: string | null = null) => deliverText(webexPlugin, client(), { chatId, markdown, replyToId: null, threadId, linkPreviews: false });

	test('an answer is posted as Markdown to the room, returning its ID', async () => {
		const room = webex.directRoom(webex.newPerson());
		const sent = await send(room.id, 'Hello **there**, see [docs](https://developer.webex.com)');
		expect(webex.posted.at(-1)).toMatchObject({ roomId: room.id, markdown: 'Hello **there**, see [docs](https://developer.webex.com)' });
		expect(sent).toEqual({ chatId: room.id, messageIds: [webex.posted.at(-1)!.id], threadId: null });
	});

	test('an answer in a thread is posted with the thread as parentId', async () => {
		const room = webex.newGroupRoom();
		const root = String((webex.post({ from: webex.newPerson(), room, text: 'root' }).data as { id: string }).id);
		await send(room.id, 'in the thread', root);
		expect(webex.posted.at(-1)).toMatchObject({ roomId: room.id, parentId: root });
	});

	test('the limit is 7,439 bytes: a long answer in a script of three bytes a letter is split to fit', async () => {
		const room = webex.newGroupRoom();
		const sentence = '日本語の文章はとても長くなることがあります。';
		await send(room.id, sentence.repeat(600));
		const texts = webex.textsTo(room.id);
		expect(texts.length).toBeGreaterThan(3);
		for (const text of texts) expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(7439);
		expect(texts.join('')).toBe(sentence.repeat(600));
	});

	test('a 429 with Retry-After is waited out and the message is posted once', async () => {
		const room = webex.directRoom(webex.newPerson());
		webex.fail({ route: 'POST /v1/messages', rateLimitSeconds: 1 });
		const started = Date.now();
		await send(room.id, 'after the wait');
		expect(Date.now() - started).toBeGreaterThanOrEqual(950);
		expect(webex.textsTo(room.id)).toEqual(['after the wait']);
	});

	test('a wrong bot token is reported as such, without the token', async () => {
		const wrong = createWebexClient({ ...credential, botToken: 'wrong-token-456' });
		const failure = deliverText(webexPlugin, wrong, { chatId: webex.newGroupRoom().id, markdown: 'hi', replyToId: null, threadId: null, linkPreviews: false });
		await expect(failure).rejects.toThrow(/Webex rejected the bot access token \(401\).*Clawgate Webex credential/);
		await expect(failure).rejects.not.toThrow(/wrong-token-456/);
	});

	test('a room the bot is not in is refused with advice about the chat ID', async () => {
		await expect(send('Y2lzY29zcGFyazovL3VzL1JPT00vbm9uZQ', 'hi')).rejects.toThrow(/Webex refused to send a message \(404: Could not find a room with provided ID\.\)\. Check the chat ID/);
	});

	test("the account of a credential is the bot's person ID", async () => {
		expect(await webexPlugin.accountOf(credential, client())).toBe(webex.bot.id);
	});
});

describe('Webex webhook registration', () => {
	const context = { ...HOOK, options: {}, now: Date.now() };
	const url = 'https://n8n.example.com/webhook/webex-test/webhook';

	test('activation registers one messages:created webhook for the URL with the derived secret; activating again replaces it', async () => {
		await webexPlugin.webhook!.register!(credential, url, context);
		await webexPlugin.webhook!.register!(credential, url, context);
		const mine = webex.webhooks.filter((webhook) => webhook.targetUrl === url);
		expect(mine).toHaveLength(1);
		expect(mine[0]).toMatchObject({ resource: 'messages', event: 'created', secret: webexWebhookSecret(credential, context) });
	});

	test('deactivation deletes the webhook of this URL and leaves others', async () => {
		await webexPlugin.webhook!.register!(credential, 'https://elsewhere.example.com/hook', context);
		await webexPlugin.webhook!.register!(credential, url, context);
		await webexPlugin.webhook!.unregister!(credential, url, context);
		expect(webex.webhooks.map((webhook) => webhook.targetUrl)).toEqual(['https://elsewhere.example.com/hook']);
	});

	test('a wrong token fails activation in words that point at the credential', async () => {
		await expect(webexPlugin.webhook!.register!({ ...credential, botToken: 'nope' }, url, context)).rejects.toThrow(/rejected the bot access token.*Clawgate Webex credential/);
	});
});

// -------------------------------------------------------------------------------------------------
// Recorded payloads: https://developer.webex.com/docs/api/guides/webhooks (test/platforms/fixtures/webex)

describe('Webex payloads from the Webex documentation', () => {
	const FIXTURES = join(__dirname, 'fixtures', 'webex');
	const fixtures = readdirSync(FIXTURES)
		.filter((name) => name.endsWith('.json'))
		.map((name) => ({ name: name.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) }) as { name: string; source: string; platform: string; payload: Record<string, unknown> });
	const recorded = (name: string) => fixtures.find((fixture) => fixture.name === name)!.payload;

	/** The documented notification, signed here from Webex's published algorithm, while GET /messages/{id} answers the documented message. */
	async function deliverRecorded(message: Record<string, unknown>, settings: DeliverSettings = {}): Promise<WebhookOutcome> {
		const notification = recorded('webhook-messages-created');
		webex.messages.set(String((notification.data as { id: string }).id), message);
		const rawBody = JSON.stringify(notification);
		const signature = createHmac('sha1', webexWebhookSecret(credential, HOOK)).update(rawBody).digest('hex');
		return await deliverRequest(requestOf({ 'content-type': 'application/json', 'x-spark-signature': signature }, rawBody), settings);
	}

	test('there are recorded payloads, each naming its source page', () => {
		expect(fixtures.length).toBeGreaterThanOrEqual(3);
		for (const fixture of fixtures) {
			expect(fixture.platform).toBe('webex');
			expect(fixture.source).toMatch(/^https:\/\/developer\.webex\.com\/docs\//);
		}
	});

	test('the guide\'s notification and message: without a room type the message is a group message, so it needs a mention', async () => {
		expect(envelopesOf(await deliverRecorded(recorded('message-details-guide')))).toEqual([]);
		const [envelope] = envelopesOf(await deliverRecorded(recorded('message-details-guide'), { policy: { groupActivation: 'all' } }));
		expect(envelope).toMatchObject({
			channel: 'webex',
			accountId: webex.bot.id,
			chat: { id: 'Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0', type: 'group', threadId: null },
			sender: { id: 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY', username: 'matt@example.com', isBot: false },
			message: { text: 'Something interesting and potentially sensitive', mentionsBot: false, timestamp: '2015-12-04T17:33:56.767Z' },
		});
	});

	test('the reference message mentions two people but not the bot: nothing by default; every message gives its text and file', async () => {
		expect(envelopesOf(await deliverRecorded(recorded('message-details-reference')))).toEqual([]);
		const [envelope] = envelopesOf(await deliverRecorded(recorded('message-details-reference'), { policy: { groupActivation: 'all' } }));
		expect(envelope.message).toMatchObject({
			id: 'Y2lzY29zcGFyazovL3VzL01FU1NBR0UvOTJkYjNiZTAtNDNiZC0xMWU2LThhZTktZGQ1YjNkZmM1NjVk',
			mentionsBot: false,
			attachments: [{ kind: 'document', id: 'http://www.example.com/images/media.png', mimeType: null, name: null, size: null }],
			timestamp: '2015-10-18T14:26:16.000Z',
		});
		expect(envelope.message.text).toMatch(/^PROJECT UPDATE - A new project plan/);
	});
});
