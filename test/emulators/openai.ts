/**
 * OpenAI-compatible API emulator on loopback: `POST /v1/chat/completions` (JSON or SSE when
 * `stream: true`, paced per piece of text with `streamDelayMs`) and `GET /v1/models`, with
 * OpenAI's response and error shapes, Bearer key checks, token usage counted with tiktoken, and a
 * queue of scripted faults (429 with `retry-after`, 5xx, hangs, malformed JSON, delays, a stream
 * cut mid-answer) consumed one per completion request. A
 * responder may answer with `tool_calls` of the tools the request offers (an agent's tool step);
 * a tool message that answers no earlier call gets OpenAI's 400. `POST /v1/audio/transcriptions`
 * takes multipart form data as OpenAI's does (file, model, language, response_format), checks the
 * file's name and container, and answers `{ text }`; `image_url` content parts are checked (a data
 * URL of PNG, JPEG, GIF or WebP, or an http(s) address) and recorded.
 */
import { randomBytes } from 'node:crypto';

import { get_encoding, type Tiktoken } from 'tiktoken';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface EmulatedMessage {
	role: string;
	content: unknown;
	name?: string;
	/** On an assistant message: the tools it called. */
	tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
	/** On a tool message: the call it answers. */
	tool_call_id?: string;
}

/** A scripted answer that calls tools (finish_reason `tool_calls`) instead of answering in text. */
export interface ToolCallsAnswer {
	toolCalls: Array<{ name: string; arguments: Record<string, unknown> }>;
}

/** The Chat Completions request body as the emulator received it. */
export interface ChatCompletionBody {
	model: string;
	messages: EmulatedMessage[];
	max_tokens?: number | null;
	max_completion_tokens?: number | null;
	temperature?: number | null;
	stream?: boolean | null;
	stream_options?: { include_usage?: boolean } | null;
	[key: string]: unknown;
}

/** Scripted reply text; `null` answers with `content: null` like a refusal does; `toolCalls` calls the request's tools. */
export type Responder = (request: ChatCompletionBody) => string | null | ToolCallsAnswer;

interface FaultTarget {
	/** Only a request for this model consumes the fault; others pass it by. */
	model?: string;
}

export type OpenAiFault = FaultTarget &
	(
		| { status: 429; retryAfterSeconds?: number; retryAfterMs?: number; code?: 'rate_limit_exceeded' | 'insufficient_quota' }
		| { status: 400 | 403 | 404 | 408 | 409 | 413 | 422 | 500 | 502 | 503 | 504; message?: string }
		| { hang: true }
		| { malformedJson: true }
		| { emptyBody: true }
		| { delayMs: number }
		/** A streamed answer whose connection drops after this many pieces of text (a network cut mid-answer). */
		| { cutStreamAfter: number }
	);

/** An audio file the transcription endpoint received. */
export interface ReceivedAudio {
	fileName: string;
	mimeType: string;
	bytes: Buffer;
	model: string;
	language: string | null;
}

/** Scripted transcript of an audio file. */
export type Transcriber = (audio: ReceivedAudio) => string;

/** An image part of a chat completion request, as received. */
export interface ReceivedImage {
	model: string;
	url: string;
	detail: string | null;
	/** From a data URL: its type and decoded bytes; null for an http(s) address. */
	mimeType: string | null;
	bytes: Buffer | null;
}

export interface OpenAiEmulatorOptions {
	apiKey?: string;
	/** Model IDs the server knows; any other gets OpenAI's 404 `model_not_found`. */
	models?: string[];
	/** The dated snapshot reported back for an alias, as OpenAI does (`gpt-4o` → `gpt-4o-2024-08-06`). */
	snapshots?: Record<string, string>;
	responder?: Responder;
	transcriber?: Transcriber;
}

/** OpenAI's transcription models. */
const TRANSCRIPTION_MODELS = new Set(['whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe']);
/** The file types the transcription docs list; OpenAI judges the format by the file name's extension. */
const AUDIO_EXTENSIONS = ['flac', 'mp3', 'mp4', 'mpeg', 'mpga', 'm4a', 'ogg', 'wav', 'webm'];
/** OpenAI's upload limit for transcriptions. */
const MAX_AUDIO_BYTES = 25 * 1024 * 1024;
/** Image types vision models take. */
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

