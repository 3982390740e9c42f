/**
 * Everything Slack-specific: the Web API client, Events API request verification, retry
 * deduplication, normalisation of events into the envelope, and outbound calls. Node classes
 * stay thin and call only this.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FilesUploadV2Arguments, WebAPIPlatformError, WebClient } from '@slack/web-api';

import {
	buildSessionId,
	commandForBot,
	type AttachmentKind,
	type ChatType,
	type Envelope,
	type EnvelopeAttachment,
	type SessionScope,
} from '../core/envelope';
import { decideAccess, DEFAULT_ACCESS_POLICY, type AccessPolicy } from '../core/access-policy';
import { InvalidPayloadError } from '../core/errors';
import { finiteNumberOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { formatAndChunk } from '../core/text';
import { slackMrkdwnRenderer } from './slack.format';
import { onFirstUse } from '../core/on-first-use';

export const SLACK_PUBLIC_API = 'https://slack.com/api';

/** What Slack can do, as data the shared delivery code reads (DESIGN.md "Layers"). */
export const slackCapabilities = {
	channel: 'slack',
	// chat.postMessage docs ("Truncating content"): keep `text` to 4,000 characters for best
	// results; Slack truncates past 40,000. https://docs.slack.dev/reference/methods/chat.postMessage
	textLimit: 4000,
	formats: ['plain', 'slack-mrkdwn'],
	edit: true,
	// Typing indicators were an RTM feature, which new Slack apps cannot use.
	typing: false,
	threads: true,
	media: true,
} as const;

export interface SlackCredential {
	botToken: string;
	signingSecret?: string;
	baseUrl?: string;
}

type SlackWebApi = typeof import('@slack/web-api');

/** @slack/web-api, loaded on first use, not on import: a node file can be loaded without running (n8n loads them all right after an install), Slack used or not. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadSlackWebApi = onFirstUse(() => require('@slack/web-api') as SlackWebApi);

/**
 * A Web API client with the SDK's own retries off: its default policy retries network errors
 * and 5xx for about 30 minutes, which would hang an execution. Rate limits are waited out by
 * `withRateLimitRetries` instead, where the wait is bounded and tested.
 */
export function createSlackClient(credential: SlackCredential): WebClient {
	const token = credential.botToken?.trim();
	if (!token) {
		throw new SlackApiError(
			'The Clawgate Slack credential has no bot token. Paste the Bot User OAuth Token (xoxb-...) from your Slack app\'s "OAuth & Permissions" page.',
		);
	}
	// The SDK appends the method name to this URL, so it must end with exactly one slash.
	const slackApiUrl = `${(credential.baseUrl?.trim() || SLACK_PUBLIC_API).replace(/\/+$/, '')}/`;
	const { LogLevel, WebClient } = loadSlackWebApi();
	return new WebClient(token, {
		slackApiUrl,
		retryConfig: { retries: 0 },
		rejectRateLimitedCalls: true,
		logLevel: LogLevel.ERROR,
		timeout: 30_000,
	});
}

// ---------------------------------------------------------------------------------------------
// Request verification (https://docs.slack.dev/authentication/verifying-requests-from-slack)

/** Slack's advice: refuse requests whose timestamp is more than five minutes from local time (replays). */
export const SLACK_SIGNATURE_WINDOW_SECONDS = 5 * 60;

export type SlackSignatureCheck = { valid: true } | { valid: false; reason: string };

export interface SlackSignatureInput {
	signingSecret: string;
	/** The `X-Slack-Request-Timestamp` header, Unix seconds. */
	timestamp: unknown;
	/** The request body exactly as received; a re-serialised JSON body would not match. */
	rawBody: Buffer | string | undefined;
	/** The `X-Slack-Signature` header, `v0=<hex>`. */
	signature: unknown;
	/** Milliseconds since the epoch; defaults to the clock. */
	now?: number;
}

const UNSIGNED_REASON = 'The request carries no Slack signature.';
const STALE_REASON = 'The request timestamp is more than 5 minutes away from this server\'s clock (a replay, or a wrong clock).';

function outsideSignatureWindow(timestamp: string, now: number): boolean {
	return Math.abs(now / 1000 - Number(timestamp)) > SLACK_SIGNATURE_WINDOW_SECONDS;
}

