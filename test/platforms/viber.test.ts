/**
 * The Viber plugin through the shared webhook pipeline and the shared send pipeline, against the
 * Viber emulator (signed callbacks in, REST Bot API calls out), plus the recorded callbacks copied
 * from Viber's documentation.
 */
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { DEFAULT_ACCESS_POLICY, type AccessPolicy } from '../../nodes/core/access-policy';
import type { WebhookRequest } from '../../nodes/core/channel';
import type { Envelope } from '../../nodes/core/envelope';
import { deliverText } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { createViberClient, sendViberMedia, type ViberCredential } from '../../nodes/Viber/viber.api';
import { viberPlugin } from '../../nodes/Viber/viber.plugin';
import { VIBER_STATUS, ViberEmulator, viberJson, type ViberDeliveryOptions } from '../emulators/viber';

const viber = new ViberEmulator();
let credential: ViberCredential;

beforeAll(async () => {
	await viber.start();
	credential = { authToken: viber.authToken, baseUrl: viber.apiUrl };
});
afterAll(() => viber.stop());

interface DeliverSettings {
	recent?: RecentKeys;
	policy?: Partial<AccessPolicy>;
	options?: Record<string, unknown>;
	reads?: { count: number };
	authToken?: string;
}

function requestOf(headers: Record<string, string>, rawBody: string): WebhookRequest {
	let body: unknown = {};
	try {
		body = JSON.parse(rawBody);
	} catch {
		body = {};
	}
	return { method: 'POST', headers, rawBody: Buffer.from(rawBody), body, query: {}, url: 'https://n8n.example.com/webhook/viber-test/webhook' };
}

function deliverRequest(request: WebhookRequest, settings: DeliverSettings = {}): Promise<WebhookOutcome> {
	return handleWebhookDelivery(viberPlugin, {
		request,
		context: { workflowId: 'wf', nodeId: 'node', webhookId: 'viber-test', options: settings.options ?? {}, now: Date.now() },
		async credentialFor(verifies) {
			if (settings.reads) settings.reads.count++;
			const held = { ...credential, authToken: settings.authToken ?? credential.authToken };
			return { credential: held, verified: verifies(held) };
		},
		policy: { ...DEFAULT_ACCESS_POLICY, ...settings.policy },
		sessionScope: 'chat',
		recent: settings.recent ?? new RecentKeys(),
	});
}

function deliver(callback: unknown, settings: DeliverSettings = {}, options: ViberDeliveryOptions = {}): Promise<WebhookOutcome> {
	const { headers, rawBody } = viber.signedDelivery(callback, options);
	return deliverRequest(requestOf(headers, rawBody), settings);
}

function envelopesOf(outcome: WebhookOutcome): Envelope[] {
	if (outcome.kind !== 'taken') throw new Error(`Expected the delivery to be taken, got ${outcome.kind}: ${outcome.reason}`);
	return outcome.envelopes;
}

async function only(callback: unknown, settings: DeliverSettings = {}): Promise<Envelope> {
	const envelopes = envelopesOf(await deliver(callback, settings));
	expect(envelopes).toHaveLength(1);
	return envelopes[0];
}

const person = () => ({ id: viber.newUserId(), name: 'Ada L.' });

describe('Viber callbacks: proof of origin', () => {
	test('a callback signed with the auth token is taken and acknowledged 200', async () => {
		expect(await deliver(viber.text(person(), 'hi'))).toMatchObject({ kind: 'taken', answer: { status: 200 } });
	});

	test('a callback signed with another token is refused 401', async () => {
		const outcome = await deliver(viber.text(person(), 'forged'), {}, { authToken: 'not-the-auth-token' });
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(outcome.kind === 'forged' && outcome.reason).toMatch(/not signed with the auth token/);
	});

	test('an unsigned request is refused 401 without reading the credential', async () => {
		const reads = { count: 0 };
		expect(await deliver(viber.text(person(), 'unsigned'), { reads }, { unsigned: true })).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(reads.count).toBe(0);
	});

	test('a body changed after signing is refused 401', async () => {
		const callback = viber.text(person(), 'original');
		expect(await deliver(callback, {}, { bodyOverride: viberJson(callback).replace('original', 'tampered') })).toMatchObject({ kind: 'forged' });
	});

	test('a credential without an auth token trusts no request', async () => {
		const outcome = await deliver(viber.text(person(), 'hi'), { authToken: '' });
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(outcome.kind === 'forged' && outcome.reason).toMatch(/no auth token/);
	});
});

