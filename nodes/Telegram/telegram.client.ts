/**
 * The Bot API client and its errors: how a credential becomes a grammy `Api`, how Telegram's
 * flood control is waited out, and how a failed call is explained to a user.
 */
import { createHmac } from 'node:crypto';
import type { Api, Transformer } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { onFirstUse } from '../core/on-first-use';

export const TELEGRAM_PUBLIC_API = 'https://api.telegram.org';

type Grammy = typeof import('grammy');

/** grammy, loaded on first use, not on import: a node file can be loaded without running (n8n loads them all right after an install), Telegram used or not. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const loadGrammy = onFirstUse(() => require('grammy') as Grammy);

/** grammy types its signals with an AbortController polyfill; Node's own signals work the same. */
export type GrammySignal = Parameters<Api['getMe']>[0];
export const grammySignal = (signal: AbortSignal | undefined): GrammySignal => signal as unknown as GrammySignal;

/** What Telegram can do, as data the shared delivery code reads (DESIGN.md "Layers"). */
export const telegramCapabilities = {
	channel: 'telegram',
	/** UTF-16 code units of visible text per message (after HTML entities are parsed). */
	textLimit: 4096,
	captionLimit: 1024,
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

export interface FloodWaitPolicy {
	/** Retries after a 429 before the error is returned to the caller. */
	maxRetries: number;
	/** A longer `retry_after` than this is not waited out: the call fails and says how long to wait. */
	maxWaitSeconds: number;
}

/** Telegram's flood control asks for waits of a few seconds; minutes mean the bot must slow down. */
export const DEFAULT_FLOOD_WAIT: FloodWaitPolicy = { maxRetries: 3, maxWaitSeconds: 60 };

/** The Bot API root the credential points at: Telegram, or a self-hosted Bot API server (or an emulator). */
export function apiRootOf(credential: TelegramCredential): string {
	return (credential.baseUrl?.trim() || TELEGRAM_PUBLIC_API).replace(/\/+$/, '');
}

/**
 * Whether the credential names a Bot API server of its own. Such a server (telegram-bot-api
 * with `--local`) delivers webhooks over plain http and to any port, which Telegram's public
 * API refuses.
 */
export function usesOwnBotApiServer(credential: TelegramCredential): boolean {
	return apiRootOf(credential) !== TELEGRAM_PUBLIC_API;
}

export function createTelegramApi(credential: TelegramCredential, floodWait: FloodWaitPolicy = DEFAULT_FLOOD_WAIT): Api {
	const token = credential.accessToken?.trim();
	if (!token) throw new TelegramApiError('The Telegram credential has no bot token. Paste the token BotFather gave you.');
	const { Api } = loadGrammy();
	const api = new Api(token, { apiRoot: apiRootOf(credential) });
	api.config.use(waitOutFloodControl(floodWait));
	return api;
}

/** Repeats a call that Telegram answered with 429, after the `retry_after` it asked for. */
export function waitOutFloodControl({ maxRetries, maxWaitSeconds }: FloodWaitPolicy): Transformer {
	return async (previous, method, payload, signal) => {
		for (let attempt = 0; ; attempt++) {
			const response = await previous(method, payload, signal);
			if (response.ok || response.error_code !== 429) return response;
			const retryAfter = response.parameters?.retry_after;
			if (retryAfter === undefined || attempt >= maxRetries || retryAfter > maxWaitSeconds) return response;
			await sleep(retryAfter * 1000, signal as AbortSignal | undefined);
		}
	};
}

/** Waits, ending early (with an AbortError) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(abortError());
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		const onAbort = () => {
			clearTimeout(timer);
			reject(abortError());
		};
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}

function abortError(): Error {
	const error = new Error('The operation was aborted.');
	error.name = 'AbortError';
	return error;
}

/** The bot's numeric ID is the part of the token before the colon, so no `getMe` call is needed for it. */
export function botIdFromToken(token: string): string {
	const id = token.trim().split(':')[0];
	if (!/^\d+$/.test(id)) throw new TelegramApiError('The Telegram bot token does not look like "123456:ABC...". Check the token in the credential.');
	return id;
}

/** A key for per-bot process state that does not keep the token itself in memory maps or logs. */
export function botKeyOf(token: string): string {
	return createHmac('sha256', 'clawgate-bot-key').update(token.trim()).digest('hex');
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
		readonly telegramDescription: string | null = null,
	) {
		super(message);
		this.name = 'TelegramApiError';
	}
}

function hintFor(code: number, description: string): string {
	if (code === 401 || code === 404) return ' Check the bot token in the Clawgate Telegram credential.';
	if (code === 403) return ' The bot was blocked by the user or removed from the chat.';
	if (code === 429) return ' The bot sends faster than Telegram allows: send fewer or shorter messages, or try again later.';
	if (/bad webhook/i.test(description)) {
		return ' Telegram only delivers to a public HTTPS address: set WEBHOOK_URL to the https:// address n8n is reachable at, or switch the trigger to Long Polling.';
	}
	return '';
}

export function describeTelegramError(error: unknown, action: string): TelegramApiError {
	if (error instanceof TelegramApiError) return error;
	const { GrammyError, HttpError } = loadGrammy();
	if (error instanceof GrammyError) {
		return new TelegramApiError(
			`Telegram refused to ${action} (${error.error_code}: ${error.description}).${hintFor(error.error_code, error.description)}`,
			error.error_code,
			error.parameters?.retry_after ?? null,
			error.description,
		);
	}
	if (error instanceof HttpError) {
		return new TelegramApiError(`Could not reach the Telegram Bot API to ${action}. Check the network and the credential's base URL.`);
	}
	return new TelegramApiError(`Could not ${action}: ${error instanceof Error ? error.message : String(error)}`);
}

/** Whether an error is the caller's own abort (a trigger stopping), not a failure. */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
	if (signal?.aborted) return true;
	const { HttpError } = loadGrammy();
	const cause = error instanceof HttpError ? error.error : error;
	return cause instanceof Error && (cause.name === 'AbortError' || cause.name === 'AbortSignal');
}

export async function getBotIdentity(api: Api): Promise<UserFromGetMe> {
	try {
		return await api.getMe();
	} catch (error) {
		throw describeTelegramError(error, 'identify the bot (getMe)');
	}
}

// getMe answers are stable for a token, so one call per process is enough (a cache, not shared state).
const botUsernames = new Map<string, Promise<string | null>>();

/** The bot's @username, used to recognise mentions and `/cmd@bot`; looked up once per process. */
export function resolveBotUsername(api: Api, token: string): Promise<string | null> {
	const key = botKeyOf(token);
	let username = botUsernames.get(key);
	if (!username) {
		username = getBotIdentity(api).then((me) => me.username ?? null);
		username.catch(() => botUsernames.delete(key));
		botUsernames.set(key, username);
	}
	return username;
}
