/**
 * Everything Discord-specific: REST and gateway clients from the credential, the gateway
 * listener the trigger holds, normalisation of MESSAGE_CREATE payloads into the envelope, and
 * outbound calls. Node classes stay thin and call only this.
 */
import type { REST } from '@discordjs/rest';
import type { SessionInfo } from '@discordjs/ws';
import type { APIAllowedMentions, APIChannel, APIMessage, APIUser, GatewayDispatchPayload, GatewayMessageCreateDispatchData } from 'discord-api-types/v10';

import { buildSessionId, commandForBot, type AttachmentKind, type Envelope, type EnvelopeAttachment, type SessionScope } from '../core/envelope';
import { decideAccess, DEFAULT_ACCESS_POLICY, type AccessFacts, type AccessPolicy } from '../core/access-policy';
import type { AttachmentDownloadLimits, DownloadedAttachment } from '../core/channel';
import { InvalidPayloadError } from '../core/errors';
import { fetchFileAtMost, FileDownloadError, FileTooLargeError } from '../core/file-download';
import { RecentKeys } from '../core/recent-keys';
import { finiteNumberOrNull, idOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { formatAndChunk, markdownRenderer } from '../core/text';
import type { ListenerCursor } from '../shared/listener-trigger';

export const DISCORD_PUBLIC_API = 'https://discord.com/api';

type DiscordRestSdk = typeof import('@discordjs/rest');

interface DiscordGatewaySdk {
	ws: typeof import('@discordjs/ws');
	rest: DiscordRestSdk;
	api: typeof import('discord-api-types/v10');
}

/**
 * The discord.js team's REST client, loaded on first use: a node file can be loaded without
 * running (n8n loads them all right after an install), Discord used or not.
 */
function loadDiscordRest(): Promise<DiscordRestSdk> {
	return import('@discordjs/rest');
}

/**
 * The gateway client (@discordjs/ws), its REST client and discord-api-types' enums and routes,
 * loaded on first use. discord.js itself is not needed: the listener reads raw dispatches, and its
 * Client (with its caches and structures) would cost about 20 MiB more per process.
 */
async function loadDiscordGateway(): Promise<DiscordGatewaySdk> {
	const [ws, rest, api] = await Promise.all([import('@discordjs/ws'), loadDiscordRest(), import('discord-api-types/v10')]);
	return { ws, rest, api };
}

/** What Discord can do, as data the shared delivery code reads (DESIGN.md "Layers"). */
export const discordCapabilities = {
	channel: 'discord',
	// Message content is limited to 2,000 characters (https://discord.com/developers/docs/resources/message#create-message).
	textLimit: 2000,
	// Tall messages are hard to follow in a chat; OpenClaw splits Discord replies at 17 lines.
	maxLinesPerMessage: 17,
	// Discord renders Markdown itself, so text is sent as written.
	formats: ['markdown'],
	edit: true,
	typing: true,
	threads: true,
	media: true,
} as const;

export interface DiscordCredential {
	botToken: string;
	applicationId?: string;
	baseUrl?: string;
}

export function botTokenOf(credential: DiscordCredential): string {
	// People paste "Bot <token>" from examples; Discord wants the token alone after our own prefix.
	const token = credential.botToken?.trim().replace(/^Bot\s+/i, '');
	if (!token) {
		throw new DiscordApiError('The Clawgate Discord credential has no bot token. Copy it from the Developer Portal: your application → Bot → Reset Token.');
	}
	return token;
}

function apiBaseOf(credential: DiscordCredential): string {
	return (credential.baseUrl?.trim() || DISCORD_PUBLIC_API).replace(/\/+$/, '');
}

// ---------------------------------------------------------------------------------------------
// Attachments

/** Where Discord serves attachments: its CDN and the media proxy (`url` and `proxy_url` of an attachment). */
const DISCORD_FILE_HOSTS = new Set(['cdn.discordapp.com', 'media.discordapp.net']);

/**
 * The address of an attachment if it is one of Discord's: https on its CDN, or on the origin of the
 * credential's base URL (a proxy or emulator that serves files beside the API). Anything else is
 * refused, so an edited envelope cannot make n8n fetch an address of its choosing.
 */
function discordFileUrlOf(credential: DiscordCredential, value: string | null | undefined): string | null {
	let url: URL;
	try {
		url = new URL(value ?? '');
	} catch {
		return null;
	}
	if (url.protocol === 'https:' && DISCORD_FILE_HOSTS.has(url.hostname)) return url.href;
	const base = credential.baseUrl?.trim() ? new URL(apiBaseOf(credential)) : null;
	return base && url.origin === base.origin ? url.href : null;
}

/** An attachment's bytes from its signed CDN address: no bot token is sent, none is needed. */
export async function downloadDiscordAttachment(credential: DiscordCredential, attachment: EnvelopeAttachment, { maxBytes, timeoutMs, signal }: AttachmentDownloadLimits): Promise<DownloadedAttachment> {
	if (typeof attachment.size === 'number' && attachment.size > maxBytes) throw new FileTooLargeError(attachment.size, maxBytes);
	const url = discordFileUrlOf(credential, attachment.url);
	if (!url) throw new DiscordApiError("The attachment has no address on Discord's CDN to download it from.");
	try {
		const { bytes, contentType } = await fetchFileAtMost(url, { maxBytes, timeoutMs, signal, server: "Discord's file server" });
		return { bytes, mimeType: attachment.mimeType ?? contentType, fileName: attachment.name ?? 'file' };
	} catch (error) {
		throw error instanceof FileDownloadError && !(error instanceof FileTooLargeError) ? new DiscordApiError(error.message, error.status) : error;
	}
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A Discord failure as a user can act on it; built from the error's code and text, never from the request (its headers hold the token). */
export class DiscordApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null = null,
		readonly code: number | null = null,
	) {
		super(message);
		this.name = 'DiscordApiError';
	}
}

