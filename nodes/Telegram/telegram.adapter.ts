/**
 * Everything Telegram-specific: the Bot API client, request verification, normalisation of
 * updates into the envelope, and outbound calls. Node classes stay thin and call only this.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Api, GrammyError, HttpError } from 'grammy';
import type { Message, Update, UserFromGetMe } from 'grammy/types';

import { buildSessionId, commandForBot, type ChatType, type Envelope, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';

export const TELEGRAM_PUBLIC_API = 'https://api.telegram.org';

/** What Telegram can do, as data the shared delivery code reads (DESIGN.md "Layers"). */
export const telegramCapabilities = {
	channel: 'telegram',
	textLimit: 4096,
	formats: ['plain', 'html'],
	edit: true,
	typing: true,
	threads: true,
	media: true,
} as const;

export interface TelegramCredential {
	accessToken: string;
	baseUrl?: string;
}

export function createTelegramApi(credential: TelegramCredential): Api {
	const token = credential.accessToken?.trim();
	if (!token) throw new TelegramApiError('The Telegram credential has no bot token. Paste the token BotFather gave you.');
	const apiRoot = (credential.baseUrl?.trim() || TELEGRAM_PUBLIC_API).replace(/\/+$/, '');
	return new Api(token, { apiRoot });
}

/** The bot's numeric ID is the part of the token before the colon, so no `getMe` call is needed for it. */
export function botIdFromToken(token: string): string {
	const id = token.trim().split(':')[0];
	if (!/^\d+$/.test(id)) throw new TelegramApiError('The Telegram bot token does not look like "123456:ABC...". Check the token in the credential.');
	return id;
}

/**
 * The `secret_token` Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`. Derived, never
 * stored: n8n does not re-run webhook creation on restart and static data lands late, so a
 * stored secret could be missing when the first update arrives. Without the bot token it
 * cannot be guessed; it changes when the bot, workflow, node or webhook changes.
 */
export function deriveWebhookSecret(token: string, ids: { workflowId: string; nodeId: string; webhookId: string }): string {
	return createHmac('sha256', token.trim())
		.update(`clawgate-telegram-webhook:${ids.workflowId}:${ids.nodeId}:${ids.webhookId}`)
		.digest('base64url');
}

/** Constant-time comparison of the header Telegram sent with the secret we expect. */
export function isGenuineWebhookRequest(headerValue: unknown, expectedSecret: string): boolean {
	if (typeof headerValue !== 'string') return false;
	const got = Buffer.from(headerValue);
	const expected = Buffer.from(expectedSecret);
	return got.length === expected.length && timingSafeEqual(got, expected);
}

export interface NormalizeOptions {
	/** The receiving bot: its ID is the envelope's accountId; its username recognises mentions. */
	bot: { id: string; username: string | null };
	sessionScope?: SessionScope;
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

function chatTypeOf(message: Message): ChatType {
	switch (message.chat.type) {
		case 'private':
			return 'dm';
		case 'channel':
			return 'channel';
		default:
			return 'group';
	}
}

function displayName(user: { first_name: string; last_name?: string }): string {
	return [user.first_name, user.last_name].filter(Boolean).join(' ');
}

function mentionsBot(message: Message, text: string, botUsername: string | null): boolean {
	if (!botUsername) return false;
	const handle = `@${botUsername}`.toLowerCase();
	const entities = message.entities ?? message.caption_entities ?? [];
	return entities.some(
		(entity) => entity.type === 'mention' && text.slice(entity.offset, entity.offset + entity.length).toLowerCase() === handle,
	);
}

/**
 * Turns a Telegram update into the envelope, or null when the update is not a message this
 * trigger emits (the caller then starts no execution).
 */
export function normalizeTelegramUpdate(update: Update, options: NormalizeOptions): Envelope | null {
	const message = update.message;
	if (!message) return null;
	const text = message.text ?? message.caption ?? '';
	if (typeof message.chat?.id !== 'number' || typeof message.message_id !== 'number') {
		throw new InvalidPayloadError('The Telegram message has no chat ID or message ID.');
	}
	const sender = message.from ?? null;
	const chat = {
		id: String(message.chat.id),
		type: chatTypeOf(message),
		threadId: message.is_topic_message && message.message_thread_id !== undefined ? String(message.message_thread_id) : null,
		title: 'title' in message.chat ? (message.chat.title ?? null) : null,
	};
	const senderId = sender ? String(sender.id) : chat.id;
	return {
		sessionId: buildSessionId({ channel: 'telegram', accountId: options.bot.id, chat, senderId, scope: options.sessionScope }),
		channel: 'telegram',
		accountId: options.bot.id,
		chat,
		sender: {
			id: senderId,
			name: sender ? displayName(sender) : chat.title,
			username: sender?.username ?? null,
			isBot: sender?.is_bot ?? false,
		},
		message: {
			id: String(message.message_id),
			text,
			replyToId: message.reply_to_message ? String(message.reply_to_message.message_id) : null,
			mentionsBot: mentionsBot(message, text, options.bot.username),
			command: commandForBot(text, options.bot.username),
			attachments: [],
			timestamp: new Date(message.date * 1000).toISOString(),
		},
		raw: update,
	};
}

/**
 * A Bot API failure as a user can act on it. Built from grammy's error without its `payload`,
 * which can hold the webhook secret or message text.
 */
export class TelegramApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null = null,
		readonly retryAfterSeconds: number | null = null,
	) {
		super(message);
		this.name = 'TelegramApiError';
	}
}

