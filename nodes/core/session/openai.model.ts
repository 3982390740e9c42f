/**
 * The `ChatModel` for OpenAI-compatible servers (OpenAI, Ollama, vLLM, LM Studio, OpenRouter…),
 * built from n8n's `openAiApi` credential. It makes exactly one HTTP attempt per call and turns
 * every failure into a `ModelCallError`, so retries and fallbacks live once, in core.
 *
 * Plain `fetch`: Chat Completions is one JSON POST, or the same with server-sent events when the
 * answer is streamed, so the openai SDK (154 modules in n8n, about 15 MiB of RSS) carries no
 * protocol weight here. The emulator's wire protocol is still checked with that SDK in the tests.
 */
import { retryAfterMsFrom } from '../retry-after';
import { ModelCallError, toWireMessage, type ChatCompletion, type ChatModel, type ChatRequest } from './model';
import { recordOrNull } from '../payload';
import { serverSentData } from '../server-sent-events';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAiChatModelOptions {
	apiKey: string;
	/** The credential's `url`; empty means OpenAI itself. */
	baseUrl?: string;
	organizationId?: string;
	/** Per attempt; core also aborts through `ChatRequest.signal`. */
	timeoutMs: number;
}

type OutputLimitParameter = 'max_tokens' | 'max_completion_tokens';

interface CompletionBody {
	model: string;
	messages: unknown[];
	temperature?: number;
	[limit: string]: unknown;
}

/** Usage as Chat Completions reports it. */
interface WireUsage {
	prompt_tokens?: number;
	completion_tokens?: number;
	total_tokens?: number;
}

/** An error answer's body is read this far (OpenAI's are a few hundred bytes). */
const MAX_ERROR_BODY_CHARS = 64 * 1024;
/** A whole answer larger than this is refused rather than parsed. */
const MAX_ANSWER_CHARS = 32 * 1024 * 1024;

/** The server answered with an error status: what `toModelCallError` reads. */
class ProviderError extends Error {
	constructor(
		readonly status: number,
		/** The `error` object of OpenAI's error body ({ message, code, param, type }), when there was one. */
		readonly detail: { message?: unknown; code?: unknown; param?: unknown } | null,
		readonly headers: Headers,
	) {
		super(`HTTP ${status}`);
	}
}

/** fetch failed before any answer: the server was not reached (or closed before answering). */
class UnreachableError extends Error {}

/** The stream carried an error event instead of the next chunk. */
class StreamedError extends Error {}

/** The answer is not a Chat Completions answer (not JSON, too large, a chunk that does not parse). */
class NotAnAnswerError extends Error {}

/**
 * OpenAI's reasoning models refuse `max_tokens`, while Ollama and other OpenAI-compatible servers
 * only know `max_tokens` (and silently ignore `max_completion_tokens`). So OpenAI gets the new name,
 * everyone else the old one, and a 400 naming the parameter switches to the other for that model.
 */
export function outputLimitParameterFor(baseUrl: string): OutputLimitParameter {
	return new URL(baseUrl).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens';
}

export class OpenAiChatModel implements ChatModel {
	private readonly apiKey: string;
	private readonly timeoutMs: number;
	readonly baseUrl: string;
	private readonly headers: Record<string, string>;
	private readonly defaultLimitParameter: OutputLimitParameter;
	/** Models that refused the default output-limit parameter, learned once per instance. */
	private readonly limitParameterByModel = new Map<string, OutputLimitParameter>();

