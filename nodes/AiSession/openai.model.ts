/**
 * The `ChatModel` for OpenAI-compatible servers (OpenAI, Ollama, vLLM, LM Studio, OpenRouter…),
 * built from n8n's `openAiApi` credential. It makes exactly one HTTP attempt per call and turns
 * every failure into a `ModelCallError`, so retries and fallbacks live once, in core.
 */
import type { APIError, OpenAI } from 'openai';

import { retryAfterMsFrom } from '../core/retry-after';
import { ModelCallError, toWireMessage, type ChatCompletion, type ChatModel, type ChatRequest } from '../core/session/model';
import { onFirstUse } from '../core/on-first-use';

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

type CompletionBody = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;

type OpenAiSdk = typeof import('openai');

/** openai, loaded on first use, not on import: a node file can be loaded without running (n8n loads them all right after an install), AI Session used or not. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadOpenAiSdk = onFirstUse(() => require('openai') as OpenAiSdk);

/**
 * OpenAI's reasoning models refuse `max_tokens`, while Ollama and other OpenAI-compatible servers
 * only know `max_tokens` (and silently ignore `max_completion_tokens`). So OpenAI gets the new name,
 * everyone else the old one, and a 400 naming the parameter switches to the other for that model.
 */
export function outputLimitParameterFor(baseUrl: string): OutputLimitParameter {
	return new URL(baseUrl).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens';
}

export class OpenAiChatModel implements ChatModel {
	private readonly client: OpenAI;
	private readonly apiKey: string;
	private readonly timeoutMs: number;
	readonly baseUrl: string;
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
		const { OpenAI } = loadOpenAiSdk();
		this.client = new OpenAI({
			apiKey: this.apiKey,
			baseURL: this.baseUrl,
			// Explicit nulls keep OPENAI_ORG_ID / OPENAI_PROJECT_ID of the n8n process out of the request.
			organization: organizationId?.trim() || null,
			project: null,
			adminAPIKey: null,
			webhookSecret: null,
			// Our own deadline (see send) fires first; this is only a backstop.
			timeout: this.timeoutMs + 5_000,
			// Core retries (honouring retry-after the same way for every ChatModel) and falls back.
			maxRetries: 0,
		});
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

	/**
	 * One HTTP request under this model's own deadline. The deadline is ours, not the SDK's: the
	 * SDK's timer stops at the response headers, ours also covers a body that never ends.
	 */
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
		const body = {
			model: request.model,
			messages: request.messages.map(toWireMessage) as CompletionBody['messages'],
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

	private async whole(body: CompletionBody, requested: string, signal: AbortSignal): Promise<ChatCompletion> {
		const response = await this.client.chat.completions.create(body, { signal });
		const choice = response?.choices?.[0];
		if (!choice?.message) throw this.noMessageError(requested);
		return {
			text: typeof choice.message.content === 'string' ? choice.message.content : '',
			model: response.model || requested,
			finishReason: choice.finish_reason ?? 'unknown',
			usage: usageOf(response.usage),
		};
	}

	/**
	 * The same request with `stream: true` (server-sent events): each content delta is handed on as
	 * it arrives, and the pieces, the finish reason and the usage (asked for with `include_usage`,
	 * in the last event) make the same completion a whole answer would.
	 */
	private async streamed(body: CompletionBody, requested: string, onText: (delta: string) => void, signal: AbortSignal): Promise<ChatCompletion> {
		const events = await this.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, { signal });
		const pieces: string[] = [];
		let sawChoice = false;
		let model = '';
		let finishReason: string | null = null;
		let usage: OpenAI.CompletionUsage | null | undefined;
		for await (const event of events) {
			model ||= event.model ?? '';
			if (event.usage) usage = event.usage;
			const choice = event.choices?.[0];
			if (!choice) continue;
			sawChoice = true;
			if (choice.finish_reason) finishReason = choice.finish_reason;
			const delta = choice.delta?.content;
			if (typeof delta === 'string' && delta !== '') {
				pieces.push(delta);
				onText(delta);
			}
		}
		// The SDK ends the iteration quietly when the request is aborted: a cut answer is no answer.
		if (signal.aborted) {
			const { APIUserAbortError } = loadOpenAiSdk();
			throw new APIUserAbortError();
		}
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

	/** A fresh error (the SDK's carry request headers) whose message says what to change. */
	private toModelCallError(error: unknown, request: ChatRequest): ModelCallError {
		const model = request.model;
		const where = describeUrl(this.baseUrl);
		const host = hostOf(this.baseUrl);
		if (error instanceof ModelCallError) return error;
		const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = loadOpenAiSdk();
		if (error instanceof APIUserAbortError || request.signal?.aborted) {
			return new ModelCallError(`The model "${model}" at ${host} did not answer in time.`, 'timeout', { model });
		}
		if (error instanceof APIConnectionTimeoutError) return this.timeoutError(model);
		if (error instanceof APIConnectionError) {
			return new ModelCallError(
				`Could not reach the model provider at ${where}. Check the base URL in the OpenAI credential and that the server is running.`,
				'network',
				{ model },
			);
		}
		if (error instanceof APIError && typeof error.status === 'number') {
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
				if (error.code === 'insufficient_quota') {
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

function usageOf(usage: OpenAI.CompletionUsage | null | undefined): ChatCompletion['usage'] {
	return {
		promptTokens: usage?.prompt_tokens ?? 0,
		completionTokens: usage?.completion_tokens ?? 0,
		totalTokens: usage?.total_tokens ?? (usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0),
	};
}

function providerMessage(error: APIError): string {
	const body = error.error as { message?: unknown } | undefined;
	const message = typeof body?.message === 'string' ? body.message : '';
	return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** Whether a 400 says the output-limit parameter we sent is not supported by this model or server. */
function refusesParameter(error: unknown, parameter: OutputLimitParameter): boolean {
	const { APIError } = loadOpenAiSdk();
	if (!(error instanceof APIError) || (error.status !== 400 && error.status !== 422)) return false;
	return error.param === parameter || (/unsupported|unrecognized|unknown|not supported|extra/i.test(providerMessage(error)) && providerMessage(error).includes(parameter));
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
