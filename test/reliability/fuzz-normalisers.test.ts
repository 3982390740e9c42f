/**
 * Fuzzing of every inbound normaliser, on the path each trigger runs for a request: random values,
 * and realistic payloads with fields deleted, replaced or retyped at any depth. A trigger turns
 * `InvalidPayloadError` into a clear 400; anything else (a TypeError, a RangeError from an
 * invalid date) would surface as an n8n stack trace, so the bar is: no other exception, and every
 * envelope that comes out is well-formed (DESIGN.md "The envelope").
 */
import fc from 'fast-check';
import twilio from 'twilio';

import type { AnyChannelPlugin, WebhookRequest } from '../../nodes/core/channel';
import { InvalidPayloadError } from '../../nodes/core/errors';
import type { Envelope } from '../../nodes/core/envelope';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookDeliveryInput } from '../../nodes/core/webhook-delivery';
import { normalizeDiscordMessage, whyDiscordMessageIsSkipped, type DiscordMessagePayload, type DiscordNormalizeContext } from '../../nodes/Discord/discord.adapter';
import { normalizeSlackEvent, type SlackCredential, type SlackEventCallback } from '../../nodes/Slack/slack.adapter';
import { slackPlugin } from '../../nodes/Slack/slack.plugin';
import { receiveSettingsFrom } from '../../nodes/shared/trigger-settings';
import { decideTelegramUpdate, normalizeTelegramUpdate, parseTelegramUpdate } from '../../nodes/Telegram/telegram.inbound';
import { normalizeTwilioMessage, type TwilioCredential } from '../../nodes/Twilio/twilio.adapter';
import { twilioPlugin } from '../../nodes/Twilio/twilio.plugin';
import { signSlackRequest, SlackEmulator } from '../emulators/slack';
import { CONTRACT_WEBHOOK, CONTRACT_WEBHOOK_URL, contractDrivers, type ContractDriver, type Delivery } from '../platforms/contract-drivers';
import { recordFigure } from './figures';

jest.setTimeout(120_000);

/** Inputs per platform and kind (random values; mutated real payloads). */
const RANDOM_RUNS = 3_000;
const MUTATED_RUNS = 6_000;
/** A fixed seed keeps a failure reproducible; FUZZ_SEED explores other corners. */
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

// ---------------------------------------------------------------------------------------------
// The envelope's shape

const CHAT_TYPES = ['dm', 'group', 'channel'];
const ATTACHMENT_KINDS = ['image', 'audio', 'voice', 'video', 'document', 'sticker', 'location', 'other'];
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$|^[+-]\d{6}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** What is wrong with an envelope, or an empty list when it is well-formed. */
function envelopeProblems(envelope: Envelope): string[] {
	const problems: string[] = [];
	const expect = (condition: boolean, what: string) => {
		if (!condition) problems.push(what);
	};
	const isString = (value: unknown) => typeof value === 'string';
	const nonEmpty = (value: unknown) => typeof value === 'string' && value !== '';
	const stringOrNull = (value: unknown) => value === null || typeof value === 'string';
	expect(nonEmpty(envelope.sessionId), 'sessionId is not a non-empty string');
	expect(nonEmpty(envelope.channel), 'channel is not a non-empty string');
	expect(nonEmpty(envelope.accountId), 'accountId is not a non-empty string');
	const { chat, sender, message } = envelope;
	expect(typeof chat === 'object' && chat !== null, 'chat is not an object');
	expect(typeof sender === 'object' && sender !== null, 'sender is not an object');
	expect(typeof message === 'object' && message !== null, 'message is not an object');
	if (problems.length > 0) return problems;
	expect(nonEmpty(chat.id), 'chat.id is not a non-empty string');
	expect(CHAT_TYPES.includes(chat.type), `chat.type is ${String(chat.type)}`);
	expect(chat.threadId === null || nonEmpty(chat.threadId), 'chat.threadId is neither null nor a non-empty string');
	expect(stringOrNull(chat.title), 'chat.title is neither null nor a string');
	expect(nonEmpty(sender.id), 'sender.id is not a non-empty string');
	expect(stringOrNull(sender.name), 'sender.name is neither null nor a string');
	expect(stringOrNull(sender.username), 'sender.username is neither null nor a string');
	expect(typeof sender.isBot === 'boolean', 'sender.isBot is not a boolean');
	expect(nonEmpty(message.id), 'message.id is not a non-empty string');
	expect(isString(message.text), 'message.text is not a string');
	expect(stringOrNull(message.replyToId), 'message.replyToId is neither null nor a string');
	expect(typeof message.mentionsBot === 'boolean', 'message.mentionsBot is not a boolean');
	expect(stringOrNull(message.command), 'message.command is neither null nor a string');
	expect(isString(message.timestamp) && ISO_UTC.test(message.timestamp), `message.timestamp is not ISO 8601 UTC: ${String(message.timestamp)}`);
	expect(message.editedAt === undefined || message.editedAt === null || (isString(message.editedAt) && ISO_UTC.test(message.editedAt)), 'message.editedAt is not ISO 8601 UTC');
	expect(Array.isArray(message.attachments), 'message.attachments is not an array');
	for (const [index, attachment] of (Array.isArray(message.attachments) ? message.attachments : []).entries()) {
		const at = `message.attachments[${index}]`;
		expect(ATTACHMENT_KINDS.includes(attachment?.kind), `${at}.kind is ${String(attachment?.kind)}`);
		expect(nonEmpty(attachment?.id), `${at}.id is not a non-empty string`);
		expect(stringOrNull(attachment?.mimeType), `${at}.mimeType is neither null nor a string`);
		expect(stringOrNull(attachment?.name), `${at}.name is neither null nor a string`);
		expect(attachment?.size === null || (typeof attachment?.size === 'number' && Number.isFinite(attachment.size)), `${at}.size is neither null nor a number`);
		if (attachment?.location !== undefined) {
			expect(Number.isFinite(attachment.location.latitude) && Number.isFinite(attachment.location.longitude), `${at}.location is not two numbers`);
		}
	}
	// n8n stores items as JSON: the envelope must survive it (raw included).
	try {
		JSON.stringify(envelope);
	} catch (error) {
		problems.push(`the envelope is not JSON-serialisable: ${(error as Error).message}`);
	}
	return problems;
}

