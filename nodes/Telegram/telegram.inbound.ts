/**
 * Inbound Telegram: checking that a payload is an update, turning it into the envelope, deciding
 * whether the trigger emits it (events asked for, groups, bots, allow-lists), and fetching the
 * files it carries.
 */
import type { Api } from 'grammy';
import type { CallbackQuery, Message, MessageEntity, Update } from 'grammy/types';

import {
	buildSessionId,
	commandForBot,
	type ChatType,
	type Envelope,
	type EnvelopeAttachment,
	type EnvelopeEvent,
	type SessionScope,
} from '../core/envelope';
import { decideAccess, DEFAULT_ACCESS_POLICY, type AccessFacts, type AccessPolicy } from '../core/access-policy';
import { InvalidPayloadError } from '../core/errors';
import { fetchFileAtMost, FileDownloadError, FileTooLargeError, tooLargeMessage } from '../core/file-download';
import { finiteNumberOrNull, idOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { apiRootOf, describeTelegramError, grammySignal, TelegramApiError, type TelegramCredential } from './telegram.client';

export interface TelegramBot {
	/** The bot's ID (from its token) is the envelope's accountId. */
	id: string;
	/** The bot's @username recognises mentions and `/cmd@bot`. */
	username: string | null;
}

export interface NormalizeOptions {
	bot: TelegramBot;
	sessionScope?: SessionScope;
}

/** What the trigger emits, as the user chose it in the node's options. */
export interface TelegramTriggerRules {
	editedMessages: boolean;
	callbackQueries: boolean;
	/** In groups: only messages that mention or reply to the bot (and commands), or every message. */
	groupMessages: 'mentionsAndReplies' | 'all';
	ignoreBots: boolean;
	/** Sender IDs allowed to start the workflow; empty allows everyone. */
	allowedUserIds: string[];
	/** Chat IDs allowed to start the workflow; empty allows every chat. */
	allowedChatIds: string[];
}

export const DEFAULT_TRIGGER_RULES: TelegramTriggerRules = {
	editedMessages: false,
	callbackQueries: false,
	groupMessages: 'mentionsAndReplies',
	ignoreBots: true,
	allowedUserIds: [],
	allowedChatIds: [],
};

/**
 * The update types to ask Telegram for: exactly what the trigger emits, so nothing else wakes
 * n8n up (setWebhook and getUpdates both take this list).
 */
export function allowedUpdatesFor(rules: Pick<TelegramTriggerRules, 'editedMessages' | 'callbackQueries'>): string[] {
	return ['message', ...(rules.editedMessages ? ['edited_message'] : []), ...(rules.callbackQueries ? ['callback_query'] : [])];
}

/** Checks that a webhook body is a Telegram update at all before anything reads it. */
export function parseTelegramUpdate(body: unknown): Update {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) {
		throw new InvalidPayloadError('The request body is not a Telegram update (expected a JSON object).');
	}
	const updateId = (body as { update_id?: unknown }).update_id;
	if (typeof updateId !== 'number' || !Number.isSafeInteger(updateId)) {
		throw new InvalidPayloadError('The request body is not a Telegram update (no numeric update_id).');
	}
	return body as Update;
}

function chatTypeOf(chat: Message['chat']): ChatType {
	switch (chat.type) {
		case 'private':
			return 'dm';
		case 'channel':
			return 'channel';
		default:
			return 'group';
	}
}

function displayName(user: { first_name: string; last_name?: string }): string | null {
	return [stringOr(user.first_name, ''), stringOr(user.last_name, '')].filter(Boolean).join(' ') || null;
}

function entitiesOf(message: Message): MessageEntity[] {
	return listOf(message.entities ?? message.caption_entities).filter(isRecord) as unknown as MessageEntity[];
}

function mentionsBot(message: Message, text: string, bot: TelegramBot): boolean {
	const handle = bot.username ? `@${bot.username}`.toLowerCase() : null;
	return entitiesOf(message).some(
		(entity) =>
			(entity.type === 'mention' && handle !== null && text.slice(entity.offset, entity.offset + entity.length).toLowerCase() === handle) ||
			(entity.type === 'text_mention' && idOrNull(recordOrNull(entity.user)?.id) === bot.id),
	);
}

