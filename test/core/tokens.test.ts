import { randomBytes } from 'node:crypto';

import { get_encoding, type Tiktoken } from 'tiktoken';
import tiktokenModelTable from 'tiktoken/model_to_encoding.json';
import { loadBytePairEncoding } from '../../nodes/core/bpe';
import { contextWindowFor, createTokenCounter, encodingForModel } from '../../nodes/core/tokens';
import { cpuMsOf } from './text-checks';

// Expected values come from tiktoken itself, never from the module under test.
const raw: Record<'o200k_base' | 'cl100k_base', Tiktoken> = {
	o200k_base: get_encoding('o200k_base'),
	cl100k_base: get_encoding('cl100k_base'),
};
afterAll(() => Object.values(raw).forEach((encoder) => encoder.free()));

const TEXTS = [
	'Hello, world!',
	'tiktoken is great!',
	'Wie spät ist es in Zürich? Éléphant, naïve façade.',
	'東京の天気はどうですか？今日は晴れです。',
	'お誕生日おめでとう',
	'안녕하세요, 반갑습니다',
	'Emoji: 👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️ 🤖',
	'مرحبا بالعالم',
	'  indented\n\n\tcode() { return 42; }\r\n',
	'x'.repeat(1000),
	'The quick brown fox jumps over the lazy dog. '.repeat(50),
];

describe('which encoding a model uses', () => {
	test.each(['gpt-4o', 'gpt-4o-mini', 'gpt-4.1-nano', 'gpt-4.5-preview', 'gpt-5', 'gpt-5-mini', 'o1', 'o1-mini', 'o3-mini', 'o4-mini', 'chatgpt-4o-latest', 'gpt-oss-120b'])(
		'%s counts exactly with o200k_base',
		(model) => {
			expect(encodingForModel(model)).toEqual({ encoding: 'o200k_base', exact: true });
		},
	);

	test.each(['gpt-4', 'gpt-4-0613', 'gpt-4-32k', 'gpt-4-turbo', 'gpt-4-turbo-2024-04-09', 'gpt-3.5-turbo', 'gpt-3.5-turbo-0125', 'gpt-35-turbo', 'text-embedding-3-small'])(
		'%s counts exactly with cl100k_base',
		(model) => {
			expect(encodingForModel(model)).toEqual({ encoding: 'cl100k_base', exact: true });
		},
	);

	test('provider paths (OpenRouter), upper case and fine-tune names resolve to the base model', () => {
		expect(encodingForModel('openai/gpt-4o')).toEqual({ encoding: 'o200k_base', exact: true });
		expect(encodingForModel('openai/gpt-4-turbo')).toEqual({ encoding: 'cl100k_base', exact: true });
		expect(encodingForModel(' OpenAI/GPT-4o-Mini ')).toEqual({ encoding: 'o200k_base', exact: true });
		expect(encodingForModel('ft:gpt-4o-mini-2024-07-18:acme::9abc')).toEqual({ encoding: 'o200k_base', exact: true });
	});

	test.each(['llama3.1:8b', 'meta-llama/llama-3.3-70b-instruct', 'mistral', 'anthropic/claude-3.5-sonnet', 'qwen2.5:7b', 'gemma3', 'my-azure-deployment'])(
		'%s is not an OpenAI tokenizer: o200k_base as an estimate, not exact',
		(model) => {
			expect(encodingForModel(model)).toEqual({ encoding: 'o200k_base', exact: false });
		},
	);

	test("agrees with tiktoken's own table for every OpenAI chat and embedding model it lists", () => {
		const chatModels = Object.entries(tiktokenModelTable as Record<string, string>).filter(
			([model, encoding]) => (encoding === 'o200k_base' || encoding === 'cl100k_base') && !['davinci-002', 'babbage-002'].includes(model),
		);
		expect(chatModels.length).toBeGreaterThan(50);
		for (const [model, encoding] of chatModels) expect([model, encodingForModel(model)]).toEqual([model, { encoding, exact: true }]);
	});
});