// ---------------------------------------------------------------------------------------------
// Mutating a realistic payload

type Mutation = { pick: number; op: 'delete' | 'replace' | 'retype' | 'empty'; value: unknown };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.record({
	pick: fc.nat(),
	op: fc.constantFrom('delete' as const, 'replace' as const, 'retype' as const, 'empty' as const),
	value: fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom(null, undefined, '', 0, -1, NaN, 1e21, 'not a date', '1e400', [], {}, true)),
});

type Path = Array<string | number>;

function pathsOf(value: unknown, path: Path = [], into: Path[] = []): Path[] {
	into.push(path);
	if (typeof value === 'object' && value !== null) {
		for (const key of Object.keys(value)) pathsOf((value as Record<string, unknown>)[key], [...path, Array.isArray(value) ? Number(key) : key], into);
	}
	return into;
}

/** The same value as another type: what a client library, a proxy or a platform change could send. */
function retyped(value: unknown): unknown {
	if (typeof value === 'string') return value === '' ? 0 : Number.isNaN(Number(value)) ? { value } : Number(value);
	if (typeof value === 'number') return String(value);
	if (typeof value === 'boolean') return value ? 'true' : 0;
	if (Array.isArray(value)) return Object.fromEntries(value.map((item, index) => [String(index), item]));
	if (value === null || value === undefined) return {};
	return Object.values(value as object);
}

function emptied(value: unknown): unknown {
	if (typeof value === 'string') return '';
	if (typeof value === 'number') return 0;
	if (Array.isArray(value)) return [];
	if (typeof value === 'object' && value !== null) return {};
	return null;
}

function mutate(base: unknown, mutations: Mutation[]): unknown {
	let root: unknown = structuredClone(base);
	for (const { pick, op, value } of mutations) {
		const paths = pathsOf(root);
		const path = paths[pick % paths.length];
		if (path.length === 0) {
			root = op === 'delete' ? undefined : op === 'replace' ? value : op === 'retype' ? retyped(root) : emptied(root);
			continue;
		}
		const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root) as Record<string | number, unknown>;
		const key = path[path.length - 1];
		if (op === 'delete') {
			if (Array.isArray(parent)) parent.splice(Number(key), 1);
			else delete parent[key];
		} else {
			parent[key] = op === 'replace' ? value : op === 'retype' ? retyped(parent[key]) : emptied(parent[key]);
		}
	}
	return root;
}