describe('Viber callbacks: malformed and not messages', () => {
	test.each([
		['not JSON', 'this is not json'],
		['no event', JSON.stringify({ timestamp: 1, message_token: 1 })],
		['a message without a sender', JSON.stringify({ event: 'message', timestamp: 1, message_token: 5, message: { type: 'text', text: 'hi' } })],
		['a picture without its media URL', JSON.stringify({ event: 'message', timestamp: 1, message_token: 6, sender: { id: 'x=' }, message: { type: 'picture' } })],
	])('a signed body with %s is answered 400', async (_name, rawBody) => {
		const headers = { 'content-type': 'application/json', 'x-viber-content-signature': createHmac('sha256', viber.authToken).update(rawBody).digest('hex') };
		expect(await deliverRequest(requestOf(headers, rawBody))).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
	});

	test("set_webhook's check callback is answered 200 without an execution", async () => {
		expect(await deliver(viber.event('webhook'))).toMatchObject({ kind: 'answered', answer: { status: 200 } });
	});

	test('subscribed, unsubscribed, delivered, seen and failed callbacks start nothing', async () => {
		const userId = person().id;
		for (const event of ['subscribed', 'unsubscribed', 'delivered', 'seen', 'failed'] as const) {
			const outcome = await deliver(viber.event(event, userId));
			expect(envelopesOf(outcome)).toEqual([]);
			expect(outcome.kind === 'taken' && outcome.dropped[0]).toMatch(event === 'failed' ? /could not deliver a message \(failure description\)/ : new RegExp(`"${event}" callbacks are not messages`));
		}
	});

	test('conversation_started starts nothing; with a Welcome Message it is answered with that message under the bot\'s name', async () => {
		const userId = person().id;
		expect(await deliver(viber.event('conversation_started', userId))).toMatchObject({ kind: 'answered', answer: { status: 200, body: {} } });
		const greeted = await deliver(viber.event('conversation_started', userId), { options: { welcomeMessage: 'Welcome! Ask me anything.' } });
		expect(greeted).toMatchObject({ kind: 'answered', answer: { status: 200, body: { sender: { name: viber.bot.name }, type: 'text', text: 'Welcome! Ask me anything.' } } });
	});
});