export function describeTelegramError(error: unknown, action: string): TelegramApiError {
	if (error instanceof TelegramApiError) return error;
	if (error instanceof GrammyError) {
		const hint =
			error.error_code === 401 || error.error_code === 404
				? ' Check the bot token in the Clawgate Telegram credential.'
				: error.error_code === 403
					? ' The bot was blocked by the user or removed from the chat.'
					: '';
		return new TelegramApiError(
			`Telegram refused to ${action} (${error.error_code}: ${error.description}).${hint}`,
			error.error_code,
			error.parameters?.retry_after ?? null,
		);
	}
	if (error instanceof HttpError) {
		return new TelegramApiError(`Could not reach the Telegram Bot API to ${action}. Check the network and the credential's base URL.`);
	}
	return new TelegramApiError(`Could not ${action}: ${error instanceof Error ? error.message : String(error)}`);
}

export async function getBotIdentity(api: Api): Promise<UserFromGetMe> {
	try {
		return await api.getMe();
	} catch (error) {
		throw describeTelegramError(error, 'identify the bot (getMe)');
	}
}

/** The updates a trigger asks Telegram for: only what it emits, so nothing else wakes n8n up. */
export const TRIGGER_ALLOWED_UPDATES = ['message'] as const;

export async function isWebhookRegistered(api: Api, url: string): Promise<boolean> {
	try {
		const info = await api.getWebhookInfo();
		return info.url === url;
	} catch (error) {
		throw describeTelegramError(error, 'read the webhook registration (getWebhookInfo)');
	}
}

export async function registerWebhook(api: Api, url: string, secretToken: string): Promise<void> {
	try {
		await api.setWebhook(url, { secret_token: secretToken, allowed_updates: [...TRIGGER_ALLOWED_UPDATES] });
	} catch (error) {
		throw describeTelegramError(error, `register the webhook ${url} (setWebhook)`);
	}
}

/** Removes the bot's webhook only if it is ours, so deactivating never cuts off another workflow. */
export async function removeWebhook(api: Api, url: string): Promise<boolean> {
	if (!(await isWebhookRegistered(api, url))) return false;
	try {
		return await api.deleteWebhook();
	} catch (error) {
		throw describeTelegramError(error, 'remove the webhook (deleteWebhook)');
	}
}

export interface SendTextOptions {
	replyToMessageId?: string | null;
	threadId?: string | null;
}

export interface SentMessages {
	chatId: string;
	messageIds: string[];
}

export async function sendTelegramText(api: Api, chatId: string, text: string, options: SendTextOptions = {}): Promise<SentMessages> {
	if (!text) throw new TelegramApiError('There is no text to send. Set "Text" (by default it reads the AI reply, {{ $json.reply.text }}).');
	const replyTo = toInteger(options.replyToMessageId);
	const threadId = toInteger(options.threadId);
	try {
		const sent = await api.sendMessage(chatId, text, {
			...(replyTo !== null ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
			...(threadId !== null ? { message_thread_id: threadId } : {}),
		});
		return { chatId: String(sent.chat.id), messageIds: [String(sent.message_id)] };
	} catch (error) {
		throw describeTelegramError(error, `send a message to chat ${chatId}`);
	}
}

function toInteger(value: string | null | undefined): number | null {
	if (value === null || value === undefined || value === '') return null;
	const number = Number(value);
	return Number.isSafeInteger(number) ? number : null;
}

// getMe answers are stable for a token, so one call per process is enough (a cache, not shared state).
const botUsernames = new Map<string, Promise<string | null>>();

/** The bot's @username, used to recognise mentions and `/cmd@bot`; looked up once per process. */
export function resolveBotUsername(api: Api, token: string): Promise<string | null> {
	const key = createHmac('sha256', 'clawgate-bot-cache').update(token).digest('hex');
	let username = botUsernames.get(key);
	if (!username) {
		username = getBotIdentity(api).then((me) => me.username ?? null);
		username.catch(() => botUsernames.delete(key));
		botUsernames.set(key, username);
	}
	return username;
}