	constructor({ apiKey, baseUrl, organizationId, timeoutMs }: OpenAiChatModelOptions) {
		if (!apiKey?.trim()) {
			throw new ModelCallError(
				"The OpenAI credential has no API key. Enter one (servers that need none, such as Ollama, accept any text).",
				'auth',
			);
		}
		// A key pasted with a trailing newline would otherwise be rejected as wrong.
		this.apiKey = apiKey.trim();
		this.timeoutMs = Math.max(1, Math.round(timeoutMs));
		this.baseUrl = (baseUrl?.trim() || OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
		if (!/^https?:\/\/[^/]/i.test(this.baseUrl)) {
			throw new ModelCallError(
				`The base URL "${this.scrub(describeUrl(this.baseUrl))}" in the OpenAI credential is not a web address. Use e.g. ${OPENAI_DEFAULT_BASE_URL} or http://localhost:11434/v1.`,
				'bad_request',
			);
		}
		this.defaultLimitParameter = outputLimitParameterFor(this.baseUrl);
		const organization = organizationId?.trim();
		this.headers = {
			authorization: `Bearer ${this.apiKey}`,
			'content-type': 'application/json',
			accept: 'application/json',
			...(organization ? { 'openai-organization': organization } : {}),
		};
	}

	async complete(request: ChatRequest): Promise<ChatCompletion> {
		const parameter = this.limitParameterByModel.get(request.model) ?? this.defaultLimitParameter;
		try {
			return await this.send(request, parameter);
		} catch (error) {
			const other: OutputLimitParameter = parameter === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
			if (!refusesParameter(error, parameter) || request.signal?.aborted) throw this.toModelCallError(error, request);
			this.limitParameterByModel.set(request.model, other);
			try {
				return await this.send(request, other);
			} catch (retryError) {
				throw this.toModelCallError(retryError, request);
			}
		}
	}

	/** One HTTP request under this model's own deadline, which also covers a body that never ends. */
	private async send(request: ChatRequest, limitParameter: OutputLimitParameter): Promise<ChatCompletion> {
		const controller = new AbortController();
		const forwardAbort = () => controller.abort();
		if (request.signal?.aborted) controller.abort();
		request.signal?.addEventListener('abort', forwardAbort, { once: true });
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			controller.abort();
		}, this.timeoutMs);
		const body: CompletionBody = {
			model: request.model,
			messages: request.messages.map(toWireMessage),
			[limitParameter]: request.maxOutputTokens,
			...(request.temperature === undefined ? {} : { temperature: request.temperature }),
		};
		try {
			return request.onText
				? await this.streamed(body, request.model, request.onText, controller.signal)
				: await this.whole(body, request.model, controller.signal);
		} catch (error) {
			throw timedOut ? this.timeoutError(request.model) : error;
		} finally {
			clearTimeout(timer);
			request.signal?.removeEventListener('abort', forwardAbort);
		}
	}

	/** POSTs to /chat/completions; an answer with an error status becomes a `ProviderError`. */
	private async post(body: CompletionBody, signal: AbortSignal): Promise<Response> {
		let response: Response;
		try {
			response = await fetch(`${this.baseUrl}/chat/completions`, { method: 'POST', headers: this.headers, body: JSON.stringify(body), signal });
		} catch (error) {
			if (signal.aborted) throw error;
			throw new UnreachableError((error as Error).message);
		}
		if (response.ok) return response;
		const text = await readText(response, MAX_ERROR_BODY_CHARS, false).catch(() => '');
		let detail: ProviderError['detail'] = null;
		try {
			const parsed = recordOrNull(JSON.parse(text));
			detail = recordOrNull(parsed?.error) ?? (typeof parsed?.message === 'string' ? parsed : null);
		} catch {
			detail = null;
		}
		throw new ProviderError(response.status, detail, response.headers);
	}

	private async whole(body: CompletionBody, requested: string, signal: AbortSignal): Promise<ChatCompletion> {
		const response = await this.post(body, signal);
		const text = await readText(response, MAX_ANSWER_CHARS, true);
		let parsed: Record<string, unknown> | null;
		try {
			parsed = recordOrNull(JSON.parse(text));
		} catch {
			throw new NotAnAnswerError('not JSON');
		}
		const choice = recordOrNull((parsed?.choices as unknown[] | undefined)?.[0]);
		const message = recordOrNull(choice?.message);
		if (!choice || !message) throw this.noMessageError(requested);
		return {
			text: typeof message.content === 'string' ? message.content : '',
			model: typeof parsed?.model === 'string' && parsed.model ? parsed.model : requested,
			finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : 'unknown',
			usage: usageOf(parsed?.usage as WireUsage | undefined),
		};
	}

	/**
	 * The same request with `stream: true` (server-sent events): each content delta is handed on as
	 * it arrives, and the pieces, the finish reason and the usage (asked for with `include_usage`,
	 * in the last event) make the same completion a whole answer would.
	 */
	private async streamed(body: CompletionBody, requested: string, onText: (delta: string) => void, signal: AbortSignal): Promise<ChatCompletion> {
		const response = await this.post({ ...body, stream: true, stream_options: { include_usage: true } }, signal);
		const pieces: string[] = [];
		let sawChoice = false;
		let model = '';
		let finishReason: string | null = null;
		let usage: WireUsage | undefined;
		for await (const data of serverSentData(response)) {
			if (data === '[DONE]') break;
			let event: Record<string, unknown> | null;
			try {
				event = recordOrNull(JSON.parse(data));
			} catch {
				throw new NotAnAnswerError('a streamed chunk is not JSON');
			}
			if (!event) continue;
			const failure = recordOrNull(event.error);
			if (failure) throw new StreamedError(typeof failure.message === 'string' ? failure.message : 'an error event');
			if (!model && typeof event.model === 'string') model = event.model;
			if (recordOrNull(event.usage)) usage = event.usage as WireUsage;
			const choice = recordOrNull((event.choices as unknown[] | undefined)?.[0]);
			if (!choice) continue;
			sawChoice = true;
			if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
			const delta = recordOrNull(choice.delta)?.content;
			if (typeof delta === 'string' && delta !== '') {
				pieces.push(delta);
				onText(delta);
			}
		}
		// A cut answer is no answer.
		if (signal.aborted) throw new DOMException('The model call was aborted.', 'AbortError');
		if (!sawChoice) throw this.noMessageError(requested);
		return { text: pieces.join(''), model: model || requested, finishReason: finishReason ?? 'unknown', usage: usageOf(usage) };
	}

	private noMessageError(model: string): ModelCallError {
		return new ModelCallError(
			`The model provider at ${describeUrl(this.baseUrl)} answered without a message for model "${model}". Check that the base URL points to an OpenAI-compatible API.`,
			'bad_response',
			{ model },
		);
	}

	/** An error whose message says what to change (and never carries the request or its key). */
	private toModelCallError(error: unknown, request: ChatRequest): ModelCallError {
		const model = request.model;
		const where = describeUrl(this.baseUrl);
		const host = hostOf(this.baseUrl);
		if (error instanceof ModelCallError) return error;
		if (request.signal?.aborted || (error as Error | null)?.name === 'AbortError') {
			return new ModelCallError(`The model "${model}" at ${host} did not answer in time.`, 'timeout', { model });
		}
		if (error instanceof UnreachableError) {
			return new ModelCallError(
				`Could not reach the model provider at ${where}. Check the base URL in the OpenAI credential and that the server is running.`,
				'network',
				{ model },
			);
		}
		if (error instanceof ProviderError) {
			const status = error.status;
			const reason = this.scrub(providerMessage(error));
			if (status === 401 || status === 403) {
				const detail = status === 403 && reason ? ` (${reason})` : '';
				return new ModelCallError(
					`The model provider rejected the API key (${status})${detail}. Check the OpenAI credential's API key.`,
					'auth',
					{ status, model },
				);
			}
			if (status === 404) {
				return new ModelCallError(
					`The model "${model}" does not exist at ${host} (404). Check the model name, and that the credential's base URL (${where}) is the API root, usually ending in /v1.`,
					'not_found',
					{ status, model },
				);
			}
			if (status === 429) {
				// An empty balance fails the same way for every model and every retry: treat it like a key problem.
				if (error.detail?.code === 'insufficient_quota') {
					return new ModelCallError(
						`The model provider at ${host} says the account has no quota left (429 insufficient_quota). Check the plan and billing of the account the API key belongs to.`,
						'auth',
						{ status, model },
					);
				}
				return new ModelCallError(`The model "${model}" at ${host} is rate limited (429)${reason ? `: ${reason}` : ''}.`, 'rate_limit', {
					status,
					model,
					retryAfterMs: retryAfterMsFrom(error.headers),
				});
			}
			if (status === 408) return new ModelCallError(`The model "${model}" at ${host} did not answer in time (408).`, 'timeout', { status, model });
			if (status >= 500 || status === 409) {
				return new ModelCallError(`The model provider at ${host} had a server error (${status})${reason ? `: ${reason}` : ''}.`, 'server', {
					status,
					model,
					retryAfterMs: retryAfterMsFrom(error.headers),
				});
			}
			return new ModelCallError(
				`The model provider at ${host} refused the request for model "${model}" (${status})${reason ? `: ${reason}` : ''}.`,
				'bad_request',
				{ status, model },
			);
		}
		if (error instanceof StreamedError) {
			return new ModelCallError(`The model provider at ${host} broke off the answer for model "${model}" with an error: ${this.scrub(error.message.slice(0, 300))}.`, 'server', { model });
		}
		if (brokeOff(error)) {
			return new ModelCallError(`The connection to the model provider at ${host} broke off in the middle of the answer for model "${model}".`, 'network', { model });
		}
		// JSON that does not parse, an empty body, or a shape without choices.
		return new ModelCallError(
			`The model provider at ${where} sent a response that is not an OpenAI Chat Completions answer for model "${model}". Check that the base URL points to an OpenAI-compatible API.`,
			'bad_response',
			{ model },
		);
	}

	private timeoutError(model: string): ModelCallError {
		return new ModelCallError(`The model "${model}" at ${hostOf(this.baseUrl)} did not answer within ${formatDuration(this.timeoutMs)}.`, 'timeout', { model });
	}

	/** Provider messages may echo the key (OpenAI masks it, proxies may not). */
	private scrub(text: string): string {
		return this.apiKey ? text.split(this.apiKey).join('***') : text;
	}
}

