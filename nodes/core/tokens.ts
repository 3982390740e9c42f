/**
 * Token counting for chat models (DESIGN.md "AI Session node", point 4 "Context"). Counts are
 * tiktoken's for the model's encoding, made by this package's own byte-pair counter (./bpe, no
 * WebAssembly, a few MiB per encoding), and a turn is counted once, when it is stored, so
 * building a context never re-counts the history.
 */
import { type BpeEncodingName, type BytePairEncoding, loadBytePairEncoding } from './bpe';

export type ChatEncoding = BpeEncodingName;

export interface ChatMessageLike {
	role: string;
	content: string;
}

export interface TokenCounter {
	/** The OpenAI (tiktoken) encoding the counts come from. */
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
 * the providers' model pages (OpenAI, Azure OpenAI, Anthropic, Google, Mistral, Groq, Amazon
 * Bedrock) and the models' cards (Llama, Qwen, Gemma, DeepSeek). A newer variant of a family gets
 * the family's entry until it is listed; where a family's sizes differ, the smaller one is listed.
 */
const CONTEXT_WINDOWS: Record<string, number> = {
	// OpenAI, and Azure OpenAI's model names ("gpt-35-turbo"); an Azure deployment name is the
	// user's own, so it needs the Context Window option.
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
	// Anthropic (API ids "claude-sonnet-4-5", Bedrock's "claude-3-5-sonnet-20240620-v1:0", "claude-v2:1")
	claude: 200_000,
	'claude-2': 100_000,
	'claude-2.1': 200_000,
	'claude-v2': 100_000,
	'claude-v2:1': 200_000,
	'claude-instant': 100_000,
	// Google Gemini ("models/gemini-2.5-flash" in n8n's Gemini node, "gemini-1.5-pro-002" on Vertex)
	gemini: 1_048_576,
	'gemini-1.5-pro': 2_097_152,
	'gemini-1.0': 32_760,
	'gemini-pro': 32_760,
	// Open-weight models, in Ollama's spelling (llama3.1), the hosted one (llama-3.1, Groq's
	// llama-3.3-70b-versatile) and Bedrock's (llama3-1-70b-instruct-v1:0)
	llama2: 4_096,
	'llama-2': 4_096,
	codellama: 16_384,
	llama3: 8_192,
	'llama3.1': 128_000,
	'llama3.2': 128_000,
	'llama3.3': 128_000,
	'llama3-1': 128_000,
	'llama3-2': 128_000,
	'llama3-3': 128_000,
	'llama-3': 8_192,
	'llama-3.1': 128_000,
	'llama-3.2': 128_000,
	'llama-3.3': 128_000,
	'llama4': 131_072,
	'llama-4': 131_072,
	'meta-llama-3': 8_192,
	'meta-llama-3.1': 128_000,
	// Mistral (La Plateforme ids, Bedrock's "mistral-large-2407-v1:0")
	mistral: 32_768,
	'mistral-nemo': 128_000,
	'mistral-large': 128_000,
	'mistral-medium': 128_000,
	'mistral-small': 32_768,
	'open-mistral-nemo': 128_000,
	'open-mistral-7b': 32_768,
	'open-mixtral-8x22b': 65_536,
	'open-mixtral-8x7b': 32_768,
	ministral: 128_000,
	pixtral: 128_000,
	codestral: 32_768,
	mixtral: 32_768,
	'mixtral-8x22b': 65_536,
	// Amazon Bedrock's own models
	'nova-micro': 128_000,
	'nova-lite': 300_000,
	'nova-pro': 300_000,
	'nova-premier': 1_000_000,
	'titan-text-express': 8_192,
	'titan-text-lite': 4_096,
	'titan-text-premier': 32_768,
	'command-r': 128_000,
	jamba: 256_000,
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
 * One instance per encoding for the whole process, shared by every counter: building one takes
 * tens of milliseconds and a few MiB. Loaded on the first count, not on import, so a workflow that
 * never counts (or uses only one encoding) never pays for it.
 */
const encoders = new Map<ChatEncoding, BytePairEncoding>();

function loadEncoder(encoding: ChatEncoding): BytePairEncoding {
	let encoder = encoders.get(encoding);
	if (!encoder) {
		encoder = loadBytePairEncoding(encoding);
		encoders.set(encoding, encoder);
	}
	return encoder;
}

/**
 * Bedrock names a model by its provider and, for cross-region inference, a region group:
 * "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "meta.llama3-1-70b-instruct-v1:0".
 */
const BEDROCK_PREFIX = /^(?:(?:us|eu|apac|us-gov|global)\.)?(?:anthropic|meta|mistral|amazon|cohere|ai21|deepseek|openai|qwen|writer)\./;

/**
 * Lower-cased, without a fine-tune marker ("ft:gpt-4o-mini:org::id"), a provider path
 * ("openai/gpt-4o" on OpenRouter, "meta-llama/llama-3.1-8b-instruct", "models/gemini-2.5-flash")
 * or Bedrock's provider prefix.
 */
export function normalizeModelName(model: string): string {
	const name = model.trim().toLowerCase().replace(/^ft:/, '');
	return name.slice(name.lastIndexOf('/') + 1).replace(BEDROCK_PREFIX, '');
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
	let encoder: BytePairEncoding | undefined;
	// As tiktoken's encode_ordinary: chat text is never parsed for special tokens, so
	// "<|endoftext|>" in a message counts as the characters it is instead of throwing.
	const rawCount = (text: string) => countInBoundedTime(text, (piece) => (encoder ??= loadEncoder(encoding)).countTokens(piece));
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
 * Byte-pair merging takes more than linear time in the length of one pre-tokenized piece, and a
 * run without spaces ("aaaa…", emoji, CJK) is one piece: with tiktoken, quadratic, 80,000
 * characters of "a" blocked the event loop for about 4 s (./bpe merges in O(n log n), but the
 * counts stay those this bound has always given). Text is therefore counted in pieces of at most
 * this many UTF-8 bytes (a 512-byte run costs about 0.1 ms), cut where the pre-tokenizer itself
 * splits when the piece has such a place, so ordinary text counts exactly.
 */
const PIECE_BYTES = 512;
/**
 * Even in bounded pieces counting takes 0.1–0.5 µs per character (prose to emoji), so 1 MB would
 * still block for up to half a second. Texts up to this many UTF-16 units are counted exactly;
 * longer ones are estimated from evenly spread samples of this size in total (the AI Session node
 * caps user text well below).
 */
const EXACTLY_COUNTED_CHARS = 32_768;
const ESTIMATE_SAMPLES = 16;
/** Added to an estimate so that a text denser between the samples than in them is still rarely undercounted. */
const ESTIMATE_MARGIN = 0.1;

/**
 * Tokens of `text` with at most about EXACTLY_COUNTED_CHARS characters of counting work, in pieces
 * of at most PIECE_BYTES. Exact for text whose runs without a space or line break are shorter than
 * PIECE_BYTES; a longer run is cut, which can add a token per cut. Beyond EXACTLY_COUNTED_CHARS the
 * count is an estimate that errs high: the samples' tokens per UTF-8 byte, plus ESTIMATE_MARGIN,
 * and never more than the text's UTF-8 bytes (no token is shorter than a byte).
 */
function countInBoundedTime(text: string, countPiece: (piece: string) => number): number {
	if (text.length <= EXACTLY_COUNTED_CHARS) return countPieces(text, countPiece);
	const sampleLength = Math.floor(EXACTLY_COUNTED_CHARS / ESTIMATE_SAMPLES);
	let sampledTokens = 0;
	let sampledBytes = 0;
	for (let index = 0; index < ESTIMATE_SAMPLES; index++) {
		let start = Math.floor((index * (text.length - sampleLength)) / (ESTIMATE_SAMPLES - 1));
		if (isLowSurrogate(text.charCodeAt(start)) && isHighSurrogate(text.charCodeAt(start - 1))) start += 1;
		let end = start + sampleLength;
		if (isLowSurrogate(text.charCodeAt(end)) && isHighSurrogate(text.charCodeAt(end - 1))) end += 1;
		const sample = text.slice(start, end);
		sampledTokens += countPieces(sample, countPiece);
		sampledBytes += Buffer.byteLength(sample, 'utf8');
	}
	const totalBytes = Buffer.byteLength(text, 'utf8');
	const estimate = Math.ceil((totalBytes * sampledTokens * (1 + ESTIMATE_MARGIN)) / Math.max(sampledBytes, 1));
	return Math.min(estimate, totalBytes);
}

function countPieces(text: string, countPiece: (piece: string) => number): number {
	// Short texts, the usual case, in one call: the same count as on the whole text.
	if (text.length <= PIECE_BYTES / 4) return countPiece(text);
	let tokens = 0;
	let start = 0;
	while (start < text.length) {
		const end = pieceEnd(text, start);
		tokens += countPiece(text.slice(start, end));
		start = end;
	}
	return tokens;
}

/**
 * Where the piece starting at `start` ends: the last place within PIECE_BYTES where the
 * pre-tokenizer splits anyway (before a single space between two non-spaces, or after a line
 * break before a non-space; true of o200k_base and cl100k_base), else at PIECE_BYTES, never
 * between the halves of an emoji.
 */
function pieceEnd(text: string, start: number): number {
	let end = start;
	let bytes = 0;
	let lastSplit = -1;
	while (end < text.length) {
		const code = text.charCodeAt(end);
		const pair = isHighSurrogate(code) && isLowSurrogate(text.charCodeAt(end + 1));
		const size = code < 0x80 ? 1 : code < 0x800 ? 2 : pair ? 4 : 3;
		if (bytes + size > PIECE_BYTES && end > start) break;
		if (end > start && isPreTokenizerSplit(text, end)) lastSplit = end;
		bytes += size;
		end += pair ? 2 : 1;
	}
	return end < text.length && lastSplit > start ? lastSplit : end;
}

function isPreTokenizerSplit(text: string, index: number): boolean {
	const code = text.charCodeAt(index);
	const before = text.charCodeAt(index - 1);
	if (code === 0x20) return !isWhitespace(before) && index + 1 < text.length && !isWhitespace(text.charCodeAt(index + 1));
	// Not before "/": o200k_base keeps "/" after line breaks in the piece of the punctuation before them.
	return (before === 0x0a || before === 0x0d) && !isWhitespace(code) && code !== 0x2f;
}

/** The characters of the pre-tokenizer's `\s` (Unicode White_Space). */
function isWhitespace(code: number): boolean {
	return (
		(code >= 0x09 && code <= 0x0d) ||
		code === 0x20 ||
		code === 0x85 ||
		code === 0xa0 ||
		code === 0x1680 ||
		(code >= 0x2000 && code <= 0x200a) ||
		code === 0x2028 ||
		code === 0x2029 ||
		code === 0x202f ||
		code === 0x205f ||
		code === 0x3000
	);
}

function isHighSurrogate(code: number): boolean {
	return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
	return code >= 0xdc00 && code <= 0xdfff;
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
