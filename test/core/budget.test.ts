import { contextBudget, fitTurnsToBudget, truncateMiddle, truncateMiddleToCharacters } from '../../nodes/core/budget';
import { createTokenCounter, type TokenCounter } from '../../nodes/core/tokens';

const gpt4o = createTokenCounter('gpt-4o-mini');
const llama = createTokenCounter('llama3.1:8b');
/** Any counter works: one token per UTF-16 unit. */
const perUnit: Pick<TokenCounter, 'countText'> = { countText: (text) => text.length };

const MARKER = /\n\n\[… (\d+) tokens cut …\]\n\n/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const PIECES = [
	'hello', ' world', 'the', ' quick', ' fox', '. ', ', ', '\n', '\n\n', '   ', '\t',
	'東京', 'の', '天気', 'お誕生日', '안녕', 'مرحبا', 'Zürich', 'é', 'e\u0301',
	'👍', '👍🏽', '👨‍👩‍👧‍👦', '🇩🇪', '❤️', '🤖', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '😀😃😄',
	'<|endoftext|>', '12345', '3.14159', '{"a":[1,2]}', 'https://example.com/a?b=c',
];

function randomText(next: () => number, pieces: number): string {
	let text = '';
	for (let i = 0; i < pieces; i++) text += PIECES[Math.floor(next() * PIECES.length)];
	return text;
}

function expectHeadMarkerTail(original: string, result: string): { head: string; tail: string; cut: number } {
	const match = MARKER.exec(result);
	expect(match).not.toBeNull();
	const head = result.slice(0, match!.index);
	const tail = result.slice(match!.index + match![0].length);
	expect(original.startsWith(head)).toBe(true);
	expect(original.endsWith(tail)).toBe(true);
	expect(head.length + tail.length).toBeLessThan(original.length);
	return { head, tail, cut: Number(match![1]) };
}

describe('context budget', () => {
	test('is the context window minus the answer, the system prompt and the safety margin', () => {
		expect(contextBudget({ model: 'gpt-4o', contextWindow: 128_000, maxOutputTokens: 4_096, systemTokens: 350, safetyMargin: 500 })).toBe(123_054);
		expect(contextBudget({ contextWindow: 8_192, maxOutputTokens: 0, systemTokens: 0, safetyMargin: 0 })).toBe(8_192);
	});

	test('with no room left, the error names the numbers, the model and what to change', () => {
		const input = { model: 'gpt-4', contextWindow: 8_192, maxOutputTokens: 4_000, systemTokens: 4_192, safetyMargin: 0 };
		expect(() => contextBudget(input)).toThrow(
			"The system prompt (4192 tokens) and the answer budget (4000) leave no room for the conversation in gpt-4's context window of 8192 tokens. Shorten the system prompt or lower Max Output Tokens.",
		);
		expect(() => contextBudget({ ...input, systemTokens: 3_000, safetyMargin: 1_500 })).toThrow(
			'The system prompt (3000 tokens), the answer budget (4000) and the safety margin (1500) leave no room',
		);
		expect(() => contextBudget({ ...input, model: undefined, systemTokens: 5_000 })).toThrow("in the model's context window of 8192 tokens");
	});

	test('a missing or negative number is refused instead of giving a meaningless budget', () => {
		const input = { contextWindow: 8_192, maxOutputTokens: 1_000, systemTokens: 100, safetyMargin: 0 };
		expect(() => contextBudget({ ...input, maxOutputTokens: Number.NaN })).toThrow('Max Output Tokens must be a number of tokens, 0 or more (got NaN)');
		expect(() => contextBudget({ ...input, safetyMargin: -5 })).toThrow('Safety Margin must be');
	});
});