/** Whether the signature headers are there and well-formed; checking this needs no credential. */
function carriesSlackSignature(timestamp: unknown, signature: unknown): signature is string {
	return typeof signature === 'string' && typeof timestamp === 'string' && /^\d{1,12}$/.test(timestamp);
}

/** Checks Slack's v0 signature: HMAC-SHA256 of `v0:<timestamp>:<body>` with the app's signing secret. */
export function verifySlackSignature({ signingSecret, timestamp, rawBody, signature, now = Date.now() }: SlackSignatureInput): SlackSignatureCheck {
	if (!signingSecret) return { valid: false, reason: 'The Clawgate Slack credential has no signing secret, so no request can be trusted.' };
	if (!carriesSlackSignature(timestamp, signature)) return { valid: false, reason: UNSIGNED_REASON };
	if (rawBody === undefined) return { valid: false, reason: 'The request has no body to verify.' };
	if (outsideSignatureWindow(timestamp as string, now)) return { valid: false, reason: STALE_REASON };
	const expected = Buffer.from(`v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`);
	const got = Buffer.from(signature);
	if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
		return { valid: false, reason: 'The request is not signed with the signing secret in the Clawgate Slack credential.' };
	}
	return { valid: true };
}

// ---------------------------------------------------------------------------------------------
// Inbound payloads

export interface SlackFile {
	id: string;
	name?: string;
	title?: string;
	mimetype?: string;
	filetype?: string;
	size?: number;
	/** `slack_audio` for a voice clip recorded in Slack. */
	subtype?: string;
}

export interface SlackMessageEvent {
	type: string;
	subtype?: string;
	user?: string;
	bot_id?: string;
	username?: string;
	text?: string;
	ts?: string;
	thread_ts?: string;
	channel?: string;
	channel_type?: string;
	event_ts?: string;
	files?: SlackFile[];
	user_profile?: { name?: string; real_name?: string; display_name?: string };
	[key: string]: unknown;
}

export interface SlackAuthorization {
	enterprise_id?: string | null;
	team_id?: string | null;
	user_id?: string;
	is_bot?: boolean;
	is_enterprise_install?: boolean;
}

export interface SlackEventCallback {
	type: 'event_callback';
	team_id?: string;
	enterprise_id?: string | null;
	api_app_id?: string;
	event: SlackMessageEvent;
	event_id: string;
	event_time?: number;
	authorizations?: SlackAuthorization[];
	[key: string]: unknown;
}

export interface SlackTriggerOptions {
	/** Emit every message in channels the bot is in, not only @mentions (needs the message.channels/groups/mpim events). */
	channelMessages?: boolean;
	/** Emit messages of other bots (never the bot's own). */
	includeBots?: boolean;
	/** When not empty, only these senders (U…/W… IDs) are answered, in DMs and channels. */
	allowedUserIds?: string[];
	/** When not empty, only these channels (C…/G… IDs) are answered; DMs are limited by allowedUserIds. */
	allowedChannelIds?: string[];
	sessionScope?: SessionScope;
}

export interface SlackNormalizeContext {
	/** The bot's user ID (U…): recognises its own messages and mentions of it. Null when unknown. */
	botUserId: string | null;
	options?: SlackTriggerOptions;
}

/** Message subtypes that are something a person (or bot) said; edits, deletions, joins and the like are not. */
const EMITTED_SUBTYPES = new Set(['file_share', 'thread_broadcast', 'me_message', 'bot_message']);

/**
 * The envelope's accountId: the installation that received the event. For an org-wide install
 * on Enterprise Grid that is the organisation (one bot across its workspaces, and channel IDs
 * are unique org-wide); otherwise the workspace (team) ID.
 */
export function slackAccountIdOf(payload: SlackEventCallback): string {
	const authorization = firstAuthorizationOf(payload);
	const enterpriseId = nonEmptyStringOrNull(authorization?.enterprise_id) ?? nonEmptyStringOrNull(payload.enterprise_id);
	if (authorization?.is_enterprise_install === true && enterpriseId) return enterpriseId;
	const teamId = nonEmptyStringOrNull(payload.team_id) ?? nonEmptyStringOrNull(authorization?.team_id);
	if (!teamId) throw new InvalidPayloadError('The Slack event has no team_id.');
	return teamId;
}