const ADVICE: Record<number, string> = {
	10003: 'check the channel ID (turn on Developer Mode in Discord, then right-click the channel → Copy Channel ID); the bot must be a member of that server.',
	10008: 'check the message ID; it must be a message in that channel.',
	50001: 'the bot cannot see that channel: invite it to the server and give it the View Channel permission there.',
	50005: 'a bot can only edit messages it posted itself.',
	50006: 'the message is empty.',
	50007: 'the user does not accept direct messages from the bot (they share no server with it, or turned off DMs from server members).',
	50013: 'give the bot the Send Messages permission in that channel (Send Messages in Threads for a thread).',
	50083: 'the thread is archived; unarchive it or send elsewhere.',
	160002: 'give the bot Read Message History in that channel, or clear "Reply To Message ID".',
};

const TOKEN_ADVICE = 'check the bot token in the Clawgate Discord credential (Developer Portal → your application → Bot → Reset Token).';

function isNetworkError(error: unknown): boolean {
	const codes = [error, (error as { cause?: unknown })?.cause].map((candidate) => String((candidate as { code?: unknown })?.code ?? ''));
	return codes.some((code) => /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|UND_ERR_)/.test(code));
}

function describeDiscordError(error: unknown, action: string, { RateLimitError, DiscordAPIError, HTTPError }: DiscordRestSdk): DiscordApiError {
	if (error instanceof DiscordApiError) return error;
	if (error instanceof RateLimitError) {
		const seconds = Math.round(error.retryAfter / 1000);
		return new DiscordApiError(
			`Discord is rate-limiting requests to ${action}${error.global ? ' (a limit for the whole bot)' : ''} and asked to wait ${seconds} s, longer than Clawgate waits (${MAX_RATE_LIMIT_WAIT_SECONDS} s). Send fewer messages or try again later.`,
			429,
		);
	}
	if (error instanceof DiscordAPIError) {
		const code = typeof error.code === 'number' ? error.code : null;
		const advice = error.status === 401 ? TOKEN_ADVICE : (code !== null && ADVICE[code]) || 'see https://discord.com/developers/docs/topics/opcodes-and-status-codes#json for what it means.';
		// 401s carry code 0; the HTTP status says more.
		const label = code ? `${code} ${error.message}` : error.message.startsWith(`${error.status}`) ? error.message : `${error.status} ${error.message}`;
		return new DiscordApiError(`Discord refused to ${action} (${label.replace(/\s*\n\s*/g, '; ')}): ${advice}`, error.status, code);
	}
	if (error instanceof HTTPError) {
		return new DiscordApiError(`Discord answered with HTTP ${error.status} when asked to ${action}; Discord may be having trouble. Try again later.`, error.status);
	}
	if (error instanceof Error && error.name === 'AbortError') {
		return new DiscordApiError(`Discord did not answer within ${DISCORD_REQUEST_TIMEOUT_MS / 1000} s when asked to ${action}. Try again later.`);
	}
	if (isNetworkError(error)) {
		return new DiscordApiError(`Could not reach the Discord API to ${action}. Check the network and the credential's base URL (empty means ${DISCORD_PUBLIC_API}).`);
	}
	return new DiscordApiError(`Could not ${action}: ${error instanceof Error ? error.message : String(error)}`);
}

// ---------------------------------------------------------------------------------------------
// REST

/** A longer rate-limit wait fails at once: an execution should not sit idle for minutes. */
const MAX_RATE_LIMIT_WAIT_SECONDS = 30;

const DISCORD_REQUEST_TIMEOUT_MS = 15_000;

/** Message flag SUPPRESS_EMBEDS: no link previews under the message. */
export const SUPPRESS_EMBEDS = 1 << 2;

/**
 * A REST client for sending. @discordjs/rest keeps Discord's rate-limit buckets: it waits
 * before a call when `X-RateLimit-Remaining` says the bucket is empty, and waits out a 429's
 * `Retry-After` (per route or global) and retries.
 */
export async function createDiscordRest(credential: DiscordCredential): Promise<REST> {
	const token = botTokenOf(credential);
	const { REST } = await loadDiscordRest();
	return new REST({
		api: apiBaseOf(credential),
		version: '10',
		timeout: DISCORD_REQUEST_TIMEOUT_MS,
		// A timed-out or 5xx POST may still have posted the message; retrying could post it twice.
		retries: 0,
		rejectOnRateLimit: (limit) => limit.retryAfter > MAX_RATE_LIMIT_WAIT_SECONDS * 1000,
		// Hourly sweeper intervals would keep every per-execution client in memory; it never lives that long.
		hashSweepInterval: 0,
		handlerSweepInterval: 0,
	}).setToken(token);
}

/** One REST call, its failure described for a user. */
export async function call<T>(action: string, request: () => Promise<unknown>): Promise<T> {
	try {
		return (await request()) as T;
	} catch (error) {
		throw describeDiscordError(error, action, await loadDiscordRest());
	}
}

// ---------------------------------------------------------------------------------------------
// Inbound: MESSAGE_CREATE → envelope

export type DiscordMessagePayload = GatewayMessageCreateDispatchData;

export interface DiscordTriggerOptions {
	/** Emit every message in server channels the bot can read, not only mentions of it and replies to it. */
	allGuildMessages?: boolean;
	/** Emit messages of other bots and webhooks (never the bot's own). */
	includeBots?: boolean;
	/** Emit direct messages (default true). */
	directMessages?: boolean;
	/** When not empty, only these senders are answered, in DMs and servers. */
	allowedUserIds?: string[];
	/** When not empty, only these server channels (or threads in them) are answered; DMs are limited by allowedUserIds. */
	allowedChannelIds?: string[];
	/** When not empty, only these servers are answered; DMs are limited by allowedUserIds. */
	allowedGuildIds?: string[];
	sessionScope?: SessionScope;
	/** The shared access policy as a v2 trigger's options set it; wins over the v1 fields above. */
	policy?: Partial<AccessPolicy>;
}

/** Where a message was posted, from the channels the gateway told of (or one REST lookup). */
export interface DiscordChannelInfo {
	/** For a thread: the channel it belongs to. */
	parentId: string | null;
	/** The channel's name, or for a thread its parent's; null for DMs. */
	name: string | null;
}