export const echoTranscriber: Transcriber = (audio) => `transcript of ${audio.fileName} (${audio.bytes.length} bytes)`;

const DEFAULT_MODELS = ['gpt-4o', 'gpt-4o-mini', 'o4-mini'];

/** OpenAI's reasoning models refuse `max_tokens` with a 400 and ask for `max_completion_tokens`. */
const REQUIRES_MAX_COMPLETION_TOKENS = /^(o\d|gpt-5)/;

export const echoResponder: Responder = (request) => {
	const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
	return `echo:${contentText(lastUser?.content)}`;
};

export function makeOpenAiKey(): string {
	return `sk-proj-${randomBytes(36).toString('base64url')}`;
}

let encoder: Tiktoken | null = null;
function encoding(): Tiktoken {
	// One WASM encoder per test process; freeing it per request would cost more than counting.
	encoder ??= get_encoding('o200k_base');
	return encoder;
}

export function countTokens(text: string): number {
	return encoding().encode(text).length;
}

/** OpenAI's documented accounting: 3 tokens per message, its role and content, 3 to prime the reply. */
export function countPromptTokens(messages: EmulatedMessage[]): number {
	let total = 3;
	for (const message of messages) {
		total += 3 + countTokens(String(message.role)) + countTokens(contentText(message.content)) + imagePromptTokens(message.content);
		if (message.name) total += 1 + countTokens(message.name);
	}
	return total;
}

function truncateToTokens(text: string, limit: number): string {
	const tokens = encoding().encode(text);
	if (tokens.length <= limit) return text;
	return new TextDecoder().decode(encoding().decode(tokens.slice(0, limit)));
}

type ImagePart = { type: 'image_url'; image_url?: { url?: unknown; detail?: unknown } };

function imagePartsOf(content: unknown): ImagePart[] {
	return Array.isArray(content) ? content.filter((part): part is ImagePart => part !== null && typeof part === 'object' && part.type === 'image_url') : [];
}

function receivedImage(part: ImagePart): Omit<ReceivedImage, 'model'> {
	const url = String(part.image_url?.url ?? '');
	const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
	return { url, detail: typeof part.image_url?.detail === 'string' ? part.image_url.detail : null, mimeType: data?.[1] ?? null, bytes: data ? Buffer.from(data[2], 'base64') : null };
}