function firstAuthorizationOf(payload: SlackEventCallback): SlackAuthorization | null {
	return recordOrNull(listOf(payload.authorizations)[0]) as SlackAuthorization | null;
}

/**
 * The bot's user ID as the delivery names it (`authorizations[0].user_id`), or null. Only an
 * authorization of the bot itself names it: Slack's own message.im example carries a person's
 * authorization, whose user_id is the sender.
 */
function botUserIdOf(payload: SlackEventCallback): string | null {
	const authorization = firstAuthorizationOf(payload);
	return authorization?.is_bot === true ? nonEmptyStringOrNull(authorization.user_id) : null;
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/** Checks that a webhook body is a Slack Events API payload before anything reads it. */
export function parseSlackPayload(rawBody: Buffer | string): Record<string, unknown> & { type: string } {
	const payload = parseJson(rawBody.toString());
	if (payload === undefined) {
		throw new InvalidPayloadError(
			'The request body is not JSON. This URL receives Slack Events API deliveries; point Interactivity and Slash Commands elsewhere.',
		);
	}
	if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || typeof (payload as { type?: unknown }).type !== 'string') {
		throw new InvalidPayloadError('The request body is not a Slack Events API payload (no "type").');
	}
	return payload as Record<string, unknown> & { type: string };
}

function assertEventCallback(payload: { type: string; [key: string]: unknown }): asserts payload is SlackEventCallback {
	const event = payload.event as SlackMessageEvent | undefined;
	if (typeof payload.event_id !== 'string' || typeof event !== 'object' || event === null || typeof event.type !== 'string') {
		throw new InvalidPayloadError('The Slack event_callback has no event_id or event.');
	}
}

function chatTypeOf(event: SlackMessageEvent): ChatType {
	// app_mention events carry no channel_type; DM channel IDs start with D.
	if (event.channel_type === 'im' || (!event.channel_type && typeof event.channel === 'string' && event.channel.startsWith('D'))) return 'dm';
	// Slack channels, private channels and group DMs are all conversations among several people,
	// gated on mentions like a Telegram group ("channel" in the envelope means broadcast-only).
	return 'group';
}

function isBotMessage(event: SlackMessageEvent): boolean {
	return Boolean(event.bot_id) || event.subtype === 'bot_message';
}

/** The access policy Slack Trigger v1's options meant, for code that still speaks in them. */
export function slackPolicyOf(options: SlackTriggerOptions = {}): AccessPolicy {
	return {
		...DEFAULT_ACCESS_POLICY,
		groupActivation: options.channelMessages ? 'all' : 'mentions',
		includeBots: options.includeBots === true,
		allowedSenderIds: options.allowedUserIds ?? [],
		allowedChatIds: options.allowedChannelIds ?? [],
	};
}

/**
 * Why an event is nothing the trigger emits, for Slack's own reasons, or null. Decides the
 * Slack-specific duplicates: when the bot is mentioned in a channel Slack sends both
 * `app_mention` and (with message.channels) `message` for the same message, so channels take
 * only `app_mention` unless every channel message is wanted, and then only `message`; DMs take
 * only `message`. Who may talk to the bot is the shared access policy's business.
 */
export function whySlackEventIsNoMessage(payload: SlackEventCallback, { botUserId, everyChannelMessage }: { botUserId: string | null; everyChannelMessage: boolean }): string | null {
	const event = payload.event;
	if (event.type !== 'message' && event.type !== 'app_mention') return `"${event.type}" events are not messages`;
	if (event.subtype && (typeof event.subtype !== 'string' || !EMITTED_SUBTYPES.has(event.subtype))) return `message subtype ${JSON.stringify(event.subtype)} (edits, deletions and notices are not emitted)`;
	if (isBotMessage(event) && !botUserId) return 'a bot message, and the bot\'s own identity is unknown (it could be its own)';
	const chatType = chatTypeOf(event);
	if (chatType === 'dm' && event.type === 'app_mention') return 'an app_mention in a DM (the message.im event carries it)';
	if (chatType !== 'dm' && event.type === 'message' && !everyChannelMessage) return 'a channel message (Channel Messages is off; mentions arrive as app_mention)';
	if (chatType !== 'dm' && event.type === 'app_mention' && everyChannelMessage) return 'an app_mention while Channel Messages is on (the message event carries it)';
	return null;
}

