/**
 * Token counting for chat models (DESIGN.md "AI Session node", point 4 "Context"). Counts come
 * from `tiktoken` (WebAssembly, no native addon) with the model's encoding, and a turn is counted
 * once, when it is stored, so building a context never re-counts the history.
 */
import type { Tiktoken } from 'tiktoken';

export type ChatEncoding = 'o200k_base' | 'cl100k_base';

export interface ChatMessageLike {
	role: string;
	content: string;
}

export interface TokenCounter {
	/** The tiktoken encoding the counts come from. */
	readonly encoding: ChatEncoding;
	/** False for models that do not use this encoding: their counts carry the stated margin. */
	readonly exact: boolean;
	/** Tokens the API adds once per request to start the answer (`<|start|>assistant<|message|>`). */
	readonly replyPriming: number;
	/** Tokens of plain text; special-token strings such as "<|endoftext|>" count as ordinary text. */
	countText(text: string): number;
	/** Tokens one message occupies in the prompt: its content, its role and the per-message framing. */
	countMessage(message: ChatMessageLike): number;
}

export interface TokenCounterOptions {
	/**
	 * Added to every count for models outside OpenAI's tokenizers (0.2 = +20 %). Other tokenizers
	 * (Llama's, Mistral's, Claude's) produce up to about 20 % more tokens than o200k_base for the
	 * same text, so an uncounted model is budgeted high rather than overflowing its context.
	 */
	unknownModelMargin?: number;
}

export interface ContextWindow {
	contextWindow: number;
	/** False when the model is not in the table and no override names it: the window is a guess. */
	known: boolean;
}

/**
 * OpenAI's framing per chat message and per request, from the cookbook "How to count tokens with
 * tiktoken": every message is `<|start|>{role}<|message|>{content}<|end|>` (3 tokens besides role
 * and content) and every reply is primed with `<|start|>assistant<|message|>` (3 tokens).
 */
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING_TOKENS = 3;

/** Prefixes of model names per encoding, after `normalizeModelName`. */
const O200K_PREFIXES = ['gpt-4o', 'gpt-4.1', 'gpt-4.5', 'gpt-5', 'o1', 'o3', 'o4', 'chatgpt-4o', 'gpt-oss'];
// "gpt-4" itself and its dashed variants (gpt-4-turbo, gpt-4-0613, gpt-4-32k) only: "gpt-4o" and
// "gpt-4.1" are o200k models. "gpt-35" is Azure's spelling of gpt-3.5.
const CL100K_PREFIXES = ['gpt-4-', 'gpt-3.5', 'gpt-35', 'text-embedding-3', 'text-embedding-ada-002'];

/**
 * Context windows in tokens, matched by the longest prefix of the normalized model name. Sources:
 * the providers' model pages (OpenAI, Anthropic) and the models' cards (Llama, Mistral, Qwen,
 * Gemma, DeepSeek). A newer variant of a family gets the family's entry until it is listed.
 */
const CONTEXT_WINDOWS: Record<string, number> = {
	// OpenAI
	'gpt-5': 400_000,
	'gpt-5-chat': 128_000,
	'gpt-4.5': 128_000,
	'gpt-4.1': 1_047_576,
	'gpt-4o': 128_000,
	'chatgpt-4o': 128_000,
	'gpt-4-turbo': 128_000,
	'gpt-4-1106': 128_000,
	'gpt-4-0125': 128_000,
	'gpt-4-vision': 128_000,
	'gpt-4-32k': 32_768,
	'gpt-4': 8_192,
	'gpt-3.5-turbo': 16_385,
	'gpt-35-turbo': 16_385,
	'gpt-oss': 131_072,
	o1: 200_000,
	'o1-mini': 128_000,
	'o1-preview': 128_000,
	o3: 200_000,
	'o3-mini': 200_000,
	'o4-mini': 200_000,
	// Anthropic
	claude: 200_000,
	// Open-weight models, in Ollama's spelling (llama3.1) and the hosted one (llama-3.1)
	llama3: 8_192,
	'llama3.1': 128_000,
	'llama3.2': 128_000,
	'llama3.3': 128_000,
	'llama-3': 8_192,
	'llama-3.1': 128_000,
	'llama-3.2': 128_000,
	'llama-3.3': 128_000,
	'meta-llama-3': 8_192,
	'meta-llama-3.1': 128_000,
	mistral: 32_768,
	'mistral-nemo': 128_000,
	'mistral-large': 128_000,
	mixtral: 32_768,
	'qwen2.5': 32_768,
	'qwen-2.5': 32_768,
	qwen3: 32_768,
	gemma: 8_192,
	gemma3: 128_000,
	'gemma3:1b': 32_768,
	deepseek: 64_000,
};