describe('counting tokens for a known model', () => {
	test.each([
		['gpt-4o-mini', 'o200k_base'],
		['gpt-4', 'cl100k_base'],
	] as const)('%s: text counts equal tiktoken %s for Latin, CJK, Arabic, emoji and code', (model, encoding) => {
		const counter = createTokenCounter(model);
		expect(counter).toMatchObject({ encoding, exact: true });
		for (const text of TEXTS) expect([text, counter.countText(text)]).toEqual([text, raw[encoding].encode(text).length]);
	});

	test('a message costs its content, its role and 3 tokens of framing; a request adds 3 to prime the reply', () => {
		const counter = createTokenCounter('gpt-4o');
		for (const role of ['system', 'user', 'assistant']) {
			for (const content of TEXTS) {
				expect(counter.countMessage({ role, content })).toBe(3 + raw.o200k_base.encode(role).length + raw.o200k_base.encode(content).length);
			}
		}
		expect(counter.countMessage({ role: 'user', content: '' })).toBe(4);
		expect(counter.replyPriming).toBe(3);
	});

	// The worked example of OpenAI's cookbook "How to count tokens with tiktoken", whose counts
	// match what the API reported: 129 prompt tokens for gpt-3.5-turbo/gpt-4, 124 for gpt-4o(-mini).
	// Four of its messages carry a `name`, which costs its tokens plus 1; the node sends no names.
	const cookbookExample = [
		{ role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
		{ role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
		{ role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
		{ role: 'system', name: 'example_user', content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
		{ role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
		{ role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
	];
	test.each([
		['gpt-4o', 124],
		['gpt-4o-mini', 124],
		['gpt-4', 129],
		['gpt-3.5-turbo', 129],
	] as const)("the cookbook's example conversation counts %s prompt tokens as the API did (%i)", (model, promptTokens) => {
		const counter = createTokenCounter(model);
		const nameTokens = cookbookExample.reduce((sum, message) => sum + (message.name ? raw[counter.encoding].encode(message.name).length + 1 : 0), 0);
		const counted = cookbookExample.reduce((sum, message) => sum + counter.countMessage(message), 0) + nameTokens + counter.replyPriming;
		expect(counted).toBe(promptTokens);
	});

	test('special-token text such as "<|endoftext|>" in a message is counted as plain characters, not rejected', () => {
		const counter = createTokenCounter('gpt-4o');
		const text = 'Ignore this: <|endoftext|><|im_start|>system';
		expect(() => raw.o200k_base.encode(text)).toThrow();
		expect(counter.countText(text)).toBe(raw.o200k_base.encode_ordinary(text).length);
		expect(counter.countText('<|endoftext|>')).toBeGreaterThan(1);
	});

	test('empty text is 0 tokens', () => {
		expect(createTokenCounter('gpt-4o').countText('')).toBe(0);
	});
});

describe('counting tokens for a model with another tokenizer', () => {
	test('counts carry the stated 20 % margin, rounded up, on text, messages and reply priming', () => {
		const counter = createTokenCounter('llama3.1:8b');
		expect(counter).toMatchObject({ encoding: 'o200k_base', exact: false, replyPriming: 4 });
		for (const text of TEXTS) {
			const tokens = raw.o200k_base.encode(text).length;
			expect(counter.countText(text)).toBe(Math.ceil((tokens * 12) / 10));
			expect(counter.countMessage({ role: 'user', content: text })).toBe(Math.ceil(((3 + 1 + tokens) * 12) / 10));
		}
	});

	test('an exact multiple is not rounded up by floating-point noise (5 tokens at 20 % are 6, not 7)', () => {
		const text = 'one two three four five';
		expect(raw.o200k_base.encode(text).length).toBe(5);
		expect(createTokenCounter('mistral').countText(text)).toBe(6);
	});

	test('the margin is configurable; 0 gives plain o200k_base counts, a negative margin is refused', () => {
		const text = TEXTS[6];
		const tokens = raw.o200k_base.encode(text).length;
		expect(createTokenCounter('qwen2.5', { unknownModelMargin: 0 }).countText(text)).toBe(tokens);
		expect(createTokenCounter('qwen2.5', { unknownModelMargin: 0.5 }).countText(text)).toBe(Math.ceil(tokens * 1.5));
		expect(() => createTokenCounter('qwen2.5', { unknownModelMargin: -0.1 })).toThrow('0 or more');
		expect(() => createTokenCounter('qwen2.5', { unknownModelMargin: Number.NaN })).toThrow('0 or more');
	});

	test('the margin never applies to a known model', () => {
		expect(createTokenCounter('gpt-4o', { unknownModelMargin: 1 }).countText('Hello, world!')).toBe(raw.o200k_base.encode('Hello, world!').length);
	});
});

describe('loading an encoding', () => {
	test('happens on the first count, once per process per encoding, shared by every counter', () => {
		jest.isolateModules(() => {
			const bpe = require('../../nodes/core/bpe') as typeof import('../../nodes/core/bpe');
			const loadEncoding = jest.spyOn(bpe, 'loadBytePairEncoding');
			const tokens = require('../../nodes/core/tokens') as typeof import('../../nodes/core/tokens');

			const counters = ['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'llama3.1'].map((model) => tokens.createTokenCounter(model));
			expect(loadEncoding).not.toHaveBeenCalled();
			for (const counter of counters) counter.countText('hello');
			tokens.createTokenCounter('gpt-5').countMessage({ role: 'user', content: 'hi' });
			expect(loadEncoding.mock.calls).toEqual([['o200k_base']]);
		});
	});

	test('never loads tiktoken: counting runs on the package\'s own rank data', () => {
		jest.isolateModules(() => {
			jest.doMock('tiktoken', () => {
				throw new Error('tiktoken was loaded');
			});
			const tokens = require('../../nodes/core/tokens') as typeof import('../../nodes/core/tokens');
			expect(tokens.createTokenCounter('gpt-4o').countText('Hello, world!')).toBe(4);
			expect(tokens.createTokenCounter('gpt-4').countText('Hello, world!')).toBe(4);
			jest.dontMock('tiktoken');
		});
	});
});

describe('context windows', () => {
	test.each([
		['gpt-4o', 128_000],
		['gpt-4o-mini', 128_000],
		['gpt-4.1', 1_047_576],
		['gpt-4.1-mini', 1_047_576],
		['gpt-4.1-nano-2025-04-14', 1_047_576],
		['gpt-4.5-preview', 128_000],
		['gpt-5', 400_000],
		['gpt-5-mini', 400_000],
		['gpt-5-nano', 400_000],
		['o1', 200_000],
		['o1-mini', 128_000],
		['o3', 200_000],
		['o3-mini', 200_000],
		['o4-mini', 200_000],
		['gpt-4-turbo', 128_000],
		['gpt-4-turbo-2024-04-09', 128_000],
		['gpt-4', 8_192],
		['gpt-4-0613', 8_192],
		['gpt-3.5-turbo', 16_385],
		['claude-3-5-sonnet-20241022', 200_000],
		['llama3.1:8b', 128_000],
		['llama3.2', 128_000],
		['llama3.3:70b', 128_000],
		['llama3', 8_192],
		['llama3:8b', 8_192],
		['mistral', 32_768],
		['qwen2.5:14b', 32_768],
		['gemma:7b', 8_192],
		['deepseek-chat', 64_000],
	])('%s has a context window of %i tokens', (model, contextWindow) => {
		expect(contextWindowFor(model)).toEqual({ contextWindow, known: true });
	});

	test('provider paths are stripped before the lookup (OpenRouter, hosted Llama)', () => {
		expect(contextWindowFor('openai/gpt-4o-mini')).toEqual({ contextWindow: 128_000, known: true });
		expect(contextWindowFor('anthropic/claude-3.5-sonnet')).toEqual({ contextWindow: 200_000, known: true });
		expect(contextWindowFor('meta-llama/llama-3.1-70b-instruct')).toEqual({ contextWindow: 128_000, known: true });
	});

	test.each([
		// Anthropic, as n8n's Anthropic Chat Model names them, and Bedrock's ids
		['claude-sonnet-4-5-20250929', 200_000],
		['claude-3-haiku-20240307', 200_000],
		['claude-2', 100_000],
		['claude-2.1', 200_000],
		['claude-instant-1.2', 100_000],
		['anthropic.claude-3-5-sonnet-20240620-v1:0', 200_000],
		['us.anthropic.claude-3-7-sonnet-20250219-v1:0', 200_000],
		['anthropic.claude-v2', 100_000],
		['anthropic.claude-v2:1', 200_000],
		// Gemini (n8n's Gemini node passes "models/…")
		['models/gemini-2.5-flash', 1_048_576],
		['gemini-1.5-pro-002', 2_097_152],
		['gemini-1.5-flash', 1_048_576],
		['gemini-pro', 32_760],
		// Mistral
		['mistral-large-latest', 128_000],
		['mistral-small-latest', 32_768],
		['open-mixtral-8x22b', 65_536],
		['mistral.mistral-large-2407-v1:0', 128_000],
		// Llama on Ollama, Groq and Bedrock
		['llama3.1:70b', 128_000],
		['llama-3.3-70b-versatile', 128_000],
		['llama3-70b-8192', 8_192],
		['meta-llama/llama-4-scout-17b-16e-instruct', 131_072],
		['meta.llama3-1-70b-instruct-v1:0', 128_000],
		['meta.llama3-8b-instruct-v1:0', 8_192],
		['llama2:13b', 4_096],
		// Azure OpenAI's model names, Bedrock's own models
		['gpt-35-turbo', 16_385],
		['gpt-4o-2024-08-06', 128_000],
		['amazon.nova-pro-v1:0', 300_000],
		['amazon.titan-text-express-v1', 8_192],
		['cohere.command-r-plus-v1:0', 128_000],
	])('%s (Anthropic, Gemini, Mistral, Llama, Azure OpenAI, Bedrock) has a context window of %i tokens', (model, contextWindow) => {
		expect(contextWindowFor(model)).toEqual({ contextWindow, known: true });
	});

	test('Bedrock model ids are counted like the model they name', () => {
		expect(encodingForModel('openai.gpt-oss-120b-1:0')).toEqual({ encoding: 'o200k_base', exact: true });
		expect(encodingForModel('us.anthropic.claude-3-7-sonnet-20250219-v1:0')).toEqual({ encoding: 'o200k_base', exact: false });
	});

	test('an unknown model gets a conservative 8192 tokens, flagged as unknown', () => {
		expect(contextWindowFor('my-company-model')).toEqual({ contextWindow: 8_192, known: false });
		expect(contextWindowFor('')).toEqual({ contextWindow: 8_192, known: false });
	});

	test('overrides win over the table, match by prefix like the table, and make a model known', () => {
		expect(contextWindowFor('gpt-4o', { 'gpt-4o': 64_000 })).toEqual({ contextWindow: 64_000, known: true });
		expect(contextWindowFor('gpt-4o-mini', { 'gpt-4o': 64_000 })).toEqual({ contextWindow: 64_000, known: true });
		expect(contextWindowFor('openai/gpt-4o', { 'OpenRouter/GPT-4o': 50_000 })).toEqual({ contextWindow: 50_000, known: true });
		expect(contextWindowFor('my-company-model', { 'my-company': 32_000 })).toEqual({ contextWindow: 32_000, known: true });
		expect(contextWindowFor('gpt-4o', { 'gpt-4o': 64_000, 'gpt-4o-mini': 32_000 })).toEqual({ contextWindow: 64_000, known: true });
	});

	test('an override that is not a positive whole number of tokens is refused with the model named', () => {
		expect(() => contextWindowFor('gpt-4o', { 'gpt-4o': 0 })).toThrow('"gpt-4o" must be a whole number of tokens above 0 (got 0)');
		expect(() => contextWindowFor('gpt-4o', { 'gpt-4o': 1.5 })).toThrow('whole number');
	});
});

describe('counting in bounded time (a Webhook or Chat Trigger item can be megabytes)', () => {
	const ENCODINGS_AND_MODELS = [
		['gpt-4o-mini', 'o200k_base'],
		['gpt-4', 'cl100k_base'],
	] as const;
	const uncut = { o200k_base: loadBytePairEncoding('o200k_base'), cl100k_base: loadBytePairEncoding('cl100k_base') };

	const oneMegabyte = 1_000_000;
	const emoji = ['😀', '🎉', '👍🏽', '❤️', '🤖', '👨‍👩‍👧‍👦', '🇩🇪'];
	test.each([
		['"a" repeated', () => 'a'.repeat(oneMegabyte)],
		['random base64', () => randomBytes(oneMegabyte).toString('base64').slice(0, oneMegabyte)],
		['emoji', () => Array.from({ length: oneMegabyte / 4 }, (_, index) => emoji[(index * 7919) % emoji.length]).join('')],
	])('1 MB of %s is counted in under 200 ms, with a count that errs high rather than low', (_name, makeText) => {
		const counter = createTokenCounter('gpt-4o-mini');
		counter.countText('warm up');
		const text = makeText();
		let tokens = 0;
		expect(cpuMsOf(() => (tokens = counter.countText(text)))).toBeLessThan(200);
		expect(tokens).toBeGreaterThan(0);
		expect(tokens).toBeLessThanOrEqual(Buffer.byteLength(text, 'utf8'));
	});

	test('1 MB of "a" is estimated within 25 % above the exact count', () => {
		// tiktoken makes one token of every 8 "a"s; counting that exactly in one piece takes minutes.
		const tokens = createTokenCounter('gpt-4o-mini').countText('a'.repeat(1_000_000));
		expect(tokens).toBeGreaterThanOrEqual(125_000);
		expect(tokens).toBeLessThanOrEqual(125_000 * 1.25);
	});

	test('a 30,000-character run without spaces is counted exactly, in under 200 ms', () => {
		const counter = createTokenCounter('gpt-4o-mini');
		counter.countText('warm up');
		let tokens = 0;
		expect(cpuMsOf(() => (tokens = counter.countText('a'.repeat(30_000))))).toBeLessThan(200);
		expect(tokens).toBe(30_000 / 8);
	});

	const adversarial32k = [
		['one letter', 'a'.repeat(32_000)],
		['spaces', ' '.repeat(32_000)],
		['line breaks and tabs', '\r\n\t \n'.repeat(6_400)],
		['emoji with skin tones', '👍🏽'.repeat(8_000)],
		['family emoji (ZWJ)', '👨‍👩‍👧‍👦'.repeat(2_900)],
		['alternating case', 'aB'.repeat(16_000)],
		['CJK', '東京の天気は'.repeat(5_300)],
		['punctuation', '!?.,;'.repeat(6_400)],
		['digits', '1234567890'.repeat(3_200)],
	] as const;
	test.each(ENCODINGS_AND_MODELS.flatMap(([model, encoding]) => adversarial32k.map(([name, text]) => [model, name, text, encoding] as const)))(
		'%s: 32K characters of %s are counted in under 200 ms, within one token per 512-byte cut of the uncut count',
		(model, _name, text, encoding) => {
			const counter = createTokenCounter(model);
			counter.countText('warm up');
			let tokens = 0;
			expect(cpuMsOf(() => (tokens = counter.countText(text)))).toBeLessThan(200);
			// The uncut count from the byte-pair counter itself (equal to tiktoken's, test/core/bpe.test.ts):
			// tiktoken takes seconds on one 32K piece, quadratic in its length.
			const exact = uncut[encoding].countTokens(text);
			const cuts = Math.ceil(Buffer.byteLength(text, 'utf8') / 512);
			expect(tokens).toBeGreaterThanOrEqual(exact);
			expect(tokens).toBeLessThanOrEqual(exact + cuts);
		},
	);

	test.each(['gpt-4o-mini', 'gpt-4'])('%s: long multilingual text counted in pieces equals tiktoken on the whole text', (model) => {
		const counter = createTokenCounter(model);
		const text = Array.from({ length: 6 }, (_, index) => `${index}. ${TEXTS.join(index % 2 ? ' ' : '\n')}`).join('\n\n');
		expect(text.length).toBeGreaterThan(15_000);
		expect(text.length).toBeLessThan(32_768);
		expect(counter.countText(text)).toBe(raw[counter.encoding].encode_ordinary(text).length);
	});
});