describe('Viber callbacks: messages', () => {
	test('a message becomes a DM envelope of the bot\'s account, the message token as its ID', async () => {
		const ada = person();
		const callback = viber.text(ada, 'hello Viber');
		const envelope = await only(callback);
		const { raw, ...fields } = envelope;
		expect(fields).toEqual({
			sessionId: `viber:${viber.bot.id}:dm:${ada.id}`,
			channel: 'viber',
			via: 'viber',
			accountId: viber.bot.id,
			event: 'message',
			chat: { id: ada.id, type: 'dm', threadId: null, title: null },
			sender: { id: ada.id, name: 'Ada L.', username: null, isBot: false },
			message: { id: callback.message_token, text: 'hello Viber', replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: new Date(callback.timestamp as number).toISOString() },
		});
		expect(raw).toMatchObject({ event: 'message', message_token: callback.message_token });
	});

	test('message tokens beyond 2^53 stay exact: two neighbouring tokens are two messages, not a redelivery', async () => {
		const recent = new RecentKeys();
		const ada = person();
		const first = { ...viber.text(ada, 'one'), message_token: '4912661846655238145' };
		const second = { ...viber.text(ada, 'two'), message_token: '4912661846655238146' };
		const [one] = envelopesOf(await deliver(first, { recent }));
		const [two] = envelopesOf(await deliver(second, { recent }));
		expect([one.message.id, two.message.id]).toEqual(['4912661846655238145', '4912661846655238146']);
	});

	test('a retried callback (the same body again) makes no second envelope', async () => {
		const recent = new RecentKeys();
		const callback = viber.text(person(), 'once');
		expect(envelopesOf(await deliver(callback, { recent }))).toHaveLength(1);
		const again = await deliver(callback, { recent });
		expect(envelopesOf(again)).toEqual([]);
		expect(again.kind === 'taken' && again.dropped[0]).toMatch(/redelivery/);
	});

	test('/new is the command new', async () => {
		expect((await only(viber.text(person(), '/new'))).message.command).toBe('new');
	});

	test('pictures, videos, files, stickers, locations and contacts become attachments; a link is its text', async () => {
		const ada = person();
		const kinds = [
			viber.message(ada, { type: 'picture', text: 'look', media: 'https://dl.viber.com/p.jpg', thumbnail: 'https://dl.viber.com/t.jpg', size: 1200, file_name: 'p.jpg' }),
			viber.message(ada, { type: 'video', media: 'https://dl.viber.com/v.mp4', size: 1000, duration: 10 }),
			viber.message(ada, { type: 'file', media: 'https://dl.viber.com/f.pdf', size: 2138, file_name: 'report.pdf' }),
			viber.message(ada, { type: 'sticker', sticker_id: 46105 }),
			viber.message(ada, { type: 'location', location: { lat: 50.76891, lon: 6.11499 } }),
			viber.message(ada, { type: 'contact', contact: { name: 'Itamar', phone_number: '+972511123123' } }),
			viber.message(ada, { type: 'url', media: 'https://example.com' }),
		];
		const envelopes = [];
		for (const callback of kinds) envelopes.push(await only(callback));
		expect(envelopes.map((envelope) => [envelope.message.text, envelope.message.attachments])).toEqual([
			['look', [{ kind: 'image', id: 'https://dl.viber.com/p.jpg', mimeType: null, name: 'p.jpg', size: 1200 }]],
			['', [{ kind: 'video', id: 'https://dl.viber.com/v.mp4', mimeType: null, name: null, size: 1000 }]],
			['', [{ kind: 'document', id: 'https://dl.viber.com/f.pdf', mimeType: null, name: 'report.pdf', size: 2138 }]],
			['', [{ kind: 'sticker', id: '46105', mimeType: null, name: null, size: null }]],
			['', [{ kind: 'location', id: '50.76891,6.11499', mimeType: null, name: null, size: null, location: { latitude: 50.76891, longitude: 6.11499 } }]],
			['', [{ kind: 'other', id: '+972511123123', mimeType: null, name: 'Itamar', size: null }]],
			['https://example.com', []],
		]);
	});

	test('a message type Viber adds later starts nothing instead of failing', async () => {
		const outcome = await deliver(viber.message(person(), { type: 'hologram' }));
		expect(envelopesOf(outcome)).toEqual([]);
		expect(outcome.kind === 'taken' && outcome.dropped[0]).toMatch(/"hologram" is not read/);
	});

	test('DM Policy Allowlist keeps out people not in Allowed Senders', async () => {
		const ada = person();
		expect(envelopesOf(await deliver(viber.text(person(), 'hi'), { policy: { dmPolicy: 'allowlist', allowedSenderIds: [ada.id] } }))).toEqual([]);
		expect(envelopesOf(await deliver(viber.text(ada, 'hi'), { policy: { dmPolicy: 'allowlist', allowedSenderIds: [ada.id] } }))).toHaveLength(1);
	});
});