/**
 * A response body as text, at most `limit` characters: beyond it the rest is cancelled and,
 * when `strict`, the answer refused (`NotAnAnswerError`) rather than parsed.
 */
async function readText(response: Response, limit: number, strict: boolean): Promise<string> {
	if (!response.body) return '';
	const decoder = new TextDecoder();
	const parts: string[] = [];
	let length = 0;
	for await (const chunk of response.body) {
		const text = decoder.decode(chunk as Uint8Array, { stream: true });
		length += text.length;
		parts.push(text);
		if (length > limit) {
			await response.body.cancel().catch(() => undefined);
			if (strict) throw new NotAnAnswerError(`over ${limit} characters`);
			return parts.join('').slice(0, limit);
		}
	}
	parts.push(decoder.decode());
	return parts.join('');
}

function usageOf(usage: WireUsage | null | undefined): ChatCompletion['usage'] {
	const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
	const prompt = count(usage?.prompt_tokens) ?? 0;
	const completion = count(usage?.completion_tokens) ?? 0;
	return { promptTokens: prompt, completionTokens: completion, totalTokens: count(usage?.total_tokens) ?? prompt + completion };
}

function providerMessage(error: ProviderError): string {
	const message = typeof error.detail?.message === 'string' ? error.detail.message : '';
	return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** Whether a 400 says the output-limit parameter we sent is not supported by this model or server. */
function refusesParameter(error: unknown, parameter: OutputLimitParameter): boolean {
	if (!(error instanceof ProviderError) || (error.status !== 400 && error.status !== 422)) return false;
	return error.detail?.param === parameter || (/unsupported|unrecognized|unknown|not supported|extra/i.test(providerMessage(error)) && providerMessage(error).includes(parameter));
}

/** Whether a body stopped coming because the connection closed (fetch's "terminated", a socket reset): a network failure, worth a retry. */
function brokeOff(error: unknown): boolean {
	// Duck-typed: fetch's errors come from Node's own realm, where `instanceof Error` of another context fails.
	let current = error as { message?: unknown; code?: unknown; cause?: unknown } | null | undefined;
	for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
		const code = current.code;
		if (current.message === 'terminated' || (typeof code === 'string' && /^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/.test(code))) return true;
		current = current.cause as typeof current;
	}
	return false;
}

function formatDuration(ms: number): string {
	return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

/** The URL without user info, query or fragment: safe to show in an error. */
function describeUrl(url: string): string {
	try {
		const parsed = new URL(url);
		return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
	} catch {
		return url.replace(/\/\/[^@/]*@/, '//').split(/[?#]/)[0];
	}
}

function hostOf(url: string): string {
	try {
		return new URL(url).host;
	} catch {
		return describeUrl(url);
	}
}
