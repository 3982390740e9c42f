/**
 * The `ChatModel` for n8n Chat Model sub-nodes (Anthropic, Gemini, Ollama, Azure OpenAI, Bedrock,
 * Mistral, Groq, OpenAI…). n8n hands AI Session a LangChain chat model; it is read by duck typing,
 * so the package depends on no `@langchain/*` version and works with whichever n8n ships. Like the
 * OpenAI model it makes one attempt per call and turns every failure into a `ModelCallError`, so
 * retries, fallbacks, the error reply and compaction stay the engine's, the same on both paths.
 */
import { retryAfterMsFrom } from '../retry-after';
import { ModelCallError, toWireMessage, type ChatCompletion, type ChatMessage, type ChatModel, type ChatRequest, type ChatUsage, type ModelErrorKind, type WireMessage } from './model';

/** The members of a LangChain chat model (`BaseChatModel`) this bridge uses. */
export interface LangChainChatModelLike {
	/** Takes plain `{ role, content }` messages (LangChain coerces them, image parts included) and resolves with an AI message. */
	invoke(messages: WireMessage[], options?: { signal?: AbortSignal }): Promise<unknown>;
	/** The same call streamed: AI message chunks as the provider sends them (a model that cannot stream yields one). */
	stream?(messages: WireMessage[], options?: { signal?: AbortSignal }): Promise<AsyncIterable<unknown>>;
	/** LangChain's retry helper (`AsyncCaller`). */
	caller?: { maxRetries?: number };
	/** The model ID, named `model`, `modelName` or `modelId` depending on the provider's class. */
	model?: unknown;
	modelName?: unknown;
	modelId?: unknown;
	/** Azure OpenAI's deployment, when its model ID is not set. */
	azureOpenAIApiDeploymentName?: unknown;
	/** The longest answer the sub-node asks for: `maxTokens` (OpenAI, Anthropic, Mistral, Groq), `maxOutputTokens` (Gemini), `numPredict` (Ollama). */
	maxTokens?: unknown;
	maxOutputTokens?: unknown;
	numPredict?: unknown;
}

/** One connected Chat Model: the name it goes by in AI Session's model list, errors and `reply.attempts`. */
export interface ConnectedChatModel {
	name: string;
	model: LangChainChatModelLike;
}

/** Whether a value n8n handed over on a language-model input can be called as a chat model. */
export function isLangChainChatModel(value: unknown): value is LangChainChatModelLike {
	return typeof value === 'object' && value !== null && typeof (value as { invoke?: unknown }).invoke === 'function';
}

/**
 * The connected models with names that tell them apart: the model ID each reports, with " (2)"
 * added when two report the same one (a fallback to the same model at another account).
 */
export function nameConnectedChatModels(models: LangChainChatModelLike[]): ConnectedChatModel[] {
	const used = new Set<string>();
	return models.map((model, index) => {
		const base = modelIdOf(model) ?? `chat-model-${index + 1}`;
		let name = base;
		for (let copy = 2; used.has(name); copy++) name = `${base} (${copy})`;
		used.add(name);
		return { name, model };
	});
}

/**
 * The answer length the sub-node itself asks the provider for, when it sets one: AI Session cannot
 * change it per call, so the budget reserves at least this much for the answer.
 */
export function outputLimitOf(model: LangChainChatModelLike): number | undefined {
	for (const candidate of [model.maxTokens, model.maxOutputTokens, model.numPredict]) {
		if (typeof candidate === 'number' && Number.isInteger(candidate) && candidate > 0) return candidate;
	}
	return undefined;
}

function modelIdOf(model: LangChainChatModelLike): string | undefined {
	for (const candidate of [model.model, model.modelName, model.modelId, model.azureOpenAIApiDeploymentName]) {
		if (typeof candidate === 'string' && candidate.trim() !== '') return candidate.trim();
	}
	return undefined;
}

export class LangChainChatModel implements ChatModel {
	private readonly byName = new Map<string, LangChainChatModelLike>();

	constructor(connected: ConnectedChatModel[]) {
		for (const { name, model } of connected) {
			// Retries live once, in core (honouring retry-after, then the fallback model): LangChain's own
			// (6 by default, 2 in n8n's OpenAI node) would multiply them and hold the fallback back for minutes.
			if (model.caller && typeof model.caller.maxRetries === 'number') model.caller.maxRetries = 0;
			this.byName.set(name, model);
		}
	}

	/** The connected models' names, the first one first: AI Session's model list. */
	get names(): string[] {
		return [...this.byName.keys()];
	}

	/** `maxOutputTokens` and `temperature` are the sub-node's own settings on this path; the request's are not sent. */
	async complete(request: ChatRequest): Promise<ChatCompletion> {
		const model = this.byName.get(request.model);
		if (!model) throw new ModelCallError(`No Chat Model named "${request.model}" is connected to AI Session.`, 'bad_request', { model: request.model });
		const messages = oneLeadingSystemMessage(request.messages);
		const options = request.signal ? { signal: request.signal } : {};
		let answer: unknown;
		try {
			answer = request.onText && typeof model.stream === 'function' ? await streamedAnswer(await model.stream(messages, options), request.onText) : await model.invoke(messages, options);
		} catch (error) {
			throw toModelCallError(error, request);
		}
		const completion = completionOf(answer, request.model);
		// A model without stream() answers whole: the stream gets the answer as one piece.
		if (request.onText && typeof model.stream !== 'function' && completion.text !== '') request.onText(completion.text);
		return completion;
	}
}

