/**
 * The ChatModel for n8n Chat Model sub-nodes (nodes/core/session/langchain.model.ts). n8n hands
 * AI Session a LangChain chat model; here that model is a small one over the real `openai` SDK
 * against the OpenAI emulator, retrying with a LangChain-style `caller` and failing the way n8n's
 * sub-nodes fail (the SDK's error wrapped in n8n's NodeApiError), so everything below it is real
 * HTTP. The provider-specific answer shapes (Anthropic, Ollama, Gemini) are LangChain's own.
 */
import { createServer } from 'node:net';

import { NodeApiError, type INode } from 'n8n-workflow';
import OpenAI from 'openai';

import { LangChainChatModel, nameConnectedChatModels, outputLimitOf, type LangChainChatModelLike } from '../../nodes/core/session/langchain.model';
import { ModelCallError, type ChatMessage } from '../../nodes/core/session/model';
import { callModelWithFallback } from '../../nodes/core/session/model-call';
import { SessionEngine, type SessionEngineConfig } from '../../nodes/core/session/engine';
import { MemorySessionStore } from '../../nodes/core/stores/memory.store';
import { OpenAiEmulator } from '../emulators/openai';

const subNode: INode = { id: '1', name: 'OpenAI Chat Model', type: '@n8n/n8n-nodes-langchain.lmChatOpenAi', typeVersion: 1.3, position: [0, 0], parameters: {} };

/** A LangChain-shaped chat model as n8n's OpenAI Chat Model supplies it: `invoke`, `caller.maxRetries`, `model`. */
class SdkChatModel implements LangChainChatModelLike {
	readonly caller = { maxRetries: 6 };
	private readonly client: OpenAI;

	constructor(
		readonly model: string,
		emulator: { apiKey: string; baseUrl: string },
		readonly maxTokens?: number,
	) {
		this.client = new OpenAI({ apiKey: emulator.apiKey, baseURL: emulator.baseUrl, maxRetries: 0 });
	}

	async invoke(messages: ChatMessage[], options: { signal?: AbortSignal } = {}) {
		for (let retriesLeft = this.caller.maxRetries; ; retriesLeft--) {
			try {
				const response = await this.client.chat.completions.create({ model: this.model, messages }, { signal: options.signal });
				const usage = response.usage!;
				return {
					content: response.choices[0].message.content ?? '',
					usage_metadata: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens, total_tokens: usage.total_tokens },
					response_metadata: { model_name: response.model, finish_reason: response.choices[0].finish_reason },
				};
			} catch (error) {
				// n8n's makeN8nLlmFailedAttemptHandler: the last failed attempt becomes a NodeApiError of the sub-node.
				if (retriesLeft <= 0 || options.signal?.aborted) throw new NodeApiError(subNode, error as never, { functionality: 'configuration-node' });
			}
		}
	}
}

/** A model whose answer is a given LangChain message (the shapes other providers' classes return). */
const answering = (message: Record<string, unknown>, model = 'claude-sonnet-4-5'): LangChainChatModelLike & { received: ChatMessage[][] } => {
	const received: ChatMessage[][] = [];
	return { model, received, invoke: async (messages: ChatMessage[]) => (received.push(messages), message) };
};

const request = (model: string, messages: ChatMessage[] = [{ role: 'user', content: 'hi' }]) => ({ model, messages, maxOutputTokens: 256 });

