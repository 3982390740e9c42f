/**
 * Budgets for any tokenizer: a model whose tokenizer is not tiktoken still never receives a
 * prompt over its context window, because each session learns from the prompt tokens the provider
 * reports how its counts relate to ours (nodes/core/token-calibration.ts).
 */
import { ModelCallError, type ChatCompletion, type ChatModel, type ChatRequest } from '../../nodes/core/session/model';
import { SessionEngine, type SessionEngineConfig } from '../../nodes/core/session/engine';
import { MemorySessionStore } from '../../nodes/core/stores/memory.store';
import { budgetScale, calibrate, parseCalibration, UNCALIBRATED_SCALE } from '../../nodes/core/token-calibration';
import { countPromptTokens } from '../emulators/openai';

const CONTEXT_WINDOW = 1_500;
const MAX_OUTPUT_TOKENS = 200;

/**
 * A provider whose tokenizer makes `density` times as many tokens as tiktoken (OpenAI's framing
 * included). Like a real one it refuses a prompt that leaves no room for the answer (400) and
 * reports the prompt tokens it saw.
 */
class EmulatedProvider implements ChatModel {
	readonly promptTokens: number[] = [];
	readonly turnsSent: number[] = [];
	private replies = 0;

	constructor(private readonly density: number) {}

	async complete(request: ChatRequest): Promise<ChatCompletion> {
		const promptTokens = Math.ceil(countPromptTokens(request.messages) * this.density);
		this.promptTokens.push(promptTokens);
		this.turnsSent.push(request.messages.filter((message) => message.role !== 'system').length);
		if (promptTokens + request.maxOutputTokens > CONTEXT_WINDOW) {
			throw new ModelCallError(
				`prompt is too long: ${promptTokens} tokens + ${request.maxOutputTokens} > ${CONTEXT_WINDOW} maximum`,
				'bad_request',
				{ status: 400, model: request.model },
			);
		}
		this.replies += 1;
		const text = `Reply ${this.replies}: ${wordsFor(this.replies * 7, 5 + (this.replies % 40))}`;
		return { text, model: request.model, finishReason: 'stop', usage: { promptTokens, completionTokens: 20, totalTokens: promptTokens + 20 } };
	}
}

const VOCABULARY = ['tea', 'Tokyo', 'the', 'invoice', '42', 'Ångström', 'naïve', 'function()', '#include', 'emoji🙂', 'Zürich', 'and', 'x=1;', 'https://example.com/a?b=c'];

/** `count` words picked deterministically from a mixed vocabulary (prose, code, numbers, accents, emoji). */
function wordsFor(seed: number, count: number): string {
	return Array.from({ length: count }, (_, index) => VOCABULARY[(seed * 31 + index * 17) % VOCABULARY.length]).join(' ');
}

function engineFor(model: string, provider: ChatModel, store = new MemorySessionStore()) {
	const config: SessionEngineConfig = {
		models: [model],
		systemPrompt: 'You are a helpful assistant. Answer briefly.',
		contextWindow: CONTEXT_WINDOW,
		maxOutputTokens: MAX_OUTPUT_TOKENS,
		// Small, so that only the calibration keeps the prompt inside the window.
		safetyMargin: 16,
		commands: {},
		limits: { messagesPerMinute: 0, tokensPerDay: 0, limitReply: '' },
		compaction: { enabled: false, thresholdTokens: 0, keepRecentTokens: 0 },
		retries: 0,
		timeoutMs: 5_000,
		lock: { waitMs: 5_000, leaseMs: 30_000 },
	};
	return { engine: new SessionEngine(store, provider, config), store };
}

async function converse(engine: SessionEngine, turns: number): Promise<void> {
	for (let turn = 1; turn <= turns; turn++) {
		// Message lengths vary from a few words to about 200 tokens.
		const outcome = await engine.handle({ sessionId: 'webchat:1:dm:7', text: wordsFor(turn, 3 + ((turn * 13) % 90)), messageKey: `webchat:1:7:${turn}`, senderKey: null, command: null });
		expect(outcome.kind).toBe('reply');
	}
}