export interface DiscordNormalizeContext {
	/** The bot's user ID: recognises its own messages, mentions of it and replies to it. */
	botUserId: string;
	options?: DiscordTriggerOptions;
	channel?: DiscordChannelInfo | null;
}

// Message types (https://discord.com/developers/docs/resources/message#message-object-message-types):
// DEFAULT and REPLY are something a person said; joins, pins, boosts and thread notices are not.
const REPLY_MESSAGE = 19;
const EMITTED_MESSAGE_TYPES = new Set([0, REPLY_MESSAGE]);
const DM_CHANNEL = 1;
const GROUP_DM_CHANNEL = 3;
const THREAD_CHANNELS = new Set([10, 11, 12]);
const IS_VOICE_MESSAGE = 1 << 13;
/** message_reference.type 0 is a reply; 1 is a forward, which quotes but does not answer. */
const REFERENCE_DEFAULT = 0;

function isDirectMessage(message: DiscordMessagePayload): boolean {
	return message.channel_type === DM_CHANNEL || (message.channel_type === undefined && !message.guild_id);
}

function isFromBot(message: DiscordMessagePayload): boolean {
	return Boolean(message.author.bot) || Boolean(message.webhook_id);
}

function mentionPattern(botUserId: string): RegExp {
	return new RegExp(`<@!?${botUserId}>`, 'g');
}

function mentionsBotIn(message: DiscordMessagePayload, botUserId: string): boolean {
	return listOf(message.mentions).some((person) => recordOrNull(person)?.id === botUserId) || mentionPattern(botUserId).test(contentOf(message));
}

/** The message ID a reply answers; null for a forward (which quotes but does not answer) or no reference. */
function repliedMessageIdOf(message: DiscordMessagePayload): string | null {
	const reference = recordOrNull(message.message_reference);
	if (!reference || (reference.type ?? REFERENCE_DEFAULT) !== REFERENCE_DEFAULT) return null;
	// A crosspost (message type 0) references its original in another channel; only a REPLY (19) answers one.
	if (message.type !== REPLY_MESSAGE) return null;
	return idOrNull(reference.message_id);
}

function repliesToBot(message: DiscordMessagePayload, botUserId: string): boolean {
	const reference = recordOrNull(message.message_reference);
	if (!reference || (reference.type ?? REFERENCE_DEFAULT) !== REFERENCE_DEFAULT) return false;
	return recordOrNull(recordOrNull(message.referenced_message)?.author)?.id === botUserId;
}

/** Without the Message Content intent Discord sends no content; it reads as empty. */
function contentOf(message: DiscordMessagePayload): string {
	return stringOr(message.content, '');
}

/** The text as the user meant it: mentions of the bot are dropped ("@bot /new" is the command /new). */
function readableText(content: string, botUserId: string): string {
	return content
		.replace(mentionPattern(botUserId), '')
		.replace(/[ \t]{2,}/g, ' ')
		.trim();
}

function attachmentKindOf(contentType: string | undefined, isVoice: boolean): AttachmentKind {
	const type = (contentType ?? '').split('/')[0];
	if (type === 'audio') return isVoice ? 'voice' : 'audio';
	if (type === 'image' || type === 'video') return type;
	return 'document';
}

// Sticker format types: 1 PNG, 2 APNG, 3 Lottie, 4 GIF.
const STICKER_MIME_TYPES: Record<number, string> = { 1: 'image/png', 2: 'image/apng', 3: 'application/json', 4: 'image/gif' };

function attachmentsOf(message: DiscordMessagePayload): EnvelopeAttachment[] {
	const isVoice = ((finiteNumberOrNull(message.flags) ?? 0) & IS_VOICE_MESSAGE) !== 0;
	const withId = (item: unknown): item is Record<string, unknown> & { id: string } => isRecord(item) && nonEmptyStringOrNull(item.id) !== null;
	const files = listOf(message.attachments)
		.filter(withId)
		.map((file) => {
			const contentType = stringOr(file.content_type, undefined);
			const durationSeconds = finiteNumberOrNull(file.duration_secs);
			const url = nonEmptyStringOrNull(file.url);
			return {
				kind: attachmentKindOf(contentType, isVoice || file.duration_secs !== undefined),
				id: file.id,
				mimeType: contentType ?? null,
				name: stringOr(file.filename, null),
				size: finiteNumberOrNull(file.size),
				...(durationSeconds !== null ? { durationSeconds } : {}),
				// Signed by Discord and fetched without the bot token (the plugin's downloadAttachment).
				...(url ? { url } : {}),
			};
		});
	const stickers = listOf(message.sticker_items)
		.filter(withId)
		.map((sticker) => ({
			kind: 'sticker' as const,
			id: sticker.id,
			mimeType: typeof sticker.format_type === 'number' ? (STICKER_MIME_TYPES[sticker.format_type] ?? null) : null,
			name: stringOr(sticker.name, null),
			size: null,
		}));
	return [...files, ...stickers];
}

function assertMessage(message: unknown): asserts message is DiscordMessagePayload {
	const candidate = recordOrNull(message);
	if (!nonEmptyStringOrNull(candidate?.id) || !nonEmptyStringOrNull(candidate?.channel_id) || !nonEmptyStringOrNull(recordOrNull(candidate?.author)?.id)) {
		throw new InvalidPayloadError('The Discord MESSAGE_CREATE payload has no id, channel_id or author.');
	}
}

function timestampOf(message: DiscordMessagePayload): string {
	const timestamp = typeof message.timestamp === 'string' ? isoTimestampOrNull(Date.parse(message.timestamp)) : null;
	if (timestamp === null) throw new InvalidPayloadError('The Discord MESSAGE_CREATE payload has no valid timestamp.');
	return timestamp;
}

/** The access policy a Discord trigger's options ask for, in its v1 names. */
export function discordPolicyOf(options: DiscordTriggerOptions = {}): AccessPolicy {
	return {
		...DEFAULT_ACCESS_POLICY,
		...options.policy,
		dmPolicy: options.policy?.dmPolicy ?? (options.directMessages === false ? 'disabled' : 'open'),
		groupActivation: options.policy?.groupActivation ?? (options.allGuildMessages ? 'all' : 'mentions'),
		includeBots: options.policy?.includeBots ?? options.includeBots === true,
		allowedSenderIds: options.policy?.allowedSenderIds ?? options.allowedUserIds ?? [],
		allowedChatIds: options.policy?.allowedChatIds ?? options.allowedChannelIds ?? [],
	};
}