// ---------------------------------------------------------------------------------------------
// Realistic payloads (shapes from each platform's documentation and the emulators)

const telegramSamples: unknown[] = [
	{
		update_id: 900001,
		message: {
			message_id: 1001,
			date: 1795000000,
			chat: { id: -1001234567890, type: 'supergroup', title: 'Makers', is_forum: true },
			from: { id: 42, is_bot: false, first_name: 'Ada', last_name: 'L.', username: 'ada', language_code: 'en' },
			message_thread_id: 12,
			is_topic_message: true,
			text: '@clawbot /new@clawbot what is up?',
			entities: [
				{ type: 'mention', offset: 0, length: 8 },
				{ type: 'bot_command', offset: 9, length: 12 },
				{ type: 'text_mention', offset: 22, length: 4, user: { id: 7012345678, is_bot: true, first_name: 'Claw' } },
			],
			reply_to_message: { message_id: 990, date: 1794999000, chat: { id: -1001234567890, type: 'supergroup' }, from: { id: 7012345678, is_bot: true, first_name: 'Claw' }, text: 'hi' },
		},
	},
	{
		update_id: 900002,
		message: {
			message_id: 1002,
			date: 1795000010,
			chat: { id: 42, type: 'private', first_name: 'Ada' },
			from: { id: 42, is_bot: false, first_name: 'Ada' },
			caption: 'look',
			caption_entities: [{ type: 'bold', offset: 0, length: 4 }],
			photo: [
				{ file_id: 'p-small', file_unique_id: 'u1', width: 90, height: 60, file_size: 1200 },
				{ file_id: 'p-large', file_unique_id: 'u2', width: 1280, height: 853, file_size: 120000 },
			],
			document: { file_id: 'd1', file_unique_id: 'u3', file_name: 'a.pdf', mime_type: 'application/pdf', file_size: 3000 },
			voice: { file_id: 'v1', file_unique_id: 'u4', duration: 3, mime_type: 'audio/ogg', file_size: 4000 },
			audio: { file_id: 'a1', file_unique_id: 'u5', duration: 200, title: 'Song', file_size: 5000000 },
			video: { file_id: 'vi1', file_unique_id: 'u6', width: 640, height: 480, duration: 5 },
			video_note: { file_id: 'vn1', file_unique_id: 'u7', length: 240, duration: 4 },
			sticker: { file_id: 's1', file_unique_id: 'u8', type: 'regular', width: 512, height: 512, is_animated: false, is_video: true, emoji: '😀' },
			location: { latitude: 48.8584, longitude: 2.2945 },
			venue: { location: { latitude: 48.8584, longitude: 2.2945 }, title: 'Eiffel Tower', address: 'Paris' },
		},
	},
	{
		update_id: 900003,
		edited_message: {
			message_id: 1003,
			date: 1795000020,
			edit_date: 1795000080,
			chat: { id: -500, type: 'group', title: 'Friends' },
			from: { id: 43, is_bot: false, first_name: 'Bob' },
			text: 'edited @clawbot',
			entities: [{ type: 'mention', offset: 7, length: 8 }],
		},
	},
	{
		update_id: 900004,
		callback_query: {
			id: '4382bfdwdsb323b2d9',
			from: { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' },
			chat_instance: '-123',
			data: 'choice:1',
			message: { message_id: 1004, date: 1795000030, chat: { id: 42, type: 'private', first_name: 'Ada' }, from: { id: 7012345678, is_bot: true, first_name: 'Claw' }, text: 'Pick one' },
		},
	},
	{
		update_id: 900005,
		message: {
			message_id: 1005,
			date: 1795000040,
			chat: { id: -1009, type: 'channel', title: 'News' },
			sender_chat: { id: -1009, type: 'channel', title: 'News' },
			animation: { file_id: 'an1', file_unique_id: 'u9', width: 320, height: 240, duration: 2, mime_type: 'video/mp4' },
			document: { file_id: 'an1', file_unique_id: 'u9' },
		},
	},
];

const slackSamples: unknown[] = [
	{
		token: 'legacy',
		team_id: 'T0001',
		api_app_id: 'A0001',
		type: 'event_callback',
		event_id: 'Ev0001',
		event_time: 1795000000,
		authorizations: [{ enterprise_id: null, team_id: 'T0001', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
		event: {
			type: 'app_mention',
			user: 'U0042',
			text: '<@UBOT> /new what &lt;is&gt; up &amp; down',
			ts: '1795000000.000100',
			thread_ts: '1794999999.000100',
			channel: 'C0001',
			event_ts: '1795000000.000100',
			user_profile: { name: 'ada', real_name: 'Ada L.', display_name: 'ada' },
		},
	},
	{
		team_id: 'T0001',
		enterprise_id: 'E0001',
		type: 'event_callback',
		event_id: 'Ev0002',
		authorizations: [{ enterprise_id: 'E0001', team_id: null, user_id: 'UBOT', is_bot: true, is_enterprise_install: true }],
		event: {
			type: 'message',
			subtype: 'file_share',
			channel_type: 'im',
			user: 'U0042',
			text: 'see attached',
			ts: '1795000001.000200',
			channel: 'D0001',
			files: [
				{ id: 'F001', name: 'photo.jpg', mimetype: 'image/jpeg', filetype: 'jpg', size: 12345 },
				{ id: 'F002', name: 'clip.m4a', mimetype: 'audio/mp4', subtype: 'slack_audio', size: 999 },
				{ id: 'F003', name: 'doc.pdf', mimetype: 'application/pdf' },
			],
		},
	},
	{
		team_id: 'T0001',
		type: 'event_callback',
		event_id: 'Ev0003',
		authorizations: [{ team_id: 'T0001', user_id: 'UBOT' }],
		event: { type: 'message', subtype: 'bot_message', bot_id: 'B0002', username: 'otherbot', channel_type: 'channel', text: 'beep', ts: '1795000002.000300', channel: 'C0002' },
	},
];

const discordSamples: unknown[] = [
	{
		id: '1300000000000000001',
		channel_id: '1200000000000000001',
		guild_id: '1100000000000000001',
		channel_type: 11,
		type: 19,
		author: { id: '1000000000000000042', username: 'ada', global_name: 'Ada L.', discriminator: '0', avatar: null },
		member: { nick: 'Ada', roles: [], joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0 },
		content: '<@1000000000000000007> /new hello   there <@!1000000000000000007>',
		timestamp: '2026-11-26T07:00:00.000000+00:00',
		edited_timestamp: null,
		tts: false,
		mention_everyone: false,
		mentions: [{ id: '1000000000000000007', username: 'clawbot', bot: true }],
		mention_roles: [],
		attachments: [
			{ id: 'att1', filename: 'voice.ogg', size: 3000, url: 'https://cdn/x', proxy_url: 'https://cdn/y', content_type: 'audio/ogg', duration_secs: 3.2 },
			{ id: 'att2', filename: 'pic.png', size: 5000, url: 'https://cdn/z', proxy_url: 'https://cdn/w', content_type: 'image/png' },
		],
		sticker_items: [{ id: 'st1', name: 'wave', format_type: 1 }],
		embeds: [],
		pinned: false,
		flags: 8192,
		message_reference: { type: 0, message_id: '1300000000000000000', channel_id: '1200000000000000001', guild_id: '1100000000000000001' },
		referenced_message: { id: '1300000000000000000', author: { id: '1000000000000000007', username: 'clawbot', bot: true }, content: 'earlier' },
	},
	{
		id: '1300000000000000002',
		channel_id: '1200000000000000002',
		type: 0,
		author: { id: '1000000000000000042', username: 'ada', global_name: null },
		content: 'a direct message',
		timestamp: '2026-11-26T07:00:01.000000+00:00',
		mentions: [],
		attachments: [],
		embeds: [],
	},
];

const twilioSamples: unknown[] = [
	{
		SmsMessageSid: 'SM11111111111111111111111111111111',
		NumMedia: '2',
		ProfileName: 'Ada',
		MessageType: 'image',
		SmsSid: 'SM11111111111111111111111111111111',
		WaId: '4915112345678',
		SmsStatus: 'received',
		Body: '/new hello',
		To: 'whatsapp:+14155238886',
		NumSegments: '1',
		ReferralNumMedia: '0',
		MessageSid: 'SM11111111111111111111111111111111',
		AccountSid: 'AC00000000000000000000000000000000',
		From: 'whatsapp:+4915112345678',
		MediaUrl0: 'https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1',
		MediaContentType0: 'image/jpeg',
		MediaUrl1: 'https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME2',
		MediaContentType1: 'application/pdf',
		OriginalRepliedMessageSid: 'SM00000000000000000000000000000000',
		ApiVersion: '2010-04-01',
	},
	{
		MessageSid: 'SM22222222222222222222222222222222',
		AccountSid: 'AC00000000000000000000000000000000',
		From: 'whatsapp:+4915112345678',
		To: 'whatsapp:+14155238886',
		Latitude: '48.8584',
		Longitude: '2.2945',
		Label: 'Eiffel Tower',
		Address: 'Paris',
		Body: '',
		NumMedia: '0',
		SmsStatus: 'received',
	},
	{ MessageSid: 'SM33333333333333333333333333333333', AccountSid: 'AC0', From: '+1 (415) 555-0100', To: '+14155550199', Body: ['first', 'second'], NumMedia: '0' },
];

// ---------------------------------------------------------------------------------------------
// Each trigger's path for one request

interface Outcome {
	envelopes: Envelope[];
}

interface Platform {
	name: string;
	samples: unknown[];
	/** Random input as the transport can deliver it (JSON for webhooks and the gateway, form fields for Twilio). */
	random: fc.Arbitrary<unknown>;
	/** Runs what the trigger runs for one request; `variant` picks the trigger's options. */
	run(input: unknown, variant: number): Outcome | Promise<Outcome>;
}

const bit = (variant: number, index: number) => ((variant >> index) & 1) === 1;
const NOW = Date.parse('2026-11-26T07:00:00.000Z');
const SLACK_SECRET = 'slack-signing-secret';
const TWILIO_TOKEN = 'twilio-auth-token';
const TWILIO_URL = 'https://n8n.example.com/webhook/abc/twilio';

/** What a webhook trigger hands the shared pipeline for one request (nodes/shared/webhook-trigger.ts builds the same from n8n's). */
function webhookDelivery<Credential>(
	plugin: AnyChannelPlugin,
	request: Pick<WebhookRequest, 'headers' | 'rawBody' | 'body' | 'url'>,
	credential: Credential,
	options: Record<string, unknown>,
): WebhookDeliveryInput<Credential> {
	return {
		request: { method: 'POST', query: {}, ...request },
		context: { workflowId: 'fuzz-workflow', nodeId: 'fuzz-trigger', webhookId: 'fuzz-hook', options, now: NOW },
		credentialFor: async (verifies) => ({ credential, verified: verifies(credential) }),
		...receiveSettingsFrom(plugin, options),
		recent: new RecentKeys(),
	};
}

const platforms: Platform[] = [
	{
		name: 'Telegram update',
		samples: telegramSamples,
		random: fc.oneof(fc.anything(), fc.record({ update_id: fc.integer(), message: fc.anything() }, { requiredKeys: ['update_id'] })),
		run(input, variant) {
			const update = parseTelegramUpdate(input);
			const options = { bot: { id: '7012345678', username: bit(variant, 0) ? 'clawbot' : null }, sessionScope: bit(variant, 1) ? ('user' as const) : ('chat' as const) };
			const decision = decideTelegramUpdate(update, {
				...options,
				rules: { editedMessages: bit(variant, 2), callbackQueries: bit(variant, 3), groupMessages: bit(variant, 4) ? 'all' : 'mentionsAndReplies', ignoreBots: !bit(variant, 5) },
			});
			const envelope = normalizeTelegramUpdate(update, options);
			return { envelopes: [decision.envelope, envelope].filter((item): item is Envelope => item !== null) };
		},
	},
	{
		name: 'Slack event',
		samples: slackSamples,
		random: fc.oneof(fc.anything(), fc.record({ type: fc.constant('event_callback'), event_id: fc.string(), team_id: fc.anything(), event: fc.anything() }, { requiredKeys: ['type', 'event_id', 'event'] })),
		run(input, variant) {
			const envelopes: Envelope[] = [];
			// The normaliser on its own, as the trigger calls it after deciding…
			if (typeof input === 'object' && input !== null && (input as { type?: unknown }).type === 'event_callback') {
				const envelope = normalizeSlackEvent(input as SlackEventCallback, {
					botUserId: bit(variant, 0) ? 'UBOT' : null,
					options: { channelMessages: bit(variant, 1), includeBots: bit(variant, 2), sessionScope: bit(variant, 3) ? 'user' : 'chat' },
				});
				if (envelope) envelopes.push(envelope);
			}
			return { envelopes };
		},
	},
	{
		name: 'Discord MESSAGE_CREATE',
		samples: discordSamples,
		random: fc.oneof(fc.anything(), fc.record({ id: fc.string(), channel_id: fc.string(), author: fc.record({ id: fc.string() }), content: fc.anything(), mentions: fc.anything(), timestamp: fc.anything() })),
		run(input, variant) {
			const context: DiscordNormalizeContext = {
				botUserId: '1000000000000000007',
				options: { allGuildMessages: bit(variant, 0), includeBots: bit(variant, 1), sessionScope: bit(variant, 2) ? 'user' : 'chat' },
				channel: bit(variant, 3) ? { parentId: bit(variant, 4) ? '1200000000000000009' : null, name: 'general' } : null,
			};
			const message = input as DiscordMessagePayload;
			// The listener asks first, then normalises (startDiscordListener's handler).
			if (whyDiscordMessageIsSkipped(message, context) !== null) return { envelopes: [] };
			const envelope = normalizeDiscordMessage(message, context);
			return { envelopes: envelope ? [envelope] : [] };
		},
	},
	{
		name: 'Twilio form body',
		samples: twilioSamples,
		random: fc.oneof(
			fc.anything(),
			fc.dictionary(fc.constantFrom('MessageSid', 'SmsMessageSid', 'AccountSid', 'From', 'To', 'Body', 'NumMedia', 'MediaUrl0', 'MediaContentType0', 'Latitude', 'Longitude', 'SmsStatus', 'MessageStatus', 'ProfileName'), fc.oneof(fc.string(), fc.array(fc.string()))),
		),
		async run(input, variant) {
			const options = { channels: bit(variant, 0) ? (['whatsapp'] as Array<'whatsapp'>) : [], allowedSenders: bit(variant, 1) ? ['+4915112345678'] : [] };
			const envelopes: Envelope[] = [];
			const direct = normalizeTwilioMessage(input, { options, now: NOW });
			if (direct) envelopes.push(direct);
			// The whole delivery, genuinely signed, as the trigger handles a request.
			let signature = 'unsigned';
			try {
				signature = twilio.getExpectedTwilioSignature(TWILIO_TOKEN, TWILIO_URL, input as Record<string, unknown>);
			} catch {
				// Parameters the SDK cannot sign take the forged path.
			}
			const credential: TwilioCredential = { accountSid: 'AC00000000000000000000000000000000', authToken: TWILIO_TOKEN };
			const outcome = await handleWebhookDelivery(twilioPlugin, webhookDelivery(twilioPlugin, { headers: { 'x-twilio-signature': signature }, rawBody: undefined, body: input, url: TWILIO_URL }, credential, options));
			if (outcome.kind === 'taken') envelopes.push(...outcome.envelopes);
			return { envelopes };
		},
	},
];

interface Finding {
	input: unknown;
	problem: string;
}

function describeInput(input: unknown): string {
	try {
		return JSON.stringify(input)?.slice(0, 600) ?? String(input);
	} catch {
		return String(input);
	}
}

/** Runs one input through a platform's path; returns what is wrong (or null) and how many envelopes came out. */
async function check(platform: Platform, input: unknown, variant: number): Promise<{ problem: string | null; envelopes: number }> {
	let outcome: Outcome;
	try {
		outcome = await platform.run(input, variant);
	} catch (error) {
		// Rejected with InvalidPayloadError: counted as an input, not an envelope.
		if (error instanceof InvalidPayloadError) return { problem: null, envelopes: 0 };
		return { problem: `threw ${(error as Error)?.name ?? typeof error}: ${(error as Error)?.message ?? String(error)}`, envelopes: 0 };
	}
	for (const envelope of outcome.envelopes) {
		const problems = envelopeProblems(envelope);
		if (problems.length > 0) return { problem: `a malformed envelope: ${problems.join('; ')}`, envelopes: 0 };
	}
	return { problem: null, envelopes: outcome.envelopes.length };
}

async function fuzz(platform: Platform): Promise<{ inputs: number; findings: Finding[]; envelopes: number }> {
	const findings: Finding[] = [];
	let inputs = 0;
	let envelopes = 0;
	const probe = async (input: unknown, variant: number) => {
		inputs++;
		const checked = await check(platform, input, variant);
		if (checked.problem) findings.push({ input, problem: checked.problem });
		else envelopes += checked.envelopes;
		return true;
	};
	await fc.assert(fc.asyncProperty(platform.random, fc.nat(63), probe), { numRuns: RANDOM_RUNS, seed: SEED });
	const mutated = fc.tuple(fc.constantFrom(...platform.samples), fc.array(mutationArbitrary, { minLength: 1, maxLength: 6 }));
	await fc.assert(fc.asyncProperty(mutated, fc.nat(63), ([sample, mutations], variant) => probe(mutate(sample, mutations), variant)), { numRuns: MUTATED_RUNS, seed: SEED });
	// The unmutated samples themselves, with every option combination, must come out as envelopes.
	for (const sample of platform.samples) for (let variant = 0; variant < 64; variant++) await probe(sample, variant);
	return { inputs, findings, envelopes };
}

describe.each(platforms)('$name normaliser', (platform) => {
	test('never throws anything but InvalidPayloadError, and every envelope it returns is well-formed', async () => {
		const started = Date.now();
		const { inputs, findings, envelopes } = await fuzz(platform);
		const unexpected = findings.length;
		recordFigure({
			area: 'Fuzzing',
			measure: `${platform.name}: random and mutated payloads → unexpected exceptions or malformed envelopes`,
			value: `${inputs.toLocaleString('en-US')} inputs (${envelopes.toLocaleString('en-US')} envelopes checked), ${unexpected} unexpected, ${((Date.now() - started) / 1000).toFixed(1)} s`,
			bar: '0 unexpected',
			ok: unexpected === 0,
		});
		const distinct = [...new Map(findings.map((finding) => [finding.problem, finding])).values()].slice(0, 10);
		expect(distinct.map((finding) => `${finding.problem}\n    input: ${describeInput(finding.input)}`)).toEqual([]);
		// The fuzzing reached the envelope-building code, not only the first validation.
		expect(envelopes).toBeGreaterThan(platform.samples.length);
	});
});

describe('a signed Slack delivery through the trigger pipeline', () => {
	// Payloads without `authorizations` make the trigger ask auth.test who the bot is.
	const slack = new SlackEmulator({ signingSecret: SLACK_SECRET, botUserId: 'UBOT' });
	beforeAll(() => slack.start());
	afterAll(() => slack.stop());

	test('of any body answers 200, 400 or emits: it never throws', async () => {
		const bodies = fc.oneof(
			fc.string(),
			fc.json(),
			fc.tuple(fc.constantFrom(...slackSamples), fc.array(mutationArbitrary, { minLength: 1, maxLength: 6 })).map(([sample, mutations]) => JSON.stringify(mutate(sample, mutations)) ?? ''),
		);
		const credential: SlackCredential = { botToken: slack.token, signingSecret: SLACK_SECRET, baseUrl: slack.apiUrl };
		const findings: Finding[] = [];
		let inputs = 0;
		await fc.assert(
			fc.asyncProperty(bodies, fc.boolean(), async (rawBody, channelMessages) => {
				inputs++;
				const timestamp = String(Math.floor(NOW / 1000));
				const signature = signSlackRequest(SLACK_SECRET, timestamp, rawBody);
				try {
					const outcome = await handleWebhookDelivery(
						slackPlugin,
						webhookDelivery(slackPlugin, { headers: { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature }, rawBody: Buffer.from(rawBody), body: undefined, url: 'https://n8n.example.com/webhook/abc/slack' }, credential, { channelMessages }),
					);
					if (outcome.kind === 'forged') findings.push({ input: rawBody, problem: `a genuinely signed body was taken for forged: ${outcome.reason}` });
					if (outcome.answer.status !== 200 && outcome.answer.status !== 400) findings.push({ input: rawBody, problem: `answered ${outcome.answer.status}` });
					if (outcome.kind === 'taken') {
						for (const envelope of outcome.envelopes) {
							const problems = envelopeProblems(envelope);
							if (problems.length > 0) findings.push({ input: rawBody, problem: `a malformed envelope: ${problems.join('; ')}` });
						}
					}
				} catch (error) {
					findings.push({ input: rawBody, problem: `threw ${(error as Error)?.name}: ${(error as Error)?.message}` });
				}
			}),
			{ numRuns: RANDOM_RUNS, seed: SEED },
		);
		recordFigure({
			area: 'Fuzzing',
			measure: 'Slack webhook: signed deliveries of random and mutated bodies → exceptions (400 expected for bad bodies)',
			value: `${inputs.toLocaleString('en-US')} inputs, ${findings.length} unexpected`,
			bar: '0 unexpected',
			ok: findings.length === 0,
		});
		const distinct = [...new Map(findings.map((finding) => [finding.problem, finding])).values()].slice(0, 10);
		expect(distinct.map((finding) => `${finding.problem}\n    input: ${describeInput(finding.input)}`)).toEqual([]);
	});
});

/**
 * Every webhook channel of the contract suite: its own signed deliveries with mutated payloads,
 * through the shared trigger pipeline. The driver signs each mutated payload as the platform would,
 * so the fuzzing reaches the plugin's parsing, not only the signature check.
 */
/** A form-encoded platform (Twilio) sends only strings: a mutated form field is written as the platform would write it. */
function asSent(sample: unknown, payload: unknown): unknown {
	const isForm = typeof sample === 'object' && sample !== null && !Array.isArray(sample) && Object.values(sample).every((value) => typeof value === 'string');
	if (!isForm || typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
	return Object.fromEntries(Object.entries(payload).map(([key, value]) => [key, typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)]));
}

const fuzzedDrivers = contractDrivers.filter((driver) => driver.plugin.webhook && driver.plugin.id !== 'slack');
const DRIVER_RUNS = 400;

describe.each(fuzzedDrivers.map((driver) => [driver.plugin.name, driver] as const))('a signed %s delivery of a mutated payload through the trigger pipeline', (name, driver: ContractDriver) => {
	beforeAll(() => driver.start());
	afterAll(() => driver.stop());

	test('answers 200 or 400, or emits well-formed envelopes: it never throws', async () => {
		const samples: unknown[] = [driver.dm('hello there'), driver.dm('/new'), ...(driver.group ? [driver.group.mention('hi all'), driver.group.plain('chatter')] : [])];
		const findings: Finding[] = [];
		let inputs = 0;
		let envelopes = 0;
		await fc.assert(
			fc.asyncProperty(fc.constantFrom(...samples), fc.array(mutationArbitrary, { minLength: 1, maxLength: 6 }), async (sample, mutations) => {
				inputs++;
				const payload = asSent(sample, mutate(sample, mutations));
				let delivery: Delivery;
				try {
					delivery = driver.deliver(payload as never, 'signed');
				} catch {
					// The driver could not even write this payload down (the platform could not send it either).
					return;
				}
				const options = driver.options ?? {};
				const settings = receiveSettingsFrom(driver.plugin, options);
				const request: WebhookRequest = { method: 'POST', headers: delivery.headers, rawBody: Buffer.from(delivery.rawBody), body: delivery.body, query: {}, url: CONTRACT_WEBHOOK_URL };
				try {
					const outcome = await handleWebhookDelivery(driver.plugin, {
						request,
						context: { ...CONTRACT_WEBHOOK, options, now: Date.now() },
						credentialFor: async (verifies) => ({ credential: driver.credential(), verified: verifies(driver.credential()) }),
						...settings,
						recent: new RecentKeys(),
					});
					if (outcome.kind === 'forged') findings.push({ input: delivery.rawBody, problem: `a genuinely signed body was taken for forged: ${outcome.reason}` });
					if (outcome.answer.status >= 500) findings.push({ input: delivery.rawBody, problem: `answered ${outcome.answer.status}` });
					if (outcome.kind === 'taken') {
						for (const envelope of outcome.envelopes) {
							envelopes++;
							const problems = envelopeProblems(envelope);
							if (problems.length > 0) findings.push({ input: delivery.rawBody, problem: `a malformed envelope: ${problems.join('; ')}` });
						}
					}
				} catch (error) {
					findings.push({ input: delivery.rawBody, problem: `threw ${(error as Error)?.name}: ${(error as Error)?.message}` });
				}
			}),
			{ numRuns: DRIVER_RUNS, seed: SEED },
		);
		recordFigure({
			area: 'Fuzzing',
			measure: `${name} webhook: signed deliveries of mutated payloads through the trigger pipeline → exceptions, 5xx or malformed envelopes`,
			value: `${inputs.toLocaleString('en-US')} inputs (${envelopes.toLocaleString('en-US')} envelopes), ${findings.length} unexpected`,
			bar: '0 unexpected',
			ok: findings.length === 0,
		});
		const distinct = [...new Map(findings.map((finding) => [finding.problem, finding])).values()].slice(0, 10);
		expect(distinct.map((finding) => `${finding.problem}\n    input: ${describeInput(finding.input)}`)).toEqual([]);
	});
});