describe('cutting a message that is larger than the budget', () => {
	test('a message that fits comes back unchanged', () => {
		const text = 'Short enough 👍';
		expect(truncateMiddle(text, gpt4o.countText(text), gpt4o)).toBe(text);
	});

	test('keeps the head and the tail with a marker between, within the token limit', () => {
		const text = `BEGINNING ${'middle part of a long pasted document. '.repeat(2_000)} THE END`;
		const result = truncateMiddle(text, 300, gpt4o);
		const { head, tail, cut } = expectHeadMarkerTail(text, result);
		expect(gpt4o.countText(result)).toBeLessThanOrEqual(300);
		// Close to the limit, not wastefully short.
		expect(gpt4o.countText(result)).toBeGreaterThanOrEqual(290);
		expect(head.startsWith('BEGINNING')).toBe(true);
		expect(tail.endsWith('THE END')).toBe(true);
		// Head and tail get about half of the room each.
		expect(Math.abs(gpt4o.countText(head) - gpt4o.countText(tail))).toBeLessThan(20);
		// The marker says roughly how much is missing.
		const missing = gpt4o.countText(text) - gpt4o.countText(head) - gpt4o.countText(tail);
		expect(cut).toBe(missing);
	});

	test('random text with emoji, CJK, combining marks and special tokens: always within the limit, never a broken emoji', () => {
		const next = random(20240611);
		for (let run = 0; run < 150; run++) {
			const text = randomText(next, 20 + Math.floor(next() * 400));
			const counter = run % 3 === 0 ? llama : run % 3 === 1 ? gpt4o : perUnit;
			const total = counter.countText(text);
			const limit = 1 + Math.floor(next() * total * 1.1);
			const result = truncateMiddle(text, limit, counter);
			const context = { run, limit, text };
			expect({ ...context, tokens: counter.countText(result) <= limit }).toEqual({ ...context, tokens: true });
			expect({ ...context, lone: LONE_SURROGATE.test(result) }).toEqual({ ...context, lone: false });
			if (total <= limit) expect(result).toBe(text);
			else if (MARKER.test(result)) expectHeadMarkerTail(text, result);
			else expect(text.startsWith(result)).toBe(true);
		}
	});

	test('a cut right inside an emoji moves beside it instead of splitting it', () => {
		const text = '😀'.repeat(500);
		// The marker alone is 27 units here.
		for (const limit of [41, 42, 43, 77, 120]) {
			const result = truncateMiddle(text, limit, perUnit);
			expect(result.length).toBeLessThanOrEqual(limit);
			expect(LONE_SURROGATE.test(result)).toBe(false);
			expectHeadMarkerTail(text, result);
		}
	});

	test('counts with the margin of a model with another tokenizer', () => {
		const text = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(500);
		const result = truncateMiddle(text, 200, llama);
		expectHeadMarkerTail(text, result);
		expect(llama.countText(result)).toBeLessThanOrEqual(200);
	});

	test('a limit too small for the marker keeps what fits of the head; 0 keeps nothing', () => {
		const text = 'The first words matter most. '.repeat(100);
		const result = truncateMiddle(text, 5, gpt4o);
		expect(text.startsWith(result)).toBe(true);
		expect(gpt4o.countText(result)).toBeLessThanOrEqual(5);
		expect(result.length).toBeGreaterThan(0);
		expect(truncateMiddle(text, 0, gpt4o)).toBe('');
	});

	test('a 1 MB message is cut by measuring pieces near the result size, not the message over and over', () => {
		const next = random(7);
		const text = randomText(next, 260_000);
		expect(text.length).toBeGreaterThan(1_000_000);
		let measured = 0;
		const counting: Pick<TokenCounter, 'countText'> = {
			countText: (piece) => {
				measured += piece.length;
				return gpt4o.countText(piece);
			},
		};
		const result = truncateMiddle(text, 4_000, counting);
		expectHeadMarkerTail(text, result);
		expect(gpt4o.countText(result)).toBeLessThanOrEqual(4_000);
		// One count of the whole message, then searches over pieces of about the result's size.
		expect(measured).toBeLessThan(text.length + 40 * result.length);
	});
});

describe('fitting the history into the budget', () => {
	const turn = (role: 'user' | 'assistant', tokens: number, content = `${role} ${tokens}`) => ({ role, content, tokens });
	const history = [turn('user', 10), turn('assistant', 20), turn('user', 30), turn('assistant', 40), turn('user', 50), turn('assistant', 60)];

	test('keeps the newest turns whose tokens fit, oldest first', () => {
		expect(fitTurnsToBudget(history, 1_000)).toEqual(history);
		expect(fitTurnsToBudget(history, 150)).toEqual(history.slice(4));
		expect(fitTurnsToBudget(history, 149)).toEqual(history.slice(4));
	});

	test('an exact fit is kept', () => {
		expect(fitTurnsToBudget(history, 60 + 50 + 40 + 30)).toEqual(history.slice(2));
	});

	test('starts with a user turn: an assistant turn whose question no longer fits is dropped', () => {
		// 60 + 50 + 40 = 150 fits, but it would start with the answer "assistant 40".
		expect(fitTurnsToBudget(history, 160)).toEqual(history.slice(4));
		expect(fitTurnsToBudget(history, 60)).toEqual([]);
	});

	test('stops at the first turn that does not fit, so the window has no gaps', () => {
		const uneven = [turn('user', 5), turn('assistant', 500), turn('user', 5), turn('assistant', 5)];
		expect(fitTurnsToBudget(uneven, 100)).toEqual(uneven.slice(2));
	});

	test('no turns or no budget: an empty history', () => {
		expect(fitTurnsToBudget([], 100)).toEqual([]);
		expect(fitTurnsToBudget(history, 0)).toEqual([]);
	});

	test('returns the stored turns themselves, with their extra fields', () => {
		const stored = [{ ...turn('user', 10), seq: 7, cumulativeTokens: 10, createdAt: 1 }];
		expect(fitTurnsToBudget(stored, 10)[0]).toBe(stored[0]);
	});
});

describe('cutting a message to a number of characters (before any token is counted)', () => {
	const CHARACTER_MARKER = /\n\n\[… (\d+) characters cut …\]\n\n/;

	test('text that fits comes back unchanged', () => {
		expect(truncateMiddleToCharacters('hello', 5)).toBe('hello');
	});

	test('keeps the head and the tail with a marker saying how many characters were cut, within the limit', () => {
		const text = `START ${'x'.repeat(100_000)} END`;
		const result = truncateMiddleToCharacters(text, 1_000);
		expect(result.length).toBeLessThanOrEqual(1_000);
		const match = CHARACTER_MARKER.exec(result)!;
		const head = result.slice(0, match.index);
		const tail = result.slice(match.index + match[0].length);
		expect(head.startsWith('START')).toBe(true);
		expect(tail.endsWith('END')).toBe(true);
		expect(head.length + Number(match[1]) + tail.length).toBe(text.length);
	});

	test('never splits an emoji at either cut', () => {
		for (let limit = 60; limit < 80; limit++) {
			const result = truncateMiddleToCharacters('👍'.repeat(1_000), limit);
			expect(result.length).toBeLessThanOrEqual(limit);
			expect(LONE_SURROGATE.test(result)).toBe(false);
		}
	});

	test('a limit too small for the marker keeps the head; 0 keeps nothing', () => {
		expect(truncateMiddleToCharacters('abcdefghijklmnopqrstuvwxyz'.repeat(10), 10)).toBe('abcdefghij');
		expect(truncateMiddleToCharacters('abc', 0)).toBe('');
	});
});
