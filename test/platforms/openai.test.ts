import OpenAI from 'openai';

import { ModelCallError } from '../../nodes/core/session/model';
import { callModelWithFallback } from '../../nodes/core/session/model-call';
import { OpenAiChatModel, outputLimitParameterFor } from '../../nodes/core/session/openai.model';
import { retryAfterMsFrom } from '../../nodes/core/retry-after';
import { countPromptTokens, countTokens, makeOpenAiKey, OpenAiEmulator, type OpenAiFault } from '../emulators/openai';

describe('OpenAiChatModel against the OpenAI emulator (plain fetch over HTTP)', () => {
	const openai = new OpenAiEmulator({ snapshots: { 'gpt-4o': 'gpt-4o-2024-08-06' } });
	const chatModel = (overrides: Partial<ConstructorParameters<typeof OpenAiChatModel>[0]> = {}) =>
		new OpenAiChatModel({ apiKey: openai.apiKey, baseUrl: openai.baseUrl, timeoutMs: 5_000, ...overrides });
	const ask = (model: OpenAiChatModel, text: string, extra: { model?: string; maxOutputTokens?: number; signal?: AbortSignal } = {}) =>
		model.complete({ model: extra.model ?? 'gpt-4o-mini', messages: [{ role: 'user', content: text }], maxOutputTokens: extra.maxOutputTokens ?? 256, signal: extra.signal });
	const failureOf = (promise: Promise<unknown>) =>
		promise.then(
			() => {
				throw new Error('expected the call to fail');
			},
			(error: ModelCallError) => error,
		);

	beforeAll(() => openai.start());
	afterAll(() => openai.stop());
	afterEach(() => openai.reset());

	test('sends the model, the messages and the output limit, and returns text, model, finish reason and usage', async () => {
		const messages = [
			{ role: 'system' as const, content: 'You are terse.' },
			{ role: 'user' as const, content: 'What is the capital of France?' },
			{ role: 'assistant' as const, content: 'Paris.' },
			{ role: 'user' as const, content: 'And of Italy?' },
		];
		const completion = await chatModel().complete({ model: 'gpt-4o', messages, maxOutputTokens: 300, temperature: 0.2 });

		const request = openai.requests().at(-1)!;
		expect(request.headers.authorization).toBe(`Bearer ${openai.apiKey}`);
		expect(request.body).toEqual({ model: 'gpt-4o', messages, max_tokens: 300, temperature: 0.2 });
		expect(completion).toEqual({
			text: 'echo:And of Italy?',
			model: 'gpt-4o-2024-08-06',
			finishReason: 'stop',
			usage: {
				promptTokens: countPromptTokens(messages),
				completionTokens: countTokens('echo:And of Italy?'),
				totalTokens: countPromptTokens(messages) + countTokens('echo:And of Italy?'),
			},
		});
	});

	test('no temperature is sent unless one is set, so the provider default applies', async () => {
		await ask(chatModel(), 'hi');
		expect(openai.bodies().at(-1)).not.toHaveProperty('temperature');
	});

	test('the organization ID goes in the OpenAI-Organization header; a trailing slash on the base URL is fine', async () => {
		await ask(chatModel({ organizationId: 'org-clawgate', baseUrl: `${openai.baseUrl}/` }), 'hi');
		expect(openai.requests().at(-1)!.headers['openai-organization']).toBe('org-clawgate');

		await ask(chatModel({ organizationId: '' }), 'hi');
		expect(openai.requests().at(-1)!.headers).not.toHaveProperty('openai-organization');
	});

	test('OpenAI itself gets max_completion_tokens; other OpenAI-compatible servers get max_tokens', () => {
		expect(outputLimitParameterFor('https://api.openai.com/v1')).toBe('max_completion_tokens');
		expect(outputLimitParameterFor('http://localhost:11434/v1')).toBe('max_tokens');
		expect(outputLimitParameterFor('https://openrouter.ai/api/v1')).toBe('max_tokens');
	});

	test('a model that refuses max_tokens is asked again with max_completion_tokens, and later calls use it directly', async () => {
		const model = chatModel();
		const completion = await ask(model, 'think', { model: 'o4-mini', maxOutputTokens: 500 });
		expect(completion.text).toBe('echo:think');
		expect(openai.bodies().slice(-2).map((body) => [body.max_tokens, body.max_completion_tokens])).toEqual([
			[500, undefined],
			[undefined, 500],
		]);

		const before = openai.requests().length;
		await ask(model, 'again', { model: 'o4-mini' });
		expect(openai.requests().length).toBe(before + 1);
		expect(openai.bodies().at(-1)).toMatchObject({ max_completion_tokens: 256 });
	});

	test('a reply cut at the output limit reports finishReason "length"', async () => {
		openai.responder = () => 'one two three four five six seven eight nine ten eleven twelve';
		const completion = await ask(chatModel(), 'count', { maxOutputTokens: 3 });
		expect(completion.finishReason).toBe('length');
		expect(completion.usage.completionTokens).toBe(3);
	});

	test('a null message content (refusal or tool call) becomes empty text', async () => {
		openai.responder = () => null;
		expect((await ask(chatModel(), 'x')).text).toBe('');
	});

	test('no retry of its own: one failure is one request, so core owns the retry policy', async () => {
		openai.fail({ status: 503 });
		const before = openai.requests().length;
		await expect(ask(chatModel(), 'x')).rejects.toMatchObject({ kind: 'server', options: { status: 503 } });
		expect(openai.requests().length).toBe(before + 1);
	});

	test('a wrong API key is an auth error with advice, and the key appears nowhere in the error', async () => {
		const wrongKey = makeOpenAiKey();
		const error = await failureOf(ask(chatModel({ apiKey: wrongKey }), 'hi'));
		expect(error).toBeInstanceOf(ModelCallError);
		expect(error).toMatchObject({ kind: 'auth', retryable: false, worthFallback: false, options: { status: 401 } });
		expect(error.message).toBe("The model provider rejected the API key (401). Check the OpenAI credential's API key.");
		expect(JSON.stringify(error)).not.toContain(wrongKey);
		expect(JSON.stringify(error)).not.toContain(wrongKey.slice(-4) + '.');
		expect(String(error.stack)).not.toContain(wrongKey);
		expect(error).not.toHaveProperty('headers');
		expect(error).not.toHaveProperty('cause');
	});

	test('a model the server does not know is not_found, naming the model and the server', async () => {
		const error = await failureOf(ask(chatModel(), 'hi', { model: 'gpt-4o-typo' }));
		expect(error).toMatchObject({ kind: 'not_found', worthFallback: true, options: { status: 404, model: 'gpt-4o-typo' } });
		expect(error.message).toMatch(new RegExp(`^The model "gpt-4o-typo" does not exist at 127\\.0\\.0\\.1:\\d+ \\(404\\)\\. Check the model name`));
	});

	test.each([
		['seconds', { status: 429, retryAfterSeconds: 7 } as OpenAiFault, 7_000],
		['milliseconds (retry-after-ms)', { status: 429, retryAfterMs: 1_250 } as OpenAiFault, 1_250],
		['absent (null)', { status: 429 } as OpenAiFault, null],
	])('a 429 is a rate limit; its retry-after given in %s is read', async (_, fault, expected) => {
		openai.fail(fault);
		const error = await failureOf(ask(chatModel(), 'hi'));
		expect(error).toMatchObject({ kind: 'rate_limit', retryable: true, options: { status: 429, retryAfterMs: expected } });
		expect(error.message).toMatch(/rate limited \(429\): Rate limit reached/);
	});

	test('retry-after given as an HTTP date becomes the milliseconds until then', () => {
		const now = Date.parse('2026-11-26T07:00:00Z');
		expect(retryAfterMsFrom(new Headers({ 'retry-after': 'Thu, 26 Nov 2026 07:00:05 GMT' }), now)).toBe(5_000);
		expect(retryAfterMsFrom(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
	});

	test('an exhausted quota (429 insufficient_quota) is not retried: it says to check billing', async () => {
		openai.fail({ status: 429, code: 'insufficient_quota' });
		const error = await failureOf(ask(chatModel(), 'hi'));
		expect(error).toMatchObject({ kind: 'auth', retryable: false });
		expect(error.message).toMatch(/no quota left.*billing/);
	});

	test.each([500, 503] as const)('a %s is a retryable server error', async (status) => {
		openai.fail({ status });
		const error = await failureOf(ask(chatModel(), 'hi'));
		expect(error).toMatchObject({ kind: 'server', retryable: true, options: { status } });
		expect(error.message).toMatch(new RegExp(`server error \\(${status}\\)`));
	});

	test("a 400 is a bad request carrying the provider's reason", async () => {
		openai.fail({ status: 400, message: "This model's maximum context length is 128000 tokens." });
		const error = await failureOf(ask(chatModel(), 'hi'));
		expect(error).toMatchObject({ kind: 'bad_request', retryable: false, worthFallback: false, options: { status: 400 } });
		expect(error.message).toContain("(400): This model's maximum context length is 128000 tokens.");
	});

	test('a server that never answers is a timeout after the per-attempt limit, and the request is released', async () => {
		openai.fail({ hang: true });
		const started = Date.now();
		const error = await failureOf(ask(chatModel({ timeoutMs: 200 }), 'hi'));
		expect(error).toMatchObject({ kind: 'timeout', retryable: true });
		expect(error.message).toMatch(/did not answer within 200 ms/);
		expect(Date.now() - started).toBeLessThan(2_000);
	});

	test('aborting through the request signal ends the call as a timeout', async () => {
		openai.fail({ hang: true });
		const controller = new AbortController();
		const call = ask(chatModel(), 'cancel me', { signal: controller.signal });
		await openai.waitForCompletionRequest((body) => body.messages[0]?.content === 'cancel me');
		controller.abort();
		await expect(call).rejects.toMatchObject({ kind: 'timeout' });
	});

	test.each([
		['malformed JSON', { malformedJson: true } as OpenAiFault],
		['an empty body', { emptyBody: true } as OpenAiFault],
	])('%s is a bad_response that suggests checking the base URL', async (_, fault) => {
		openai.fail(fault);
		const error = await failureOf(ask(chatModel(), 'hi'));
		expect(error).toMatchObject({ kind: 'bad_response', worthFallback: true });
		expect(error.message).toMatch(/not an OpenAI Chat Completions answer|without a message/);
		expect(error.message).toContain(openai.baseUrl);
	});

	test('an unreachable server is a network error naming the base URL to check, never the key', async () => {
		const error = await failureOf(ask(chatModel({ baseUrl: 'http://user:secret@127.0.0.1:9/v1' }), 'hi'));
		expect(error).toMatchObject({ kind: 'network', retryable: true });
		expect(error.message).toBe(
			'Could not reach the model provider at http://127.0.0.1:9/v1. Check the base URL in the OpenAI credential and that the server is running.',
		);
		expect(JSON.stringify(error)).not.toContain(openai.apiKey);
		expect(error.message).not.toContain('secret');
	});

	test('no error message or property ever contains the API key', async () => {
		const faults: OpenAiFault[] = [{ status: 429, retryAfterSeconds: 1 }, { status: 500 }, { status: 400 }, { status: 403 }, { malformedJson: true }, { hang: true }];
		for (const fault of faults) {
			openai.fail(fault);
			const error = await failureOf(ask(chatModel({ timeoutMs: 100 }), 'hi'));
			expect(error).toBeInstanceOf(ModelCallError);
			expect(error.message).not.toContain(openai.apiKey);
			expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(openai.apiKey);
		}
	});

	test('a key pasted with surrounding whitespace still works', async () => {
		expect((await ask(chatModel({ apiKey: `  ${openai.apiKey}\n` }), 'pasted')).text).toBe('echo:pasted');
	});

	test('a missing key or a base URL that is not a web address is refused before any request', () => {
		expect(() => chatModel({ apiKey: '' })).toThrow(/no API key/);
		expect(() => chatModel({ baseUrl: 'localhost:11434' })).toThrow(/is not a web address/);
	});

	test('a delayed answer still arrives within the timeout', async () => {
		openai.fail({ delayMs: 150 });
		const started = Date.now();
		expect((await ask(chatModel(), 'slow')).text).toBe('echo:slow');
		expect(Date.now() - started).toBeGreaterThanOrEqual(140);
	});

	test('faults scripted for one model leave the others alone', async () => {
		openai.fail({ status: 503, model: 'gpt-4o' });
		expect((await ask(chatModel(), 'mini', { model: 'gpt-4o-mini' })).text).toBe('echo:mini');
		expect(openai.pendingFaults()).toHaveLength(1);
		await expect(ask(chatModel(), 'big', { model: 'gpt-4o' })).rejects.toMatchObject({ kind: 'server' });
	});

	describe('streaming (stream: true, server-sent events)', () => {
		afterEach(() => void (openai.streamDelayMs = 0));
		const streamed = (model: OpenAiChatModel, text: string, extra: { maxOutputTokens?: number } = {}) => {
			const pieces: Array<{ text: string; at: number }> = [];
			const completion = model.complete({
				model: 'gpt-4o',
				messages: [{ role: 'user', content: text }],
				maxOutputTokens: extra.maxOutputTokens ?? 256,
				onText: (delta) => pieces.push({ text: delta, at: Date.now() }),
			});
			return { completion, pieces };
		};

		test('each piece of the answer is handed on as it arrives, and the completion is the one a whole answer gives', async () => {
			openai.responder = () => 'Streaming answers arrive one piece after another, like typing.';
			const whole = await ask(chatModel(), 'tell me', { model: 'gpt-4o' });
			openai.streamDelayMs = 40;
			const { completion, pieces } = streamed(chatModel(), 'tell me');
			const answer = await completion;

			expect(openai.bodies().at(-1)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
			expect(pieces.length).toBeGreaterThan(5);
			expect(pieces.map((piece) => piece.text).join('')).toBe(answer.text);
			// Paced by the server: the pieces came over time, not all at the end.
			expect(pieces.at(-1)!.at - pieces[0].at).toBeGreaterThanOrEqual(40 * (pieces.length - 2));
			expect(answer).toEqual(whole);
		});

		test('a streamed answer cut at the output limit reports finishReason "length"', async () => {
			openai.responder = () => 'one two three four five six seven eight nine ten';
			const { completion, pieces } = streamed(chatModel(), 'count', { maxOutputTokens: 3 });
			const answer = await completion;
			expect(answer.finishReason).toBe('length');
			expect(pieces.map((piece) => piece.text).join('')).toBe(answer.text);
			expect(answer.usage.completionTokens).toBe(3);
		});

		test('a stream that stops half-way is a timeout at the per-attempt limit, not a hang', async () => {
			openai.responder = () => 'a slow and long answer that takes its time';
			openai.streamDelayMs = 2_000;
			const started = Date.now();
			const { completion, pieces } = streamed(chatModel({ timeoutMs: 400 }), 'slow');
			const error = await failureOf(completion);
			expect(error).toMatchObject({ kind: 'timeout' });
			expect(Date.now() - started).toBeLessThan(1_500);
			expect(pieces.length).toBeLessThanOrEqual(1);
		});

		test('a connection dropped mid-answer is a network error, which core retries', async () => {
			openai.responder = () => 'first second third fourth fifth';
			openai.fail({ cutStreamAfter: 2 });
			const { completion } = streamed(chatModel(), 'cut');
			const error = await failureOf(completion);
			expect(error).toMatchObject({ kind: 'network', retryable: true });
		});

		test('with core\'s retries, a cut stream restarts: the pieces after the restart are exactly the stored answer', async () => {
			openai.responder = () => 'first second third fourth fifth';
			openai.fail({ cutStreamAfter: 2 });
			const events: string[] = [];
			const { completion } = await callModelWithFallback({
				model: chatModel(),
				models: ['gpt-4o-mini'],
				messages: [{ role: 'user', content: 'cut' }],
				maxOutputTokens: 64,
				retries: 1,
				timeoutMs: 2_000,
				sleep: async () => undefined,
				stream: { write: (delta) => events.push(delta), restart: () => events.push('<restart>') },
			});
			expect(events.slice(0, 3)).toEqual(['first ', 'second ', '<restart>']);
			expect(events.slice(3).join('')).toBe(completion.text);
			expect(completion.text).toBe('first second third fourth fifth');
		});
	});

	describe('with the retry and fallback policy of core', () => {
		const call = (models: string[], sleeps: number[], timeoutMs = 2_000) =>
			callModelWithFallback({
				model: chatModel(),
				models,
				messages: [{ role: 'user', content: 'hello' }],
				maxOutputTokens: 64,
				retries: 2,
				timeoutMs,
				sleep: async (ms) => void sleeps.push(ms),
			});

		test("the provider's retry-after is honoured before the retry answers", async () => {
			openai.fail({ status: 429, retryAfterSeconds: 3 });
			const sleeps: number[] = [];
			const { completion, attempts } = await call(['gpt-4o-mini'], sleeps);
			expect(sleeps).toEqual([3_000]);
			expect(completion.text).toBe('echo:hello');
			expect(attempts).toHaveLength(2);
		});

		test('an unknown primary model falls back to the next one, which answers', async () => {
			const { completion, attempts } = await call(['gpt-9', 'gpt-4o-mini'], []);
			expect(completion.model).toBe('gpt-4o-mini');
			expect(attempts.map((attempt) => attempt.model)).toEqual(['gpt-9', 'gpt-4o-mini']);
			expect(openai.bodies().slice(-2).map((body) => body.model)).toEqual(['gpt-9', 'gpt-4o-mini']);
		});

		test('a hung request times out, is retried, and the retry answers', async () => {
			openai.fail({ hang: true });
			const { completion, attempts } = await call(['gpt-4o-mini'], [], 300);
			expect(completion.text).toBe('echo:hello');
			expect(attempts[0].error).toBe('The model "gpt-4o-mini" did not answer within 300 ms.');
		});

		test('a wrong key fails once, without trying the fallbacks', async () => {
			const before = openai.requests().length;
			const error = await failureOf(
				callModelWithFallback({
					model: chatModel({ apiKey: makeOpenAiKey() }),
					models: ['gpt-4o', 'gpt-4o-mini'],
					messages: [{ role: 'user', content: 'hello' }],
					maxOutputTokens: 64,
					retries: 2,
					timeoutMs: 2_000,
				}),
			);
			expect(error.message).toMatch(/^The model call failed: gpt-4o failed \(API key rejected, 401, 1 attempt\)\./);
			expect(openai.requests().length).toBe(before + 1);
		});
	});
});

describe('OpenAI emulator wire protocol (checked with the openai SDK)', () => {
	const openai = new OpenAiEmulator();
	const client = () => new OpenAI({ apiKey: openai.apiKey, baseURL: openai.baseUrl, maxRetries: 0 });

	beforeAll(() => openai.start());
	afterAll(() => openai.stop());

	test('GET /models lists the known models', async () => {
		const page = await client().models.list();
		expect(page.data.map((model) => model.id)).toEqual(['gpt-4o', 'gpt-4o-mini', 'o4-mini']);
		expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'system' });
	});

	test('a plain completion has the shape OpenAI returns', async () => {
		const completion = await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'shape' }] });
		expect(completion).toMatchObject({
			id: expect.stringMatching(/^chatcmpl-/),
			object: 'chat.completion',
			created: expect.any(Number),
			model: 'gpt-4o',
			choices: [{ index: 0, message: { role: 'assistant', content: 'echo:shape' }, finish_reason: 'stop', logprobs: null }],
			usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
		});
	});

	test('stream: true answers as server-sent chunks, with a usage chunk when asked, then [DONE]', async () => {
		const stream = await client().chat.completions.create({
			model: 'gpt-4o-mini',
			messages: [{ role: 'user', content: 'stream me please' }],
			stream: true,
			stream_options: { include_usage: true },
		});
		const chunks = [];
		for await (const chunk of stream) chunks.push(chunk);
		expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
		expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('echo:stream me please');
		expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
		expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: countTokens('echo:stream me please') } });

		const raw = await fetch(`${openai.baseUrl}/chat/completions`, {
			method: 'POST',
			headers: { authorization: `Bearer ${openai.apiKey}`, 'content-type': 'application/json' },
			body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }),
		});
		expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
		const text = await raw.text();
		expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
		expect(text).not.toContain('"usage"');
	});

	test("a missing or wrong key gets OpenAI's 401 error body", async () => {
		const response = await fetch(`${openai.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		expect(response.status).toBe(401);
		expect(await response.json()).toEqual({ error: { message: expect.stringMatching(/didn't provide an API key/), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
	});

	test('prompts() returns the messages of every completion request', async () => {
		await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }] });
		expect(openai.prompts().at(-1)).toEqual([
			{ role: 'system', content: 's' },
			{ role: 'user', content: 'u' },
		]);
	});

	test('a hung request is let go when the emulator stops', async () => {
		const local = new OpenAiEmulator();
		await local.start();
		local.fail({ hang: true });
		const pending = fetch(`${local.baseUrl}/chat/completions`, {
			method: 'POST',
			headers: { authorization: `Bearer ${local.apiKey}`, 'content-type': 'application/json' },
			body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
		}).then(
			(response) => `answered ${response.status}`,
			(error: Error) => `failed: ${error.message}`,
		);
		await local.waitForCompletionRequest();
		await local.stop();
		expect(await pending).toBe('failed: fetch failed');
	});
});