/**
 * Why a message is nothing the trigger emits, for Discord's own reasons, or null: joins, pins and
 * other notices, servers outside Allowed Server IDs, and messages without content.
 */
export function whyDiscordMessageIsNoMessage(message: DiscordMessagePayload, { botUserId, options = {} }: DiscordNormalizeContext): string | null {
	assertMessage(message);
	if (!EMITTED_MESSAGE_TYPES.has(message.type)) return `message type ${JSON.stringify(message.type)} (joins, pins, boosts and thread notices are not emitted)`;
	if (!isDirectMessage(message)) {
		const guildId = stringOr(message.guild_id, '');
		if (options.allowedGuildIds?.length && !options.allowedGuildIds.includes(guildId)) return `server ${guildId} is not in Allowed Server IDs`;
	}
	if (readableText(contentOf(message), botUserId) === '' && attachmentsOf(message).length === 0) {
		return 'a message without text or attachments (if every server message looks empty, turn on the Message Content intent in the Developer Portal)';
	}
	return null;
}

/** What the shared access policy needs to know of a message beyond its envelope. */
export function discordAccessFacts(message: DiscordMessagePayload, { botUserId, channel }: DiscordNormalizeContext): AccessFacts {
	return { fromSelf: message.author.id === botUserId, repliesToBot: repliesToBot(message, botUserId), alsoInChats: channel?.parentId ? [channel.parentId] : [] };
}

/**
 * Why a message starts no execution, or null when it is emitted: Discord's own reasons, then the
 * shared access policy (the bot's own and other bots' messages, mentions in servers, allow-lists).
 */
export function whyDiscordMessageIsSkipped(message: DiscordMessagePayload, context: DiscordNormalizeContext): string | null {
	assertMessage(message);
	if (message.author.id === context.botUserId) return 'the bot\'s own message';
	const notMessage = whyDiscordMessageIsNoMessage(message, context);
	if (notMessage !== null) return notMessage;
	const access = decideAccess(discordEnvelopeOf(message, context), discordAccessFacts(message, context), discordPolicyOf(context.options));
	return access.allowed === true ? null : access.reason;
}

/**
 * Turns a MESSAGE_CREATE payload into the envelope, or null when it is not a message this
 * trigger emits. In a thread, `chat.id` is the channel the thread belongs to and `chat.threadId`
 * the thread (a channel of its own in Discord, which is where answers go).
 */
export function normalizeDiscordMessage(message: DiscordMessagePayload, context: DiscordNormalizeContext): Envelope | null {
	if (whyDiscordMessageIsSkipped(message, context) !== null) return null;
	return discordEnvelopeOf(message, context);
}

/** The envelope of a message, whatever the trigger then decides about it. */
export function discordEnvelopeOf(message: DiscordMessagePayload, context: DiscordNormalizeContext): Envelope {
	const { botUserId, channel } = context;
	const inThread = THREAD_CHANNELS.has(message.channel_type ?? -1) || Boolean(channel?.parentId);
	const parentId = inThread ? (channel?.parentId ?? null) : null;
	const chat = {
		// A thread whose parent is unknown stands for itself.
		id: parentId ?? message.channel_id,
		// Discord servers are conversations among several people, gated on mentions like a Telegram group.
		type: isDirectMessage(message) ? ('dm' as const) : ('group' as const),
		threadId: parentId ? message.channel_id : null,
		title: isDirectMessage(message) ? null : (channel?.name ?? null),
	};
	const text = readableText(contentOf(message), botUserId);
	const member = recordOrNull(message.member);
	const author = message.author as unknown as Record<string, unknown>;
	const timestamp = timestampOf(message);
	return {
		sessionId: buildSessionId({ channel: 'discord', accountId: botUserId, chat, senderId: message.author.id, scope: context.options?.sessionScope }),
		channel: 'discord',
		accountId: botUserId,
		chat,
		sender: {
			id: message.author.id,
			name: nonEmptyStringOrNull(member?.nick) ?? nonEmptyStringOrNull(author.global_name) ?? nonEmptyStringOrNull(author.username),
			username: stringOr(author.username, null),
			isBot: isFromBot(message),
		},
		message: {
			id: message.id,
			text,
			replyToId: repliedMessageIdOf(message),
			mentionsBot: mentionsBotIn(message, botUserId),
			command: commandForBot(text, null),
			attachments: attachmentsOf(message),
			timestamp,
		},
		raw: message,
	};
}

// ---------------------------------------------------------------------------------------------
// Gateway listener (the trigger's connection)

export interface DiscordLogger {
	debug(message: string, meta?: object): void;
	info(message: string, meta?: object): void;
	warn(message: string, meta?: object): void;
	error(message: string, meta?: object): void;
}

const silentLogger: DiscordLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface DiscordListenerInput {
	credential: DiscordCredential;
	options?: DiscordTriggerOptions;
	/**
	 * Called once per accepted message, in arrival order; the next message waits until it settles.
	 * `handedOver` (called when it settles, if the handler has not called it before) moves the saved
	 * session past the message: call it once the message is journaled, right before it is emitted.
	 */
	onEnvelope: (envelope: Envelope, handedOver: () => void) => void | Promise<void>;
	/**
	 * Where the gateway session is kept between runs (the node's static data): a restart RESUMEs it
	 * and Discord replays what was sent meanwhile. Without it every start is a new session.
	 */
	cursor?: ListenerCursor;
	/**
	 * Decides who may talk to the bot (the shared access policy and DM pairing), instead of the
	 * policy in `options`: resolves whether the message is emitted.
	 */
	admit?: (envelope: Envelope, facts: AccessFacts) => Promise<boolean>;
	/** The connection ended for good after it started (the token was reset, an intent turned off). */
	onFatalError?: (error: DiscordApiError) => void;
	logger?: DiscordLogger;
}