describe('budgets for any tokenizer', () => {
	test('a provider whose tokenizer counts 1.4× tiktoken: 200 turns never produce a request over the context window', async () => {
		const provider = new EmulatedProvider(1.4);
		const { engine, store } = engineFor('claude-sonnet-4-5', provider);
		await converse(engine, 200);

		expect(provider.promptTokens).toHaveLength(200);
		for (const tokens of provider.promptTokens) expect(tokens + MAX_OUTPUT_TOKENS).toBeLessThanOrEqual(CONTEXT_WINDOW);
		// The window bites: the conversation outgrew it long ago, and old turns were left out.
		expect(Math.min(...provider.turnsSent.slice(100))).toBeLessThan(40);
		// And it is used: after the first turns the prompt fills most of what the window leaves.
		const room = CONTEXT_WINDOW - MAX_OUTPUT_TOKENS;
		const fill = provider.promptTokens.slice(50).reduce((sum, tokens) => sum + tokens, 0) / 150 / room;
		expect(fill).toBeGreaterThan(0.8);
		// Learned: 1.4× tiktoken against counts that already carry +20 % for a tokenizer that is not OpenAI's.
		const { calibration } = (await store.readWindow('webchat:1:dm:7', 0)).state;
		expect(calibration['claude-sonnet-4-5']).toBeGreaterThan(1.15);
		expect(calibration['claude-sonnet-4-5']).toBeLessThan(1.25);
	});

	test('a tokenizer that counts fewer tokens than tiktoken (0.9×) gets more history, still within the window', async () => {
		const sparse = new EmulatedProvider(0.9);
		await converse(engineFor('llama3.1:8b', sparse).engine, 120);
		const dense = new EmulatedProvider(1.4);
		await converse(engineFor('llama3.1:8b', dense).engine, 120);

		for (const tokens of sparse.promptTokens) expect(tokens + MAX_OUTPUT_TOKENS).toBeLessThanOrEqual(CONTEXT_WINDOW);
		const averageTurns = (provider: EmulatedProvider) => provider.turnsSent.slice(60).reduce((sum, turns) => sum + turns, 0) / 60;
		expect(averageTurns(sparse)).toBeGreaterThan(averageTurns(dense) * 1.3);
	});

	test('an OpenAI model is counted exactly and never calibrated', async () => {
		const provider = new EmulatedProvider(1);
		const { engine, store } = engineFor('gpt-4o-mini', provider);
		await converse(engine, 30);
		expect((await store.readWindow('webchat:1:dm:7', 0)).state.calibration).toEqual({});
		for (const tokens of provider.promptTokens) expect(tokens + MAX_OUTPUT_TOKENS).toBeLessThanOrEqual(CONTEXT_WINDOW);
	});
});

describe('the calibration rules', () => {
	const countsExactly = (model: string) => model.startsWith('gpt-');

	test('the budget takes the largest scale of the primary and fallback models (the same prompt goes to each)', () => {
		expect(budgetScale(['gpt-4o'], {}, countsExactly)).toBe(1);
		expect(budgetScale(['gpt-4o', 'claude-3-haiku'], {}, countsExactly)).toBe(UNCALIBRATED_SCALE);
		expect(budgetScale(['claude-3-haiku', 'gemini-2.5-flash'], { 'claude-3-haiku': 1.1, 'gemini-2.5-flash': 0.9 }, countsExactly)).toBe(1.1);
	});

	test('a higher measure is taken at once, a lower one only a fifth of the way; short prompts and missing usage teach nothing', () => {
		const first = calibrate({}, 'claude', 1400, 1000, countsExactly)!;
		expect(first).toEqual({ claude: 1.4 });
		expect(calibrate(first, 'claude', 1500, 1000, countsExactly)).toEqual({ claude: 1.5 });
		expect(calibrate(first, 'claude', 900, 1000, countsExactly)).toEqual({ claude: 1.3 });
		expect(calibrate(first, 'claude', 0, 1000, countsExactly)).toBeNull();
		expect(calibrate(first, 'claude', 40, 10, countsExactly)).toBeNull();
		expect(calibrate({}, 'gpt-4o', 1400, 1000, countsExactly)).toBeNull();
	});

	test('a stored calibration that is not one reads as empty; a model named like an object member is not confused with it', () => {
		expect(parseCalibration('not json')).toEqual({});
		expect(parseCalibration('[1,2]')).toEqual({});
		expect(parseCalibration('{"claude":1.2,"bad":"x","zero":0}')).toEqual({ claude: 1.2 });
		expect(budgetScale(['constructor'], {}, countsExactly)).toBe(UNCALIBRATED_SCALE);
	});
});
