/**
 * The LINE plugin through the shared webhook pipeline and the shared send pipeline, against the
 * LINE emulator (signed deliveries in, Messaging API calls out), plus the recorded payloads
 * copied from LINE's documentation.
 */
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { NodeHelpers, type INode } from 'n8n-workflow';

import { DEFAULT_ACCESS_POLICY, type AccessPolicy } from '../../nodes/core/access-policy';
import type { WebhookRequest } from '../../nodes/core/channel';
import type { Envelope, SessionScope } from '../../nodes/core/envelope';
import { deliverText } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { createLineClient, linePlugin, startLoadingAnimation, type LineCredential } from '../../nodes/Line/line.plugin';
import { LineTrigger } from '../../nodes/Line/LineTrigger.node';
import { LineEmulator, type LineDeliveryOptions } from '../emulators/line';

const line = new LineEmulator();
let credential: LineCredential;

beforeAll(async () => {
	await line.start();
	credential = { channelAccessToken: line.channelAccessToken, channelSecret: line.channelSecret, baseUrl: line.apiUrl };
});
afterAll(() => line.stop());

interface DeliverSettings {
	recent?: RecentKeys;
	policy?: Partial<AccessPolicy>;
	options?: Record<string, unknown>;
	sessionScope?: SessionScope;
	/** Counts the credential reads the pipeline asks for. */
	reads?: { count: number };
}

function requestOf(headers: Record<string, string>, rawBody: string): WebhookRequest {
	let body: unknown = {};
	try {
		body = JSON.parse(rawBody);
	} catch {
		body = {};
	}
	return { method: 'POST', headers, rawBody: Buffer.from(rawBody), body, query: {}, url: 'https://n8n.example.com/webhook/line-test/webhook' };
}

function deliverRequest(request: WebhookRequest, settings: DeliverSettings = {}, secret = line.channelSecret): Promise<WebhookOutcome> {
	return handleWebhookDelivery(linePlugin, {
		request,
		context: { workflowId: 'wf', nodeId: 'node', webhookId: 'line-test', options: settings.options ?? {}, now: Date.now() },
		async credentialFor(verifies) {
			if (settings.reads) settings.reads.count++;
			const held = { ...credential, channelSecret: secret };
			return { credential: held, verified: verifies(held) };
		},
		policy: { ...DEFAULT_ACCESS_POLICY, ...settings.policy },
		sessionScope: settings.sessionScope ?? 'chat',
		recent: settings.recent ?? new RecentKeys(),
	});
}

function deliver(body: unknown, settings: DeliverSettings = {}, options: LineDeliveryOptions = {}): Promise<WebhookOutcome> {
	const { headers, rawBody } = line.signedDelivery(body, options);
	return deliverRequest(requestOf(headers, rawBody), settings);
}

function envelopesOf(outcome: WebhookOutcome): Envelope[] {
	if (outcome.kind !== 'taken') throw new Error(`Expected the delivery to be taken, got ${outcome.kind}: ${outcome.reason}`);
	return outcome.envelopes;
}

async function only(body: unknown, settings: DeliverSettings = {}): Promise<Envelope> {
	const envelopes = envelopesOf(await deliver(body, settings));
	expect(envelopes).toHaveLength(1);
	return envelopes[0];
}

describe('LINE webhook: proof of origin', () => {
	test('a delivery signed with the channel secret is taken and acknowledged 200', async () => {
		const outcome = await deliver(line.body(line.textEvent({ text: 'hi', source: { userId: line.newUserId() } })));
		expect(outcome).toMatchObject({ kind: 'taken', answer: { status: 200 } });
	});

	test('a delivery signed with another secret is refused 401 with no envelope', async () => {
		const outcome = await deliver(line.body(line.textEvent({ text: 'forged', source: { userId: line.newUserId() } })), {}, { channelSecret: 'not-the-channel-secret' });
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(outcome.kind === 'forged' && outcome.reason).toMatch(/not signed with the channel secret/);
	});

	test('an unsigned request is refused 401 without reading the credential', async () => {
		const reads = { count: 0 };
		const outcome = await deliver(line.body(line.textEvent({ text: 'unsigned', source: { userId: line.newUserId() } })), { reads }, { unsigned: true });
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(reads.count).toBe(0);
	});

	test('a body changed after signing is refused 401', async () => {
		const body = line.body(line.textEvent({ text: 'original', source: { userId: line.newUserId() } }));
		const tampered = JSON.stringify(body).replace('original', 'tampered');
		expect(await deliver(body, {}, { bodyOverride: tampered })).toMatchObject({ kind: 'forged', answer: { status: 401 } });
	});

	test('a credential without a channel secret trusts no request', async () => {
		const { headers, rawBody } = line.signedDelivery(line.body(line.textEvent({ text: 'hi', source: { userId: line.newUserId() } })));
		const outcome = await deliverRequest(requestOf(headers, rawBody), {}, '');
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(outcome.kind === 'forged' && outcome.reason).toMatch(/no channel secret/);
	});
});