/**
 * In a forum topic every message "replies" to the topic's first message; only a reply the user
 * chose counts (Bot API: `reply_to_message` of topic messages).
 */
function realReplyOf(message: Message): Message | null {
	const reply = message.reply_to_message;
	if (!isRecord(reply)) return null;
	if (reply.forum_topic_created) return null;
	if (message.is_topic_message && reply.message_id === message.message_thread_id) return null;
	return reply;
}

/** A file field of a message, read defensively: no usable file_id means no attachment. */
interface TelegramFile {
	id: string;
	mimeType: string | null;
	name: string | null;
	size: number | null;
	fields: Record<string, unknown>;
}

function fileOf(value: unknown): TelegramFile | null {
	const fields = recordOrNull(value);
	const id = nonEmptyStringOrNull(fields?.file_id);
	if (!fields || !id) return null;
	return { id, mimeType: stringOr(fields.mime_type, null), name: stringOr(fields.file_name, null), size: finiteNumberOrNull(fields.file_size), fields };
}

/** Seconds of a voice note or audio file (Bot API `duration`), or null. */
function durationOf(file: TelegramFile): number | null {
	return finiteNumberOrNull(file.fields.duration);
}

function largestPhoto(sizes: unknown[]): TelegramFile | null {
	const area = (file: TelegramFile) => (finiteNumberOrNull(file.fields.width) ?? 0) * (finiteNumberOrNull(file.fields.height) ?? 0);
	const files = sizes.map(fileOf).filter((file): file is TelegramFile => file !== null);
	return files.length === 0 ? null : files.reduce((best, size) => (area(size) >= area(best) ? size : best));
}

/** The files and places a message carries, as envelope attachments (photo: the largest size). */
export function attachmentsOf(message: Message): EnvelopeAttachment[] {
	const attachments: EnvelopeAttachment[] = [];
	const photo = largestPhoto(listOf(message.photo));
	if (photo) attachments.push({ kind: 'image', id: photo.id, mimeType: 'image/jpeg', name: null, size: photo.size });
	const animation = fileOf(message.animation);
	const document = fileOf(message.document);
	if (animation) {
		attachments.push({ kind: 'video', id: animation.id, mimeType: animation.mimeType ?? 'video/mp4', name: animation.name, size: animation.size });
	} else if (document) {
		// Telegram repeats an animation as `document`; that copy is skipped above.
		attachments.push({ kind: 'document', id: document.id, mimeType: document.mimeType, name: document.name, size: document.size });
	}
	const voice = fileOf(message.voice);
	if (voice) attachments.push({ kind: 'voice', id: voice.id, mimeType: voice.mimeType ?? 'audio/ogg', name: null, size: voice.size, durationSeconds: durationOf(voice) });
	const audio = fileOf(message.audio);
	if (audio) {
		attachments.push({ kind: 'audio', id: audio.id, mimeType: audio.mimeType, name: audio.name ?? stringOr(audio.fields.title, null), size: audio.size, durationSeconds: durationOf(audio) });
	}
	const video = fileOf(message.video);
	if (video) attachments.push({ kind: 'video', id: video.id, mimeType: video.mimeType ?? 'video/mp4', name: video.name, size: video.size });
	const videoNote = fileOf(message.video_note);
	if (videoNote) attachments.push({ kind: 'video', id: videoNote.id, mimeType: 'video/mp4', name: null, size: videoNote.size });
	const sticker = fileOf(message.sticker);
	if (sticker) {
		const mimeType = sticker.fields.is_animated ? 'application/x-tgsticker' : sticker.fields.is_video ? 'video/webm' : 'image/webp';
		attachments.push({ kind: 'sticker', id: sticker.id, mimeType, name: stringOr(sticker.fields.emoji, null), size: sticker.size });
	}
	const location = recordOrNull(message.location);
	const latitude = finiteNumberOrNull(location?.latitude);
	const longitude = finiteNumberOrNull(location?.longitude);
	if (latitude !== null && longitude !== null) {
		attachments.push({
			kind: 'location',
			id: `${latitude},${longitude}`,
			mimeType: null,
			name: stringOr(recordOrNull(message.venue)?.title, null),
			size: null,
			location: { latitude, longitude },
		});
	}
	return attachments;
}

