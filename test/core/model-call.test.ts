import { ModelCallError, type ChatCompletion, type ChatModel, type ChatRequest } from '../../nodes/core/session/model';
import { callModelWithFallback, ModelCallFailedError, retryDelayMs, type AttemptInfo, type ModelCallOptions } from '../../nodes/core/session/model-call';

type Outcome = string | ModelCallError | Error | 'hang';

/** A ChatModel that plays a script per model name and records every request. */
class ScriptedModel implements ChatModel {
	readonly calls: ChatRequest[] = [];
	constructor(private readonly script: Record<string, Outcome[]>) {}

	async complete(request: ChatRequest): Promise<ChatCompletion> {
		this.calls.push(request);
		const outcome = this.script[request.model]?.shift() ?? `reply from ${request.model}`;
		if (outcome === 'hang') return new Promise<never>(() => undefined); // ignores the signal on purpose
		if (outcome instanceof Error) throw outcome;
		return { text: outcome, model: `${request.model}-2024`, finishReason: 'stop', usage: { promptTokens: 10, completionTokens: 2, totalTokens: 12 } };
	}

	modelsCalled(): string[] {
		return this.calls.map((call) => call.model);
	}
}

const rateLimited = (retryAfterMs: number | null = null) => new ModelCallError('The model is rate limited (429).', 'rate_limit', { status: 429, retryAfterMs });
const overloaded = () => new ModelCallError('The model provider had a server error (503).', 'server', { status: 503 });

function run(model: ChatModel, overrides: Partial<ModelCallOptions> = {}) {
	const sleeps: number[] = [];
	const result = callModelWithFallback({
		model,
		models: ['gpt-4o', 'gpt-4o-mini'],
		messages: [{ role: 'user', content: 'hi' }],
		maxOutputTokens: 256,
		retries: 2,
		timeoutMs: 5_000,
		sleep: async (ms) => void sleeps.push(ms),
		random: () => 0.5,
		...overrides,
	});
	return { result, sleeps };
}

