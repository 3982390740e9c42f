/**
 * A short, bounded name for why something failed: a Prometheus label and a dashboard row, so it
 * must never carry the message itself (messages hold IDs, and sometimes what a user wrote).
 */
import { ModelCallError } from '../session/model';

const STATUS_CLASSES: Array<[(status: number) => boolean, string]> = [
	[(status) => status === 429, 'rate_limited'],
	[(status) => status === 401 || status === 403, 'auth'],
	[(status) => status === 404, 'not_found'],
	[(status) => status === 408, 'timeout'],
	[(status) => status >= 500, 'server'],
	[(status) => status >= 400, 'bad_request'],
];

const MESSAGE_CLASSES: Array<[RegExp, string]> = [
	[/\b429\b|rate.?limit|too many requests/i, 'rate_limited'],
	[/\b40[13]\b|unauthori[sz]ed|forbidden|invalid (access )?token|rejected the (user|token)/i, 'auth'],
	[/\b404\b|not found/i, 'not_found'],
	[/timed? ?out|timeout/i, 'timeout'],
	[/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|fetch failed|socket hang up|could not connect/i, 'network'],
	[/\b5\d\d\b/, 'server'],
	[/\b400\b|bad request/i, 'bad_request'],
];

function statusOf(error: Record<string, unknown>): number | null {
	for (const value of [error.status, error.statusCode, error.httpCode, (error.response as Record<string, unknown> | undefined)?.status]) {
		const status = Number(value);
		if (Number.isInteger(status) && status >= 400 && status < 600) return status;
	}
	return null;
}

/** A platform's failure to take a message: rate_limited, auth, not_found, timeout, network, server, bad_request or other. */
export function deliveryErrorClass(error: unknown): string {
	for (let cause: unknown = error, depth = 0; cause && typeof cause === 'object' && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
		const record = cause as Record<string, unknown>;
		if (record.name === 'RateLimitedError') return 'rate_limited';
		const status = statusOf(record);
		if (status !== null) return STATUS_CLASSES.find(([matches]) => matches(status))![1];
		if (typeof record.networkCode === 'string' && record.networkCode) return 'network';
	}
	const message = typeof error === 'object' && error !== null ? String((error as Error).message ?? '') : String(error);
	return MESSAGE_CLASSES.find(([pattern]) => pattern.test(message))?.[1] ?? 'other';
}

/** Why AI Session failed an item: the model's failure kind (`model_timeout`, ...), a lock wait, the store, or other. */
export function answerErrorClass(error: unknown): string {
	if (error instanceof ModelCallError) return `model_${error.kind}`;
	const name = typeof error === 'object' && error !== null ? String((error as Error).name ?? '') : '';
	const message = typeof error === 'object' && error !== null ? String((error as Error).message ?? '') : String(error);
	if (name === 'LockTimeoutError') return 'lock_timeout';
	if (name === 'PostgresStoreError' || /^(Redis|PostgreSQL|Could not connect to (Redis|PostgreSQL))|session store|SQLite/i.test(message)) return 'store';
	if (/journaled|gave up|abandon/i.test(message)) return 'gave_up';
	return 'other';
}