/**
 * The chunks of a streamed answer, each piece of text handed on as it arrives, folded into the one
 * message `invoke` would have answered: the text in order, the token counts added up (LangChain's
 * own rule: Anthropic reports the prompt in the first chunk and the answer in the last), the
 * metadata of later chunks over earlier ones (the finish reason and model come last).
 */
async function streamedAnswer(chunks: AsyncIterable<unknown>, onText: (delta: string) => void): Promise<Loose | undefined> {
	const pieces: string[] = [];
	const metadata: Loose = {};
	let usage: { input_tokens: number; output_tokens: number; total_tokens: number } | undefined;
	let sawMessage = false;
	for await (const chunk of chunks) {
		const message = asObject(chunk);
		if (!message || !('content' in message)) continue;
		sawMessage = true;
		const piece = textOf(message.content);
		if (piece !== '') {
			pieces.push(piece);
			onText(piece);
		}
		for (const [key, value] of Object.entries(asObject(message.response_metadata) ?? {})) if (value !== undefined && value !== null && value !== '') metadata[key] = value;
		const counts = asObject(message.usage_metadata);
		if (counts) {
			usage ??= { input_tokens: 0, output_tokens: 0, total_tokens: 0 };
			usage.input_tokens += asCount(counts.input_tokens) ?? 0;
			usage.output_tokens += asCount(counts.output_tokens) ?? 0;
			usage.total_tokens += asCount(counts.total_tokens) ?? 0;
		}
	}
	if (!sawMessage) return undefined;
	return { content: pieces.join(''), response_metadata: metadata, ...(usage ? { usage_metadata: usage } : {}) };
}

/**
 * Anthropic and Gemini take one system prompt, before the conversation; AI Session sends the system
 * prompt and the summary as two. They become one, and an empty one (no system prompt) is left out.
 */
function oneLeadingSystemMessage(messages: ChatMessage[]): WireMessage[] {
	let lead = 0;
	while (lead < messages.length && messages[lead].role === 'system') lead++;
	const system = messages
		.slice(0, lead)
		.map((message) => message.content.trim())
		.filter(Boolean)
		.join('\n\n');
	return [...(system ? [{ role: 'system' as const, content: system }] : []), ...messages.slice(lead).map(toWireMessage)];
}

type Loose = Record<string, unknown>;

const asObject = (value: unknown): Loose | undefined => (typeof value === 'object' && value !== null ? (value as Loose) : undefined);
const asCount = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

function completionOf(answer: unknown, requested: string): ChatCompletion {
	const message = asObject(answer);
	if (!message || !('content' in message)) {
		throw new ModelCallError(`The Chat Model "${requested}" answered with something that is not a chat message. Connect a Chat Model sub-node, not a plain LLM.`, 'bad_response', {
			model: requested,
		});
	}
	const metadata = asObject(message.response_metadata) ?? {};
	const reported = [metadata.model_name, metadata.model, metadata.modelName, metadata.modelId].find((value) => typeof value === 'string' && value !== '');
	return {
		text: textOf(message.content),
		model: (reported as string | undefined) ?? requested,
		finishReason: finishReasonOf(metadata),
		usage: usageOf(message, metadata),
	};
}

/** A string, or content blocks of which the text ones count (thinking and tool blocks are not the answer). */
function textOf(content: unknown): string {
	if (typeof content === 'string') return content;
	if (!Array.isArray(content)) return '';
	return content
		.map((block) => {
			if (typeof block === 'string') return block;
			const part = asObject(block);
			return part && (part.type === 'text' || part.type === undefined) && typeof part.text === 'string' ? part.text : '';
		})
		.join('');
}

/** In OpenAI's words, whatever the provider said: "stop", "length", or the provider's own word lower-cased. */
function finishReasonOf(metadata: Loose): string {
	const raw = [metadata.finish_reason, metadata.stop_reason, metadata.done_reason, metadata.finishReason, metadata.stopReason].find(
		(value) => typeof value === 'string' && value !== '',
	) as string | undefined;
	if (!raw) return 'unknown';
	const reason = raw.toLowerCase();
	if (['end_turn', 'stop_sequence', 'stop', 'complete', 'eos'].includes(reason)) return 'stop';
	if (['max_tokens', 'length', 'max_output_tokens'].includes(reason)) return 'length';
	return reason;
}

/**
 * Token usage as the provider reported it: LangChain's standard `usage_metadata` first, else the
 * provider's own fields in `response_metadata` (OpenAI `tokenUsage`, Anthropic and Bedrock `usage`,
 * Ollama `prompt_eval_count`/`eval_count`). Zeros when the provider reported none.
 */