/** Whether the bot posted the event itself (Slack delivers a bot's own messages to it). */
export function isOwnSlackEvent(payload: SlackEventCallback, botUserId: string | null): boolean {
	return botUserId !== null && payload.event.user === botUserId;
}

/**
 * Why an event starts no execution, or null when it is emitted: Slack's own reasons, then the
 * shared access policy as Slack Trigger v1's options set it.
 */
export function whySlackEventIsSkipped(payload: SlackEventCallback, { botUserId, options = {} }: SlackNormalizeContext): string | null {
	const policy = slackPolicyOf(options);
	if (isOwnSlackEvent(payload, botUserId)) return 'the bot\'s own message';
	const notMessage = whySlackEventIsNoMessage(payload, { botUserId, everyChannelMessage: policy.groupActivation === 'all' });
	if (notMessage !== null) return notMessage;
	const access = decideAccess(slackEnvelopeOf(payload, { botUserId, options }), { fromSelf: false }, { ...policy, groupActivation: 'all' });
	return access.allowed === true ? null : access.reason;
}

function attachmentKindOf(file: SlackFile): AttachmentKind {
	if (file.subtype === 'slack_audio') return 'voice';
	const type = stringOr(file.mimetype, '').split('/')[0];
	if (type === 'image' || type === 'audio' || type === 'video') return type;
	return 'document';
}

function attachmentsOf(event: SlackMessageEvent): EnvelopeAttachment[] {
	return listOf(event.files)
		.filter((file): file is SlackFile => isRecord(file) && nonEmptyStringOrNull(file.id) !== null)
		.map((file) => ({
			kind: attachmentKindOf(file),
			id: file.id,
			mimeType: stringOr(file.mimetype, null),
			name: stringOr(file.name, null),
			size: finiteNumberOrNull(file.size),
		}));
}