function isAcceptedImage(part: ImagePart): boolean {
	const { url, mimeType, bytes } = receivedImage(part);
	if (/^https?:\/\//.test(url)) return true;
	return mimeType !== null && IMAGE_TYPES.includes(mimeType) && bytes !== null && bytes.length > 0;
}

/** Image tokens in the usage OpenAI reports: GPT-4o's low detail, else as for a 1024 × 1024 image at high detail. */
function imagePromptTokens(content: unknown): number {
	return imagePartsOf(content).reduce((sum, part) => sum + (part.image_url?.detail === 'low' ? 85 : 765), 0);
}

function contentText(content: unknown): string {
	if (typeof content === 'string') return content;
	if (Array.isArray(content)) {
		return content.map((part) => (part && typeof part === 'object' && 'text' in part ? String((part as { text: unknown }).text) : '')).join('');
	}
	return '';
}

const apiError = (status: number, message: string, type: string, code: string | null, param: string | null = null, headers?: Record<string, string>): EmulatorReply => ({
	status,
	headers,
	body: { error: { message, type, param, code } },
});

export class OpenAiEmulator {
	readonly server: EmulatorServer;
	readonly apiKey: string;
	readonly models: Set<string>;
	responder: Responder;
	transcriber: Transcriber;
	/** Every completion answers after this many ms, like a model thinking (0: at once). */
	latencyMs = 0;
	/** A streamed answer (`stream: true`) sends each piece of text this many ms after the one before, as a model writing (0: all at once). */
	streamDelayMs = 0;
	private readonly snapshots: Record<string, string>;
	private faults: OpenAiFault[] = [];
	private readonly received: ReceivedAudio[] = [];
	/** Requests held open (hangs, delays) and how to let go of each when the emulator stops. */
	private held = new Set<() => void>();
	private arrivalWaiters = new Set<(request: RecordedRequest) => void>();

	constructor({ apiKey = makeOpenAiKey(), models = DEFAULT_MODELS, snapshots = {}, responder = echoResponder, transcriber = echoTranscriber }: OpenAiEmulatorOptions = {}) {
		this.apiKey = apiKey;
		this.transcriber = transcriber;
		this.models = new Set(models);
		this.snapshots = snapshots;
		this.responder = responder;
		this.server = new EmulatorServer('OpenAI', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	async stop(): Promise<void> {
		// Closing the server destroys the sockets; releasing the held handlers lets their promises end.
		const stopping = this.server.stop();
		for (const release of [...this.held]) release();
		this.held.clear();
		await stopping;
	}

	/** The value for the credential's base URL, as the openai SDK's `baseURL` takes it. */
	get baseUrl(): string {
		return `${this.server.url}/v1`;
	}

	/** Scripts the next completion requests to fail, one fault per request, in order. */
	fail(...faults: OpenAiFault[]): this {
		this.faults.push(...faults);
		return this;
	}

	/** Faults scripted but not yet consumed by a request. */
	pendingFaults(): OpenAiFault[] {
		return [...this.faults];
	}

	reset(): void {
		this.faults = [];
		this.responder = echoResponder;
		this.transcriber = echoTranscriber;
	}

	/** Audio files the transcription endpoint took (answered 200), in order. */
	transcriptions(): ReceivedAudio[] {
		return [...this.received];
	}

	/** Image parts of the chat completion requests received, in order. */
	images(): ReceivedImage[] {
		return this.bodies().flatMap((body) =>
			(Array.isArray(body.messages) ? body.messages : []).flatMap((message) => imagePartsOf(message.content).map((part) => ({ model: body.model, ...receivedImage(part) }))),
		);
	}

	/** Chat Completions requests received, in order. */
	requests(): RecordedRequest[] {
		return this.server.matching(isChatCompletion);
	}

	/** The bodies of the Chat Completions requests received. */
	bodies(): ChatCompletionBody[] {
		return this.requests().map((request) => request.body as ChatCompletionBody);
	}

	/** The `messages` array of every Chat Completions request, in order. */
	prompts(): EmulatedMessage[][] {
		return this.bodies().map((body) => body.messages);
	}

	/**
	 * Resolves with the first completion request (received or still to come) matching the
	 * predicate, as soon as it arrives: unlike `server.waitFor`, this also sees requests that hang.
	 */
	waitForCompletionRequest(predicate: (body: ChatCompletionBody) => boolean = () => true, timeoutMs = 15_000): Promise<RecordedRequest> {
		const seen = this.requests().find((request) => predicate(request.body as ChatCompletionBody));
		if (seen) return Promise.resolve(seen);
		return new Promise((resolve, reject) => {
			const waiter = (request: RecordedRequest) => {
				if (!predicate(request.body as ChatCompletionBody)) return;
				clearTimeout(timer);
				this.arrivalWaiters.delete(waiter);
				resolve(request);
			};
			const timer = setTimeout(() => {
				this.arrivalWaiters.delete(waiter);
				reject(new Error(`The OpenAI emulator did not receive a matching chat completion request within ${timeoutMs} ms.`));
			}, timeoutMs);
			this.arrivalWaiters.add(waiter);
		});
	}

	private async handle(request: RecordedRequest): Promise<EmulatorReply> {
		const auth = this.checkApiKey(request);
		if (auth) return auth;
		if (request.method === 'GET' && request.path === '/v1/models') {
			return { status: 200, body: { object: 'list', data: [...this.models].map((id) => this.modelObject(id)) } };
		}
		const modelPath = /^\/v1\/models\/(.+)$/.exec(request.path);
		if (request.method === 'GET' && modelPath) {
			const id = decodeURIComponent(modelPath[1]);
			return this.models.has(id) ? { status: 200, body: this.modelObject(id) } : this.modelNotFound(id);
		}
		if (isChatCompletion(request)) {
			for (const waiter of [...this.arrivalWaiters]) waiter(request);
			return this.chatCompletion(request);
		}
		if (request.method === 'POST' && request.path === '/v1/audio/transcriptions') return this.transcription(request);
		return apiError(404, `Invalid URL (${request.method} ${request.path})`, 'invalid_request_error', null);
	}

	private checkApiKey(request: RecordedRequest): EmulatorReply | null {
		const header = request.headers.authorization ?? '';
		const match = /^Bearer (.+)$/.exec(header);
		if (!match) {
			return apiError(
				401,
				"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
				'invalid_request_error',
				'invalid_api_key',
			);
		}
		if (match[1] === this.apiKey) return null;
		// OpenAI echoes a masked key; the client must still never repeat the key it sent.
		const masked = `${match[1].slice(0, 6)}${'*'.repeat(8)}${match[1].slice(-4)}`;
		return apiError(
			401,
			`Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
			'invalid_request_error',
			'invalid_api_key',
		);
	}

	private async chatCompletion(request: RecordedRequest): Promise<EmulatorReply> {
		if (request.rawBody.length > 0 && Object.keys(request.body).length === 0) {
			return apiError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
		}
		const body = request.body as ChatCompletionBody;
		if (typeof body.model !== 'string' || body.model === '') {
			return apiError(400, 'you must provide a model parameter', 'invalid_request_error', null);
		}
		if (!Array.isArray(body.messages) || body.messages.length === 0) {
			return apiError(400, "[] is too short - 'messages'", 'invalid_request_error', 'empty_array', 'messages');
		}

		if (this.latencyMs > 0) await this.hold(() => null, this.latencyMs);
		const fault = this.takeFault(body.model);
		const cutStreamAfter = fault && 'cutStreamAfter' in fault ? fault.cutStreamAfter : null;
		if (fault && cutStreamAfter === null) {
			const faulted = await this.applyFault(fault);
			if (faulted) return faulted;
		}

		if (!this.models.has(body.model)) return this.modelNotFound(body.model);
		if (REQUIRES_MAX_COMPLETION_TOKENS.test(body.model) && body.max_tokens != null) {
			return apiError(
				400,
				"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
				'invalid_request_error',
				'unsupported_parameter',
				'max_tokens',
			);
		}

		const badImage = body.messages.flatMap((message) => imagePartsOf(message.content)).find((part) => !isAcceptedImage(part));
		if (badImage) {
			return apiError(400, "You uploaded an unsupported image. Please make sure your image has of one the following formats: ['png', 'jpeg', 'gif', 'webp'].", 'invalid_request_error', 'invalid_image_format');
		}

		const unanswered = unansweredToolMessage(body.messages);
		if (unanswered !== null) {
			// OpenAI's own check: a tool result must follow the assistant message that called the tool.
			return apiError(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", 'invalid_request_error', null, `messages.[${unanswered}].role`);
		}

		const limit = body.max_completion_tokens ?? body.max_tokens ?? null;
		const answer = this.responder(body);
		const scripted = typeof answer === 'string' || answer === null ? answer : null;
		const toolCalls = answer !== null && typeof answer === 'object' ? this.toolCallsFor(body, answer) : null;
		if (toolCalls && 'status' in toolCalls) return toolCalls;
		const content = scripted === null || limit === null ? scripted : truncateToTokens(scripted, limit);
		const finishReason = toolCalls ? 'tool_calls' : scripted !== null && content !== scripted ? 'length' : 'stop';
		const promptTokens = countPromptTokens(body.messages);
		const completionTokens = toolCalls ? countTokens(JSON.stringify(toolCalls)) : content === null ? 0 : countTokens(content);
		const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
		const id = `chatcmpl-${randomBytes(15).toString('base64url')}`;
		const created = Math.floor(Date.now() / 1000);
		const model = this.snapshots[body.model] ?? body.model;
		const headers = { 'x-request-id': `req_${randomBytes(16).toString('hex')}`, 'openai-processing-ms': '42' };

		if (body.stream) {
			const events = streamEvents({ id, created, model, content, toolCalls, finishReason, usage: body.stream_options?.include_usage ? usage : null });
			return {
				status: 200,
				headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
				// The role event comes first, then one event per piece of text: a cut after n pieces keeps n + 1 events.
				body:
					cutStreamAfter !== null
						? this.paced(events.slice(0, cutStreamAfter + 1), this.streamDelayMs, true)
						: this.streamDelayMs > 0
							? this.paced(events, this.streamDelayMs)
							: events.join(''),
			};
		}
		return {
			status: 200,
			headers,
			body: {
				id,
				object: 'chat.completion',
				created,
				model,
				choices: [
					{
						index: 0,
						message: { role: 'assistant', content, refusal: null, annotations: [], ...(toolCalls ? { tool_calls: toolCalls } : {}) },
						logprobs: null,
						finish_reason: finishReason,
					},
				],
				usage: {
					...usage,
					prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
					completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
				},
				service_tier: 'default',
				system_fingerprint: 'fp_emulator',
			},
		};
	}

	/** `POST /v1/audio/transcriptions`: multipart form data with `file` and `model`, as OpenAI's API takes it. */
	private async transcription(request: RecordedRequest): Promise<EmulatorReply> {
		const contentType = String(request.headers['content-type'] ?? '');
		if (!contentType.startsWith('multipart/form-data')) {
			return apiError(400, "Invalid Content-Type header (application/json), expected multipart/form-data. (HINT: If you're using curl, you can pass -H 'Content-Type: multipart/form-data')", 'invalid_request_error', null);
		}
		if (request.rawBody.length > MAX_AUDIO_BYTES) return apiError(413, `Maximum content size limit (${MAX_AUDIO_BYTES}) exceeded (${request.rawBody.length} bytes read)`, 'server_error', null);
		const form = await new Response(new Uint8Array(request.rawBody), { headers: { 'content-type': contentType } }).formData();
		const file = form.get('file');
		const model = form.get('model');
		if (typeof model !== 'string' || model === '') return apiError(400, 'you must provide a model parameter', 'invalid_request_error', null);
		if (!file || typeof file === 'string') return apiError(400, "1 validation error for Request\nbody -> file\n  field required (type=value_error.missing)", 'invalid_request_error', null);
		const fault = this.takeFault(model);
		if (fault) {
			const faulted = await this.applyFault(fault);
			if (faulted) return faulted;
		}
		if (!TRANSCRIPTION_MODELS.has(model)) return this.modelNotFound(model);
		const extension = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? '';
		if (!AUDIO_EXTENSIONS.includes(extension)) {
			return apiError(400, `Invalid file format. Supported formats: ${JSON.stringify(AUDIO_EXTENSIONS).replace(/"/g, "'")}`, 'invalid_request_error', null);
		}
		const bytes = Buffer.from(await file.arrayBuffer());
		// An Ogg file starts with a page ("OggS") whose first packet names its codec (OpusHead, Vorbis).
		if (extension === 'ogg' && !(bytes.subarray(0, 4).toString('latin1') === 'OggS' && /OpusHead|vorbis/.test(bytes.subarray(0, 200).toString('latin1')))) {
			return apiError(400, 'Audio file might be corrupted or unsupported', 'invalid_request_error', 'invalid_value', 'file');
		}
		const language = form.get('language');
		const audio: ReceivedAudio = { fileName: file.name, mimeType: file.type, bytes, model, language: typeof language === 'string' ? language : null };
		this.received.push(audio);
		return { status: 200, headers: { 'x-request-id': `req_${randomBytes(16).toString('hex')}` }, body: { text: this.transcriber(audio) } };
	}

	/** The `tool_calls` of a scripted answer; 400 when it names a tool the request did not offer, as a model cannot call one. */
	private toolCallsFor(body: ChatCompletionBody, answer: ToolCallsAnswer): EmittedToolCall[] | EmulatorReply {
		const offered = new Set((Array.isArray(body.tools) ? (body.tools as Array<{ function?: { name?: string } }>) : []).map((tool) => tool.function?.name));
		const missing = answer.toolCalls.find((call) => !offered.has(call.name));
		if (missing) return apiError(400, `The emulator was scripted to call the tool "${missing.name}", which the request did not offer.`, 'invalid_request_error', null, 'tools');
		return answer.toolCalls.map((call) => ({
			id: `call_${randomBytes(12).toString('base64url')}`,
			type: 'function' as const,
			function: { name: call.name, arguments: JSON.stringify(call.arguments) },
		}));
	}

	private takeFault(model: string): OpenAiFault | null {
		const index = this.faults.findIndex((fault) => fault.model === undefined || fault.model === model);
		if (index === -1) return null;
		return this.faults.splice(index, 1)[0];
	}

	/** The reply a fault produces, or null when the request should then be answered normally. */
	private async applyFault(fault: OpenAiFault): Promise<EmulatorReply | null> {
		if ('hang' in fault) {
			// Never answers; the socket closes when the client aborts, the handler ends on stop().
			return this.hold(() => apiError(503, 'The emulator stopped.', 'server_error', null));
		}
		if ('delayMs' in fault) {
			await this.hold(() => null, fault.delayMs);
			return null;
		}
		if ('malformedJson' in fault) {
			return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,' };
		}
		if ('emptyBody' in fault) return { status: 200, headers: { 'content-type': 'application/json' }, body: '' };
		// A cut stream is applied where the stream is written; a whole answer is not cut.
		if ('cutStreamAfter' in fault) return null;
		switch (fault.status) {
			case 429: {
				const headers: Record<string, string> = {};
				if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
				if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
				if (fault.code === 'insufficient_quota') {
					return apiError(
						429,
						'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
						'insufficient_quota',
						'insufficient_quota',
						null,
						headers,
					);
				}
				return apiError(
					429,
					'Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.',
					'requests',
					'rate_limit_exceeded',
					null,
					headers,
				);
			}
			case 500:
				return apiError(500, fault.message ?? 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
			case 503:
				return apiError(503, fault.message ?? 'The engine is currently overloaded, please try again later.', 'server_error', null);
			default:
				return apiError(fault.status, fault.message ?? `Emulated ${fault.status} error.`, fault.status >= 500 ? 'server_error' : 'invalid_request_error', null);
		}
	}

	/** The events one at a time, each after `ms` (the first at once); stop() cuts the wait short. `thenCut` drops the connection after the last. */
	private async *paced(events: string[], ms: number, thenCut = false): AsyncGenerator<string> {
		for (const [index, event] of events.entries()) {
			if (index > 0 && ms > 0) await this.hold(() => null, ms);
			yield event;
		}
		if (thenCut) throw new Error('The emulator cut the stream, as a dropped connection does.');
	}

	/** Keeps a request open for `ms` (or until stop() when no time is given). */
	private hold<T>(onRelease: () => T, ms?: number): Promise<T> {
		return new Promise((resolve) => {
			let timer: NodeJS.Timeout | undefined;
			const release = () => {
				clearTimeout(timer);
				this.held.delete(release);
				resolve(onRelease());
			};
			this.held.add(release);
			if (ms !== undefined) timer = setTimeout(release, ms);
		});
	}

	private modelObject(id: string) {
		return { id, object: 'model', created: 1_715_367_049, owned_by: 'system' };
	}

	private modelNotFound(model: string): EmulatorReply {
		return apiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
	}
}

type EmittedToolCall = NonNullable<EmulatedMessage['tool_calls']>[number];

/** The index of the first tool message that answers no call of an earlier assistant message, or null. */
function unansweredToolMessage(messages: EmulatedMessage[]): number | null {
	const called = new Set<string>();
	for (const [index, message] of messages.entries()) {
		for (const call of message.tool_calls ?? []) called.add(call.id);
		if (message.role === 'tool' && !called.has(String(message.tool_call_id))) return index;
	}
	return null;
}

function isChatCompletion(request: RecordedRequest): boolean {
	return request.method === 'POST' && request.path === '/v1/chat/completions';
}

/** The SSE events OpenAI streams: a role chunk, content deltas, a finish chunk, optional usage, [DONE]. */
function streamEvents({
	id,
	created,
	model,
	content,
	toolCalls,
	finishReason,
	usage,
}: {
	id: string;
	created: number;
	model: string;
	content: string | null;
	toolCalls: EmittedToolCall[] | null;
	finishReason: string;
	usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}): string[] {
	const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
		id,
		object: 'chat.completion.chunk',
		created,
		model,
		service_tier: 'default',
		system_fingerprint: 'fp_emulator',
		choices,
		...(usage ? { usage: null } : {}),
		...extra,
	});
	const events: unknown[] = [chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }])];
	for (const piece of (content ?? '').match(/\S+\s*|\s+/g) ?? []) {
		events.push(chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]));
	}
	for (const [index, call] of (toolCalls ?? []).entries()) {
		events.push(chunk([{ index: 0, delta: { tool_calls: [{ index, ...call }] }, logprobs: null, finish_reason: null }]));
	}
	events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]));
	if (usage) events.push(chunk([], { usage }));
	return [...events.map((event) => `data: ${JSON.stringify(event)}\n\n`), 'data: [DONE]\n\n'];
}