export interface DiscordListener {
	readonly botUser: { id: string; username: string };
	/** Closes the gateway connection (keeping a saved session resumable); nothing is emitted afterwards. */
	close(): Promise<void>;
}

/**
 * A gateway session as the trigger keeps it between runs. Discord replays to a RESUME every event
 * after `sequence`, for as long as it keeps the session (a few minutes after the connection ends).
 */
export interface DiscordGatewaySession {
	sessionId: string;
	resumeURL: string;
	/** The seq of the last MESSAGE_CREATE handed over (journaled and emitted, or skipped), or READY's for a new session: never a later one. */
	sequence: number;
	/** @discordjs/ws resumes only with the shard count it connects with. */
	shardCount: number;
	/** When this was written (ISO 8601), for the logs. */
	savedAt: string;
}

function savedSessionOf(cursor: ListenerCursor | undefined): DiscordGatewaySession | null {
	const saved = cursor?.read();
	if (!saved) return null;
	const { sessionId, resumeURL, sequence, shardCount, savedAt } = saved;
	if (typeof sessionId !== 'string' || typeof resumeURL !== 'string' || !Number.isInteger(sequence) || !Number.isInteger(shardCount)) return null;
	return { sessionId, resumeURL, sequence: sequence as number, shardCount: shardCount as number, savedAt: String(savedAt ?? '') };
}

/** Only shard 0 is kept: a bot in fewer than 2,500 servers has one shard (Discord requires sharding above that). */
const SAVED_SHARD = 0;

/**
 * Closing with 1000 or 1001 ends the session on Discord's side; any other code keeps it resumable,
 * so the next start replays what was sent meanwhile (https://discord.com/developers/docs/events/gateway#disconnecting).
 * 4200 is the code @discordjs/ws itself closes with before it resumes.
 */
const RESUMABLE_CLOSE_CODE = 4200;

const NORMAL_CLOSE_CODE = 1000;

/** How long `close()` lets an ongoing reconnect finish, so the connection it opens is closed too. */
const RECONNECT_SETTLE_MS = 5_000;

function describeGatewayError(error: unknown, sdk: DiscordGatewaySdk): DiscordApiError {
	const message = error instanceof Error ? error.message : String(error);
	// GET /gateway/bot answers 401 to a wrong token; the gateway closes with 4004 ("Authentication failed").
	if ((error instanceof sdk.rest.DiscordAPIError && error.status === 401) || message === 'Authentication failed') {
		return new DiscordApiError(`Discord rejected the bot token (401): ${TOKEN_ADVICE}`, 401);
	}
	if (message === 'Used disallowed intents') {
		return new DiscordApiError(
			'Discord refused the gateway connection: the Message Content intent is off for this bot. Turn on "Message Content Intent" in the Developer Portal (your application → Bot → Privileged Gateway Intents), then activate the workflow again.',
		);
	}
	return describeDiscordError(error, 'connect to the Discord gateway', sdk.rest);
}

const CLOSE_CODE_ADVICE: Record<number, string> = {
	4004: `Discord no longer accepts the bot token: ${TOKEN_ADVICE}`,
	4014: 'the Message Content intent was turned off: turn on "Message Content Intent" in the Developer Portal (your application → Bot → Privileged Gateway Intents).',
};

/**
 * Close codes after which @discordjs/ws does not reconnect (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-close-event-codes):
 * authentication failed, invalid shard, sharding required, invalid API version, invalid or disallowed intents.
 */
const FATAL_CLOSE_CODES = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

/** What the listener keeps of a server channel or thread: what names a chat and finds a thread's channel. */
interface KnownChannel {
	name: string | null;
	/** For a thread: the channel it belongs to; null for other channels (a category is no chat). */
	parentId: string | null;
	guildId: string | null;
}

/**
 * The server channels and threads the gateway told of (GUILD_CREATE, CHANNEL_*, THREAD_*), three
 * fields each: what discord.js's channel cache gave the listener, without its full channel objects.
 */
class KnownChannels {
	private readonly channels = new Map<string, KnownChannel>();

	/** Takes in a dispatch that creates, changes or removes channels; others pass by. */
	learnFrom(dispatch: GatewayDispatchPayload): void {
		switch (dispatch.t) {
			case 'GUILD_CREATE': {
				const guild = dispatch.d;
				// Channels in GUILD_CREATE carry no guild_id.
				for (const channel of [...listOf(guild.channels), ...listOf(guild.threads)]) this.add(channel as APIChannel, guild.id);
				break;
			}
			case 'GUILD_DELETE':
				// An outage makes a server unavailable for a while; its channels are still there.
				if (!dispatch.d.unavailable) for (const [id, channel] of this.channels) if (channel.guildId === dispatch.d.id) this.channels.delete(id);
				break;
			case 'CHANNEL_CREATE':
			case 'CHANNEL_UPDATE':
			case 'THREAD_CREATE':
			case 'THREAD_UPDATE':
				this.add(dispatch.d, null);
				break;
			case 'CHANNEL_DELETE':
			case 'THREAD_DELETE':
				this.channels.delete(dispatch.d.id);
				break;
			case 'THREAD_LIST_SYNC':
				for (const thread of dispatch.d.threads) this.add(thread as APIChannel, dispatch.d.guild_id);
				break;
		}
	}

	get(channelId: string): KnownChannel | undefined {
		return this.channels.get(channelId);
	}

	private add(channel: APIChannel, guildId: string | null): void {
		if (!isRecord(channel) || !nonEmptyStringOrNull(channel.id) || channel.type === DM_CHANNEL || channel.type === GROUP_DM_CHANNEL) return;
		const thread = THREAD_CHANNELS.has(channel.type);
		this.channels.set(channel.id, {
			name: 'name' in channel ? (channel.name ?? null) : null,
			parentId: thread && 'parent_id' in channel ? (channel.parent_id ?? null) : null,
			guildId: guildId ?? ('guild_id' in channel ? (channel.guild_id ?? null) : null),
		});
	}
}

