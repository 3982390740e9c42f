/**
 * The one place that retries model calls and falls back to the next model (DESIGN.md "AI Session
 * node", step 6). Works on any `ChatModel`, so the policy is the same for every provider.
 */
import { ModelCallError, type AnswerStream, type ChatCompletion, type ChatMessage, type ChatModel, type ModelErrorKind } from './model';

export interface ModelAttempt {
	model: string;
	/** Why this attempt failed; absent on the attempt that answered. */
	error?: string;
}

export interface AttemptInfo {
	model: string;
	/** 1 for the first try of this model, 2 for its first retry, … */
	attempt: number;
	error?: ModelCallError;
	/** Set when this model will be tried again after this wait. */
	retryInMs?: number;
}

export interface ModelCallOptions {
	model: ChatModel;
	/** The primary model first, then the fallbacks in order. */
	models: string[];
	messages: ChatMessage[];
	maxOutputTokens: number;
	temperature?: number;
	/** Retries per model after its first attempt (so `retries + 1` attempts at most). */
	retries: number;
	/** Per attempt; a call still running then is aborted and counts as a timeout. */
	timeoutMs: number;
	sleep?: (ms: number) => Promise<void>;
	/** Longest wait before a retry, even when the provider's `retry-after` asks for more. */
	maxRetryDelayMs?: number;
	onAttempt?: (info: AttemptInfo) => void;
	/** 0 ≤ x < 1; replaceable so tests can pin the backoff jitter. */
	random?: () => number;
	/** Set to stream the answer as it is written; every attempt streams, and a failed one that wrote restarts it. */
	stream?: AnswerStream;
}

export interface ModelCallResult {
	completion: ChatCompletion;
	/** Every attempt in order; the last one answered (its `model` is the one that replied). */
	attempts: ModelAttempt[];
}

/** Thrown when no model answered: the message tells the story across models, `attempts` the detail. */
export class ModelCallFailedError extends ModelCallError {
	constructor(
		message: string,
		last: ModelCallError,
		readonly attempts: ModelAttempt[],
	) {
		super(message, last.kind, { status: last.options.status, retryAfterMs: last.options.retryAfterMs, model: last.options.model });
		this.name = 'ModelCallFailedError';
	}
}

export const DEFAULT_MAX_RETRY_DELAY_MS = 30_000;
/** First backoff when the provider gives no `retry-after`; doubles per retry, with jitter. */
export const BACKOFF_BASE_MS = 500;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function callModelWithFallback(options: ModelCallOptions): Promise<ModelCallResult> {
	const { model, messages, maxOutputTokens, temperature, timeoutMs, onAttempt, stream } = options;
	const sleep = options.sleep ?? defaultSleep;
	const random = options.random ?? Math.random;
	const maxRetryDelayMs = options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
	const retries = Math.max(0, Math.floor(options.retries));
	const models = [...new Set(options.models.map((name) => name.trim()).filter((name) => name !== ''))];
	if (models.length === 0) throw new ModelCallError('No model name is set. Enter the model to use, e.g. gpt-4o-mini.', 'bad_request');

	const attempts: ModelAttempt[] = [];
	const failures: Array<{ model: string; error: ModelCallError; tries: number }> = [];
	for (const name of models) {
		for (let attempt = 1; ; attempt++) {
			try {
				const completion = await attemptOnce(model, { model: name, messages, maxOutputTokens, temperature }, timeoutMs, stream);
				attempts.push({ model: name });
				onAttempt?.({ model: name, attempt });
				return { completion, attempts };
			} catch (caught) {
				const error = asModelCallError(caught, name);
				attempts.push({ model: name, error: error.message });
				const retry = error.retryable && attempt <= retries;
				const retryInMs = retry ? retryDelayMs(error, attempt, maxRetryDelayMs, random) : undefined;
				onAttempt?.({ model: name, attempt, error, ...(retry ? { retryInMs } : {}) });
				if (retry) {
					await sleep(retryInMs!);
					continue;
				}
				failures.push({ model: name, error, tries: attempt });
				// An auth or request problem is the same for every model: trying others only adds noise.
				if (!error.worthFallback) throw failedError(failures, attempts);
				break;
			}
		}
	}
	throw failedError(failures, attempts);
}