describe('LINE webhook: malformed and non-message deliveries', () => {
	test.each([
		['not JSON', 'this is not json'],
		['no destination', JSON.stringify({ events: [] })],
		['events not a list', JSON.stringify({ destination: 'Uabc', events: {} })],
		['a message event without a source', JSON.stringify({ destination: 'Uabc', events: [{ type: 'message', webhookEventId: 'X', message: { id: '1', type: 'text', text: 'hi' } }] })],
		['a message without an ID', JSON.stringify({ destination: 'Uabc', events: [{ type: 'message', webhookEventId: 'X', source: { type: 'user', userId: 'Uabc' }, message: { type: 'text', text: 'hi' } }] })],
	])('a signed body with %s is answered 400', async (_name, rawBody) => {
		const headers = { 'content-type': 'application/json', 'x-line-signature': createHmac('sha256', line.channelSecret).update(rawBody).digest('base64') };
		expect(await deliverRequest(requestOf(headers, rawBody))).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
	});

	test('the console\'s Verify request (no events) is answered 200 without an execution', async () => {
		expect(await deliver(line.body())).toMatchObject({ kind: 'answered', answer: { status: 200 } });
	});

	test('follow, unfollow and join start nothing', async () => {
		const user = { userId: line.newUserId() };
		const outcome = await deliver(line.body(line.event('follow', user, { follow: { isUnblocked: false } }), line.event('unfollow', user), line.event('join', { groupId: line.newGroupId() })));
		expect(envelopesOf(outcome)).toHaveLength(0);
		expect(outcome.kind === 'taken' && outcome.dropped.join('\n')).toMatch(/"follow" events are not messages[\s\S]*"unfollow"[\s\S]*"join"/);
	});

	test('an event in standby mode (another module answers) starts nothing', async () => {
		const event = { ...line.textEvent({ text: 'hi', source: { userId: line.newUserId() } }), mode: 'standby' };
		expect(envelopesOf(await deliver(line.body(event)))).toHaveLength(0);
	});
});

describe('LINE webhook: redelivery', () => {
	test('a redelivery (same webhookEventId, isRedelivery) makes no second envelope', async () => {
		const recent = new RecentKeys();
		const body = line.body(line.textEvent({ text: 'once', source: { userId: line.newUserId() } }));
		expect(envelopesOf(await deliver(body, { recent }))).toHaveLength(1);
		const again = await deliver(line.redelivery(body), { recent });
		expect(envelopesOf(again)).toHaveLength(0);
		expect(again.kind === 'taken' && again.dropped[0]).toMatch(/redelivery/);
	});

	test('a first-time delivery marked isRedelivery (the first attempt never arrived) is emitted', async () => {
		const body = line.redelivery(line.body(line.textEvent({ text: 'late', source: { userId: line.newUserId() } })));
		expect((await only(body)).message.text).toBe('late');
	});

	test('several events in one delivery become one envelope each, in order', async () => {
		const userId = line.newUserId();
		const body = line.body(line.textEvent({ text: 'one', source: { userId } }), line.textEvent({ text: 'two', source: { userId } }));
		expect(envelopesOf(await deliver(body)).map((envelope) => envelope.message.text)).toEqual(['one', 'two']);
	});
});