/** Small enough for any chat model still in use, so an unknown model is never overfilled. */
const UNKNOWN_CONTEXT_WINDOW = 8_192;

/**
 * One instance per encoding for the whole process: building one takes about a second and tens of
 * megabytes, and counters share it. Never freed, so no counter is left holding a freed instance.
 */
const encoders = new Map<ChatEncoding, Tiktoken>();

function loadEncoder(encoding: ChatEncoding): Tiktoken {
	let encoder = encoders.get(encoding);
	if (!encoder) {
		// Loaded on first count, not on import: compiling the WebAssembly module takes ~150 ms.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { get_encoding } = require('tiktoken') as typeof import('tiktoken');
		encoder = get_encoding(encoding);
		encoders.set(encoding, encoder);
	}
	return encoder;
}

/**
 * Lower-cased, without a fine-tune marker ("ft:gpt-4o-mini:org::id") and without a provider
 * path ("openai/gpt-4o" on OpenRouter, "meta-llama/llama-3.1-8b-instruct").
 */
function normalizeModelName(model: string): string {
	const name = model.trim().toLowerCase().replace(/^ft:/, '');
	return name.slice(name.lastIndexOf('/') + 1);
}

export function encodingForModel(model: string): { encoding: ChatEncoding; exact: boolean } {
	const name = normalizeModelName(model);
	if (O200K_PREFIXES.some((prefix) => name.startsWith(prefix))) return { encoding: 'o200k_base', exact: true };
	if (name === 'gpt-4' || CL100K_PREFIXES.some((prefix) => name.startsWith(prefix))) return { encoding: 'cl100k_base', exact: true };
	// The newest OpenAI encoding is the closest stand-in for other tokenizers; the margin covers the rest.
	return { encoding: 'o200k_base', exact: false };
}

/**
 * Counts for `model`. The encoding loads on the first count. For a model outside OpenAI's
 * tokenizers every count is multiplied by (1 + unknownModelMargin) and rounded up.
 */
export function createTokenCounter(model: string, { unknownModelMargin = 0.2 }: TokenCounterOptions = {}): TokenCounter {
	if (!Number.isFinite(unknownModelMargin) || unknownModelMargin < 0) {
		throw new Error(`The token margin for unknown models must be 0 or more (got ${unknownModelMargin}).`);
	}
	const { encoding, exact } = encodingForModel(model);
	let encoder: Tiktoken | undefined;
	// encode_ordinary: chat text is never parsed for special tokens, so "<|endoftext|>" in a
	// message counts as the characters it is instead of throwing.
	const rawCount = (text: string) => (encoder ??= loadEncoder(encoding)).encode_ordinary(text).length;
	const roleTokens = new Map<string, number>();
	const rawMessageCount = ({ role, content }: ChatMessageLike) => {
		let forRole = roleTokens.get(role);
		if (forRole === undefined) roleTokens.set(role, (forRole = rawCount(role)));
		return TOKENS_PER_MESSAGE + forRole + rawCount(content);
	};

	if (exact) {
		return { encoding, exact, replyPriming: REPLY_PRIMING_TOKENS, countText: rawCount, countMessage: rawMessageCount };
	}
	const scale = 1 + unknownModelMargin;
	// The epsilon keeps float noise (3 × 1.2 = 3.5999…) from rounding an exact product up.
	const withMargin = (tokens: number) => Math.ceil(tokens * scale - 1e-9);
	return {
		encoding,
		exact,
		replyPriming: withMargin(REPLY_PRIMING_TOKENS),
		countText: (text) => withMargin(rawCount(text)),
		countMessage: (message) => withMargin(rawMessageCount(message)),
	};
}

/**
 * The model's context window in tokens. `overrides` (model name or prefix → tokens) win over the
 * built-in table; an unknown model gets a conservative 8192 with `known: false`.
 */
export function contextWindowFor(model: string, overrides: Record<string, number> = {}): ContextWindow {
	const name = normalizeModelName(model);
	const normalizedOverrides: Record<string, number> = {};
	for (const [key, tokens] of Object.entries(overrides)) {
		if (!Number.isInteger(tokens) || tokens <= 0) {
			throw new Error(`The context window for "${key}" must be a whole number of tokens above 0 (got ${tokens}).`);
		}
		normalizedOverrides[normalizeModelName(key)] = tokens;
	}
	const tokens = longestPrefixMatch(name, normalizedOverrides) ?? longestPrefixMatch(name, CONTEXT_WINDOWS);
	return tokens === undefined ? { contextWindow: UNKNOWN_CONTEXT_WINDOW, known: false } : { contextWindow: tokens, known: true };
}

function longestPrefixMatch(name: string, table: Record<string, number>): number | undefined {
	let best: string | undefined;
	for (const prefix of Object.keys(table)) {
		if (name.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
	}
	return best === undefined ? undefined : table[best];
}
