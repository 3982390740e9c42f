/**
 * Recorded payloads: examples copied from each platform's own documentation
 * (test/platforms/fixtures/<platform>/*.json, each naming its source page), fed through the
 * adapters' inbound code. The emulators are written by us; these payloads are not, so an emulator
 * and an adapter cannot share one misunderstanding of a platform's format unnoticed.
 *
 * Signatures are computed here from each platform's published algorithm, not with the emulators'
 * helpers. LINE fixtures are recorded for the LINE integration and not tested here yet.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { DEFAULT_ACCESS_POLICY, type AccessPolicy } from '../../nodes/core/access-policy';
import type { AnyChannelPlugin, WebhookRequest } from '../../nodes/core/channel';
import { buildMessageKey, type Envelope } from '../../nodes/core/envelope';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { googleChatEventToInbound, googleChatPlugin } from '../../nodes/GoogleChat/googleChat.plugin';
import { teamsActivityToInbound } from '../../nodes/Teams/teams.plugin';
import { normalizeDiscordMessage, type DiscordMessagePayload, type DiscordTriggerOptions } from '../../nodes/Discord/discord.adapter';
import { normalizeSlackEvent, type SlackCredential, type SlackEventCallback } from '../../nodes/Slack/slack.adapter';
import { decideTelegramUpdate, parseTelegramUpdate, type TelegramTriggerRules, type UpdateDecision } from '../../nodes/Telegram/telegram.adapter';
import { EMPTY_TWIML } from '../../nodes/Twilio/twilio.adapter';
import { matrixEventToInbound } from '../../nodes/Matrix/matrix.plugin';
import { signalEnvelopeToInbound } from '../../nodes/Signal/signal.plugin';
import { signalPollSource } from '../../nodes/Signal/signal.poll';
import { zulipEventToInbound } from '../../nodes/Zulip/zulip.plugin';
import { zulipQueueSource } from '../../nodes/Zulip/zulip.queue';

interface RecordedPayload<T = unknown> {
	source: string;
	platform: string;
	description: string;
	_note?: string;
	payload: T;
}

const FIXTURES = join(__dirname, 'fixtures');

function recorded<T = Record<string, unknown>>(platform: string, name: string): RecordedPayload<T> {
	const fixture = JSON.parse(readFileSync(join(FIXTURES, platform, `${name}.json`), 'utf8')) as RecordedPayload<T>;
	// Every fixture says where it was copied from, so a reader can check it against the page.
	expect(fixture.platform).toBe(platform);
	expect(fixture.source).toMatch(/^https:\/\//);
	return fixture;
}

/** The envelope fields a user's workflow relies on, without `raw`. */
function userFacing(envelope: Envelope | null | undefined) {
	if (!envelope) return envelope;
	const rest: Partial<Envelope> = { ...envelope };
	delete rest.raw;
	return rest;
}

/** One signed request through the shared webhook pipeline (proof → parse → redelivery → skips → access policy), as a trigger runs it. */
function deliverThrough<Credential>(
	plugin: AnyChannelPlugin,
	request: WebhookRequest,
	credential: Credential,
	{ policy = DEFAULT_ACCESS_POLICY, recent = new RecentKeys(), now }: { policy?: AccessPolicy; recent?: RecentKeys; now: number },
): Promise<WebhookOutcome> {
	return handleWebhookDelivery(plugin, {
		request,
		context: { workflowId: 'recorded-payloads', nodeId: `${plugin.id}-trigger`, webhookId: `hook-${plugin.id}`, options: {}, now },
		credentialFor: async (verifies) => ({ credential, verified: verifies(credential) }),
		policy,
		sessionScope: 'chat',
		recent,
	});
}

/** The one envelope a delivery emitted. */
function envelopeOf(outcome: WebhookOutcome): Envelope {
	if (outcome.kind !== 'taken' || outcome.envelopes.length !== 1) throw new Error(`Expected one envelope, got ${JSON.stringify(outcome)}`);
	return outcome.envelopes[0];
}

// -------------------------------------------------------------------------------------------------
// Telegram: https://core.telegram.org/bots/webhooks#testing-your-bot-with-updates

