/**
 * Anthropic Messages API emulator on loopback: `POST /v1/messages` and `GET /v1/models`, with
 * Anthropic's `x-api-key` and `anthropic-version` checks, its response and error shapes
 * (`{ type: "error", error: { type, message } }`, 529 overloaded), and `usage.input_tokens` /
 * `output_tokens` from a tokenizer that makes `tokenDensity` times as many tokens as tiktoken
 * (Claude's tokenizer is not OpenAI's). Scripted faults are consumed one per message request.
 */
import { randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';
import { countTokens } from './openai';

export interface AnthropicContentBlock {
	type: string;
	text?: string;
}

export interface AnthropicMessage {
	role: 'user' | 'assistant';
	content: string | AnthropicContentBlock[];
}

/** The Messages request body as the emulator received it. */
export interface MessagesBody {
	model: string;
	max_tokens: number;
	messages: AnthropicMessage[];
	system?: string | AnthropicContentBlock[];
	temperature?: number;
	stream?: boolean;
	[key: string]: unknown;
}

export type AnthropicFault = { model?: string } & ({ status: 429; retryAfterSeconds?: number } | { status: 400 | 401 | 404 | 500 | 529; message?: string });

export interface AnthropicEmulatorOptions {
	apiKey?: string;
	models?: string[];
	/** Tokens Claude's tokenizer makes per tiktoken (o200k_base) token. */
	tokenDensity?: number;
	responder?: (body: MessagesBody) => string;
}

const DEFAULT_MODELS = ['claude-sonnet-4-5-20250929', 'claude-3-5-haiku-20241022'];

export function textOf(content: string | AnthropicContentBlock[] | undefined): string {
	if (content === undefined) return '';
	if (typeof content === 'string') return content;
	return content.map((block) => (block.type === 'text' ? (block.text ?? '') : '')).join('');
}

const errorReply = (status: number, type: string, message: string, headers: Record<string, string> = {}): EmulatorReply => ({
	status,
	headers: { 'request-id': `req_${randomBytes(12).toString('hex')}`, ...headers },
	body: { type: 'error', error: { type, message } },
});

export class AnthropicEmulator {
	readonly server: EmulatorServer;
	readonly apiKey: string;
	readonly models: Set<string>;
	readonly tokenDensity: number;
	responder: (body: MessagesBody) => string;
	private faults: AnthropicFault[] = [];

	constructor({ apiKey = `sk-ant-api03-${randomBytes(32).toString('base64url')}`, models = DEFAULT_MODELS, tokenDensity = 1.3, responder }: AnthropicEmulatorOptions = {}) {
		this.apiKey = apiKey;
		this.models = new Set(models);
		this.tokenDensity = tokenDensity;
		this.responder = responder ?? ((body) => `claude:${textOf(body.messages.at(-1)?.content)}`);
		this.server = new EmulatorServer('Anthropic', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	/** The credential's Base URL (Anthropic's SDK appends /v1/messages). */
	get baseUrl(): string {
		return this.server.url;
	}

	/** Scripts the next message requests to fail, one fault per request, in order. */
	fail(...faults: AnthropicFault[]): this {
		this.faults.push(...faults);
		return this;
	}

	/** The bodies of the message requests received, in order. */
	bodies(): MessagesBody[] {
		return this.server.matching((request) => request.method === 'POST' && request.path === '/v1/messages').map((request) => request.body as MessagesBody);
	}

	/** Input tokens as this tokenizer counts them: the system prompt and every message. */
	inputTokens(body: MessagesBody): number {
		const text = [textOf(body.system), ...body.messages.map((message) => `${message.role}: ${textOf(message.content)}`)].join('\n');
		return Math.ceil((countTokens(text) + 4 * body.messages.length) * this.tokenDensity);
	}

	private handle(request: RecordedRequest): EmulatorReply {
		const key = request.headers['x-api-key'];
		if (key !== this.apiKey) return errorReply(401, 'authentication_error', 'invalid x-api-key');
		if (!request.headers['anthropic-version']) return errorReply(400, 'invalid_request_error', 'anthropic-version: header is required');
		if (request.method === 'GET' && request.path === '/v1/models') {
			return {
				status: 200,
				body: {
					data: [...this.models].map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-09-29T00:00:00Z' })),
					has_more: false,
					first_id: null,
					last_id: null,
				},
			};
		}
		if (request.method !== 'POST' || request.path !== '/v1/messages') return errorReply(404, 'not_found_error', `Not found: ${request.method} ${request.path}`);
		return this.message(request.body as MessagesBody);
	}

	private message(body: MessagesBody): EmulatorReply {
		if (typeof body.model !== 'string') return errorReply(400, 'invalid_request_error', 'model: Field required');
		if (typeof body.max_tokens !== 'number') return errorReply(400, 'invalid_request_error', 'max_tokens: Field required');
		if (!Array.isArray(body.messages) || body.messages.length === 0) return errorReply(400, 'invalid_request_error', 'messages: at least one message is required');
		if (body.messages[0].role !== 'user') return errorReply(400, 'invalid_request_error', 'messages: first message must use the "user" role');
		if (body.messages.some((message) => (message.role as string) === 'system')) {
			return errorReply(400, 'invalid_request_error', 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.');
		}
		if (body.stream) return errorReply(400, 'invalid_request_error', 'stream: streaming is not emulated');

		const index = this.faults.findIndex((fault) => fault.model === undefined || fault.model === body.model);
		if (index !== -1) {
			const [fault] = this.faults.splice(index, 1);
			if (fault.status === 429) {
				return errorReply(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.', {
					...(fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) }),
				});
			}
			const type = { 400: 'invalid_request_error', 401: 'authentication_error', 404: 'not_found_error', 500: 'api_error', 529: 'overloaded_error' }[fault.status];
			return errorReply(fault.status, type, fault.message ?? (fault.status === 529 ? 'Overloaded' : 'Internal server error'));
		}
		if (!this.models.has(body.model)) return errorReply(404, 'not_found_error', `model: ${body.model}`);

		const text = this.responder(body);
		return {
			status: 200,
			headers: { 'request-id': `req_${randomBytes(12).toString('hex')}` },
			body: {
				id: `msg_${randomBytes(12).toString('base64url')}`,
				type: 'message',
				role: 'assistant',
				model: body.model,
				content: [{ type: 'text', text }],
				stop_reason: 'end_turn',
				stop_sequence: null,
				usage: {
					input_tokens: this.inputTokens(body),
					cache_creation_input_tokens: 0,
					cache_read_input_tokens: 0,
					output_tokens: Math.ceil(countTokens(text) * this.tokenDensity),
				},
			},
		};
	}
}