describe('Viber outbound', () => {
	const client = () => createViberClient(credential);
	const send = (chatId: string, markdown: string, sender?: string) =>
		deliverText(viberPlugin, { ...client(), senderName: sender }, { chatId, markdown, replyToId: null, threadId: null, linkPreviews: false });

	async function subscriber(): Promise<string> {
		const ada = person();
		await deliver(viber.text(ada, 'hi'));
		return ada.id;
	}

	test("an answer is sent as plain text under the bot's name, returning Viber's message token", async () => {
		const userId = await subscriber();
		const sent = await send(userId, 'Hello **there**');
		expect(viber.sent.at(-1)).toMatchObject({ receiver: userId, type: 'text', text: 'Hello there', senderName: viber.bot.name });
		expect(viber.sent.at(-1)!.body).toMatchObject({ min_api_version: 1, sender: { name: viber.bot.name } });
		expect(sent).toEqual({ chatId: userId, messageIds: [viber.sent.at(-1)!.token], threadId: null });
	});

	test('the Sender Name of the send node is used, cut to the 28 characters Viber takes', async () => {
		const userId = await subscriber();
		await send(userId, 'hi', 'Support Team of a Very Long Company Name');
		expect(viber.sent.at(-1)!.senderName).toBe('Support Team of a Very Long ');
	});

	test('a 10,000-character answer arrives in order as messages of at most 7,000 characters', async () => {
		const userId = await subscriber();
		const words: string[] = [];
		while (words.join(' ').length <= 10_000) words.push(`word${words.length}`);
		await send(userId, words.join(' '));
		const texts = viber.textsTo(userId);
		expect(texts).toHaveLength(2);
		for (const text of texts) expect(text.length).toBeLessThanOrEqual(7000);
		expect(texts.join(' ').split(/\s+/)).toEqual(words);
	});

	test('"too many requests" (status 12) fails at once with what it means, after one call', async () => {
		const userId = await subscriber();
		viber.rateLimitNext(1);
		const before = viber.calls('send_message').length;
		await expect(send(userId, 'one too many')).rejects.toThrow(/status 12: tooManyRequests.*100 messages to one person within an hour/);
		expect(viber.calls('send_message').length).toBe(before + 1);
	});

	test('a person who never wrote to the bot cannot be messaged, and the error says why', async () => {
		await expect(send(viber.newUserId(), 'hello?')).rejects.toThrow(/status 6: receiverNotSubscribed.*only to people who wrote to it/);
	});

	test('a wrong auth token is reported as such, without the token', async () => {
		const wrong = { ...createViberClient({ ...credential, authToken: 'wrong-token-123' }), senderName: 'Bot' };
		const failure = deliverText(viberPlugin, wrong, { chatId: await subscriber(), markdown: 'hi', replyToId: null, threadId: null, linkPreviews: false });
		await expect(failure).rejects.toThrow(/Viber rejected the auth token \(status 2: invalidAuthToken\).*Clawgate Viber credential/);
		await expect(failure).rejects.not.toThrow(/wrong-token-123/);
	});

	test('pictures go with their caption; files with their size and name', async () => {
		const userId = await subscriber();
		await sendViberMedia(client(), { chatId: userId, type: 'picture', url: 'https://example.com/chart.png', caption: 'the chart', fileName: '', size: 0 });
		expect(viber.sent.at(-1)!.body).toMatchObject({ type: 'picture', media: 'https://example.com/chart.png', text: 'the chart' });
		await sendViberMedia(client(), { chatId: userId, type: 'file', url: 'https://example.com/files/report.pdf?x=1', caption: '', fileName: '', size: 2138 });
		expect(viber.sent.at(-1)!.body).toMatchObject({ type: 'file', media: 'https://example.com/files/report.pdf?x=1', size: 2138, file_name: 'report.pdf' });
	});

	test("the account of a credential is the bot's ID from get_account_info", async () => {
		expect(await viberPlugin.accountOf(credential, client())).toBe(viber.bot.id);
	});
});

describe('Viber webhook registration', () => {
	const context = { workflowId: 'wf', nodeId: 'node', webhookId: 'viber-test', options: {}, now: Date.now() };
	let n8nLike: Server;
	let answer = 200;
	let url = '';

	beforeAll(async () => {
		// Stands in for n8n's webhook: Viber calls it during set_webhook.
		n8nLike = createServer((request, response) => {
			request.resume();
			request.on('end', () => response.writeHead(answer).end('{}'));
		});
		await new Promise<void>((resolve) => n8nLike.listen(0, '127.0.0.1', resolve));
		url = `http://127.0.0.1:${(n8nLike.address() as AddressInfo).port}/webhook/viber-test/webhook`;
	});
	afterAll(() => new Promise<void>((resolve) => n8nLike.close(() => resolve())));

	test('activation sets the webhook, asking for conversation_started besides the callbacks Viber always sends', async () => {
		await viberPlugin.webhook!.register!(credential, url, context);
		expect(viber.webhook).toEqual({ url, eventTypes: ['conversation_started'] });
		expect(viber.calls('set_webhook').at(-1)!.body).toMatchObject({ url, send_name: true, send_photo: false });
	});

	test("a URL that does not answer Viber's check fails activation with what to set", async () => {
		answer = 500;
		try {
			await expect(viberPlugin.webhook!.register!(credential, url, context)).rejects.toThrow(/status 1: Result\[HttpResponse\[500\]\]\).*WEBHOOK_URL/);
		} finally {
			answer = 200;
		}
	});

	test('deactivation removes the webhook, but not one another workflow set since', async () => {
		await viberPlugin.webhook!.register!(credential, url, context);
		await viberPlugin.webhook!.unregister!(credential, 'http://127.0.0.1:1/some/other/url', context);
		expect(viber.webhook.url).toBe(url);
		await viberPlugin.webhook!.unregister!(credential, url, context);
		expect(viber.webhook.url).toBe('');
		expect(viber.calls('set_webhook').at(-1)!.body).toEqual({ url: '' });
	});

	test('a wrong token fails activation in words that point at the credential', async () => {
		await expect(viberPlugin.webhook!.register!({ ...credential, authToken: 'nope' }, url, context)).rejects.toThrow(/rejected the auth token.*Clawgate Viber credential/);
	});

	test('a Viber refusal says the status, never the HTTP-level success it came with', async () => {
		viber.fail({ method: 'set_webhook', status: VIBER_STATUS.badData, message: 'badData' });
		await expect(viberPlugin.webhook!.register!(credential, url, context)).rejects.toThrow(/Viber refused to set the webhook to .* \(status 3: badData\)/);
	});
});