function escapeRegExp(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The text as the user typed it: a leading mention of the bot is dropped (so "@bot /new" is the
 * command /new; Slack's composer swallows messages that start with "/") and Slack's three
 * escapes are undone. Other mentions and links stay in Slack's `<@U…>` / `<url|label>` form.
 */
function readableText(text: string, botUserId: string | null): string {
	const withoutMention = botUserId ? text.replace(new RegExp(`^\\s*<@${escapeRegExp(botUserId)}(?:\\|[^>]*)?>[\\s:,]*`), '') : text;
	return withoutMention.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function timestampOf(ts: string): string {
	return isoTimestampOrNull(Math.floor(Number(ts) * 1000)) ?? new Date().toISOString();
}

/**
 * Turns a Slack event_callback into the envelope, or null when the event is not a message this
 * trigger emits (the caller then starts no execution).
 */
export function normalizeSlackEvent(payload: SlackEventCallback, context: SlackNormalizeContext): Envelope | null {
	assertEventCallback(payload);
	if (whySlackEventIsSkipped(payload, context) !== null) return null;
	return slackEnvelopeOf(payload, context);
}

/**
 * The payload as the envelope's `raw` keeps it: without the legacy verification `token` Slack
 * still sends in every event, a shared secret that would otherwise sit in every execution.
 */
function withoutVerificationToken(payload: SlackEventCallback): Record<string, unknown> {
	const rest: Record<string, unknown> = { ...payload };
	delete rest.token;
	return rest;
}

/** The envelope of a message event, whatever the trigger then decides about it. */
export function slackEnvelopeOf(payload: SlackEventCallback, context: SlackNormalizeContext): Envelope {
	const event = payload.event;
	if (!nonEmptyStringOrNull(event.channel) || !nonEmptyStringOrNull(event.ts)) {
		throw new InvalidPayloadError('The Slack message event has no channel or ts.');
	}
	const ts = event.ts as string;
	const accountId = slackAccountIdOf(payload);
	const threadTs = nonEmptyStringOrNull(event.thread_ts);
	const threadId = threadTs && threadTs !== ts ? threadTs : null;
	const chat = { id: event.channel as string, type: chatTypeOf(event), threadId, title: null };
	const senderId = nonEmptyStringOrNull(event.user) ?? nonEmptyStringOrNull(event.bot_id) ?? chat.id;
	const rawText = stringOr(event.text, '');
	const botUserId = nonEmptyStringOrNull(context.botUserId);
	const mentionsBot = event.type === 'app_mention' || (botUserId !== null && new RegExp(`<@${escapeRegExp(botUserId)}[|>]`).test(rawText));
	const text = readableText(rawText, botUserId);
	const profile = recordOrNull(event.user_profile);
	return {
		sessionId: buildSessionId({ channel: 'slack', accountId, chat, senderId, scope: context.options?.sessionScope }),
		channel: 'slack',
		accountId,
		chat,
		sender: {
			id: senderId,
			// Events carry user IDs only; names would cost a users.info call per message.
			name: nonEmptyStringOrNull(profile?.real_name) ?? nonEmptyStringOrNull(profile?.display_name) ?? nonEmptyStringOrNull(event.username),
			username: stringOr(profile?.name, null),
			isBot: isBotMessage(event),
		},
		message: {
			// ts is the message's ID in Slack (chat.update and thread_ts take it); it is the same in the
			// app_mention and message events of one message, so both map to one idempotency key.
			id: ts,
			text,
			replyToId: threadId,
			mentionsBot,
			command: commandForBot(text, null),
			attachments: attachmentsOf(event),
			timestamp: timestampOf(ts),
		},
		raw: withoutVerificationToken(payload),
	};
}

// ---------------------------------------------------------------------------------------------
// One webhook delivery, as the shared trigger pipeline asks for it

export type SlackHeaders = Record<string, string | string[] | undefined>;

function header(headers: SlackHeaders, name: string): string | undefined {
	const value = headers[name];
	return Array.isArray(value) ? value[0] : value;
}

/**
 * Why a delivery carries no usable signature, or null: the headers missing or malformed, or the
 * timestamp outside Slack's five-minute window. Needs no credential, so replays and floods of
 * stale requests cost no read.
 */
export function slackMissingSignature(headers: SlackHeaders, now = Date.now()): string | null {
	const timestamp = header(headers, 'x-slack-request-timestamp');
	if (!carriesSlackSignature(timestamp, header(headers, 'x-slack-signature'))) return UNSIGNED_REASON;
	return outsideSignatureWindow(timestamp as string, now) ? STALE_REASON : null;
}

/** The signature check of one delivery, on its headers and body. */
export function verifySlackDelivery(request: { headers: SlackHeaders; rawBody: Buffer | string | undefined }, signingSecret: string, now = Date.now()): SlackSignatureCheck {
	return verifySlackSignature({
		signingSecret,
		timestamp: header(request.headers, 'x-slack-request-timestamp'),
		signature: header(request.headers, 'x-slack-signature'),
		rawBody: request.rawBody,
		now,
	});
}

export interface SlackReceiveContext {
	/** Every channel message, not only mentions (the policy's "Every Message"). */
	everyChannelMessage: boolean;
	sessionScope?: SessionScope;
	/** The bot's user ID when the payload has no `authorizations` (auth.test, cached). */
	resolveBotUserId?: () => Promise<string | null>;
}

export type SlackReceipt =
	| { kind: 'answer'; body: Record<string, unknown>; reason: string }
	| { kind: 'event'; eventId: string; retryNum: string | undefined; envelope: Envelope | null; skipped: string | null; fromSelf: boolean };

/** A verified delivery, read: the URL check answered, an event normalised (or why it is none). */
export async function receiveSlackDelivery(request: { headers: SlackHeaders; rawBody: Buffer | string | undefined }, context: SlackReceiveContext): Promise<SlackReceipt> {
	const payload = parseSlackPayload(request.rawBody ?? '');
	// Slack signs the URL check too, so answering it only when genuine proves the secret is right.
	if (payload.type === 'url_verification') return { kind: 'answer', body: { challenge: String(payload.challenge ?? '') }, reason: 'the Request URL check' };
	if (payload.type !== 'event_callback') return { kind: 'answer', body: { ok: true }, reason: `"${payload.type}" payloads are not events` };
	assertEventCallback(payload);
	const botUserId = botUserIdOf(payload) ?? (await context.resolveBotUserId?.()) ?? null;
	const fromSelf = isOwnSlackEvent(payload, botUserId);
	const skipped = fromSelf ? null : whySlackEventIsNoMessage(payload, { botUserId, everyChannelMessage: context.everyChannelMessage });
	const envelope = skipped === null ? slackEnvelopeOf(payload, { botUserId, options: { sessionScope: context.sessionScope } }) : null;
	return { kind: 'event', eventId: payload.event_id, retryNum: header(request.headers, 'x-slack-retry-num'), envelope, skipped, fromSelf };
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A Web API failure as a user can act on it; built from the error code, never from the SDK error (its `original` holds the request headers, token included). */
export class SlackApiError extends Error {
	constructor(
		message: string,
		readonly code: string | null = null,
	) {
		super(message);
		this.name = 'SlackApiError';
	}
}

const ADVICE: Record<string, string> = {
	invalid_auth: 'check the Bot User OAuth Token (xoxb-...) in the Clawgate Slack credential.',
	not_authed: 'check the Bot User OAuth Token (xoxb-...) in the Clawgate Slack credential.',
	account_inactive: 'the bot token belongs to a deleted app or user; reinstall the app and copy the new token into the Clawgate Slack credential.',
	token_revoked: 'the bot token was revoked; reinstall the app and copy the new token into the Clawgate Slack credential.',
	token_expired: 'the bot token expired; copy a fresh token into the Clawgate Slack credential.',
	not_in_channel: 'invite the bot to the channel with /invite @yourbot.',
	channel_not_found: 'check the channel ID (like C0123456789); for a private channel, invite the bot first with /invite @yourbot.',
	is_archived: 'the channel is archived; unarchive it or send elsewhere.',
	msg_too_long: 'the message is too long for Slack.',
	no_text: 'the message is empty.',
	message_not_found: 'check the message timestamp (ts); it must be a message in that channel.',
	cant_update_message: 'a bot can only edit messages it posted itself.',
	edit_window_closed: 'the message is too old to edit.',
	restricted_action: 'a workspace setting stops the bot from posting there.',
	ekm_access_denied: 'the workspace\'s key management blocks this action.',
	file_uploads_disabled: 'file uploads are turned off in this workspace.',
	file_upload_size_restricted: 'the file is larger than this workspace allows.',
};

export function describeSlackError(error: unknown, method: string): SlackApiError {
	if (error instanceof SlackApiError) return error;
	const { ErrorCode } = loadSlackWebApi();
	const coded = error as { code?: string; data?: WebAPIPlatformError['data']; statusCode?: number };
	if (coded?.code === ErrorCode.PlatformError && coded.data) {
		const code = String(coded.data.error);
		const advice =
			code === 'missing_scope'
				? `add the bot token scope ${String((coded.data as { needed?: string }).needed ?? 'it names')} under "OAuth & Permissions" in your Slack app, then reinstall the app.`
				: (ADVICE[code] ?? 'see https://docs.slack.dev/reference/methods/' + method + ' for what it means.');
		return new SlackApiError(`Slack refused ${method} (${code}): ${advice}`, code);
	}
	if (coded?.code === ErrorCode.RequestError) {
		return new SlackApiError(`Could not reach the Slack Web API for ${method}. Check the network and the credential's base URL (empty means ${SLACK_PUBLIC_API}).`);
	}
	if (coded?.code === ErrorCode.HTTPError) {
		return new SlackApiError(`The Slack Web API answered ${method} with HTTP ${coded.statusCode}. Slack may be having trouble; try again later.`);
	}
	return new SlackApiError(`Could not call Slack ${method}: ${error instanceof Error ? error.message : String(error)}`);
}

// ---------------------------------------------------------------------------------------------
// Rate limits

export interface RateLimitPolicy {
	/** Retries after 429s before giving up. */
	maxRetries: number;
	/** A longer Retry-After fails at once: an execution should not sit idle for minutes. */
	maxWaitSeconds: number;
}

export const SLACK_RATE_LIMIT: RateLimitPolicy = { maxRetries: 3, maxWaitSeconds: 30 };

export function retryAfterSecondsOf(error: unknown): number | null {
	const { ErrorCode } = loadSlackWebApi();
	const coded = error as { code?: string; retryAfter?: number; data?: { error?: string; response_metadata?: { retryAfter?: number } } };
	if (coded?.code === ErrorCode.RateLimitedError && typeof coded.retryAfter === 'number') return coded.retryAfter;
	if (coded?.code === ErrorCode.PlatformError && (coded.data?.error === 'ratelimited' || coded.data?.error === 'rate_limited')) {
		return coded.data.response_metadata?.retryAfter ?? 1;
	}
	return null;
}

/** Runs one Web API call, waiting out Slack's 429 `Retry-After` and retrying, within the policy. */
export async function withRateLimitRetries<T>(method: string, call: () => Promise<T>, policy: RateLimitPolicy = SLACK_RATE_LIMIT): Promise<T> {
	for (let retries = 0; ; retries++) {
		const attempt = await call().then(
			(value) => ({ failed: false as const, value }),
			(error: unknown) => ({ failed: true as const, error }),
		);
		if (!attempt.failed) return attempt.value;
		const retryAfter = retryAfterSecondsOf(attempt.error);
		if (retryAfter === null) throw describeSlackError(attempt.error, method);
		if (retryAfter > policy.maxWaitSeconds) {
			throw new SlackApiError(
				`Slack is rate-limiting ${method} and asked to wait ${retryAfter} s, longer than Clawgate waits (${policy.maxWaitSeconds} s). Send fewer messages or try again later.`,
				'ratelimited',
			);
		}
		if (retries >= policy.maxRetries) {
			throw new SlackApiError(`Slack kept rate-limiting ${method} after ${policy.maxRetries} retries. Send fewer messages or try again later.`, 'ratelimited');
		}
		await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
	}
}

// ---------------------------------------------------------------------------------------------
// Outbound

/** The one place outbound Markdown becomes Slack mrkdwn messages of at most `limit` characters. */
export function formatSlackMessages(markdown: string, limit: number = slackCapabilities.textLimit): string[] {
	return formatAndChunk(markdown, { renderer: slackMrkdwnRenderer, limit });
}

export interface SentSlackMessages {
	chatId: string;
	/** The `ts` of every message posted, in order; chat.update and thread_ts take these. */
	messageIds: string[];
	threadId: string | null;
}

export interface SendSlackTextInput {
	channel: string;
	text: string;
	/** Posts into this thread (the parent message's ts); empty posts to the channel. */
	threadTs?: string | null;
	/** Off by default: Slack would fetch a link in model text (perhaps planted by a prompt) without a click. */
	linkPreviews?: boolean;
}

/** Posts text with chat.postMessage, split into several messages past Slack's text limit. */
export async function sendSlackText(client: WebClient, { channel, text, threadTs, linkPreviews }: SendSlackTextInput, policy?: RateLimitPolicy): Promise<SentSlackMessages> {
	if (!channel) throw new SlackApiError('There is no channel to send to. Set "Channel ID" (by default it reads {{ $json.chat.id }}).');
	if (!text.trim()) throw new SlackApiError('There is no text to send. Set "Text" (by default it reads the AI reply, {{ $json.reply.text }}).');
	const thread = threadTs?.trim() || null;
	const chunks = formatSlackMessages(text);
	if (chunks.length === 0) throw new SlackApiError('The text has nothing visible to send once formatted for Slack.');
	const messageIds: string[] = [];
	for (const chunk of chunks) {
		const sent = await withRateLimitRetries(
			'chat.postMessage',
			() => client.chat.postMessage({ channel, text: chunk, mrkdwn: true, unfurl_links: linkPreviews === true, unfurl_media: linkPreviews === true, ...(thread ? { thread_ts: thread } : {}) }),
			policy,
		);
		messageIds.push(String(sent.ts));
	}
	return { chatId: channel, messageIds, threadId: thread };
}

export interface UpdateSlackMessageInput {
	channel: string;
	ts: string;
	text: string;
}

/** Replaces the text of a message the bot posted (chat.update); it must fit in one message. */
export async function updateSlackMessage(client: WebClient, { channel, ts, text }: UpdateSlackMessageInput, policy?: RateLimitPolicy): Promise<SentSlackMessages> {
	if (!channel) throw new SlackApiError('There is no channel. Set "Channel ID" to the channel of the message to edit.');
	if (!ts.trim()) throw new SlackApiError('There is no message to edit. Set "Message Timestamp" to the ts of a message the bot posted (Send Text returns it in sent.messageIds).');
	if (!text.trim()) throw new SlackApiError('There is no text to put in the message. Set "Text".');
	const chunks = formatSlackMessages(text);
	if (chunks.length === 0) throw new SlackApiError('The new text has nothing visible to show once formatted for Slack.');
	if (chunks.length > 1) {
		throw new SlackApiError(`The new text does not fit in one Slack message (${text.length} characters; the limit is ${slackCapabilities.textLimit}). Shorten it, or send it with Send Text.`);
	}
	const updated = await withRateLimitRetries('chat.update', () => client.chat.update({ channel, ts: ts.trim(), text: chunks[0] }), policy);
	return { chatId: channel, messageIds: [String(updated.ts ?? ts)], threadId: null };
}

export interface UploadSlackFileInput {
	channel: string;
	data: Buffer;
	filename: string;
	title?: string | null;
	threadTs?: string | null;
	/** A message posted with the file. */
	initialComment?: string | null;
}

export interface UploadedSlackFile {
	chatId: string;
	fileIds: string[];
	threadId: string | null;
}

/**
 * Shares a file in a channel with files.uploadV2, which is three calls: files.getUploadURLExternal,
 * the upload itself to the URL it returns, and files.completeUploadExternal.
 */
export async function uploadSlackFile(client: WebClient, input: UploadSlackFileInput, policy?: RateLimitPolicy): Promise<UploadedSlackFile> {
	if (!input.channel) throw new SlackApiError('There is no channel to share the file in. Set "Channel ID".');
	if (!Buffer.isBuffer(input.data) || input.data.length === 0) throw new SlackApiError('The file is empty; there is nothing to upload.');
	const thread = input.threadTs?.trim() || null;
	const upload = {
		channel_id: input.channel,
		// A Buffer, never a string: the SDK reads a string `file` as a path on disk.
		file: input.data,
		filename: input.filename,
		...(input.title ? { title: input.title } : {}),
		...(input.initialComment ? { initial_comment: input.initialComment } : {}),
	};
	const args: FilesUploadV2Arguments = thread ? { ...upload, thread_ts: thread } : upload;
	const result = await withRateLimitRetries('files.uploadV2', () => client.files.uploadV2(args), policy);
	const completions = (result as { files?: Array<{ files?: Array<{ id?: string }> }> }).files ?? [];
	const fileIds = completions.flatMap((completion) => completion.files ?? []).map((file) => String(file.id));
	return { chatId: input.channel, fileIds, threadId: thread };
}

// ---------------------------------------------------------------------------------------------
// Bot identity

// auth.test answers are stable for a token, so one call per process is enough (a cache, not shared state).
const botUserIds = new Map<string, Promise<string | null>>();

/** The bot's user ID from auth.test, for payloads without `authorizations`; looked up once per process. */
export function resolveSlackBotUserId(client: WebClient, token: string): Promise<string | null> {
	const key = createHmac('sha256', 'clawgate-slack-bot-cache').update(token).digest('hex');
	let userId = botUserIds.get(key);
	if (!userId) {
		userId = withRateLimitRetries('auth.test', () => client.auth.test()).then((identity) => identity.user_id ?? null);
		userId.catch(() => botUserIds.delete(key));
		botUserIds.set(key, userId);
	}
	return userId;
}

/**
 * What activating a Slack Trigger can check, since Slack has no API to register the Request URL:
 * a signing secret to verify requests with, and a bot token Slack accepts (auth.test).
 */
export async function checkSlackTriggerCredential(client: WebClient, credential: SlackCredential): Promise<void> {
	if (!credential.signingSecret?.trim()) {
		throw new SlackApiError(
			'The Clawgate Slack credential has no signing secret, so the trigger could not tell Slack\'s requests from forged ones. Copy it from your Slack app\'s "Basic Information" page.',
		);
	}
	await resolveSlackBotUserId(client, credential.botToken);
}