describe('LINE webhook: envelopes', () => {
	test('a DM becomes a dm envelope in the bot\'s account, with the LINE event as raw', async () => {
		const userId = line.newUserId();
		const event = line.textEvent({ text: 'hello LINE', source: { userId } });
		const envelope = await only(line.body(event));
		const message = event.message as Record<string, unknown>;
		const { raw, ...fields } = envelope;
		expect(fields).toEqual({
			sessionId: `line:${line.bot.userId}:dm:${userId}`,
			channel: 'line',
			via: 'line',
			accountId: line.bot.userId,
			event: 'message',
			chat: { id: userId, type: 'dm', threadId: null, title: null },
			sender: { id: userId, name: null, username: null, isBot: false },
			message: { id: message.id, text: 'hello LINE', replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: new Date(event.timestamp as number).toISOString() },
		});
		expect((raw as { message: { quoteToken: string } }).message.quoteToken).toBe(message.quoteToken);
	});

	test('a group message without a mention starts nothing by default', async () => {
		const outcome = await deliver(line.body(line.textEvent({ text: 'just chatting', source: { groupId: line.newGroupId(), userId: line.newUserId() } })));
		expect(envelopesOf(outcome)).toHaveLength(0);
		expect(outcome.kind === 'taken' && outcome.dropped[0]).toMatch(/group message that neither mentions/);
	});

	test('an @All mention does not address the bot', async () => {
		expect(envelopesOf(await deliver(line.body(line.textEvent({ text: 'meeting at 5', mentionAll: true, source: { groupId: line.newGroupId(), userId: line.newUserId() } }))))).toHaveLength(0);
	});

	test('a mention of the bot (isSelf) in a group is emitted, without the mention in the text', async () => {
		const groupId = line.newGroupId();
		const userId = line.newUserId();
		const envelope = await only(line.body(line.textEvent({ text: 'what is new?', mentionBot: true, source: { groupId, userId } })));
		expect(envelope).toMatchObject({
			sessionId: `line:${line.bot.userId}:group:${groupId}`,
			chat: { id: groupId, type: 'group' },
			sender: { id: userId },
			message: { text: 'what is new?', mentionsBot: true },
		});
	});

	test('"@bot /new" in a group is the command new', async () => {
		const envelope = await only(line.body(line.textEvent({ text: '/new', mentionBot: true, source: { groupId: line.newGroupId(), userId: line.newUserId() } })));
		expect(envelope.message).toMatchObject({ text: '/new', command: 'new' });
	});

	test('a multi-person chat (room) is a group chat by its room ID', async () => {
		const roomId = line.newRoomId();
		const envelope = await only(line.body(line.textEvent({ text: 'hi all', mentionBot: true, mentionAll: true, source: { roomId, userId: line.newUserId() } })));
		expect(envelope.chat).toEqual({ id: roomId, type: 'group', threadId: null, title: null });
		expect(envelope.message.text).toBe('@All @Clawgate hi all');
	});

	test('with every group message on, an unaddressed group message is emitted; per-user sessions split the group', async () => {
		const groupId = line.newGroupId();
		const userId = line.newUserId();
		const envelope = await only(line.body(line.textEvent({ text: 'hello', source: { groupId, userId } })), { policy: { groupActivation: 'all' }, sessionScope: 'user' });
		expect(envelope.sessionId).toBe(`line:${line.bot.userId}:group:${groupId}:user:${userId}`);
	});

	test('a quoted message is the envelope\'s replyToId', async () => {
		const envelope = await only(line.body(line.textEvent({ text: 'about this', quotedMessageId: '468789577898262530', source: { userId: line.newUserId() } })));
		expect(envelope.message.replyToId).toBe('468789577898262530');
	});

	test('images, videos, audio, files, locations and stickers become attachments', async () => {
		const source = { userId: line.newUserId() };
		const body = line.body(
			line.contentEvent('image', source),
			line.contentEvent('video', source),
			line.contentEvent('audio', source),
			line.contentEvent('file', source, { fileName: 'report.pdf', fileSize: 2138 }),
			line.locationEvent(source),
			line.stickerEvent(source),
		);
		const envelopes = envelopesOf(await deliver(body));
		const ids = body.events.map((event) => (event.message as { id: string }).id);
		expect(envelopes.map((envelope) => envelope.message.attachments)).toEqual([
			[{ kind: 'image', id: ids[0], mimeType: null, name: null, size: null }],
			[{ kind: 'video', id: ids[1], mimeType: null, name: null, size: null }],
			[{ kind: 'audio', id: ids[2], mimeType: null, name: null, size: null }],
			[{ kind: 'document', id: ids[3], mimeType: null, name: 'report.pdf', size: 2138 }],
			[{ kind: 'location', id: '35.67966,139.73669', mimeType: null, name: 'my location', size: null, location: { latitude: 35.67966, longitude: 139.73669 } }],
			[{ kind: 'sticker', id: '446:1988', mimeType: null, name: null, size: null }],
		]);
		expect(envelopes.every((envelope) => envelope.message.text === '')).toBe(true);
	});

	test('a message type LINE adds later starts nothing instead of failing', async () => {
		const event = line.event('message', { userId: line.newUserId() }, { message: { id: '1', type: 'hologram' } });
		const outcome = await deliver(line.body(event));
		expect(envelopesOf(outcome)).toHaveLength(0);
		expect(outcome.kind === 'taken' && outcome.dropped[0]).toMatch(/"hologram" is not read/);
	});

	test('a postback starts nothing by default, and with Emit Button Presses is a callback_query carrying its data', async () => {
		const groupId = line.newGroupId();
		const event = line.postbackEvent({ groupId, userId: line.newUserId() }, 'action=buy&itemid=111');
		expect(envelopesOf(await deliver(line.body(event)))).toHaveLength(0);
		const envelope = await only(line.body(event), { options: { emitCallbackQueries: true } });
		expect(envelope).toMatchObject({ event: 'callback_query', chat: { id: groupId, type: 'group' }, message: { id: `postback:${event.webhookEventId}`, text: 'action=buy&itemid=111', command: null } });
	});

	test('Allowed Senders keeps out everyone else, in DMs too', async () => {
		const outcome = await deliver(line.body(line.textEvent({ text: 'hi', source: { userId: line.newUserId() } })), { policy: { allowedSenderIds: [line.newUserId()] } });
		expect(envelopesOf(outcome)).toHaveLength(0);
	});
});

