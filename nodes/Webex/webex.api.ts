/**
 * The Webex REST API as Clawgate calls it: Bearer token, answers read up to a size cap, errors in
 * words a user can act on, and the bot's identity (GET /people/me) looked up once per process.
 * https://developer.webex.com/docs/api/basics
 */
import { createHmac } from 'node:crypto';

import { nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { retryAfterHeaderOf } from '../core/retry-after';

export const WEBEX_PUBLIC_API = 'https://webexapis.com';

export interface WebexCredential {
	botToken: string;
	/** Empty: a secret derived per trigger node is given to Webex on activation. */
	webhookSecret?: string;
	baseUrl?: string;
}

export interface WebexClient {
	apiBase: string;
	token: string;
}

export interface WebexBot {
	id: string;
	displayName: string;
	nickName: string;
}

/** A refused or failed call; `message` is Webex's own words. */
export class WebexApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		/** The Retry-After of a 429, in milliseconds. */
		readonly retryAfterMs: number | null = null,
	) {
		super(message);
		this.name = 'WebexApiError';
	}
}

export function createWebexClient(credential: WebexCredential): WebexClient {
	const token = credential.botToken?.trim();
	if (!token) throw new WebexApiError('The Clawgate Webex credential has no bot access token. Copy it from your bot\'s page on developer.webex.com (My Webex Apps).', null);
	return { apiBase: (credential.baseUrl?.trim() || WEBEX_PUBLIC_API).replace(/\/+$/, ''), token };
}

/** The body of an answer, read only up to `maxBytes`: a larger one is cut off and refused. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
	if (!response.body) return '';
	const reader = response.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > maxBytes) {
			await reader.cancel();
			throw new WebexApiError(`Webex answered with more than ${Math.round(maxBytes / 1024)} KB, more than a message can hold.`, null);
		}
		chunks.push(value);
	}
	return Buffer.concat(chunks).toString('utf8');
}

export interface WebexCallOptions {
	timeoutMs?: number;
	maxBytes?: number;
}

/** One REST call; a non-2xx answer becomes a WebexApiError with Webex's message. */
export async function callWebex<T = Record<string, unknown>>(client: WebexClient, method: string, path: string, body?: unknown, options: WebexCallOptions = {}): Promise<T> {
	const response = await fetch(`${client.apiBase}/v1${path}`, {
		method,
		headers: { authorization: `Bearer ${client.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
	});
	const text = await readCapped(response, options.maxBytes ?? 4 * 1024 * 1024);
	let parsed: unknown = {};
	try {
		parsed = text ? JSON.parse(text) : {};
	} catch {
		parsed = { message: text.slice(0, 200) };
	}
	if (response.ok) return parsed as T;
	const retryAfterMs = response.status === 429 ? (retryAfterHeaderOf(response.headers) ?? 1000) : null;
	throw new WebexApiError(stringOr(recordOrNull(parsed)?.message, response.statusText), response.status, retryAfterMs);
}

// GET /people/me answers are stable for a token; one call per process (a cache, not shared state).
const bots = new Map<string, Promise<WebexBot>>();

/** The bot's person ID and names, looked up once per process and token. */
export function webexBot(client: WebexClient): Promise<WebexBot> {
	const key = createHmac('sha256', 'clawgate-webex-bot').update(`${client.apiBase}\n${client.token}`).digest('hex');
	let bot = bots.get(key);
	if (!bot) {
		bot = callWebex(client, 'GET', '/people/me').then((me) => {
			const id = nonEmptyStringOrNull(me.id);
			if (id === null) throw new WebexApiError('Webex answered GET /people/me without the bot\'s ID.', null);
			return { id, displayName: stringOr(me.displayName, ''), nickName: stringOr(me.nickName, '') };
		});
		bot.catch(() => bots.delete(key));
		bots.set(key, bot);
	}
	return bot;
}

const CHAT_ADVICE = 'Check the chat ID (a Webex room ID, as in the trigger\'s chat.id); the bot may have been removed from the space.';

/** A failed call in words a user can act on (never carrying the token). */
export function describeWebexError(error: unknown, action: string, advice = CHAT_ADVICE): Error {
	if (error instanceof WebexApiError && error.status !== null) {
		const said = `(${error.status}: ${error.message})`;
		if (error.status === 401) {
			return new WebexApiError(
				`Webex rejected the bot access token (401) trying to ${action}. Regenerate the token on your bot's page on developer.webex.com (My Webex Apps) and paste it into the Clawgate Webex credential.`,
				401,
			);
		}
		if (error.status === 429) return new WebexApiError(`Webex is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429);
		if (error.status >= 500) return new WebexApiError(`Webex failed to ${action} ${said}: a problem on Webex's side. Try again later.`, error.status);
		return new WebexApiError(`Webex refused to ${action} ${said}. ${advice}`, error.status);
	}
	if (error instanceof WebexApiError) return error;
	const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as Error)?.name ?? 'error';
	return new WebexApiError(`Could not reach the Webex API to ${action} (${code}). Check the network and the credential's Base URL (empty means ${WEBEX_PUBLIC_API}).`, null);
}