describe('LangChainChatModel over a LangChain-shaped model and the OpenAI emulator', () => {
	const openai = new OpenAiEmulator({ snapshots: { 'gpt-4o': 'gpt-4o-2024-08-06' } });
	beforeAll(() => openai.start());
	afterAll(() => openai.stop());
	afterEach(() => openai.reset());

	const connect = (...models: LangChainChatModelLike[]) => new LangChainChatModel(nameConnectedChatModels(models));
	/** The models of the completion requests this test made. */
	let requestsBefore = 0;
	beforeEach(() => void (requestsBefore = openai.bodies().length));
	const modelsRequested = () => openai.bodies().slice(requestsBefore).map((body) => body.model);

	test('the answer, the model that answered, the finish reason and the usage the provider reported come back', async () => {
		const model = connect(new SdkChatModel('gpt-4o', openai));
		const completion = await model.complete(request('gpt-4o', [{ role: 'user', content: 'hello there' }]));
		expect(completion).toEqual({
			text: 'echo:hello there',
			model: 'gpt-4o-2024-08-06',
			finishReason: 'stop',
			usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number), totalTokens: expect.any(Number) },
		});
		expect(completion.usage.promptTokens).toBeGreaterThan(0);
		expect(completion.usage.totalTokens).toBe(completion.usage.promptTokens + completion.usage.completionTokens);
	});

	test('the system prompt and the summary go out as one leading system message; an empty system prompt is left out', async () => {
		const model = connect(new SdkChatModel('gpt-4o', openai));
		await model.complete(
			request('gpt-4o', [
				{ role: 'system', content: 'Be brief.' },
				{ role: 'system', content: 'Summary of the earlier conversation:\nAda likes tea.' },
				{ role: 'user', content: 'hi' },
			]),
		);
		expect(openai.prompts().at(-1)).toEqual([
			{ role: 'system', content: 'Be brief.\n\nSummary of the earlier conversation:\nAda likes tea.' },
			{ role: 'user', content: 'hi' },
		]);
		await model.complete(request('gpt-4o', [{ role: 'system', content: '' }, { role: 'user', content: 'hi' }]));
		expect(openai.prompts().at(-1)).toEqual([{ role: 'user', content: 'hi' }]);
	});

	test('a 500 from the first model: AI Session retries it, then the Fallback Model answers; LangChain\'s own retries are off', async () => {
		openai.fail({ status: 500, model: 'gpt-4o' }, { status: 500, model: 'gpt-4o' }, { status: 500, model: 'gpt-4o' });
		const model = connect(new SdkChatModel('gpt-4o', openai), new SdkChatModel('gpt-4o-mini', openai));
		const { completion, attempts } = await callModelWithFallback({
			model,
			models: model.names,
			messages: [{ role: 'user', content: 'anyone?' }],
			maxOutputTokens: 256,
			retries: 1,
			timeoutMs: 5_000,
			sleep: async () => undefined,
		});
		expect(completion).toMatchObject({ text: 'echo:anyone?', model: 'gpt-4o-mini' });
		expect(attempts.map((attempt) => attempt.model)).toEqual(['gpt-4o', 'gpt-4o', 'gpt-4o-mini']);
		expect(attempts[0].error).toBe('The provider of the Chat Model "gpt-4o" had a server error (500): The server had an error while processing your request. Sorry about that!.');
		// Two attempts at gpt-4o, one HTTP request each: the caller's 6 retries would have made 14.
		expect(modelsRequested()).toEqual(['gpt-4o', 'gpt-4o', 'gpt-4o-mini']);
		expect(openai.pendingFaults()).toHaveLength(1);
	});

	test('a rejected API key fails at once with what to check, without trying the fallback or showing the key', async () => {
		const wrongKey = new SdkChatModel('gpt-4o', { apiKey: 'sk-wrong-key-0123456789', baseUrl: openai.baseUrl });
		const model = connect(wrongKey, new SdkChatModel('gpt-4o-mini', openai));
		const failure = callModelWithFallback({ model, models: model.names, messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 64, retries: 2, timeoutMs: 5_000 });
		await expect(failure).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining("Check the API key in the Chat Model's credential.") });
		await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining('sk-wrong-key-0123456789') });
		expect(modelsRequested()).toEqual(['gpt-4o']);
	});

	test('a 429 carries the provider\'s retry-after, which the retry waits out', async () => {
		openai.fail({ status: 429, retryAfterSeconds: 3, model: 'gpt-4o' });
		const model = connect(new SdkChatModel('gpt-4o', openai));
		const sleeps: number[] = [];
		const { attempts } = await callModelWithFallback({
			model,
			models: model.names,
			messages: [{ role: 'user', content: 'hi' }],
			maxOutputTokens: 64,
			retries: 2,
			timeoutMs: 5_000,
			sleep: async (ms) => void sleeps.push(ms),
		});
		expect(sleeps).toEqual([3_000]);
		expect(attempts[0].error).toMatch(/rate limited \(429\)/);
	});

	test('a provider that cannot be reached is a network error that names the base URL to check', async () => {
		const closed = createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const { port } = closed.address() as { port: number };
		await new Promise((resolve) => closed.close(resolve));
		const model = connect(new SdkChatModel('gpt-4o', { apiKey: openai.apiKey, baseUrl: `http://127.0.0.1:${port}/v1` }));
		await expect(model.complete(request('gpt-4o'))).rejects.toMatchObject({ kind: 'network', message: expect.stringContaining("Check the base URL in the Chat Model's credential") });
	});

	test('through the session engine: usage lands in the reply and the session totals; every model failing answers the Error Reply and stores nothing', async () => {
		const store = new MemorySessionStore();
		const config: SessionEngineConfig = {
			models: ['gpt-4o', 'gpt-4o-mini'],
			systemPrompt: 'Be brief.',
			maxOutputTokens: 256,
			safetyMargin: 64,
			commands: {},
			limits: { messagesPerMinute: 0, tokensPerDay: 0, limitReply: '' },
			compaction: { enabled: false, thresholdTokens: 0, keepRecentTokens: 0 },
			retries: 0,
			timeoutMs: 5_000,
			lock: { waitMs: 5_000, leaseMs: 30_000 },
			errorReply: 'Sorry, try again later.',
		};
		const model = connect(new SdkChatModel('gpt-4o', openai), new SdkChatModel('gpt-4o-mini', openai));
		const engine = new SessionEngine(store, model, config);
		const first = await engine.handle({ sessionId: 'chat:s1', text: 'hello', messageKey: null, senderKey: null, command: null });
		expect(first).toMatchObject({ kind: 'reply', reply: { text: 'echo:hello', model: 'gpt-4o-2024-08-06', usage: { promptTokens: expect.any(Number) } } });
		const { state } = await store.readWindow('chat:s1', 0);
		expect(state.usage.promptTokens).toBe(first.kind === 'reply' ? first.reply.usage.promptTokens : -1);

		openai.fail({ status: 503 }, { status: 503 });
		const failed = await engine.handle({ sessionId: 'chat:s1', text: 'still there?', messageKey: null, senderKey: null, command: null });
		expect(failed).toMatchObject({ kind: 'reply', reply: { text: 'Sorry, try again later.', finishReason: 'error', error: expect.stringContaining('No model answered: gpt-4o failed (server error, 503') } });
		expect((await store.readWindow('chat:s1', 0)).state.turnCount).toBe(2);
	});
});