describe('LINE outbound', () => {
	const client = () => createLineClient(credential);
	const send = (chatId: string, markdown: string) => deliverText(linePlugin, client(), { chatId, markdown, replyToId: null, threadId: null, linkPreviews: false });

	test('an answer is pushed to the chat as plain text and returns LINE\'s message ID', async () => {
		const userId = line.newUserId();
		const sent = await send(userId, 'Hello **there**');
		expect(line.textsTo(userId)).toEqual(['Hello there']);
		expect(sent).toEqual({ chatId: userId, messageIds: [line.pushed.at(-1)!.id], threadId: null });
	});

	test('a 10,000-character answer arrives in order as pushes of at most 5,000 characters, no word broken', async () => {
		const groupId = line.newGroupId();
		const words: string[] = [];
		while (words.join(' ').length <= 10_000) words.push(`word${words.length}${'x'.repeat(words.length % 7)}`);
		await send(groupId, words.join(' '));
		const texts = line.textsTo(groupId);
		expect(texts).toHaveLength(3);
		for (const text of texts) expect(text.length).toBeLessThanOrEqual(5000);
		// Full messages: only the last one is short.
		expect(texts.slice(0, -1).every((text) => text.length > 4900)).toBe(true);
		expect(texts.join(' ').split(/\s+/)).toEqual(words);
	});

	test('a 429 with Retry-After is waited out and the message is pushed once', async () => {
		const userId = line.newUserId();
		line.fail({ path: '/v2/bot/message/push', rateLimitSeconds: 1 });
		const started = Date.now();
		await send(userId, 'after the wait');
		expect(Date.now() - started).toBeGreaterThanOrEqual(950);
		expect(line.textsTo(userId)).toEqual(['after the wait']);
	});

	test('a 429 without Retry-After (as LINE documents it) is retried after a second', async () => {
		const userId = line.newUserId();
		line.fail({ path: '/v2/bot/message/push', rateLimitSeconds: null });
		await send(userId, 'retried');
		expect(line.textsTo(userId)).toEqual(['retried']);
	});

	test('the monthly message limit fails at once, saying what to do', async () => {
		line.fail({ path: '/v2/bot/message/push', rateLimitSeconds: null, message: 'You have reached your monthly limit.' });
		const before = line.calls('/v2/bot/message/push').length;
		await expect(send(line.newUserId(), 'over the limit')).rejects.toThrow(/monthly message limit.*LINE Official Account Manager/);
		expect(line.calls('/v2/bot/message/push').length).toBe(before + 1);
	});

	test('a wrong channel access token is reported as such, without the token', async () => {
		const wrong = createLineClient({ ...credential, channelAccessToken: 'wrong-token' });
		const failure = deliverText(linePlugin, wrong, { chatId: line.newUserId(), markdown: 'hi', replyToId: null, threadId: null, linkPreviews: false });
		await expect(failure).rejects.toThrow(/rejected the channel access token \(401\).*Clawgate LINE credential/);
		await expect(failure).rejects.not.toThrow(/wrong-token/);
	});

	test('a chat ID LINE does not know is refused with advice about the chat ID', async () => {
		await expect(send('not-a-line-id', 'hi')).rejects.toThrow(/LINE refused to send a message \(400: Failed to send messages; to: The value is invalid\)\. Check the chat ID/);
	});

	test('a credential without a channel access token says where to get one', () => {
		expect(() => createLineClient({ ...credential, channelAccessToken: ' ' })).toThrow(/no channel access token.*Messaging API tab/);
	});

	test('postMessage quotes by a quote token from an inbound message', async () => {
		const userId = line.newUserId();
		const event = line.textEvent({ text: 'quote me', source: { userId } });
		const quoteToken = (event.message as { quoteToken: string }).quoteToken;
		await linePlugin.outbound.postMessage(client(), { chatId: userId, text: 'quoted', replyToId: quoteToken, threadId: null, linkPreviews: false, accountId: null });
		expect(line.pushed.at(-1)).toMatchObject({ to: userId, text: 'quoted', quoteToken });
	});

	test('typing shows the loading animation in a DM and nothing in a group', async () => {
		const userId = line.newUserId();
		await linePlugin.outbound.sendTyping!(client(), { chatId: userId, threadId: null });
		await linePlugin.outbound.sendTyping!(client(), { chatId: line.newGroupId(), threadId: null });
		expect(line.loadings.at(-1)).toEqual({ chatId: userId, loadingSeconds: 20 });
		expect(line.loadings.filter((loading) => !loading.chatId.startsWith('U'))).toEqual([]);
	});

	test('the loading animation takes 5 to 60 seconds in steps of 5, and refuses a group', async () => {
		const userId = line.newUserId();
		await startLoadingAnimation(client(), userId, 62);
		await startLoadingAnimation(client(), userId, 7);
		expect(line.loadings.slice(-2)).toEqual([
			{ chatId: userId, loadingSeconds: 60 },
			{ chatId: userId, loadingSeconds: 5 },
		]);
		await expect(startLoadingAnimation(client(), line.newGroupId())).rejects.toThrow(/only in one-on-one chats/);
	});

	test('the account of a credential is the bot\'s user ID, the webhooks\' destination', async () => {
		expect(await linePlugin.accountOf(credential, client())).toBe(line.bot.userId);
	});
});