function usageOf(message: Loose, metadata: Loose): ChatUsage {
	const standard = asObject(message.usage_metadata);
	const usage = asObject(metadata.usage) ?? {};
	const tokenUsage = asObject(metadata.tokenUsage) ?? {};
	const first = (...values: unknown[]) => values.map(asCount).find((value) => value !== undefined);
	// Anthropic's input_tokens leave out the cached part of the prompt (LangChain's usage_metadata adds it back).
	const anthropicInput = asCount(usage.input_tokens) === undefined ? undefined : (usage.input_tokens as number) + (asCount(usage.cache_creation_input_tokens) ?? 0) + (asCount(usage.cache_read_input_tokens) ?? 0);
	const promptTokens =
		first(standard?.input_tokens, tokenUsage.promptTokens, anthropicInput, usage.prompt_tokens, usage.inputTokens, metadata.prompt_eval_count) ?? 0;
	const completionTokens =
		first(standard?.output_tokens, tokenUsage.completionTokens, usage.output_tokens, usage.completion_tokens, usage.outputTokens, metadata.eval_count) ?? 0;
	const totalTokens = first(standard?.total_tokens, tokenUsage.totalTokens, usage.total_tokens, usage.totalTokens) ?? promptTokens + completionTokens;
	return { promptTokens, completionTokens, totalTokens };
}

/** The error itself and what it wraps (n8n's NodeApiError → LangChain's → the SDK's), nearest first. */
function errorChain(error: unknown): Loose[] {
	const chain: Loose[] = [];
	let current = asObject(error);
	while (current && chain.length < 5 && !chain.includes(current)) {
		chain.push(current);
		current = asObject(current.cause);
	}
	return chain;
}

function statusOf(chain: Loose[]): number | undefined {
	for (const link of chain) {
		for (const candidate of [link.status, link.statusCode, link.httpCode, asObject(link.response)?.status]) {
			const status = typeof candidate === 'string' ? Number.parseInt(candidate, 10) : candidate;
			if (typeof status === 'number' && status >= 100 && status < 600) return status;
		}
	}
	return undefined;
}

/**
 * What the provider said, most specific first: the SDK's error body (`{ error: { message } }`), then
 * n8n's description, then the message itself. Cut to 300 characters.
 */
function reasonOf(chain: Loose[]): string {
	const candidates: unknown[] = [];
	for (const link of [...chain].reverse()) {
		const body = asObject(link.error);
		candidates.push(asObject(body?.error)?.message, body?.message);
	}
	for (const link of chain) candidates.push(link.description);
	for (const link of [...chain].reverse()) candidates.push(link.message);
	const reason = (candidates.find((value) => typeof value === 'string' && value.trim() !== '') as string | undefined)?.trim() ?? '';
	return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
}

const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT)$/;

function toModelCallError(error: unknown, request: ChatRequest): ModelCallError {
	const model = request.model;
	if (error instanceof ModelCallError) return error;
	if (request.signal?.aborted) return new ModelCallError(`The Chat Model "${model}" did not answer in time.`, 'timeout', { model });
	const chain = errorChain(error);
	const status = statusOf(chain);
	const reason = reasonOf(chain);
	const detail = reason ? `: ${reason}` : '';
	const fail = (kind: ModelErrorKind, message: string, retryAfterMs?: number | null) => new ModelCallError(message, kind, { model, status, retryAfterMs });
	if (status === undefined) {
		// SDK errors keep the name "Error"; their class says what happened (APIConnectionError, APIConnectionTimeoutError).
		const names = chain.map((link) => `${String(link.name ?? '')} ${String((link.constructor as { name?: string } | undefined)?.name ?? '')} ${String(link.code ?? '')}`).join(' ');
		if (/ConnectionTimeout|TimeoutError|ETIMEDOUT/i.test(names)) return fail('timeout', `The Chat Model "${model}" did not answer in time${detail}.`);
		if (/APIConnectionError/.test(names) || chain.some((link) => typeof link.code === 'string' && NETWORK_CODES.test(link.code))) {
			return fail('network', `Could not reach the provider of the Chat Model "${model}"${detail}. Check the base URL in the Chat Model's credential and that the server is running.`);
		}
		return fail('bad_response', `The Chat Model "${model}" failed${detail}.`);
	}
	const retryAfterMs = retryAfterMsFrom(chain.map((link) => link.headers as Headers | Loose | undefined).find(Boolean));
	if (status === 401 || status === 403) return fail('auth', `The Chat Model "${model}" was refused: the provider rejected the credential (${status})${detail}. Check the API key in the Chat Model's credential.`);
	if (status === 404) return fail('not_found', `The Chat Model "${model}" was not found at its provider (404)${detail}. Check the model in the Chat Model sub-node.`);
	if (status === 429) return fail('rate_limit', `The Chat Model "${model}" is rate limited (429)${detail}.`, retryAfterMs);
	if (status === 408) return fail('timeout', `The Chat Model "${model}" did not answer in time (408).`);
	// 529 is Anthropic's "overloaded".
	if (status >= 500 || status === 409) return fail('server', `The provider of the Chat Model "${model}" had a server error (${status})${detail}.`, retryAfterMs);
	return fail('bad_request', `The provider of the Chat Model "${model}" refused the request (${status})${detail}.`);
}