describe('callModelWithFallback', () => {
	test('the first answer is returned with the request passed through and one recorded attempt', async () => {
		const model = new ScriptedModel({ 'gpt-4o': ['hello'] });
		const { result, sleeps } = run(model, { temperature: 0.3 });
		const { completion, attempts } = await result;
		expect(completion).toMatchObject({ text: 'hello', model: 'gpt-4o-2024' });
		expect(attempts).toEqual([{ model: 'gpt-4o' }]);
		expect(sleeps).toEqual([]);
		expect(model.calls[0]).toMatchObject({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 256, temperature: 0.3 });
		expect(model.calls[0].signal).toBeInstanceOf(AbortSignal);
	});

	test('a server error is retried with exponential backoff until the model answers', async () => {
		const model = new ScriptedModel({ 'gpt-4o': [overloaded(), overloaded(), 'third time lucky'] });
		const { result, sleeps } = run(model);
		const { completion, attempts } = await result;
		expect(completion.text).toBe('third time lucky');
		expect(sleeps).toEqual([500, 1000]);
		expect(attempts.map((attempt) => attempt.model)).toEqual(['gpt-4o', 'gpt-4o', 'gpt-4o']);
		expect(attempts[0].error).toMatch(/503/);
		expect(attempts[2]).toEqual({ model: 'gpt-4o' });
	});

	test('backoff jitter stays within ±25 % of 500 ms · 2^n and never passes the cap', () => {
		const error = overloaded();
		expect(retryDelayMs(error, 1, 30_000, () => 0)).toBe(375);
		expect(retryDelayMs(error, 1, 30_000, () => 0.999)).toBeLessThanOrEqual(625);
		expect(retryDelayMs(error, 3, 30_000, () => 0.5)).toBe(2000);
		expect(retryDelayMs(error, 20, 30_000, () => 0.5)).toBe(30_000);
	});

	test("the provider's retry-after is waited out exactly instead of the backoff", async () => {
		const model = new ScriptedModel({ 'gpt-4o': [rateLimited(2_000), rateLimited(0), 'ok'] });
		const { result, sleeps } = run(model);
		await result;
		expect(sleeps).toEqual([2_000, 0]);
	});

	test('a retry-after longer than the cap is shortened to the cap (30 s unless configured)', async () => {
		const first = run(new ScriptedModel({ 'gpt-4o': [rateLimited(3_600_000), 'ok'] }));
		await first.result;
		expect(first.sleeps).toEqual([30_000]);

		const second = run(new ScriptedModel({ 'gpt-4o': [rateLimited(3_600_000), 'ok'] }), { maxRetryDelayMs: 5_000 });
		await second.result;
		expect(second.sleeps).toEqual([5_000]);
	});

	test('when retries are used up the next model answers, and the reply records which one', async () => {
		const model = new ScriptedModel({ 'gpt-4o': [rateLimited(), rateLimited(), rateLimited()], 'gpt-4o-mini': ['from the fallback'] });
		const { result } = run(model);
		const { completion, attempts } = await result;
		expect(model.modelsCalled()).toEqual(['gpt-4o', 'gpt-4o', 'gpt-4o', 'gpt-4o-mini']);
		expect(completion).toMatchObject({ text: 'from the fallback', model: 'gpt-4o-mini-2024' });
		expect(attempts.at(-1)).toEqual({ model: 'gpt-4o-mini' });
		expect(attempts.filter((attempt) => attempt.error)).toHaveLength(3);
	});

	test('fallbacks are tried in the order given', async () => {
		const model = new ScriptedModel({ a: [overloaded()], b: [overloaded()], c: ['c answered'] });
		const { result } = run(model, { models: ['a', 'b', 'c', 'd'], retries: 0 });
		expect((await result).completion.text).toBe('c answered');
		expect(model.modelsCalled()).toEqual(['a', 'b', 'c']);
	});

	test('a model that does not exist is not retried: the next model is asked at once', async () => {
		const model = new ScriptedModel({ 'gpt-5-typo': [new ModelCallError('The model "gpt-5-typo" does not exist (404).', 'not_found', { status: 404 })] });
		const { result, sleeps } = run(model, { models: ['gpt-5-typo', 'gpt-4o-mini'] });
		expect((await result).completion.model).toBe('gpt-4o-mini-2024');
		expect(model.modelsCalled()).toEqual(['gpt-5-typo', 'gpt-4o-mini']);
		expect(sleeps).toEqual([]);
	});

	test('a rejected API key stops at once: no retry, no fallback', async () => {
		const auth = new ModelCallError("The model provider rejected the API key (401). Check the OpenAI credential's API key.", 'auth', { status: 401 });
		const model = new ScriptedModel({ 'gpt-4o': [auth] });
		const { result, sleeps } = run(model);
		const error = (await result.catch((caught) => caught)) as ModelCallFailedError;
		expect(error).toBeInstanceOf(ModelCallFailedError);
		expect(error).toMatchObject({ kind: 'auth', retryable: false });
		expect(error.message).toBe(
			"The model call failed: gpt-4o failed (API key rejected, 401, 1 attempt). The model provider rejected the API key (401). Check the OpenAI credential's API key.",
		);
		expect(model.modelsCalled()).toEqual(['gpt-4o']);
		expect(sleeps).toEqual([]);
	});

	test('a refused request (400) stops at once with the provider reason', async () => {
		const refused = new ModelCallError('The model provider refused the request (400): context too long.', 'bad_request', { status: 400 });
		const model = new ScriptedModel({ 'gpt-4o': [refused] });
		const { result } = run(model);
		await expect(result).rejects.toThrow(/gpt-4o failed \(request refused, 400, 1 attempt\).*context too long/);
		expect(model.modelsCalled()).toEqual(['gpt-4o']);
	});

	test('a hung call times out, is aborted, and the retry answers', async () => {
		const model = new ScriptedModel({ 'gpt-4o': ['hang', 'after the hang'] });
		const { result, sleeps } = run(model, { timeoutMs: 50 });
		const started = Date.now();
		const { completion, attempts } = await result;
		expect(Date.now() - started).toBeGreaterThanOrEqual(45);
		expect(completion.text).toBe('after the hang');
		expect(attempts[0]).toEqual({ model: 'gpt-4o', error: 'The model "gpt-4o" did not answer within 50 ms.' });
		expect(model.calls[0].signal?.aborted).toBe(true);
		expect(model.calls[1].signal?.aborted).toBe(false);
		expect(sleeps).toHaveLength(1);
	});

	test('when every model fails, the error tells the story across models in plain words', async () => {
		const model = new ScriptedModel({
			'gpt-4o': [rateLimited(), rateLimited(), rateLimited()],
			'gpt-4o-mini': [overloaded(), overloaded(), overloaded()],
		});
		const { result } = run(model);
		const error = (await result.catch((caught) => caught)) as ModelCallFailedError;
		expect(error.message).toBe(
			'No model answered: gpt-4o failed (rate limited, 429, 3 attempts), then gpt-4o-mini failed (server error, 503, 3 attempts). The model provider had a server error (503).',
		);
		expect(error).toMatchObject({ kind: 'server', name: 'ModelCallFailedError' });
		expect(error.attempts).toHaveLength(6);
	});

	test('retries: 0 means one attempt per model', async () => {
		const model = new ScriptedModel({ 'gpt-4o': [overloaded()], 'gpt-4o-mini': [overloaded()] });
		const { result, sleeps } = run(model, { retries: 0 });
		await expect(result).rejects.toThrow(/gpt-4o failed \(server error, 503, 1 attempt\), then gpt-4o-mini failed/);
		expect(sleeps).toEqual([]);
	});

	test('an unexpected error from a model is reported as an unreadable answer and the next model is tried', async () => {
		const model = new ScriptedModel({ 'gpt-4o': [new TypeError("Cannot read properties of undefined (reading 'choices')")] });
		const { result } = run(model);
		const { attempts } = await result;
		expect(attempts[0].error).toMatch(/^The model "gpt-4o" failed unexpectedly: Cannot read properties/);
		expect(model.modelsCalled()).toEqual(['gpt-4o', 'gpt-4o-mini']);
	});

	test('blank and repeated model names are skipped; no model at all is a clear error', async () => {
		const model = new ScriptedModel({ 'gpt-4o': [overloaded()] });
		const { result } = run(model, { models: ['gpt-4o', ' ', 'gpt-4o ', 'gpt-4o-mini'], retries: 0 });
		await result;
		expect(model.modelsCalled()).toEqual(['gpt-4o', 'gpt-4o-mini']);
		await expect(run(model, { models: ['', '  '] }).result).rejects.toThrow('No model name is set. Enter the model to use, e.g. gpt-4o-mini.');
	});

	test('onAttempt reports each attempt and the wait before a retry', async () => {
		const seen: AttemptInfo[] = [];
		const model = new ScriptedModel({ 'gpt-4o': [rateLimited(1_500), 'ok'] });
		await run(model, { onAttempt: (info) => seen.push(info) }).result;
		expect(seen).toEqual([
			{ model: 'gpt-4o', attempt: 1, error: expect.any(ModelCallError), retryInMs: 1_500 },
			{ model: 'gpt-4o', attempt: 2 },
		]);
	});

	describe('streaming', () => {
		/** A model that writes its answer in pieces, or writes some and then fails. */
		const writing = (script: Array<{ pieces: string[]; then?: ModelCallError | 'hang' }>): ChatModel & { calls: ChatRequest[] } => {
			const calls: ChatRequest[] = [];
			return {
				calls,
				async complete(request) {
					calls.push(request);
					const step = script.shift()!;
					for (const piece of step.pieces) request.onText?.(piece);
					if (step.then === 'hang') {
						await new Promise((resolve) => setTimeout(resolve, 200));
						request.onText?.('late piece');
						return new Promise<never>(() => undefined);
					}
					if (step.then) throw step.then;
					return { text: step.pieces.join(''), model: request.model, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } };
				},
			};
		};
		const recorder = () => {
			const events: string[] = [];
			return { events, stream: { write: (delta: string) => events.push(delta), restart: () => events.push('<restart>') } };
		};

		test('pieces go to the stream as the model writes them', async () => {
			const { events, stream } = recorder();
			const { completion } = await run(writing([{ pieces: ['Hel', 'lo'] }]), { stream }).result;
			expect(events).toEqual(['Hel', 'lo']);
			expect(completion.text).toBe('Hello');
		});

		test('an attempt that wrote and failed restarts the stream; the retry writes the whole answer again', async () => {
			const { events, stream } = recorder();
			const { completion } = await run(writing([{ pieces: ['Par'], then: overloaded() }, { pieces: ['Paris.'] }]), { stream }).result;
			expect(events).toEqual(['Par', '<restart>', 'Paris.']);
			expect(completion.text).toBe('Paris.');
		});

		test('an attempt that failed before writing does not restart the stream', async () => {
			const { events, stream } = recorder();
			await run(writing([{ pieces: [], then: overloaded() }, { pieces: ['ok'] }]), { stream }).result;
			expect(events).toEqual(['ok']);
		});

		test('a timed-out attempt writes nothing more, even when its model keeps going', async () => {
			const { events, stream } = recorder();
			const model = writing([{ pieces: ['slow'], then: 'hang' }, { pieces: ['fast'] }]);
			const { completion } = await run(model, { stream, timeoutMs: 50 }).result;
			await new Promise((resolve) => setTimeout(resolve, 250));
			expect(events).toEqual(['slow', '<restart>', 'fast']);
			expect(completion.text).toBe('fast');
		});
	});
});