describe('LINE webhook registration', () => {
	const context = { workflowId: 'wf', nodeId: 'node', webhookId: 'line-test', options: {}, now: Date.now() };

	test('activation sets the webhook URL of the channel', async () => {
		await linePlugin.webhook!.register!(credential, 'https://n8n.example.com/webhook/abc/webhook', context);
		expect(line.webhook.endpoint).toBe('https://n8n.example.com/webhook/abc/webhook');
	});

	test('a URL LINE cannot deliver to fails activation with what to set', async () => {
		await expect(linePlugin.webhook!.register!(credential, 'http://n8n.internal:5678/webhook/abc/webhook', context)).rejects.toThrow(/400: Invalid webhook endpoint URL.*WEBHOOK_URL/);
	});

	test('with "Use webhook" off in the console, activation says to turn it on', async () => {
		line.webhook.active = false;
		try {
			await expect(linePlugin.webhook!.register!(credential, 'https://n8n.example.com/webhook/abc/webhook', context)).rejects.toThrow(/"Use webhook" is off/);
		} finally {
			line.webhook.active = true;
		}
	});

	test('LINE has no API to remove a webhook URL, so deactivation leaves it', () => {
		expect(linePlugin.webhook!.unregister).toBeUndefined();
	});
});

describe('LINE Trigger node', () => {
	// A channel born on the kit has the shared option names from its first version; n8n must keep them.
	it('reads the options a user sets at typeVersion 1', () => {
		const { description } = new LineTrigger();
		const node = { typeVersion: 1 } as INode;
		const parameters = NodeHelpers.getNodeParameters(description.properties, { options: { dmPolicy: 'allowlist', emitCallbackQueries: true } }, true, false, node, description);
		expect(parameters?.options).toEqual({ dmPolicy: 'allowlist', emitCallbackQueries: true });
	});
});

// -------------------------------------------------------------------------------------------------
// Recorded payloads: https://developers.line.biz/en/reference/messaging-api/ (test/platforms/fixtures/line)

