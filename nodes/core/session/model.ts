/**
 * The seam between the session engine and a language model (DESIGN.md "Layers"). The
 * OpenAI-compatible implementation lives beside the AI Session node; tests and later bridges
 * (n8n Chat Model sub-nodes) implement the same two members.
 */

export type ChatRole = 'system' | 'user' | 'assistant';

/** An image the model sees with a user message: a `data:` URL, and OpenAI's `detail` (other providers ignore it). */
export interface ChatImage {
	url: string;
	detail: 'low' | 'high' | 'auto';
}

export interface ChatMessage {
	role: ChatRole;
	content: string;
	/** Images sent with this message (only the user's newest one has them); each model sends them as image parts. */
	images?: ChatImage[];
}

/** A content part of a message as OpenAI's Chat Completions take it, and LangChain for every provider. */
export type ChatContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail: ChatImage['detail'] } };

/** A message as it goes to the provider: plain text, or text and image parts when it carries images. */
export interface WireMessage {
	role: ChatRole;
	content: string | ChatContentPart[];
}

export function toWireMessage({ role, content, images }: ChatMessage): WireMessage {
	if (!images || images.length === 0) return { role, content };
	return { role, content: [{ type: 'text', text: content }, ...images.map(({ url, detail }): ChatContentPart => ({ type: 'image_url', image_url: { url, detail } }))] };
}

export interface ChatRequest {
	model: string;
	messages: ChatMessage[];
	maxOutputTokens: number;
	temperature?: number;
	/** Aborts the call when the per-attempt timeout passes. */
	signal?: AbortSignal;
	/**
	 * Set to stream: the model asks its provider for a streamed answer and hands over each piece of
	 * text as it arrives. The completion still carries the whole answer, finish reason and usage.
	 */
	onText?: (delta: string) => void;
}

export interface ChatUsage {
	promptTokens: number;
	completionTokens: number;
	totalTokens: number;
}

export interface ChatCompletion {
	text: string;
	/** The model that actually answered, as the provider reports it. */
	model: string;
	finishReason: string;
	usage: ChatUsage;
}

export interface ChatModel {
	complete(request: ChatRequest): Promise<ChatCompletion>;
}

/**
 * Where a streamed answer goes while the model writes it (n8n's Chat Trigger in Streaming mode).
 * Only the answer to the user's message streams; summaries and answers without a model do not.
 */
export interface AnswerStream {
	/** The next piece of the answer, in order. */
	write(delta: string): void;
	/**
	 * The attempt that wrote failed part-way: what is written next is a whole new answer (a retry or
	 * the fallback model), and what was written cannot be taken back.
	 */
	restart(): void;
	/**
	 * The model is done: stops writing and says what the stream left in the chat (a draft message,
	 * Stream Preview), which is kept with the stored answer, so that sending the answer, now or
	 * again after a crash, turns that draft into the answer instead of posting a second message.
	 */
	settle?(): Promise<AnswerPreview | null>;
}

/** A draft answer a platform shows (Stream Preview): the send or Reply node edits it into the answer. */
export interface AnswerPreview {
	/** The integration that posted it (the envelope's `via`). */
	via: string;
	chatId: string;
	threadId: string | null;
	messageIds: string[];
}

export type ModelErrorKind = 'auth' | 'rate_limit' | 'server' | 'timeout' | 'network' | 'bad_request' | 'not_found' | 'bad_response';

/**
 * A failed model call, classified so the retry policy in core can decide without knowing the
 * SDK: `retryable` failures are tried again (honouring `retryAfterMs`), then the next model.
 */
export class ModelCallError extends Error {
	constructor(
		message: string,
		readonly kind: ModelErrorKind,
		readonly options: { status?: number; retryAfterMs?: number | null; model?: string } = {},
	) {
		super(message);
		this.name = 'ModelCallError';
	}

	get retryable(): boolean {
		return this.kind === 'rate_limit' || this.kind === 'server' || this.kind === 'timeout' || this.kind === 'network';
	}

	/** Whether the next model of the fallback list may succeed where this one failed. */
	get worthFallback(): boolean {
		return this.retryable || this.kind === 'not_found' || this.kind === 'bad_response';
	}
}
