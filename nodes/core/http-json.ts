/**
 * One JSON-over-HTTP call with plain `fetch`, for platforms whose API is a handful of endpoints
 * (Matrix, Zulip, signal-cli-rest-api): a non-2xx answer becomes an `HttpJsonError` holding the
 * status, the parsed body and any Retry-After, never the request (its headers carry the token).
 */
import { recordOrNull } from './payload';
import { retryAfterHeaderOf } from './retry-after';

export class HttpJsonError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		/** The answer's JSON object, when it was one. */
		readonly body: Record<string, unknown> | null = null,
		/** Retry-After of the answer, in milliseconds. */
		readonly retryAfterMs: number | null = null,
		/** Node's network error code (ECONNREFUSED) when the server was not reached. */
		readonly networkCode: string | null = null,
	) {
		super(message);
		this.name = 'HttpJsonError';
	}
}

export interface HttpJsonRequest {
	method: string;
	headers?: Record<string, string>;
	/** JSON bodies are serialised; a URLSearchParams body is sent as a form. */
	body?: unknown;
	signal?: AbortSignal;
	/** Default 30 s; a long poll sets its own. */
	timeoutMs?: number;
}

/** Answers larger than this are refused before parsing: no API of ours sends more. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export async function requestJson(url: string, request: HttpJsonRequest): Promise<Record<string, unknown>> {
	const form = request.body instanceof URLSearchParams;
	const timeout = AbortSignal.timeout(request.timeoutMs ?? 30_000);
	let response: Response;
	try {
		response = await fetch(url, {
			method: request.method,
			headers: { accept: 'application/json', ...(request.body === undefined ? {} : { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' }), ...request.headers },
			body: request.body === undefined ? undefined : form ? String(request.body) : JSON.stringify(request.body),
			signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
		});
	} catch (error) {
		if (request.signal?.aborted) throw error;
		const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name ?? 'error';
		throw new HttpJsonError(`the server could not be reached (${code})`, null, null, null, code);
	}
	const length = Number(response.headers.get('content-length'));
	if (Number.isFinite(length) && length > MAX_ANSWER_BYTES) throw new HttpJsonError(`the answer is too large (${length} bytes)`, response.status);
	const text = await response.text();
	let parsed: unknown = null;
	try {
		parsed = text ? JSON.parse(text) : {};
	} catch {
		parsed = null;
	}
	const body = recordOrNull(parsed) ?? (Array.isArray(parsed) ? { items: parsed } : null);
	if (response.ok && body) return body;
	throw new HttpJsonError(
		response.ok ? 'the answer is not JSON' : `HTTP ${response.status}`,
		response.status,
		body,
		retryAfterHeaderOf(response.headers),
	);
}