function envelopeFromMessage(
	update: Update,
	message: Message,
	event: EnvelopeEvent,
	{ bot, sessionScope }: NormalizeOptions,
	overrides: { id?: string; text?: string; replyToId?: string | null; sender?: CallbackQuery['from'] } = {},
): Envelope {
	// Telegram numbers chats and messages; anything else is not an update it sent.
	const rawChatId = recordOrNull(recordOrNull(message)?.chat)?.id;
	const chatId = typeof rawChatId === 'number' ? idOrNull(rawChatId) : null;
	if (chatId === null || typeof message.message_id !== 'number' || idOrNull(message.message_id) === null) {
		throw new InvalidPayloadError('The Telegram message has no chat ID or message ID.');
	}
	const timestamp = isoTimestampOrNull(message.date * 1000);
	if (typeof message.date !== 'number' || timestamp === null) throw new InvalidPayloadError('The Telegram message has no valid date.');
	const text = overrides.text ?? stringOr(message.text, null) ?? stringOr(message.caption, '');
	// A sender without an ID is no sender (channel posts have none either).
	const sender = [overrides.sender, message.from].find((candidate) => idOrNull(recordOrNull(candidate)?.id) !== null) ?? null;
	const threadId = message.is_topic_message === true ? idOrNull(message.message_thread_id) : null;
	const chat = {
		id: chatId,
		type: chatTypeOf(message.chat),
		threadId,
		title: stringOr((message.chat as { title?: unknown }).title, null),
	};
	const senderId = sender ? idOrNull(sender.id)! : chat.id;
	const reply = realReplyOf(message);
	const replyId = reply ? idOrNull(reply.message_id) : null;
	const editedAt = event === 'edited_message' && typeof message.edit_date === 'number' && message.edit_date ? isoTimestampOrNull(message.edit_date * 1000) : null;
	return {
		sessionId: buildSessionId({ channel: 'telegram', accountId: bot.id, chat, senderId, scope: sessionScope }),
		channel: 'telegram',
		accountId: bot.id,
		event,
		chat,
		sender: {
			id: senderId,
			name: sender ? displayName(sender) : chat.title,
			username: stringOr(sender?.username, null),
			isBot: sender?.is_bot === true,
		},
		message: {
			id: overrides.id ?? String(message.message_id),
			text,
			replyToId: overrides.replyToId !== undefined ? overrides.replyToId : replyId,
			mentionsBot: event === 'callback_query' ? false : mentionsBot(message, text, bot),
			command: event === 'callback_query' ? null : commandForBot(text, bot.username),
			attachments: event === 'callback_query' ? [] : attachmentsOf(message),
			timestamp,
			...(editedAt ? { editedAt } : {}),
		},
		raw: update,
	};
}

/**
 * Turns a Telegram update into the envelope, or null when it is not a kind of update a
 * Clawgate trigger emits (message, edited message, button press on a message).
 */
export function normalizeTelegramUpdate(update: Update, options: NormalizeOptions): Envelope | null {
	if (update.message) return envelopeFromMessage(update, update.message, 'message', options);
	if (update.edited_message) return envelopeFromMessage(update, update.edited_message, 'edited_message', options);
	const query = recordOrNull(update.callback_query) as CallbackQuery | null;
	// A button on an inline message (sent via inline mode) has no chat to answer in.
	if (query?.message) {
		const queryId = idOrNull(query.id);
		if (queryId === null) throw new InvalidPayloadError('The Telegram button press (callback_query) has no ID.');
		return envelopeFromMessage(update, query.message as Message, 'callback_query', options, {
			id: `callback:${queryId}`,
			text: stringOr(query.data, null) ?? stringOr(query.game_short_name, ''),
			replyToId: idOrNull(recordOrNull(query.message)?.message_id),
			sender: query.from,
		});
	}
	return null;
}

/**
 * Fields of Telegram's service messages: chat housekeeping reported as a message (members joined,
 * a message pinned, the auto-delete timer changed), not something a person wrote. In a direct chat
 * no mention gate stops them, so without this check each one would start an execution.
 */