/** A known channel as the envelope needs it: for a thread, its parent and the parent's name. */
function channelInfoFrom(channel: KnownChannel | undefined, known: KnownChannels): DiscordChannelInfo | null {
	if (!channel) return null;
	if (channel.parentId) return { parentId: channel.parentId, name: known.get(channel.parentId)?.name ?? null };
	return { parentId: null, name: channel.name };
}

/** A channel as REST returns it: its parent and name; for a thread, its parent's name (one more lookup). */
async function channelInfoFromRest(rest: REST, channelId: string, known: KnownChannels, sdk: DiscordGatewaySdk): Promise<DiscordChannelInfo> {
	const channel = (await rest.get(sdk.api.Routes.channel(channelId))) as APIChannel;
	if (!THREAD_CHANNELS.has(channel.type)) return { parentId: null, name: 'name' in channel ? (channel.name ?? null) : null };
	const parentId = 'parent_id' in channel ? (channel.parent_id ?? null) : null;
	if (!parentId) return { parentId: null, name: null };
	const parent = channelInfoFrom(known.get(parentId), known) ?? (await channelInfoFromRest(rest, parentId, known, sdk));
	return { parentId, name: parent.name };
}

/** How long a channel looked up through REST is taken as it was (its name may change; a thread's parent does not). */
const CHANNEL_LOOKUP_TTL_MS = 10 * 60_000;

interface ChannelLookups {
	get(channelId: string): DiscordChannelInfo | undefined;
	set(channelId: string, info: DiscordChannelInfo): void;
}

function channelLookups(): ChannelLookups {
	const entries = new Map<string, { info: DiscordChannelInfo; until: number }>();
	return {
		get: (channelId) => {
			const entry = entries.get(channelId);
			if (entry && entry.until > Date.now()) return entry.info;
			entries.delete(channelId);
			return undefined;
		},
		set: (channelId, info) => void entries.set(channelId, { info, until: Date.now() + CHANNEL_LOOKUP_TTL_MS }),
	};
}

/**
 * Where a message was posted: from the channels the gateway told of, else one REST lookup, kept a
 * while (a thread the listener has not seen yet; any server channel after a resumed start, which
 * knows none: READY and the servers' GUILD_CREATE went to the process that started the session).
 */
async function channelInfoOf(rest: REST, message: DiscordMessagePayload, known: KnownChannels, lookups: ChannelLookups, logger: DiscordLogger, sdk: DiscordGatewaySdk): Promise<DiscordChannelInfo | null> {
	if (isDirectMessage(message)) return null;
	const cached = channelInfoFrom(known.get(message.channel_id), known);
	const isThread = THREAD_CHANNELS.has(message.channel_type ?? -1);
	if (cached && (!isThread || cached.parentId)) return cached;
	const looked = lookups.get(message.channel_id);
	if (looked) return looked;
	try {
		const info = await channelInfoFromRest(rest, message.channel_id, known, sdk);
		lookups.set(message.channel_id, info);
		return info;
	} catch (error) {
		logger.warn(`Clawgate Discord: could not look up channel ${message.channel_id}: ${describeDiscordError(error, 'look up the channel', sdk.rest).message}`);
		return cached;
	}
}

/**
 * Connects to the Discord gateway with the credential's bot and calls `onEnvelope` for every
 * message the options accept. With a `cursor` it RESUMEs the session saved there, so Discord
 * replays what was sent while no process held it, and saves the session as messages are handed
 * over. Resolves once Discord has accepted the session (READY or RESUMED); rejects with an
 * actionable error otherwise. @discordjs/ws heartbeats, reconnects and resumes within the process.
 */