describe('reading what other providers\' LangChain classes return', () => {
	test('Anthropic: text blocks (thinking left out), stop_reason, usage with the cached prompt counted', async () => {
		const model = new LangChainChatModel(
			nameConnectedChatModels([
				answering({
					content: [
						{ type: 'thinking', thinking: 'The user greets me.' },
						{ type: 'text', text: 'Hello, Ada.' },
					],
					response_metadata: { model: 'claude-sonnet-4-5-20250929', stop_reason: 'max_tokens', usage: { input_tokens: 20, cache_read_input_tokens: 1000, output_tokens: 5 } },
				}),
			]),
		);
		expect(await model.complete(request('claude-sonnet-4-5'))).toEqual({
			text: 'Hello, Ada.',
			model: 'claude-sonnet-4-5-20250929',
			finishReason: 'length',
			usage: { promptTokens: 1020, completionTokens: 5, totalTokens: 1025 },
		});
	});

	test('Ollama (prompt_eval_count, done_reason) and Gemini (usage_metadata, finishReason)', async () => {
		const ollama = new LangChainChatModel(
			nameConnectedChatModels([answering({ content: 'hi', response_metadata: { model: 'llama3.1:8b', done_reason: 'stop', prompt_eval_count: 31, eval_count: 2 } }, 'llama3.1:8b')]),
		);
		expect(await ollama.complete(request('llama3.1:8b'))).toMatchObject({ finishReason: 'stop', usage: { promptTokens: 31, completionTokens: 2, totalTokens: 33 } });
		const gemini = new LangChainChatModel(
			nameConnectedChatModels([
				answering({ content: 'hi', usage_metadata: { input_tokens: 12, output_tokens: 1, total_tokens: 13 }, response_metadata: { finishReason: 'STOP' } }, 'gemini-2.5-flash'),
			]),
		);
		expect(await gemini.complete(request('gemini-2.5-flash'))).toEqual({ text: 'hi', model: 'gemini-2.5-flash', finishReason: 'stop', usage: { promptTokens: 12, completionTokens: 1, totalTokens: 13 } });
	});

	test('something that is not a chat message is an unreadable answer, worth the fallback', async () => {
		const model = new LangChainChatModel(nameConnectedChatModels([answering('plain text' as never)]));
		const failure = model.complete(request('claude-sonnet-4-5'));
		await expect(failure).rejects.toBeInstanceOf(ModelCallError);
		await expect(failure).rejects.toMatchObject({ kind: 'bad_response', worthFallback: true });
	});

	test('two sub-nodes with the same model get names that tell them apart; the answer length a sub-node sets is read', () => {
		const named = nameConnectedChatModels([answering({}, 'gpt-4o'), answering({}, 'gpt-4o'), { invoke: async () => ({}) }]);
		expect(named.map((model) => model.name)).toEqual(['gpt-4o', 'gpt-4o (2)', 'chat-model-3']);
		expect(outputLimitOf({ invoke: async () => ({}), maxTokens: 4096 })).toBe(4096);
		expect(outputLimitOf({ invoke: async () => ({}), maxTokens: -1 })).toBeUndefined();
		expect(outputLimitOf({ invoke: async () => ({}), numPredict: 512 })).toBe(512);
	});
});

test("an image goes to the connected Chat Model as LangChain's image_url part with the text, after the one system message", async () => {
	const claude = answering({ content: 'A cat.', response_metadata: { stop_reason: 'end_turn' } });
	const model = new LangChainChatModel(nameConnectedChatModels([claude]));
	const url = 'data:image/png;base64,iVBORw0KGgo=';
	await model.complete(
		request('claude-sonnet-4-5', [
			{ role: 'system', content: 'Be brief.' },
			{ role: 'user', content: 'what is this?\n[image: cat.png, 640×480]', images: [{ url, detail: 'auto' }] },
		]),
	);
	expect(claude.received[0]).toEqual([
		{ role: 'system', content: 'Be brief.' },
		{ role: 'user', content: [{ type: 'text', text: 'what is this?\n[image: cat.png, 640×480]' }, { type: 'image_url', image_url: { url, detail: 'auto' } }] },
	]);
});
