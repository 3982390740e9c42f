/**
 * Meta's Graph API as WhatsApp Cloud API, Messenger and Instagram use it: one versioned base URL,
 * a Bearer token, and `{ error: { message, type, code, error_subcode } }` refusals. Plain `fetch`:
 * each channel calls three or four endpoints. https://developers.facebook.com/docs/graph-api/guides/error-handling
 */
import { finiteNumberOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError, retryAfterHeaderOf } from '../core/retry-after';

/** The Graph API version every path carries; one place to move it forward. */
export const GRAPH_API_VERSION = 'v21.0';

export interface GraphClient {
	/** Without the version: https://graph.facebook.com, or a test server. */
	apiBase: string;
	token: string;
	/** The platform's name in errors ("WhatsApp"). */
	platform: string;
}

/** A refused or failed Graph call: Meta's message and codes, never the token. */
export class MetaGraphError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		/** Meta's error code (131047 "Re-engagement message", 190 expired token, 4/17/32/613 call limits). */
		readonly code: number | null = null,
		readonly subcode: number | null = null,
		/** The Retry-After of the answer, when it carried one. */
		readonly retryAfterMs: number | null = null,
	) {
		super(message);
		this.name = 'MetaGraphError';
	}
}

export function createGraphClient(platform: string, publicApi: string, token: string | undefined, baseUrl: string | undefined, missingTokenAdvice: string): GraphClient {
	const trimmed = token?.trim();
	if (!trimmed) throw new MetaGraphError(`The Clawgate ${platform} credential has no access token. ${missingTokenAdvice}`, null);
	return { apiBase: (baseUrl?.trim() || publicApi).replace(/\/+$/, ''), token: trimmed, platform };
}

/** One Graph API call under GRAPH_API_VERSION; a non-2xx answer becomes a MetaGraphError with Meta's words and codes. */
export async function callGraph<T = Record<string, unknown>>(client: GraphClient, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
	const response = await fetch(`${client.apiBase}/${GRAPH_API_VERSION}${path}`, {
		method,
		headers: { authorization: `Bearer ${client.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	const text = await response.text();
	let parsed: unknown = {};
	try {
		parsed = text ? JSON.parse(text) : {};
	} catch {
		parsed = { error: { message: text.slice(0, 200) } };
	}
	if (response.ok) return parsed as T;
	const error = recordOrNull(recordOrNull(parsed)?.error);
	const details = stringOr(recordOrNull(error?.error_data)?.details, '');
	const message = [stringOr(error?.message, response.statusText), details].filter(Boolean).join(' ');
	throw new MetaGraphError(
		message,
		response.status,
		finiteNumberOrNull(error?.code),
		finiteNumberOrNull(error?.error_subcode),
		retryAfterHeaderOf(response.headers),
	);
}

// Call-count limits of the app (4), a user (17), a Page (32), a method (613), a WhatsApp
// account (80007): they reset within the hour, so no wait inside an execution ends them.
const CALL_LIMIT_CODES = new Set([4, 17, 32, 613, 80007]);
// Cloud API throughput (130429) and "too many messages to this user" (131056, about one per 6 s).
const THROUGHPUT_WAIT_MS = new Map([
	[130429, 1_000],
	[131056, 6_000],
]);

/** How long to wait before sending again, or null when waiting does not help (or it is no rate limit). */
export function graphRetryAfterMs(error: unknown): number | null {
	if (!(error instanceof MetaGraphError)) return null;
	if (error.retryAfterMs !== null && (error.status === 429 || isRateLimit(error))) return error.retryAfterMs;
	if (error.code !== null && THROUGHPUT_WAIT_MS.has(error.code)) return THROUGHPUT_WAIT_MS.get(error.code)!;
	return null;
}

function isRateLimit(error: MetaGraphError): boolean {
	return error.status === 429 || (error.code !== null && (CALL_LIMIT_CODES.has(error.code) || THROUGHPUT_WAIT_MS.has(error.code)));
}

export interface GraphErrorAdvice {
	/** Where a user gets a new token, said after "…rejected the access token". */
	token: string;
	/** What to check when Meta refuses the request itself (a wrong recipient). */
	request: string;
	/** Public base URL, for the network error. */
	publicApi: string;
	/** Meta's answer codes this platform explains itself (131047 on WhatsApp). */
	special?(error: MetaGraphError, action: string): Error | null;
}

/** A failed Graph call in words a user can act on; the platform's own cases first. */
export function describeGraphError(platform: string, error: unknown, action: string, advice: GraphErrorAdvice): Error {
	if (error instanceof RateLimitedError) return error;
	if (error instanceof MetaGraphError && error.status !== null) {
		const special = advice.special?.(error, action);
		if (special) return special;
		const said = `(${error.status}${error.code === null ? '' : `, code ${error.code}`}: ${error.message})`;
		// 190: the token expired or was revoked; 401 and OAuthException code 102 mean the same to a user.
		if (error.status === 401 || error.code === 190 || error.code === 102) {
			return new MetaGraphError(`${platform} rejected the access token ${said} trying to ${action}. ${advice.token}`, error.status, error.code);
		}
		if (isRateLimit(error)) return new MetaGraphError(`${platform} is rate-limiting the app and refused to ${action} ${said}. Send fewer messages or try again later.`, error.status, error.code);
		if (error.code === 10 || error.code === 200 || error.status === 403) {
			return new MetaGraphError(`${platform} does not allow the app to ${action} ${said}. Check the app's permissions in the Meta App Dashboard.`, error.status, error.code);
		}
		if (error.status >= 500) return new MetaGraphError(`${platform} failed to ${action} ${said}: a problem on Meta's side. Try again later.`, error.status, error.code);
		return new MetaGraphError(`${platform} refused to ${action} ${said}. ${advice.request}`, error.status, error.code);
	}
	if (error instanceof MetaGraphError) return error;
	const cause = (error as { cause?: { code?: string } })?.cause;
	const code = cause?.code ?? (error as Error)?.name ?? 'error';
	return new MetaGraphError(`Could not reach the ${platform} API to ${action} (${code}). Check the network and the credential's Base URL (empty means ${advice.publicApi}).`, null);
}