describe('LINE webhook bodies from the Messaging API reference', () => {
	const FIXTURES = join(__dirname, 'fixtures', 'line');
	const fixtures = readdirSync(FIXTURES)
		.filter((name) => name.endsWith('.json'))
		.map((name) => ({ name: name.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) }) as { name: string; source: string; platform: string; payload: unknown });

	/** Signed here from LINE's published algorithm, not with the emulator's helper. */
	function deliverRecorded(payload: unknown, settings: DeliverSettings = {}): Promise<WebhookOutcome> {
		const rawBody = JSON.stringify(payload);
		const signature = createHmac('sha256', 'recorded-payloads-channel-secret').update(rawBody).digest('base64');
		return deliverRequest(requestOf({ 'content-type': 'application/json', 'x-line-signature': signature }, rawBody), settings, 'recorded-payloads-channel-secret');
	}
	const recorded = (name: string) => fixtures.find((fixture) => fixture.name === name)!.payload;

	test('there are recorded payloads, each naming its source page', () => {
		expect(fixtures.length).toBeGreaterThan(0);
		for (const fixture of fixtures) {
			expect(fixture.platform).toBe('line');
			expect(fixture.source).toMatch(/^https:\/\/developers\.line\.biz\//);
		}
	});

	test.each(fixtures.map((fixture) => [fixture.name, fixture.payload]))('%s is verified and taken without a 400', async (_name, payload) => {
		for (const options of [{}, { emitCallbackQueries: true }]) {
			const outcome = await deliverRecorded(payload, { options, policy: { groupActivation: 'all' } });
			expect(['taken', 'answered']).toContain(outcome.kind);
			if (outcome.kind === 'taken') for (const envelope of outcome.envelopes) expect(envelope).toMatchObject({ channel: 'line', via: 'line', accountId: 'xxxxxxxxxx' });
		}
	});

	test('the documented example body: the 1:1 text message is one DM envelope; follow and unfollow start nothing', async () => {
		const outcome = await deliverRecorded(recorded('request-body-text-user'));
		const [envelope] = envelopesOf(outcome);
		expect({ ...envelope, raw: undefined }).toEqual({
			sessionId: 'line:xxxxxxxxxx:dm:U80696558e1aa831...',
			channel: 'line',
			via: 'line',
			accountId: 'xxxxxxxxxx',
			event: 'message',
			chat: { id: 'U80696558e1aa831...', type: 'dm', threadId: null, title: null },
			sender: { id: 'U80696558e1aa831...', name: null, username: null, isBot: false },
			message: { id: '14353798921116', text: 'Hello, world', replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: '2021-07-07T13:40:42.211Z' },
		});
		expect(outcome.kind === 'taken' && outcome.dropped).toEqual(['01FZ74ASS536FW97EX38NKCZQK: "follow" events are not messages', '01FZ74B5Y0F4TNKA5SCAVKPEDM: "unfollow" events are not messages']);
	});

	test('the group text with @All and another user\'s mention does not address the bot', async () => {
		expect(envelopesOf(await deliverRecorded(recorded('text-group-mention')))).toHaveLength(0);
		const [envelope] = envelopesOf(await deliverRecorded(recorded('text-group-mention'), { policy: { groupActivation: 'all' } }));
		expect(envelope).toMatchObject({ chat: { id: 'Ca56f94637c...', type: 'group' }, sender: { id: 'U4af4980629...' }, message: { text: '@All @example Good Morning!! (love)', mentionsBot: false } });
	});

	test('the image example is an image attachment by message ID; the location example a location', async () => {
		expect((await only(recorded('image-user') as object)).message.attachments).toEqual([{ kind: 'image', id: '354718705033693859', mimeType: null, name: null, size: null }]);
		expect((await only(recorded('location-user') as object)).message.attachments).toEqual([
			{ kind: 'location', id: '35.67966,139.73669', mimeType: null, name: 'my location', size: null, location: { latitude: 35.67966, longitude: 139.73669 } },
		]);
	});

	test('the postback example is a button press only with Emit Button Presses on', async () => {
		expect(envelopesOf(await deliverRecorded(recorded('postback')))).toHaveLength(0);
		const [envelope] = envelopesOf(await deliverRecorded(recorded('postback'), { options: { emitCallbackQueries: true } }));
		expect(envelope).toMatchObject({ event: 'callback_query', chat: { id: 'U91eeaf62d...', type: 'dm' }, message: { text: 'storeId=12345' } });
	});

	test('the follow example starts nothing; the empty events body is a connection check', async () => {
		expect(envelopesOf(await deliverRecorded(recorded('follow')))).toHaveLength(0);
		expect(await deliverRecorded(recorded('request-body-empty-events'))).toMatchObject({ kind: 'answered', answer: { status: 200 } });
	});
});