const SERVICE_MESSAGE_FIELDS = [
	'new_chat_members',
	'left_chat_member',
	'new_chat_title',
	'new_chat_photo',
	'delete_chat_photo',
	'group_chat_created',
	'supergroup_chat_created',
	'channel_chat_created',
	'message_auto_delete_timer_changed',
	'migrate_to_chat_id',
	'migrate_from_chat_id',
	'pinned_message',
	'write_access_allowed',
	'proximity_alert_triggered',
	'boost_added',
	'chat_background_set',
	'forum_topic_created',
	'forum_topic_edited',
	'forum_topic_closed',
	'forum_topic_reopened',
	'general_forum_topic_hidden',
	'general_forum_topic_unhidden',
	'video_chat_scheduled',
	'video_chat_started',
	'video_chat_ended',
	'video_chat_participants_invited',
];

function serviceMessageField(update: Update): string | null {
	const message = recordOrNull(update.message ?? update.edited_message);
	return message ? (SERVICE_MESSAGE_FIELDS.find((field) => message[field] !== undefined) ?? null) : null;
}

export type UpdateDecision = { emit: true; envelope: Envelope } | { emit: false; reason: string; envelope: Envelope | null };

function repliesToBot(update: Update, bot: TelegramBot): boolean {
	const message = update.message ?? update.edited_message;
	return isRecord(message) ? idOrNull(recordOrNull(realReplyOf(message)?.from)?.id) === bot.id : false;
}

/** The access policy Telegram Trigger v1's rules meant ("Only These Chats" held DMs too). */
export function telegramPolicyOf(rules: Partial<TelegramTriggerRules>): AccessPolicy {
	const { groupMessages, ignoreBots, allowedUserIds, allowedChatIds } = { ...DEFAULT_TRIGGER_RULES, ...rules };
	return {
		...DEFAULT_ACCESS_POLICY,
		groupActivation: groupMessages === 'all' ? 'all' : 'mentions',
		includeBots: !ignoreBots,
		allowedSenderIds: allowedUserIds,
		allowedChatIds,
		allowedChatsCoverDms: true,
	};
}

/** Why an update is nothing the trigger emits, for Telegram's own reasons (service messages, events not asked for), or null. */
export function whyTelegramUpdateIsNoMessage(update: Update, envelope: Envelope, rules: Partial<TelegramTriggerRules>): string | null {
	const { editedMessages, callbackQueries } = { ...DEFAULT_TRIGGER_RULES, ...rules };
	const service = serviceMessageField(update);
	if (service) return `it is a service message (${service}), not something a person wrote`;
	if (envelope.event === 'edited_message' && !editedMessages) return 'it is an edit and "Emit Edited Messages" is off';
	if (envelope.event === 'callback_query' && !callbackQueries) return 'it is a button press and "Emit Button Presses" is off';
	return null;
}

/** What the shared access policy needs to know of an update beyond its envelope. */
export function telegramAccessFacts(update: Update, envelope: Envelope, bot: TelegramBot): AccessFacts {
	return { fromSelf: envelope.sender.id === bot.id, repliesToBot: repliesToBot(update, bot) };
}

/**
 * Whether the trigger starts an execution for this update, and if not, why (for the debug log):
 * Telegram's own reasons, then the shared access policy (the trigger's, or v1 rules').
 */
export function decideTelegramUpdate(
	update: Update,
	options: NormalizeOptions & { rules?: Partial<TelegramTriggerRules>; policy?: AccessPolicy },
): UpdateDecision {
	const rules = options.rules ?? {};
	const envelope = normalizeTelegramUpdate(update, options);
	if (!envelope) return { emit: false, reason: 'it is not a message, an edit or a button press', envelope };
	const notMessage = whyTelegramUpdateIsNoMessage(update, envelope, rules);
	if (notMessage !== null) return { emit: false, reason: notMessage, envelope };
	const access = decideAccess(envelope, telegramAccessFacts(update, envelope, options.bot), options.policy ?? telegramPolicyOf(rules));
	return access.allowed === true ? { emit: true, envelope } : { emit: false, reason: access.reason, envelope };
}

/** The file a Telegram attachment points at, downloaded from the Bot API's file endpoint. */
export interface DownloadedFile {
	bytes: Buffer;
	fileName: string;
	mimeType: string | null;
}

const MEGABYTE = 1024 * 1024;

/** The Bot API serves bots files up to 20 MB (getFile refuses larger ones), so no limit may exceed it. */
export const TELEGRAM_MAX_DOWNLOAD_BYTES = 20 * MEGABYTE;