describe('Telegram updates from the Bot API documentation', () => {
	const bot = { id: '7012345678', username: 'ClawgateBot' };
	const decide = (name: string, rules: Partial<TelegramTriggerRules> = {}): UpdateDecision =>
		decideTelegramUpdate(parseTelegramUpdate(recorded('telegram', name).payload), { bot, rules });
	const emitted = (decision: UpdateDecision): Envelope => {
		if (!decision.emit) throw new Error(`Expected the update to be emitted, but: ${decision.reason}`);
		return decision.envelope;
	};
	const testUser = { id: '1111111', name: 'Test Firstname Test Lastname', username: 'Testusername', isBot: false };

	test('a private "/start" becomes a DM envelope with the command, in the DM session of the sender', () => {
		const envelope = emitted(decide('message-text-command'));
		expect(userFacing(envelope)).toEqual({
			sessionId: 'telegram:7012345678:dm:1111111',
			channel: 'telegram',
			accountId: '7012345678',
			event: 'message',
			chat: { id: '1111111', type: 'dm', threadId: null, title: null },
			sender: testUser,
			message: {
				id: '1365',
				text: '/start',
				replyToId: null,
				mentionsBot: false,
				command: 'start',
				attachments: [],
				timestamp: '2015-09-07T17:05:32.000Z',
			},
		});
		expect(buildMessageKey(envelope)).toBe('telegram:7012345678:1111111:1365');
	});

	test('a reply names the message it answers in replyToId', () => {
		expect(emitted(decide('message-reply')).message).toMatchObject({ id: '1365', text: '/start', replyToId: '1334' });
	});

	test('an edit is not emitted by default, and with "Emit Edited Messages" carries editedAt and its own message key', () => {
		const skipped = decide('edited-message');
		expect(skipped.emit).toBe(false);
		expect(skipped.emit ? null : skipped.reason).toMatch(/edit/);

		const envelope = emitted(decide('edited-message', { editedMessages: true }));
		expect(envelope.event).toBe('edited_message');
		expect(envelope.message).toMatchObject({ id: '1365', text: 'Edited text', editedAt: '2015-09-07T17:23:20.000Z' });
		expect(buildMessageKey(envelope)).toBe('telegram:7012345678:1111111:1365:edited:2015-09-07T17:23:20.000Z');
	});

	test('formatting entities are not mentions of the bot', () => {
		expect(emitted(decide('message-entities')).message).toMatchObject({ text: 'Bold and italics', mentionsBot: false, command: null, attachments: [] });
	});

	test('a voice note without text becomes one voice attachment with its length (for AI Session\'s duration limit)', () => {
		expect(emitted(decide('message-voice')).message).toMatchObject({
			text: '',
			attachments: [{ kind: 'voice', id: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX', mimeType: 'audio/ogg', name: null, size: 23000, durationSeconds: 5 }],
		});
	});

	test('a document keeps its file name, type and size', () => {
		expect(emitted(decide('message-document')).message.attachments).toEqual([
			{ kind: 'document', id: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX', mimeType: 'application/pdf', name: 'Testfile.pdf', size: 536392 },
		]);
	});

	test('a button press on an inline-mode message has no chat to answer in and is not emitted, even with button presses on', () => {
		const decision = decide('callback-query-inline', { callbackQueries: true });
		expect(decision).toMatchObject({ emit: false, envelope: null });
	});
});

// -------------------------------------------------------------------------------------------------
// Slack: https://docs.slack.dev/reference/events/…

describe('Slack Events API payloads from the Slack documentation, through the normaliser', () => {
	const BOT_USER_ID = 'U0LAN0Z89';
	const event = (name: string) => recorded<SlackEventCallback>('slack', name).payload;

	test('message.im: the normaliser makes a DM envelope in the workspace\'s account', () => {
		expect(userFacing(normalizeSlackEvent(event('message-im'), { botUserId: BOT_USER_ID }))).toEqual({
			sessionId: 'slack:T123ABC456:dm:D024BE91L',
			channel: 'slack',
			accountId: 'T123ABC456',
			chat: { id: 'D024BE91L', type: 'dm', threadId: null, title: null },
			sender: { id: 'U2147483697', name: null, username: null, isBot: false },
			message: {
				id: '1355517523.000005',
				text: 'Hello hello can you hear me?',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: '2012-12-14T20:38:43.000Z',
			},
		});
	});

	test('app_mention: the normaliser makes a group envelope that mentions the bot, without the leading mention in the text', () => {
		expect(userFacing(normalizeSlackEvent(event('app-mention'), { botUserId: BOT_USER_ID }))).toEqual({
			sessionId: 'slack:T123ABC456:group:C123ABC456',
			channel: 'slack',
			accountId: 'T123ABC456',
			chat: { id: 'C123ABC456', type: 'group', threadId: null, title: null },
			sender: { id: 'U061F7AUR', name: null, username: null, isBot: false },
			message: {
				id: '1515449522.000016',
				text: 'is it everything a river should be?',
				replyToId: null,
				mentionsBot: true,
				command: null,
				attachments: [],
				timestamp: '2018-01-08T22:12:02.000Z',
			},
		});
	});

	test('with Channel Messages on, the normaliser makes a group envelope for a channel message', () => {
		const envelope = normalizeSlackEvent(event('message-channels'), { botUserId: BOT_USER_ID, options: { channelMessages: true } });
		expect(envelope).toMatchObject({
			sessionId: 'slack:T123ABC456:group:C123ABC456',
			chat: { id: 'C123ABC456', type: 'group' },
			sender: { id: 'U123ABC456' },
			message: { text: 'Live long and prospect.', mentionsBot: false },
		});
	});
});

describe('Slack Events API payloads from the Slack documentation, through the Slack trigger pipeline', () => {
	const SIGNING_SECRET = 'recorded-payloads-signing-secret';
	const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
	// The bot user the app_mention example mentions (<@U0LAN0Z89>); what auth.test answers below.
	const BOT_USER_ID = 'U0LAN0Z89';

	// Payloads without `authorizations` make the trigger ask auth.test who the bot is; this answers
	// only that, on loopback, so nothing here leaves the machine.
	let authTest: Server;
	let apiUrl = '';
	beforeAll(async () => {
		authTest = createServer((request, response) => {
			response.setHeader('content-type', 'application/json');
			response.end(JSON.stringify(request.url?.endsWith('/auth.test') ? { ok: true, user_id: BOT_USER_ID, team_id: 'T123ABC456' } : { ok: false, error: 'unknown_method' }));
		});
		await new Promise<void>((resolve) => authTest.listen(0, '127.0.0.1', resolve));
		apiUrl = `http://127.0.0.1:${(authTest.address() as AddressInfo).port}/api`;
	});
	afterAll(() => new Promise<void>((resolve) => authTest.close(() => resolve())));

	/** Signs like Slack (v0: HMAC-SHA256 of "v0:<timestamp>:<body>"), independently of the adapter and the emulator. */
	function signedRequest(body: string, secret = SIGNING_SECRET): WebhookRequest {
		const timestamp = String(Math.floor(NOW / 1000));
		const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
		return {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature },
			rawBody: Buffer.from(body),
			body: JSON.parse(body),
			query: {},
			url: 'https://n8n.example.com/webhook/clawgate-slack',
		};
	}

	// Loaded here, not at the top: a plugin that does not load fails its own tests only.
	let slackPlugin: AnyChannelPlugin;
	beforeAll(async () => {
		slackPlugin = (await import('../../nodes/Slack/slack.plugin')).slackPlugin;
	});

	function deliver(name: string, { policy = DEFAULT_ACCESS_POLICY, recent = new RecentKeys(), signWith = SIGNING_SECRET } = {}): Promise<WebhookOutcome> {
		const body = JSON.stringify(recorded('slack', name).payload);
		// A token of its own per fixture: the adapter caches auth.test answers per token.
		const credential: SlackCredential = { botToken: `xoxb-recorded-${name}`, signingSecret: SIGNING_SECRET, baseUrl: apiUrl };
		return deliverThrough(slackPlugin, signedRequest(body, signWith), credential, { policy, recent, now: NOW });
	}

	test('a signed url_verification is answered with its challenge', async () => {
		expect(await deliver('url-verification')).toMatchObject({
			kind: 'answered',
			answer: { status: 200, body: { challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' } },
		});
	});

	test('a url_verification signed with another secret is refused 401, with no challenge', async () => {
		const outcome = await deliver('url-verification', { signWith: 'someone-elses-secret' });
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(JSON.stringify(outcome)).not.toContain('3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P');
	});

	// Slack's own message.im example carries a person's authorization (is_bot false) whose user_id is
	// the sender: it must not be taken for the bot's, or the DM is dropped as the bot's own.
	it('message.im delivered as documented (a user authorization, is_bot false) is emitted, not dropped as the bot\'s own', async () => {
		const envelope = envelopeOf(await deliver('message-im'));
		expect(envelope).toMatchObject({ via: 'slack', sender: { id: 'U2147483697' }, message: { text: 'Hello hello can you hear me?' } });
	});

	// The documented authorization (user U123ABC456, is_bot false) is not the bot, so the real bot's
	// mention <@U0LAN0Z89> is found and removed ("@bot /new" is the command /new).
	it('app_mention delivered as documented reaches the workflow without the leading mention of the bot', async () => {
		const envelope = envelopeOf(await deliver('app-mention'));
		expect(envelope.message).toMatchObject({ mentionsBot: true, text: 'is it everything a river should be?' });
	});

	test('a shared image in a DM becomes an image attachment with its name, type and size', async () => {
		const envelope = envelopeOf(await deliver('message-file-share'));
		expect(envelope).toMatchObject({
			sessionId: 'slack:T123ABC456:dm:D0L4B9P0Q',
			channel: 'slack',
			via: 'slack',
			accountId: 'T123ABC456',
			chat: { id: 'D0L4B9P0Q', type: 'dm' },
			sender: { id: 'U061F7AUR', isBot: false },
			message: { id: '1529342088.000086', text: 'We got one!', replyToId: null, mentionsBot: false, timestamp: '2018-06-18T17:14:48.000Z' },
		});
		expect(envelope.message.attachments).toEqual([{ kind: 'image', id: 'F0RDC39U1', mimeType: 'image/png', name: 'ghostrap.png', size: 196920 }]);
	});

	test('the same event delivered again (a Slack retry) is acknowledged and not emitted twice', async () => {
		const recent = new RecentKeys();
		expect(envelopeOf(await deliver('message-file-share', { recent })).message.id).toBe('1529342088.000086');
		expect(await deliver('message-file-share', { recent })).toMatchObject({ kind: 'taken', answer: { status: 200 }, envelopes: [] });
	});

	test('a channel message that does not mention the bot is acknowledged without an execution by default', async () => {
		expect(await deliver('message-channels')).toMatchObject({ kind: 'taken', answer: { status: 200 }, envelopes: [] });
	});

	test('a message_changed event (an edit) is acknowledged without an execution', async () => {
		expect(await deliver('message-changed', { policy: { ...DEFAULT_ACCESS_POLICY, groupActivation: 'all' } })).toMatchObject({
			kind: 'taken',
			answer: { status: 200 },
			envelopes: [],
		});
	});
});

// -------------------------------------------------------------------------------------------------
// Discord: https://discord.com/developers/docs/resources/message and …/events/gateway-events#message-create

describe('Discord MESSAGE_CREATE payloads built from the Discord documentation', () => {
	// The docs' Example User "Nelly" stands for the bot user in these fixtures.
	const BOT_USER_ID = '80351110224678912';
	const message = (name: string) => {
		const { payload } = recorded<{ op: number; t: string; d: DiscordMessagePayload }>('discord', name);
		expect(payload).toMatchObject({ op: 0, t: 'MESSAGE_CREATE' });
		return payload.d;
	};
	const normalize = (name: string, options: DiscordTriggerOptions = {}) => normalizeDiscordMessage(message(name), { botUserId: BOT_USER_ID, options });

	test('a server message that neither mentions nor replies to the bot is not emitted by default', () => {
		expect(normalize('message-create-guild')).toBeNull();
	});

	test('with All Server Messages on, the Example Message becomes a group envelope with the member\'s nickname', () => {
		expect(userFacing(normalize('message-create-guild', { allGuildMessages: true }))).toEqual({
			sessionId: 'discord:80351110224678912:group:290926798999357250',
			channel: 'discord',
			accountId: BOT_USER_ID,
			chat: { id: '290926798999357250', type: 'group', threadId: null, title: null },
			sender: { id: '53908099506183680', name: 'NOT API SUPPORT', username: 'Mason', isBot: false },
			message: {
				id: '334385199974967042',
				text: 'Supa Hot',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: '2017-07-11T17:27:07.299Z',
			},
		});
	});

	test('a mention of the bot (in content and in "mentions") is emitted with mentionsBot and without the mention in the text', () => {
		expect(normalize('message-create-guild-mention')?.message).toMatchObject({ text: 'Supa Hot', mentionsBot: true });
	});

	test('a reply to one of the bot\'s messages is emitted by default and names that message in replyToId', () => {
		const envelope = normalize('message-create-reply');
		expect(envelope).toMatchObject({
			sessionId: 'discord:80351110224678912:group:41771983423143937',
			chat: { id: '41771983423143937', type: 'group' },
			sender: { id: '53908099506183680', isBot: false },
			message: { id: '334385199974967042', text: 'Supa Hot', replyToId: '155117677105512449', mentionsBot: false },
		});
	});

	test('a direct message becomes a DM envelope in the DM channel\'s session', () => {
		expect(userFacing(normalize('message-create-dm'))).toEqual({
			sessionId: 'discord:80351110224678912:dm:319674150115610528',
			channel: 'discord',
			accountId: BOT_USER_ID,
			chat: { id: '319674150115610528', type: 'dm', threadId: null, title: null },
			sender: { id: '82198898841029460', name: 'test', username: 'test', isBot: false },
			message: {
				id: '334385199974967042',
				text: 'Supa Hot',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: '2017-07-11T17:27:07.299Z',
			},
		});
	});

	test('a direct message with only an image is emitted with one image attachment and its CDN address (what AI Session downloads)', () => {
		expect(normalize('message-create-dm-attachment')?.message).toMatchObject({
			text: '',
			attachments: [
				{
					kind: 'image',
					id: '111111111111111111111',
					mimeType: 'image/png',
					name: 'bug.png',
					size: 241394,
					url: expect.stringMatching(/^https:\/\/cdn\.discordapp\.com\/ephemeral-attachments\/2222222222222222222\/111111111111111111111\/bug\.png\?ex=/),
				},
			],
		});
	});

	// A crosspost (flag IS_CROSSPOST, message type 0) carries a message_reference to the original in
	// another channel; the docs make replies messages of type 19, so it is no reply.
	it('a crossposted message is not a reply: replyToId stays null', () => {
		const envelope = normalize('message-create-crosspost', { allGuildMessages: true });
		expect(envelope?.message.text).toBe('Big news! In this <#278325129692446722> channel!');
		expect(envelope?.message.replyToId).toBeNull();
	});
});

// -------------------------------------------------------------------------------------------------
// Twilio: https://www.twilio.com/docs/messaging/guides/webhook-request, through the shared webhook pipeline

/**
 * X-Twilio-Signature as Twilio documents it: base64 HMAC-SHA1, keyed with the auth token, of the
 * URL followed by each POST parameter name and value, sorted by name.
 */
function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
	const data = Object.keys(params)
		.sort()
		.reduce((acc, name) => acc + name + params[name], url);
	return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

test('the Twilio signer here reproduces Twilio\'s published worked example (auth token 12345)', () => {
	const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };
	expect(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', params)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
});

describe('Twilio messaging webhooks from the Twilio documentation', () => {
	const AUTH_TOKEN = 'recorded-payloads-auth-token';
	const WEBHOOK_URL = 'https://n8n.example.com/webhook/clawgate-twilio';
	const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

	let twilioPlugin: AnyChannelPlugin;
	beforeAll(async () => {
		twilioPlugin = (await import('../../nodes/Twilio/twilio.plugin')).twilioPlugin;
	});


	function deliver(name: string, signWith = AUTH_TOKEN): Promise<WebhookOutcome> {
		const params = recorded<Record<string, string>>('twilio', name).payload;
		const request: WebhookRequest = {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(signWith, WEBHOOK_URL, params) },
			rawBody: Buffer.from(new URLSearchParams(params).toString()),
			body: params,
			query: {},
			url: WEBHOOK_URL,
		};
		const credential = { accountSid: 'ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', authToken: AUTH_TOKEN };
		return deliverThrough(twilioPlugin, request, credential, { now: NOW });
	}

	test('an inbound SMS becomes an sms DM envelope on the receiving number, acknowledged with empty TwiML', async () => {
		const outcome = await deliver('sms-inbound');
		expect(outcome).toMatchObject({ kind: 'taken', answer: { status: 200, body: EMPTY_TWIML, contentType: 'text/xml' } });
		expect(userFacing(envelopeOf(outcome))).toEqual({
			sessionId: 'sms:+15558675310:dm:+14017122661',
			channel: 'sms',
			via: 'twilio',
			accountId: '+15558675310',
			chat: { id: '+14017122661', type: 'dm', threadId: null, title: null },
			sender: { id: '+14017122661', name: null, username: null, isBot: false },
			message: {
				id: 'SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
				text: "Ahoy! Let's build something amazing.",
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: new Date(NOW).toISOString(),
			},
		});
	});

	test('a webhook signed with another auth token is refused 401 without an envelope', async () => {
		expect(await deliver('sms-inbound', 'someone-elses-token')).toMatchObject({ kind: 'forged', answer: { status: 401 } });
	});

	test('an MMS with one JPEG becomes an image attachment whose id is the media URL', async () => {
		expect(envelopeOf(await deliver('mms-inbound-image')).message.attachments).toEqual([
			{
				kind: 'image',
				id: 'https://api.twilio.com/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/MMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Media/MEXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
				mimeType: 'image/jpeg',
				name: null,
				size: null,
			},
		]);
	});

	test('a WhatsApp message is on channel whatsapp, answers to the whatsapp: address, and names the sender by profile', async () => {
		expect(envelopeOf(await deliver('whatsapp-inbound-text'))).toMatchObject({
			sessionId: 'whatsapp:+15558675310:dm:whatsapp:+14017122661',
			channel: 'whatsapp',
			via: 'twilio',
			accountId: '+15558675310',
			chat: { id: 'whatsapp:+14017122661', type: 'dm' },
			sender: { id: 'whatsapp:+14017122661', name: 'Perspective Coffee', isBot: false },
			message: { text: "Ahoy! Let's build something amazing.", attachments: [] },
		});
	});

	test('a WhatsApp image becomes an image attachment', async () => {
		expect(envelopeOf(await deliver('whatsapp-inbound-image')).message.attachments).toMatchObject([{ kind: 'image', mimeType: 'image/jpeg' }]);
	});

	test('a WhatsApp location becomes a location attachment with its coordinates and label', async () => {
		expect(envelopeOf(await deliver('whatsapp-inbound-location')).message).toMatchObject({
			text: '',
			attachments: [
				{
					kind: 'location',
					id: '51.51322977399644,-0.2197976373036567',
					mimeType: null,
					name: 'The Harrow Club',
					size: null,
					location: { latitude: 51.51322977399644, longitude: -0.2197976373036567 },
				},
			],
		});
	});

	test('a WhatsApp reply names the message it answers in replyToId', async () => {
		expect(envelopeOf(await deliver('whatsapp-inbound-reply')).message.replyToId).toBe('SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX');
	});
});

// -------------------------------------------------------------------------------------------------
// Microsoft Teams and Google Chat: the activities and events through the plugins' normalisers (their
// JWTs are checked in teams.test.ts and googleChat.test.ts against keys the emulators publish).

describe('Microsoft Teams activities from the Teams documentation', () => {
	const appId = 'c9e8c047-2a74-40a2-b28a-b162d5f5327c';
	const inbound = (name: string) => teamsActivityToInbound(recorded('teams', name).payload, { appId, sessionScope: 'chat', now: Date.parse('2026-01-01T00:00:00Z') });

	test('a personal chat message becomes a DM envelope of the app, in the conversation\'s session', () => {
		const { envelope } = inbound('personal-message');
		const conversation = 'a:17I0kl8EkpE1O9PH5TWrzrLNwnWWcfrU7QZjKR0WSfOpzbfcAg2IaydGElSo10tVr4C7Fc6GtieTJX663WuJCc1uA83n4CSrHSgGBj5XNYLcVlJAs2ZX8DbYBPck201w-';
		expect(userFacing(envelope)).toEqual({
			sessionId: `teams:${appId}:dm:${conversation}`,
			channel: 'teams',
			accountId: appId,
			event: 'message',
			chat: { id: conversation, type: 'dm', threadId: null, title: null },
			sender: { id: '29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ-NJWi7me2kHTL3Bw', name: 'Megan Bowen', username: '7faf6d23-1f0b-48b4-9bb1-9f6b8ce6ce4e', isBot: false },
			message: { id: '1485983408511', text: 'Hello Teams TestBot', replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: '2017-02-01T21:10:07.437Z' },
		});
	});

	test('a channel mention is a channel envelope in its reply chain, mentioning the bot, without the <at> text or the HTML copy', () => {
		const { envelope, facts } = inbound('channel-mention');
		expect(envelope?.chat).toEqual({ id: '19:253b1f341670408fb6fcb1e57b9dc1b1@thread.skype;messageid=1481567603816', type: 'channel', threadId: null, title: null });
		expect(envelope?.message).toMatchObject({ text: "what's the weather?", mentionsBot: true, attachments: [] });
		expect(facts.alsoInChats).toContain('19:253b1f341670408fb6fcb1e57b9dc1b1@thread.skype');
	});
});

describe('Google Chat events from the Google Chat documentation', () => {
	const accountId = '123456789012';
	const inbound = (name: string) => googleChatEventToInbound(recorded('googleChat', name).payload, { accountId, sessionScope: 'chat', now: Date.parse('2026-01-01T00:00:00Z') });

	test('an @mention in a space becomes a group envelope in its thread, with argumentText as the text', () => {
		const { envelope } = inbound('message-space-mention');
		expect(userFacing(envelope)).toEqual({
			sessionId: `googlechat:${accountId}:group:spaces/AAAAAAAAAAA:spaces/AAAAAAAAAAA/threads/DDDDDDDDDDD`,
			channel: 'googlechat',
			accountId,
			event: 'message',
			chat: { id: 'spaces/AAAAAAAAAAA', type: 'group', threadId: 'spaces/AAAAAAAAAAA/threads/DDDDDDDDDDD', title: 'Customer Support Superstars' },
			sender: { id: 'users/12345678901234567890', name: 'Charlie', username: 'charlie@example.com', isBot: false },
			message: {
				id: 'spaces/AAAAAAAAAAA/messages/CCCCCCCCCCC',
				text: 'Can you help me find the status of my order?',
				replyToId: null,
				mentionsBot: true,
				command: null,
				attachments: [],
				timestamp: '2023-08-04T22:16:54.000Z',
			},
		});
	});

	test('a direct message is a DM envelope of the space, not threaded', () => {
		expect(userFacing(inbound('message-dm').envelope)).toMatchObject({ chat: { id: 'spaces/BBBBBBBBBBB', type: 'dm', threadId: null }, message: { text: 'Hello!', timestamp: '2023-08-04T22:16:54.093Z' } });
	});

	test('ADDED_TO_SPACE is answered 200 with no envelope', async () => {
		const receipt = await googleChatPlugin.webhook!.receive(
			{ method: 'POST', headers: {}, rawBody: Buffer.from(JSON.stringify(recorded('googleChat', 'added-to-space').payload)), body: {}, query: {}, url: '' },
			{ serviceAccountJson: '{}', audience: accountId },
			{ workflowId: 'w', nodeId: 'n', webhookId: 'h', options: {}, now: Date.now() },
			{ policy: DEFAULT_ACCESS_POLICY, sessionScope: 'chat' },
		);
		expect(receipt).toMatchObject({ kind: 'answer', answer: { status: 200 } });
	});
});
// -------------------------------------------------------------------------------------------------
// Matrix: https://spec.matrix.org/latest/client-server-api/ (listener: events come from /sync)

describe('Matrix room events from the client-server spec', () => {
	const options = { botUserId: '@clawbot:example.org', botDisplayName: 'Clawbot', isDirect: true, sessionScope: 'chat' as const };
	const inbound = (name: string, isDirect = true) => {
		const event = recorded('matrix', name).payload;
		return matrixEventToInbound(event, String(event.room_id ?? '!room:example.org'), { ...options, isDirect });
	};

	test('an m.text message with HTML becomes a DM envelope of its plain body', () => {
		expect(userFacing(inbound('m-text-html').envelope)).toEqual({
			sessionId: 'matrix:@clawbot:example.org:dm:!jEsUZKDJdhlrceRyVU:example.org',
			channel: 'matrix',
			accountId: '@clawbot:example.org',
			event: 'message',
			chat: { id: '!jEsUZKDJdhlrceRyVU:example.org', type: 'dm', threadId: null, title: null },
			sender: { id: '@example:example.org', name: null, username: '@example:example.org', isBot: false },
			message: { id: '$143273582443PhrSn:example.org', text: 'This is an example text message', replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: '2015-05-27T14:10:24.653Z' },
		});
	});

	test('an m.image carries its mxc URL, type and size', () => {
		expect(inbound('m-image').envelope?.message.attachments).toEqual([{ kind: 'image', id: 'mxc://example.org/JWEIFJgwEIhweiWJE', mimeType: 'image/jpeg', name: 'filename.jpg', size: 31037 }]);
	});

	test('a thread reply names its thread root, and in a room without a mention it is not addressed to the bot', () => {
		const { envelope } = inbound('thread-reply', false);
		expect(envelope?.chat).toEqual({ id: '!room:example.org', type: 'group', threadId: '$alice_hello', title: null });
		expect(envelope?.message.mentionsBot).toBe(false);
	});
});

// -------------------------------------------------------------------------------------------------
// Zulip: https://zulip.com/api/get-events

describe('Zulip events from the API documentation', () => {
	const bot = { id: '31572', fullName: 'Hamlet of Denmark' };
	const events = recorded<{ events: Record<string, unknown>[] }>('zulip', 'get-events').payload.events;

	test("a stream message is a group message of the stream, its topic the thread; the sender's -bot@ address marks a bot", () => {
		expect(userFacing(zulipEventToInbound(events[0], { bot, sessionScope: 'chat' })?.envelope)).toMatchObject({
			sessionId: 'zulip:31572:group:15:Castle',
			chat: { id: '15', type: 'group', threadId: 'Castle', title: 'Denmark' },
			sender: { id: '13215', name: 'Othello Bot', username: 'othello-bot@example.com', isBot: true },
			message: { id: '12345678', text: 'I come not, friends, to steal away your hearts.', mentionsBot: false, timestamp: '2013-08-08T16:13:23.000Z' },
		});
	});

	test('a direct message to the bot is a DM with the sender', () => {
		expect(zulipEventToInbound(events[1], { bot, sessionScope: 'chat' })?.envelope).toMatchObject({ sessionId: 'zulip:31572:dm:13215', chat: { id: '13215', type: 'dm', threadId: null } });
	});

	test('the documented BAD_EVENT_QUEUE_ID answer makes the trigger register a new queue', async () => {
		const answer = recorded('zulip', 'bad-event-queue-id').payload;
		const calls: string[] = [];
		const server = createServer((request, response) => {
			calls.push(`${request.method} ${request.url?.split('?')[0]}`);
			const body = request.url?.startsWith('/api/v1/users/me') ? { result: 'success', user_id: 1, full_name: 'Bot' } : request.url?.startsWith('/api/v1/register') ? { result: 'success', queue_id: 'new-queue', last_event_id: -1 } : answer;
			response.writeHead(request.url?.startsWith('/api/v1/events') ? 400 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		try {
			const warnings: string[] = [];
			const source = await zulipQueueSource({ baseUrl, email: 'bot@example.com', apiKey: 'k' }, { policy: DEFAULT_ACCESS_POLICY, sessionScope: 'chat' }, { debug: () => undefined, info: () => undefined, warn: (line) => void warnings.push(line) });
			const batch = await source.fetch(JSON.stringify({ queueId: 'fb67bf8a-c031-47cc-84cf-ed80accacda8', lastEventId: 3 }), new AbortController().signal);
			expect(batch).toEqual({ events: [], cursor: JSON.stringify({ queueId: 'new-queue', lastEventId: -1 }) });
			expect(calls).toEqual(['GET /api/v1/users/me', 'GET /api/v1/events', 'POST /api/v1/register']);
			expect(warnings).toHaveLength(1);
		} finally {
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	});
});

// -------------------------------------------------------------------------------------------------
// Signal: signal-cli's receive notifications, as signal-cli-rest-api forwards them (json-rpc) or answers a receive (normal, native)

describe('Signal envelopes from the signal-cli documentation', () => {
	const options = { account: '+44987654321', sessionScope: 'chat' as const };

	test('a data message is a DM from its sender, named by timestamp and author', () => {
		expect(userFacing(signalEnvelopeToInbound(recorded('signal', 'receive-data-message').payload, options)?.envelope)).toEqual({
			sessionId: 'signal:+44987654321:dm:+33123456789',
			channel: 'signal',
			accountId: '+44987654321',
			event: 'message',
			chat: { id: '+33123456789', type: 'dm', threadId: null, title: null },
			sender: { id: '+33123456789', name: 'name', username: 'uuid', isBot: false },
			message: { id: '1631458508784@+33123456789', text: 'foobar', replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: '2021-09-12T14:55:08.784Z' },
		});
	});

	test("the account's own message from a linked device (a sync message, in subscription form) starts nothing", () => {
		expect(signalEnvelopeToInbound(recorded('signal', 'receive-sync-message').payload, { ...options, account: '+33123456789' })).toMatchObject({ envelope: null, facts: { fromSelf: true } });
	});

	test('the array a receive answers in normal or native mode is handed over item by item, as the same envelope', async () => {
		const answer = recorded<unknown[]>('signal', 'receive-normal-mode').payload;
		const server = createServer((_request, response) => void response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(JSON.stringify(answer)));
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			const log = { debug: () => undefined, info: () => undefined, warn: () => undefined };
			const source = signalPollSource({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, account: options.account }, { policy: DEFAULT_ACCESS_POLICY, sessionScope: 'chat' }, log);
			const batch = await source.fetch('', new AbortController().signal);
			expect(batch.events).toHaveLength(1);
			const inbound = await source.inbound(batch.events[0]);
			expect(userFacing(inbound?.envelope)).toEqual(userFacing(signalEnvelopeToInbound(recorded('signal', 'receive-data-message').payload, options)?.envelope));
		} finally {
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	});
});
// -------------------------------------------------------------------------------------------------
// Meta (WhatsApp Cloud API, Messenger, Instagram): https://developers.facebook.com/docs/graph-api/webhooks/getting-started

/** X-Hub-Signature-256 as Meta documents it: "sha256=" and the hex HMAC-SHA256 of the raw body, keyed with the app secret. */
function metaSignedRequest(body: string, appSecret: string): WebhookRequest {
	return {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}` },
		rawBody: Buffer.from(body),
		body: JSON.parse(body),
		query: {},
		url: 'https://n8n.example.com/webhook/clawgate-meta/webhook',
	};
}

describe('Meta webhooks from the WhatsApp, Messenger and Instagram documentation', () => {
	const APP_SECRET = 'recorded-payloads-app-secret';
	const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
	const plugins: Record<string, AnyChannelPlugin> = {};
	beforeAll(async () => {
		plugins.whatsapp = (await import('../../nodes/WhatsApp/whatsapp.plugin')).whatsAppPlugin;
		plugins.messenger = (await import('../../nodes/Messenger/messenger.plugin')).messengerPlugin;
		plugins.instagram = (await import('../../nodes/Instagram/instagram.plugin')).instagramPlugin;
	});
	const credentials: Record<string, Record<string, string>> = {
		whatsapp: { accessToken: 'EAAG-recorded', phoneNumberId: '106540352242922', appSecret: APP_SECRET, verifyToken: 'recorded-verify' },
		messenger: { pageAccessToken: 'EAAG-recorded', appSecret: APP_SECRET, verifyToken: 'recorded-verify' },
		instagram: { accessToken: 'IGAA-recorded', appSecret: APP_SECRET, verifyToken: 'recorded-verify' },
	};

	function deliver(platform: string, name: string, { signWith = APP_SECRET, credential = credentials[platform] } = {}): Promise<WebhookOutcome> {
		const body = JSON.stringify(recorded(platform, name).payload);
		return deliverThrough(plugins[platform], metaSignedRequest(body, signWith), credential, { now: NOW });
	}

	const dropped = (outcome: WebhookOutcome) => (outcome.kind === 'taken' && outcome.envelopes.length === 0 ? outcome.dropped.join('\n') : `not dropped: ${JSON.stringify(outcome)}`);

	test('the verification request is answered with its challenge as text, only with the verify token', async () => {
		const request = (token: string): WebhookRequest => ({
			method: 'GET',
			headers: {},
			rawBody: undefined,
			body: {},
			query: { 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': token },
			url: 'https://n8n.example.com/webhook/clawgate-meta/webhook',
		});
		for (const platform of ['whatsapp', 'messenger', 'instagram']) {
			expect(await deliverThrough(plugins[platform], request('recorded-verify'), credentials[platform], { now: NOW })).toMatchObject({
				kind: 'answered',
				answer: { status: 200, body: '1158201444', contentType: 'text/plain' },
			});
			const wrong = await deliverThrough(plugins[platform], request('guessed'), credentials[platform], { now: NOW });
			expect(wrong).toMatchObject({ kind: 'forged', answer: { status: 401 } });
			expect(JSON.stringify(wrong)).not.toContain('1158201444');
		}
	});

	test('WhatsApp: the reference\'s text message becomes a DM envelope on the phone number ID, named by profile', async () => {
		const outcome = await deliver('whatsapp', 'text-message');
		expect(outcome).toMatchObject({ kind: 'taken', answer: { status: 200 } });
		expect(userFacing(envelopeOf(outcome))).toEqual({
			sessionId: 'whatsapp:106540352242922:dm:16505551234',
			channel: 'whatsapp',
			via: 'whatsapp',
			accountId: '106540352242922',
			event: 'message',
			chat: { id: '16505551234', type: 'dm', threadId: null, title: null },
			sender: { id: '16505551234', name: 'Sheena Nelson', username: null, isBot: false },
			message: {
				id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
				text: 'Does it come in another color?',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: '2025-06-08T20:59:43.000Z',
			},
		});
	});

	test('WhatsApp: a webhook signed with another app secret is refused 401', async () => {
		expect(await deliver('whatsapp', 'text-message', { signWith: 'someone-elses-secret' })).toMatchObject({ kind: 'forged', answer: { status: 401 } });
	});

	test('WhatsApp: an image keeps its media ID and type, the caption is the text', async () => {
		expect(envelopeOf(await deliver('whatsapp', 'image-message')).message).toMatchObject({
			text: 'This is a caption',
			attachments: [{ kind: 'image', id: '2754859441498128', mimeType: 'image/jpeg', name: null, size: null }],
		});
	});

	test('WhatsApp: a location becomes a location attachment with its coordinates and name', async () => {
		expect(envelopeOf(await deliver('whatsapp', 'location-message')).message.attachments).toEqual([
			{ kind: 'location', id: '37.483307,-122.148981', mimeType: null, name: 'Philz Coffee', size: null, location: { latitude: 37.483307, longitude: -122.148981 } },
		]);
	});

	test('WhatsApp: a voice note is a voice attachment', async () => {
		expect(envelopeOf(await deliver('whatsapp', 'voice-message')).message.attachments).toMatchObject([{ kind: 'voice', id: '1003383421387256', mimeType: 'audio/ogg; codecs=opus' }]);
	});

	test('WhatsApp: a reply names the business message it answers', async () => {
		expect(envelopeOf(await deliver('whatsapp', 'reply-with-context')).message).toMatchObject({ text: 'Yes, the blue one please', replyToId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NTJBODk4QjVCNzFGMTRDNUEA' });
	});

	test('WhatsApp: status callbacks (delivered; failed with 131047) are acknowledged and start nothing', async () => {
		expect(dropped(await deliver('whatsapp', 'status-delivered'))).toMatch(/"delivered" status .* is not a message/);
		expect(dropped(await deliver('whatsapp', 'status-failed-131047'))).toMatch(/"failed" status .*131047.*24-hour window/);
	});

	test('WhatsApp: a message to another phone number of the same app starts nothing for this credential', async () => {
		const other = { ...credentials.whatsapp, phoneNumberId: '999999999999999' };
		expect(dropped(await deliver('whatsapp', 'text-message', { credential: other }))).toMatch(/phone number ID 106540352242922, not to 999999999999999/);
	});

	test('Messenger: the reference\'s text message becomes a DM envelope of the Page', async () => {
		expect(userFacing(envelopeOf(await deliver('messenger', 'text-quick-reply')))).toEqual({
			sessionId: 'messenger:PAGE_ID:dm:USER_ID',
			channel: 'messenger',
			via: 'messenger',
			accountId: 'PAGE_ID',
			event: 'message',
			chat: { id: 'USER_ID', type: 'dm', threadId: null, title: null },
			sender: { id: 'USER_ID', name: null, username: null, isBot: false },
			message: {
				id: 'mid.1457764197618:41d102a3e1ae206a38',
				text: 'hello, world!',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: '2016-03-23T00:25:52.478Z',
			},
		});
	});

	test('Messenger: an image attachment is an image whose id is its URL', async () => {
		expect(envelopeOf(await deliver('messenger', 'image-attachment')).message.attachments).toEqual([
			{ kind: 'image', id: 'https://scontent.xx.fbcdn.net/v/t1.15752-9/image.png', mimeType: null, name: null, size: null },
		]);
	});

	test('Messenger: a postback is a callback_query whose text is the payload', async () => {
		expect(envelopeOf(await deliver('messenger', 'postback'))).toMatchObject({ event: 'callback_query', chat: { id: 'USER_ID', type: 'dm' }, message: { id: 'm_MESSAGE-ID', text: 'GET_STARTED' } });
	});

	test('Messenger: an echo of the Page\'s own message and a read receipt start nothing', async () => {
		expect(dropped(await deliver('messenger', 'message-echo'))).toMatch(/the bot sent it itself/);
		expect(dropped(await deliver('messenger', 'message-reads'))).toMatch(/read event is not a message/);
	});

	test('Instagram: a direct message becomes a DM envelope of the professional account', async () => {
		expect(envelopeOf(await deliver('instagram', 'text-message'))).toMatchObject({
			sessionId: 'instagram:17841405822304914:dm:1234567890123456',
			channel: 'instagram',
			via: 'instagram',
			accountId: '17841405822304914',
			chat: { id: '1234567890123456', type: 'dm' },
			message: { text: 'Do you ship to Berlin?', timestamp: '2019-09-23T18:14:45.349Z' },
		});
	});

	test('Instagram: an image, an echo and a postback', async () => {
		expect(envelopeOf(await deliver('instagram', 'image-attachment')).message.attachments).toMatchObject([{ kind: 'image', id: expect.stringMatching(/^https:\/\/lookaside/) }]);
		expect(dropped(await deliver('instagram', 'message-echo'))).toMatch(/the bot sent it itself/);
		expect(envelopeOf(await deliver('instagram', 'postback'))).toMatchObject({ event: 'callback_query', message: { text: 'HOURS' } });
	});
});