export async function startDiscordListener({ credential, options = {}, onEnvelope, cursor, admit, onFatalError, logger = silentLogger }: DiscordListenerInput): Promise<DiscordListener> {
	const token = botTokenOf(credential);
	const sdk = await loadDiscordGateway();
	const { WebSocketManager, WebSocketShardEvents } = sdk.ws;
	const { GatewayDispatchEvents, GatewayIntentBits, Routes } = sdk.api;
	const saved = savedSessionOf(cursor);
	// The sessions @discordjs/ws heartbeats and resumes with, per shard: shard 0 starts with the saved one.
	const gatewaySessions = new Map<number, SessionInfo>();
	if (saved) gatewaySessions.set(SAVED_SHARD, { sessionId: saved.sessionId, resumeURL: saved.resumeURL, sequence: saved.sequence, shardCount: saved.shardCount, shardId: SAVED_SHARD });
	const rest = new sdk.rest.REST({ api: apiBaseOf(credential), version: '10', timeout: DISCORD_REQUEST_TIMEOUT_MS }).setToken(token);
	const manager = new WebSocketManager({
		token,
		rest,
		// Message events in servers and DMs, with their text (MESSAGE_CONTENT is privileged: it must be
		// switched on in the Developer Portal), and GUILDS for channel names and thread parents.
		intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent | GatewayIntentBits.DirectMessages,
		largeThreshold: 50,
		retrieveSessionInfo: (shardId) => gatewaySessions.get(shardId) ?? null,
		updateSessionInfo: (shardId, info) => void (info ? gatewaySessions.set(shardId, info) : gatewaySessions.delete(shardId)),
	});

	let started = false;
	let closed = false;
	let reconnecting = false;
	const settled = new Set<() => void>();
	const settle = () => {
		reconnecting = false;
		for (const resolve of settled) resolve();
		settled.clear();
	};
	// A resumed gateway session replays what the bot missed; a replayed message is emitted once.
	const recent = new RecentKeys(24 * 60 * 60_000, 1000);
	const known = new KnownChannels();
	const lookups = channelLookups();
	let queue = Promise.resolve();
	/** The session the cursor holds now; null without a cursor, or before Discord accepted one. */
	let session: DiscordGatewaySession | null = null;
	let resuming = saved !== null;
	const saveSession = (next: DiscordGatewaySession) => {
		session = next;
		cursor?.write({ ...next });
	};
	// READY names the bot and its application; a resumed start gets no READY and asks REST for the bot.
	let readyUser: APIUser | null = null;
	let readyApplicationId: string | null = null;
	// The seq the connection had when it last said HELLO: a RESUME replays what came after it.
	let sequenceAtHello = 0;
	// Messages replayed before RESUMED arrive before the bot user is known (a resumed start gets no READY).
	let knowBotUser: (id: string | null) => void = () => undefined;
	const botUserId = new Promise<string | null>((resolve) => (knowBotUser = resolve));

	const handle = async (message: DiscordMessagePayload, sessionId: string | null, sequence: number) => {
		const userId = await botUserId;
		if (closed || !userId) return;
		let handedOver = false;
		const moveSessionPast = () => {
			if (handedOver) return;
			handedOver = true;
			// A message of an earlier session (replaced after INVALID_SESSION) moves nothing: the new session starts after it.
			if (session && session.sessionId === sessionId && sequence > session.sequence) saveSession({ ...session, sequence, savedAt: new Date().toISOString() });
		};
		const context: DiscordNormalizeContext = { botUserId: userId, options, channel: await channelInfoOf(rest, message, known, lookups, logger, sdk) };
		const skipped = admit ? whyDiscordMessageIsNoMessage(message, context) : whyDiscordMessageIsSkipped(message, context);
		if (skipped !== null) {
			moveSessionPast();
			return logger.debug(`Clawgate Discord: not emitting message ${message.id}: ${skipped}`);
		}
		if (!recent.remember(message.id)) {
			moveSessionPast();
			return logger.debug(`Clawgate Discord: message ${message.id} was delivered again; emitted once already`);
		}
		const envelope = discordEnvelopeOf(message, context);
		if (admit && !(await admit(envelope, discordAccessFacts(message, context)))) return moveSessionPast();
		if (closed) return;
		await onEnvelope(envelope, moveSessionPast);
		moveSessionPast();
	};

	// READY: @discordjs/ws has just taken the new session (updateSessionInfo, READY's seq included).
	manager.on(WebSocketShardEvents.Ready, ({ data, shardId }) => {
		settle();
		if (closed || shardId !== SAVED_SHARD) return;
		readyUser = data.user;
		readyApplicationId = data.application?.id ?? null;
		if (resuming) logger.warn(`Clawgate Discord: Discord could not resume the gateway session saved at ${saved?.savedAt} (it had ended or expired), so it started a new one; messages sent to the bot in between are lost.`);
		resuming = false;
		const ready = gatewaySessions.get(SAVED_SHARD);
		if (cursor && ready) {
			const { sessionId, resumeURL, sequence, shardCount } = ready;
			saveSession({ sessionId, resumeURL, sequence, shardCount, savedAt: new Date().toISOString() });
		}
	});
	manager.on(WebSocketShardEvents.Hello, ({ shardId }) => {
		if (shardId === SAVED_SHARD) sequenceAtHello = gatewaySessions.get(SAVED_SHARD)?.sequence ?? 0;
	});
	manager.on(WebSocketShardEvents.Resumed, ({ shardId }) => {
		settle();
		if (shardId !== SAVED_SHARD) return;
		if (resuming) {
			resuming = false;
			session = saved;
			logger.info(`Clawgate Discord: resumed the gateway session saved at ${saved?.savedAt}; Discord replays what was sent since`);
		}
		logger.info(`Clawgate Discord: gateway session resumed; Discord replayed ${(gatewaySessions.get(SAVED_SHARD)?.sequence ?? sequenceAtHello) - sequenceAtHello} events`);
	});
	// Every dispatch, in arrival order, with its sequence number; the queued handler runs after the
	// channels it announces are known.
	manager.on(WebSocketShardEvents.Dispatch, ({ data: dispatch, shardId }) => {
		if (closed) return;
		known.learnFrom(dispatch);
		if (shardId !== SAVED_SHARD || dispatch.t !== GatewayDispatchEvents.MessageCreate) return;
		// Nothing else holds the payload: it stays plain JSON, as Discord sent it (the journal stores it).
		const payload = dispatch.d as DiscordMessagePayload;
		const sessionId = session?.sessionId ?? (resuming ? (saved?.sessionId ?? null) : null);
		queue = queue
			.then(() => handle(payload, sessionId, dispatch.s))
			.catch((error) => logger.error(`Clawgate Discord: could not handle message ${payload?.id}: ${(error as Error).message}`));
	});
	manager.on(WebSocketShardEvents.Error, ({ error }) => logger.warn(`Clawgate Discord: gateway connection error: ${error.message}`));
	manager.on(WebSocketShardEvents.Closed, ({ code }) => {
		if (!FATAL_CLOSE_CODES.has(code)) {
			reconnecting = true;
			if (!closed) logger.info('Clawgate Discord: the gateway connection dropped; reconnecting');
			return;
		}
		settle();
		// Before the connection is up, the failure is the start's to report.
		if (closed || !started) return;
		const advice = CLOSE_CODE_ADVICE[code] ?? `see https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-close-event-codes for code ${code}.`;
		const error = new DiscordApiError(`Discord closed the gateway connection for good (code ${code}): ${advice}`, null, code);
		logger.error(error.message);
		onFatalError?.(error);
	});

	const destroy = async (code: number, reason: string) => {
		await manager.destroy({ code, reason });
		rest.clearHashSweeper();
		rest.clearHandlerSweeper();
	};

	let botUser: { id: string; username: string };
	try {
		if (saved) logger.info(`Clawgate Discord: resuming the gateway session saved at ${saved.savedAt} (after event ${saved.sequence})`);
		await manager.connect();
		const user = readyUser ?? ((await rest.get(Routes.user())) as APIUser);
		botUser = { id: user.id, username: user.username };
	} catch (error) {
		closed = true;
		knowBotUser(null);
		await destroy(NORMAL_CLOSE_CODE, 'The trigger could not start');
		throw describeGatewayError(error, sdk);
	}
	started = true;
	knowBotUser(botUser.id);
	const applicationId = credential.applicationId?.trim();
	if (applicationId && readyApplicationId && readyApplicationId !== applicationId) {
		logger.warn(`Clawgate Discord: the bot token belongs to application ${readyApplicationId}, not ${applicationId} as the credential says.`);
	}
	logger.info(`Clawgate Discord: connected to the gateway as ${botUser.username} (${botUser.id})`);

	return {
		botUser,
		async close() {
			if (closed) return;
			closed = true;
			// @discordjs/ws cannot cancel a reconnect that is waiting to start: destroying the manager
			// then would leave the new connection open. Let it finish (bounded) and close it after.
			if (reconnecting) {
				await new Promise<void>((resolve) => {
					const timer = setTimeout(resolve, RECONNECT_SETTLE_MS);
					settled.add(() => {
						clearTimeout(timer);
						resolve();
					});
				});
			}
			// A saved session stays resumable for the next start; without a cursor the session ends here.
			if (cursor) await destroy(RESUMABLE_CLOSE_CODE, 'n8n stopped the trigger; the next start resumes the session');
			else await destroy(NORMAL_CLOSE_CODE, 'n8n stopped the trigger');
		},
	};
}