/** A download (getFile and the transfer) taking longer than this is stopped; the message goes on without the file. */
export const TELEGRAM_DOWNLOAD_TIMEOUT_MS = 30_000;

export interface DownloadLimits {
	/** Larger files are not downloaded; at most TELEGRAM_MAX_DOWNLOAD_BYTES, which is also the default. */
	maxBytes?: number;
	/** The whole download must end within this (default TELEGRAM_DOWNLOAD_TIMEOUT_MS). */
	timeoutMs?: number;
	/** Ends the download early (the trigger stops). */
	signal?: AbortSignal;
}

/** A file over the size limit: known from its metadata, its Content-Length, or counted while it streamed in. */
export class TelegramFileTooLargeError extends TelegramApiError {
	/** Read by `isFileTooLarge`: AI Session answers such a voice note with the size limit. */
	readonly fileTooLarge = true;

	constructor(sizeBytes: number | null, maxBytes: number) {
		super(tooLargeMessage(sizeBytes, maxBytes));
	}
}

function refuseOverLimit(sizeBytes: number | null | undefined, maxBytes: number): void {
	if (typeof sizeBytes === 'number' && sizeBytes > maxBytes) throw new TelegramFileTooLargeError(sizeBytes, maxBytes);
}

/**
 * Fetches a file by its file_id: getFile, then `<apiRoot>/file/bot<token>/<file_path>`, within a
 * size limit and a time limit. The size is checked before anything is fetched (the message's
 * `file_size`, then getFile's) and again while the bytes arrive, since a size can be missing or
 * wrong. Error messages never include the download URL, which contains the bot token.
 */
export async function downloadTelegramFile(
	api: Api,
	credential: TelegramCredential,
	attachment: Pick<EnvelopeAttachment, 'id' | 'name' | 'mimeType'> & { size?: number | null },
	limits: DownloadLimits = {},
): Promise<DownloadedFile> {
	const maxBytes = Math.min(limits.maxBytes ?? TELEGRAM_MAX_DOWNLOAD_BYTES, TELEGRAM_MAX_DOWNLOAD_BYTES);
	const timeoutMs = limits.timeoutMs ?? TELEGRAM_DOWNLOAD_TIMEOUT_MS;
	refuseOverLimit(attachment.size, maxBytes);
	const timeout = AbortSignal.timeout(timeoutMs);
	const signal = limits.signal ? AbortSignal.any([limits.signal, timeout]) : timeout;
	try {
		let file: Awaited<ReturnType<Api['getFile']>>;
		try {
			file = await api.getFile(attachment.id, grammySignal(signal));
		} catch (error) {
			throw describeTelegramError(error, 'look up a file (getFile)');
		}
		if (!file.file_path) throw new TelegramApiError('Telegram did not return a download path for the file (getFile).');
		refuseOverLimit(file.file_size, maxBytes);
		const filePath = file.file_path;
		// The URL holds the token: fetchFileAtMost reports failures without it.
		const url = `${apiRootOf(credential)}/file/bot${credential.accessToken.trim()}/${filePath.split('/').map(encodeURIComponent).join('/')}`;
		const { bytes, contentType } = await fetchFileAtMost(url, { maxBytes, signal, server: 'the Telegram Bot API', followRedirects: true }).catch((error: unknown) => {
			if (error instanceof FileTooLargeError) throw new TelegramFileTooLargeError(error.sizeBytes, maxBytes);
			if (error instanceof FileDownloadError) throw new TelegramApiError(error.message, error.status);
			throw error;
		});
		return { bytes, fileName: attachment.name ?? filePath.split('/').pop() ?? 'file', mimeType: attachment.mimeType ?? contentType };
	} catch (error) {
		throw whyDownloadStopped(error, { timedOut: timeout.aborted, stopped: limits.signal?.aborted === true, timeoutMs });
	}
}

/** A download's error, or what ended it early: the time limit or the trigger stopping. */
function whyDownloadStopped(error: unknown, { timedOut, stopped, timeoutMs }: { timedOut: boolean; stopped: boolean; timeoutMs: number }): unknown {
	if (stopped) return new TelegramApiError('The download was stopped because the trigger stopped.');
	if (timedOut) return new TelegramApiError(`The download took longer than ${timeoutMs / 1000} s and was stopped.`);
	return error;
}