// -------------------------------------------------------------------------------------------------
// Recorded payloads: https://developers.viber.com/docs/api/rest-bot-api/#callbacks (test/platforms/fixtures/viber)

describe('Viber callbacks from the REST Bot API documentation', () => {
	const FIXTURES = join(__dirname, 'fixtures', 'viber');
	// Read as written: the documented message tokens are 64-bit numbers, kept exact as strings and written back as numbers.
	const fixtures = readdirSync(FIXTURES)
		.filter((name) => name.endsWith('.json'))
		.map((name) => ({ name: name.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(FIXTURES, name), 'utf8').replace(/"message_token"(\s*):(\s*)(\d+)/g, '"message_token"$1:$2"$3"')) }) as { name: string; source: string; platform: string; payload: Record<string, unknown> });
	const recorded = (name: string) => fixtures.find((fixture) => fixture.name === name)!.payload;

	/** Signed here from Viber's published algorithm, not with the emulator's helper. */
	function deliverRecorded(payload: unknown, settings: DeliverSettings = {}): Promise<WebhookOutcome> {
		const rawBody = viberJson(payload);
		const signature = createHmac('sha256', viber.authToken).update(rawBody).digest('hex');
		return deliverRequest(requestOf({ 'content-type': 'application/json', 'x-viber-content-signature': signature }, rawBody), settings);
	}

	test('there are recorded callbacks, each naming its source page', () => {
		expect(fixtures.length).toBeGreaterThanOrEqual(7);
		for (const fixture of fixtures) {
			expect(fixture.platform).toBe('viber');
			expect(fixture.source).toMatch(/^https:\/\/developers\.viber\.com\/docs\/api\/rest-bot-api\//);
		}
	});

	test.each(fixtures.map((fixture) => [fixture.name, fixture.payload]))('%s is verified and taken without a 400', async (_name, payload) => {
		expect(['taken', 'answered']).toContain((await deliverRecorded(payload)).kind);
	});

	test('the documented message is one DM envelope, its 64-bit token exact', async () => {
		const [envelope] = envelopesOf(await deliverRecorded(recorded('message-text')));
		expect({ ...envelope, raw: undefined }).toEqual({
			sessionId: `viber:${viber.bot.id}:dm:01234567890A=`,
			channel: 'viber',
			via: 'viber',
			accountId: viber.bot.id,
			event: 'message',
			chat: { id: '01234567890A=', type: 'dm', threadId: null, title: null },
			sender: { id: '01234567890A=', name: 'John McClane', username: null, isBot: false },
			message: { id: '4912661846655238145', text: 'a message to the service', replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: '2016-03-12T06:29:57.627Z' },
			raw: undefined,
		});
	});

	test('the webhook check is answered; subscription, receipts and failures start nothing', async () => {
		expect(await deliverRecorded(recorded('webhook'))).toMatchObject({ kind: 'answered', answer: { status: 200 } });
		expect(await deliverRecorded(recorded('conversation-started'))).toMatchObject({ kind: 'answered', answer: { status: 200 } });
		for (const name of ['subscribed', 'unsubscribed', 'delivered', 'failed']) expect(envelopesOf(await deliverRecorded(recorded(name)))).toEqual([]);
	});
});