/** `retry-after` when the provider sent one (capped), else 500 ms · 2^(retry − 1) with ±25 % jitter. */
export function retryDelayMs(error: ModelCallError, attempt: number, maxRetryDelayMs: number, random: () => number = Math.random): number {
	const asked = error.options.retryAfterMs;
	if (typeof asked === 'number' && Number.isFinite(asked)) return Math.min(Math.max(asked, 0), maxRetryDelayMs);
	const backoff = BACKOFF_BASE_MS * 2 ** (attempt - 1) * (0.75 + random() * 0.5);
	return Math.round(Math.min(backoff, maxRetryDelayMs));
}

/**
 * One call with its own deadline. The race makes a model that ignores the signal still end in a
 * timeout, so a hung provider can never hold the session lock forever. A streaming attempt writes
 * only while it runs: pieces a timed-out call still produces are dropped.
 */
async function attemptOnce(
	model: ChatModel,
	request: { model: string; messages: ChatMessage[]; maxOutputTokens: number; temperature?: number },
	timeoutMs: number,
	stream?: AnswerStream,
): Promise<ChatCompletion> {
	let open = true;
	let wrote = false;
	const onText = stream
		? (delta: string) => {
				if (!open || delta === '') return;
				wrote = true;
				stream.write(delta);
			}
		: undefined;
	const controller = new AbortController();
	let timer: NodeJS.Timeout | undefined;
	const deadline = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			controller.abort();
			reject(new ModelCallError(`The model "${request.model}" did not answer within ${formatDuration(timeoutMs)}.`, 'timeout', { model: request.model }));
		}, timeoutMs);
	});
	const call = Promise.resolve().then(() =>
		model.complete({
			model: request.model,
			messages: request.messages,
			maxOutputTokens: request.maxOutputTokens,
			...(request.temperature === undefined ? {} : { temperature: request.temperature }),
			signal: controller.signal,
			...(onText ? { onText } : {}),
		}),
	);
	call.catch(() => undefined);
	try {
		return await Promise.race([call, deadline]);
	} catch (error) {
		open = false;
		if (wrote) stream!.restart();
		if (controller.signal.aborted) {
			throw new ModelCallError(`The model "${request.model}" did not answer within ${formatDuration(timeoutMs)}.`, 'timeout', { model: request.model });
		}
		throw error;
	} finally {
		open = false;
		clearTimeout(timer);
	}
}

function asModelCallError(error: unknown, model: string): ModelCallError {
	if (error instanceof ModelCallError) return error;
	const reason = error instanceof Error ? error.message : String(error);
	return new ModelCallError(`The model "${model}" failed unexpectedly: ${reason}`, 'bad_response', { model });
}

const KIND_SUMMARY: Record<ModelErrorKind, string> = {
	auth: 'API key rejected',
	rate_limit: 'rate limited',
	server: 'server error',
	timeout: 'no answer in time',
	network: 'server unreachable',
	bad_request: 'request refused',
	not_found: 'model not found',
	bad_response: 'unreadable answer',
};

/** E.g. "gpt-4o failed (rate limited, 429, 3 attempts), then gpt-4o-mini failed (…). <last error>" */
function failedError(failures: Array<{ model: string; error: ModelCallError; tries: number }>, attempts: ModelAttempt[]): ModelCallFailedError {
	const story = failures
		.map(({ model, error, tries }) => {
			const status = error.options.status ? `, ${error.options.status}` : '';
			return `${model} failed (${KIND_SUMMARY[error.kind]}${status}, ${tries} ${tries === 1 ? 'attempt' : 'attempts'})`;
		})
		.join(', then ');
	const last = failures[failures.length - 1].error;
	const lead = failures.length > 1 ? 'No model answered: ' : 'The model call failed: ';
	return new ModelCallFailedError(`${lead}${story}. ${last.message}`, last, attempts);
}

function formatDuration(ms: number): string {
	return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
