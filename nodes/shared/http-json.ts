/**
 * One HTTP call to a platform's JSON API over plain `fetch`, for the channels that need no SDK
 * (self-hosted servers: Mattermost, Rocket.Chat, Nextcloud Talk, Synology Chat). Each plugin turns
 * a failed answer into its own error; this only reads the answer safely and bounds the wait.
 */

export interface JsonAnswer {
	status: number;
	ok: boolean;
	headers: Headers;
	/** The parsed JSON body; `{ message }` with the first 200 characters when the body is no JSON; `{}` when empty. */
	body: unknown;
}

/** How long a call may take before it counts as failed (a model answer should not hang on a stuck server). */
export const PLATFORM_CALL_TIMEOUT_MS = 30_000;

export async function requestJson(url: string, init: RequestInit = {}): Promise<JsonAnswer> {
	const response = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(PLATFORM_CALL_TIMEOUT_MS) });
	const text = await response.text();
	let body: unknown = {};
	try {
		body = text ? JSON.parse(text) : {};
	} catch {
		body = { message: text.slice(0, 200) };
	}
	return { status: response.status, ok: response.ok, headers: response.headers, body };
}

/** Milliseconds of a `Retry-After` header in seconds, or null when absent or unreadable. */
export function retryAfterHeaderMs(headers: Headers): number | null {
	const value = headers.get('retry-after');
	if (value === null || value.trim() === '') return null;
	const seconds = Number(value);
	return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

/** The network failure of a fetch in a few words (ECONNREFUSED, TimeoutError), never its URL. */
export function networkCodeOf(error: unknown): string {
	const cause = (error as { cause?: { code?: string } })?.cause;
	return cause?.code ?? (error as Error)?.name ?? 'error';
}

/** A server's base URL as the user typed it, without trailing slashes; null when empty. */
export function baseUrlOf(value: unknown): string | null {
	const url = typeof value === 'string' ? value.trim().replace(/\/+$/, '') : '';
	return url === '' ? null : url;
}