// ---------------------------------------------------------------------------------------------
// Outbound

export interface DiscordFormatOptions {
	/** Most lines per message; 0 means no line limit. Defaults to `discordCapabilities.maxLinesPerMessage`. */
	maxLines?: number;
}

/** The one place outbound text becomes Discord message contents: 2,000 characters, code fences kept whole per message. */
export function formatDiscordMessages(markdown: string, { maxLines = discordCapabilities.maxLinesPerMessage }: DiscordFormatOptions = {}): string[] {
	return formatAndChunk(markdown, { renderer: markdownRenderer, limit: discordCapabilities.textLimit, maxLines: maxLines > 0 ? maxLines : undefined });
}

/** Mentions in the bot's text notify nobody unless asked: an AI reply must not ping @everyone or whole roles. */
export function allowedMentionsOf(allowMentions: boolean | undefined): APIAllowedMentions {
	return allowMentions ? { parse: ['users', 'roles'] as APIAllowedMentions['parse'], replied_user: true } : { parse: [], replied_user: false };
}

const SNOWFLAKE = /^\d{1,20}$/;

export function requireSnowflake(value: string, what: string, parameter: string): string {
	const id = value.trim();
	if (!id) throw new DiscordApiError(`There is no ${what}. Set "${parameter}".`);
	if (!SNOWFLAKE.test(id)) {
		throw new DiscordApiError(`"${id}" is not a Discord ${what} (a number like 1234567890123456789). Turn on Developer Mode in Discord, then right-click → Copy ID.`);
	}
	return id;
}

export interface SentDiscordMessages {
	chatId: string;
	/** The ID of every message posted, in order. */
	messageIds: string[];
}

export interface SendDiscordTextInput {
	/** A channel, thread or DM channel ID. */
	channelId: string;
	text: string;
	/** Shows the first message as a reply to this one; empty sends a plain message. */
	replyToMessageId?: string | null;
	/** Let `<@user>` and `<@&role>` in the text notify people (never @everyone/@here). */
	allowMentions?: boolean;
	maxLines?: number;
	/** Off by default (SUPPRESS_EMBEDS). */
	linkPreviews?: boolean;
}

/** Posts text to a channel, split into several messages past Discord's limits. */
export async function sendDiscordText(rest: REST, { channelId, text, replyToMessageId, allowMentions, maxLines, linkPreviews }: SendDiscordTextInput): Promise<SentDiscordMessages> {
	const channel = requireSnowflake(channelId, 'channel ID', 'Channel ID');
	if (!text.trim()) throw new DiscordApiError('There is no text to send. Set "Text" (by default it reads the AI reply, {{ $json.reply.text }}).');
	const replyTo = replyToMessageId?.trim() ? requireSnowflake(replyToMessageId, 'message ID', 'Reply To Message ID') : null;
	const messageIds: string[] = [];
	for (const content of formatDiscordMessages(text, { maxLines })) {
		const body = {
			content,
			allowed_mentions: allowedMentionsOf(allowMentions),
			// No link previews unless asked: Discord would fetch a link in model text without a click.
			...(linkPreviews ? {} : { flags: SUPPRESS_EMBEDS }),
			// Only the first message quotes the question; if it was deleted meanwhile, send anyway.
			...(replyTo && messageIds.length === 0 ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}),
		};
		const sent = await call<APIMessage>(`send to channel ${channel}`, () => rest.post(`/channels/${channel}/messages`, { body }));
		messageIds.push(sent.id);
	}
	return { chatId: channel, messageIds };
}

/** Shows "<bot> is typing…" in the channel for up to 10 seconds, or until the bot posts. */
export async function sendDiscordTyping(rest: REST, channelId: string): Promise<SentDiscordMessages> {
	const channel = requireSnowflake(channelId, 'channel ID', 'Channel ID');
	await call(`show typing in channel ${channel}`, () => rest.post(`/channels/${channel}/typing`));
	return { chatId: channel, messageIds: [] };
}

export interface EditDiscordMessageInput {
	channelId: string;
	messageId: string;
	text: string;
	allowMentions?: boolean;
}

/** Replaces the text of a message the bot posted; the new text must fit in one message. */
export async function editDiscordMessage(rest: REST, { channelId, messageId, text, allowMentions }: EditDiscordMessageInput): Promise<SentDiscordMessages> {
	const channel = requireSnowflake(channelId, 'channel ID', 'Channel ID');
	const message = requireSnowflake(messageId, 'message ID', 'Message ID');
	if (!text.trim()) throw new DiscordApiError('There is no text to put in the message. Set "Text".');
	const contents = formatDiscordMessages(text, { maxLines: 0 });
	if (contents.length > 1) {
		throw new DiscordApiError(
			`The new text does not fit in one Discord message (${text.length} characters; the limit is ${discordCapabilities.textLimit}). Shorten it, or send it with Send Text.`,
		);
	}
	const edited = await call<APIMessage>(`edit message ${message} in channel ${channel}`, () =>
		rest.patch(`/channels/${channel}/messages/${message}`, { body: { content: contents[0], allowed_mentions: allowedMentionsOf(allowMentions) } }),
	);
	return { chatId: channel, messageIds: [edited.id] };
}
