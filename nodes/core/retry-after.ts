/**
 * The one loop that waits out a platform's rate limit (HTTP 429 and its `Retry-After`, Telegram's
 * `retry_after`, Slack's `ratelimited`): every channel's client runs its calls through it with
 * its own reading of the error, so the bound on waiting lives in one tested place.
 */
export interface RetryAfterPolicy {
	/** Retries after rate-limit answers before giving up. */
	maxRetries: number;
	/** A longer wait fails at once: an execution should not sit idle for minutes. */
	maxWaitMs: number;
}

export const DEFAULT_RETRY_AFTER: RetryAfterPolicy = { maxRetries: 3, maxWaitMs: 30_000 };

/** A response's `Retry-After` (seconds) in milliseconds, or null when it has none that is a number. */
export function retryAfterHeaderOf(headers: Headers): number | null {
	const seconds = Number(headers.get('retry-after'));
	return headers.has('retry-after') && Number.isFinite(seconds) ? seconds * 1000 : null;
}

/**
 * A model provider's wait in milliseconds: `retry-after-ms` (OpenAI's), else `retry-after` in seconds
 * or as an HTTP date; null when neither says. Takes fetch `Headers` or the plain header object that
 * SDK errors wrapped by n8n's Chat Model sub-nodes carry.
 */
export function retryAfterMsFrom(headers: Headers | Record<string, unknown> | undefined | null, now = Date.now()): number | null {
	const read = (name: string): string | undefined => {
		if (!headers) return undefined;
		if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
		const value = (headers as Record<string, unknown>)[name];
		return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
	};
	const milliseconds = Number.parseFloat(read('retry-after-ms') ?? '');
	if (Number.isFinite(milliseconds) && milliseconds >= 0) return Math.round(milliseconds);
	const value = read('retry-after')?.trim();
	if (!value) return null;
	if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number.parseFloat(value) * 1000);
	const date = Date.parse(value);
	return Number.isNaN(date) ? null : Math.max(date - now, 0);
}

export class RateLimitedError extends Error {
	constructor(
		message: string,
		/** How long the platform asked to wait, in milliseconds. */
		readonly retryAfterMs: number,
	) {
		super(message);
		this.name = 'RateLimitedError';
	}
}

export interface RetryAfterOptions {
	/** What the call does, for the error message ("send a message"). */
	action: string;
	/** The platform's name, for the error message. */
	platform: string;
	/** Milliseconds the platform asked to wait before retrying, or null when the error is not a rate limit. */
	retryAfterMs(error: unknown): number | null;
	policy?: RetryAfterPolicy;
	sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `call`, retrying after rate-limit answers within the policy; any other error is thrown as it is. */
export async function withRetryAfter<T>(call: () => Promise<T>, options: RetryAfterOptions): Promise<T> {
	const { maxRetries, maxWaitMs } = options.policy ?? DEFAULT_RETRY_AFTER;
	const sleep = options.sleep ?? sleepFor;
	for (let retries = 0; ; retries++) {
		const attempt = await call().then(
			(value) => ({ failed: false as const, value }),
			(error: unknown) => ({ failed: true as const, error }),
		);
		if (!attempt.failed) return attempt.value;
		const waitMs = options.retryAfterMs(attempt.error);
		if (waitMs === null) throw attempt.error;
		if (waitMs > maxWaitMs) {
			throw new RateLimitedError(
				`${options.platform} is rate-limiting the bot and asked to wait ${Math.ceil(waitMs / 1000)} s to ${options.action}, longer than Clawgate waits (${Math.round(maxWaitMs / 1000)} s). Send fewer messages or try again later.`,
				waitMs,
			);
		}
		if (retries >= maxRetries) {
			throw new RateLimitedError(`${options.platform} kept rate-limiting the bot after ${maxRetries} retries to ${options.action}. Send fewer messages or try again later.`, waitMs);
		}
		await sleep(Math.max(0, waitMs));
	}
}
