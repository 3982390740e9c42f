/**
 * Token counts of OpenAI's byte-pair encodings, equal to tiktoken's `encode_ordinary(text).length`,
 * in plain TypeScript: tiktoken's WebAssembly build costs about 45 MiB of memory in n8n, this about
 * 5 MiB. Only counts are produced, never token ids, so all that is kept is each token's bytes (its
 * rank is its position) and a hash table from bytes to rank, in typed arrays: no string or Map
 * entry per token. The ranks are tiktoken's own, converted by scripts/build-ranks.js.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';

export type BpeEncodingName = 'o200k_base' | 'cl100k_base';

export interface BytePairEncoding {
	readonly name: BpeEncodingName;
	/**
	 * Tokens of `text` as tiktoken's encode_ordinary makes them: special-token text such as
	 * "<|endoftext|>" is plain characters. Time is O(n log n) in the bytes of the longest run the
	 * pre-tokenizer keeps in one piece (letters or emoji without a space), linear otherwise.
	 */
	countTokens(text: string): number;
}

/** Rust's `\s` (Unicode White_Space); JavaScript's `\s` differs: it has U+FEFF and lacks U+0085. */
const WHITESPACE = '\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
/**
 * `(?i:'s|'t|'re|'ve|'m|'ll|'d)` spelled out, as Node 20 has no inline flags. Rust's case folding
 * also matches "ſ" (U+017F, long s) for "s".
 */
const CONTRACTION = "'(?:[sSſ]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])";
const UPPER_OR_MARK = '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]';
const LOWER_OR_MARK = '[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]';

/**
 * tiktoken's `pat_str` of each encoding (Rust fancy-regex) as a JavaScript RegExp, alternative by
 * alternative; scripts/build-ranks.js stops when tiktoken's pattern changes.
 */
const PRE_TOKENIZERS: Record<BpeEncodingName, string[]> = {
	o200k_base: [
		`[^\\r\\n\\p{L}\\p{N}]?${UPPER_OR_MARK}*${LOWER_OR_MARK}+(?:${CONTRACTION})?`,
		`[^\\r\\n\\p{L}\\p{N}]?${UPPER_OR_MARK}+${LOWER_OR_MARK}*(?:${CONTRACTION})?`,
		'\\p{N}{1,3}',
		` ?[^${WHITESPACE}\\p{L}\\p{N}]+[\\r\\n/]*`,
		`[${WHITESPACE}]*[\\r\\n]+`,
		`[${WHITESPACE}]+(?![^${WHITESPACE}])`,
		`[${WHITESPACE}]+`,
	],
	cl100k_base: [
		CONTRACTION,
		'[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
		'\\p{N}{1,3}',
		` ?[^${WHITESPACE}\\p{L}\\p{N}]+[\\r\\n]*`,
		`[${WHITESPACE}]*[\\r\\n]+`,
		`[${WHITESPACE}]+(?![^${WHITESPACE}])`,
		`[${WHITESPACE}]+`,
	],
};

/** Tokens in each ranks file, checked on load so a damaged file fails loudly instead of miscounting. */
const TOKEN_COUNTS: Record<BpeEncodingName, number> = { o200k_base: 199_998, cl100k_base: 100_256 };

/** Rank of a byte sequence that is not a token: higher than every real rank. */
const NOT_A_TOKEN = 0x7fffffff;
const EMPTY_SLOT = -1;

/**
 * Tokens by their bytes. `bytes` is the ranks file as decompressed (a length byte, then the token's
 * bytes, for every rank in order); `starts[rank]` is where the token's bytes begin; `slots` is an
 * open-addressing hash table (linear probing, FNV-1a) of ranks.
 */
class RankTable {
	private readonly mask: number;

	constructor(
		private readonly bytes: Uint8Array,
		private readonly starts: Uint32Array,
		private readonly slots: Int32Array,
		readonly longestToken: number,
	) {
		this.mask = slots.length - 1;
	}

	static fromFile(bytes: Uint8Array, expectedTokens: number): RankTable {
		const starts = new Uint32Array(expectedTokens);
		let tokens = 0;
		let longestToken = 0;
		for (let offset = 0; offset < bytes.length; offset += 1 + bytes[offset]) {
			if (tokens === expectedTokens) throw new Error(`holds more than ${expectedTokens} tokens`);
			starts[tokens++] = offset + 1;
			longestToken = Math.max(longestToken, bytes[offset]);
		}
		if (tokens !== expectedTokens) throw new Error(`holds ${tokens} tokens, not ${expectedTokens}`);
		// At least twice as many slots as tokens keeps probe runs short.
		const slots = new Int32Array(2 ** Math.ceil(Math.log2(tokens * 2))).fill(EMPTY_SLOT);
		const table = new RankTable(bytes, starts, slots, longestToken);
		for (let rank = 0; rank < tokens; rank++) table.insert(rank);
		return table;
	}

	/** The rank of `piece[from..to)`, or NOT_A_TOKEN. */
	rankOf(piece: Uint8Array, from: number, to: number): number {
		const length = to - from;
		if (length > this.longestToken) return NOT_A_TOKEN;
		const { bytes, starts, slots, mask } = this;
		for (let slot = hashOf(piece, from, to) & mask; ; slot = (slot + 1) & mask) {
			const rank = slots[slot];
			if (rank === EMPTY_SLOT) return NOT_A_TOKEN;
			const start = starts[rank];
			if (bytes[start - 1] !== length) continue;
			let index = 0;
			while (index < length && bytes[start + index] === piece[from + index]) index++;
			if (index === length) return rank;
		}
	}

	private insert(rank: number): void {
		const start = this.starts[rank];
		let slot = hashOf(this.bytes, start, start + this.bytes[start - 1]) & this.mask;
		while (this.slots[slot] !== EMPTY_SLOT) slot = (slot + 1) & this.mask;
		this.slots[slot] = rank;
	}
}

function hashOf(bytes: Uint8Array, from: number, to: number): number {
	let hash = 0x811c9dc5;
	for (let index = from; index < to; index++) hash = Math.imul(hash ^ bytes[index], 0x01000193);
	return hash >>> 0;
}

/** Working memory for one piece, grown to the longest piece seen; counting is synchronous, so one set serves all. */
let pieceBytes = new Uint8Array(1024);
let nextPart = new Int32Array(1024);
let previousPart = new Int32Array(1024);
let pairRank = new Int32Array(1024);
/** A min-heap of candidate joins, (rank, position) in two arrays: one entry per byte, then at most two per join. */
let heapRank = new Int32Array(3 * 1024);
let heapPosition = new Int32Array(3 * 1024);

function reserve(bytes: number): void {
	if (bytes <= pieceBytes.length) return;
	const size = 2 ** Math.ceil(Math.log2(bytes));
	pieceBytes = new Uint8Array(size);
	nextPart = new Int32Array(size);
	previousPart = new Int32Array(size);
	pairRank = new Int32Array(size);
	heapRank = new Int32Array(3 * size);
	heapPosition = new Int32Array(3 * size);
}

/**
 * Writes `text` as UTF-8 into pieceBytes and returns the byte count. A lone surrogate becomes
 * U+FFFD, as it does on its way into tiktoken's WebAssembly (TextEncoder).
 */
function writeUtf8(text: string): number {
	reserve(text.length * 3);
	const out = pieceBytes;
	let length = 0;
	for (let index = 0; index < text.length; index++) {
		let code = text.charCodeAt(index);
		if (code < 0x80) {
			out[length++] = code;
		} else if (code < 0x800) {
			out[length++] = 0xc0 | (code >> 6);
			out[length++] = 0x80 | (code & 0x3f);
		} else {
			if (code >= 0xd800 && code <= 0xdfff) {
				const low = text.charCodeAt(index + 1);
				if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
					const point = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
					out[length++] = 0xf0 | (point >> 18);
					out[length++] = 0x80 | ((point >> 12) & 0x3f);
					out[length++] = 0x80 | ((point >> 6) & 0x3f);
					out[length++] = 0x80 | (point & 0x3f);
					index++;
					continue;
				}
				code = 0xfffd;
			}
			out[length++] = 0xe0 | (code >> 12);
			out[length++] = 0x80 | ((code >> 6) & 0x3f);
			out[length++] = 0x80 | (code & 0x3f);
		}
	}
	return length;
}

/**
 * Tokens of one pre-tokenized piece: tiktoken's byte-pair merge. The piece starts as single bytes;
 * the adjacent pair whose joined bytes have the lowest rank is joined (the leftmost on a tie), and
 * again, until no adjacent pair is a token. tiktoken finds that pair by scanning all parts, O(n²)
 * in the piece's n bytes; here a heap of (rank, position) finds it in O(log n), so a long piece
 * costs O(n log n). A heap entry is stale once its part's rank changed: a part's pair only grows,
 * and a longer byte string has another rank, so comparing the rank tells.
 */
function countPieceTokens(table: RankTable, piece: string): number {
	const length = writeUtf8(piece);
	if (length === 0) return 0;
	if (table.rankOf(pieceBytes, 0, length) !== NOT_A_TOKEN) return 1;
	const bytes = pieceBytes;
	const next = nextPart;
	const previous = previousPart;
	const ranks = pairRank;
	const heap = new JoinHeap(heapRank, heapPosition);
	/** The rank of the part at `start` joined with the part after it. */
	const joinedRank = (start: number) => (next[start] < length ? table.rankOf(bytes, start, next[next[start]]) : NOT_A_TOKEN);
	for (let index = 0; index < length; index++) {
		next[index] = index + 1;
		previous[index] = index - 1;
		ranks[index] = index + 1 < length ? table.rankOf(bytes, index, index + 2) : NOT_A_TOKEN;
		if (ranks[index] !== NOT_A_TOKEN) heap.push(ranks[index], index);
	}

	let parts = length;
	while (heap.size > 0) {
		const rank = heap.lowestRank();
		const part = heap.pop();
		if (ranks[part] !== rank) continue;
		const joined = next[part];
		next[part] = next[joined];
		if (next[part] < length) previous[next[part]] = part;
		ranks[joined] = NOT_A_TOKEN;
		parts--;
		ranks[part] = joinedRank(part);
		if (ranks[part] !== NOT_A_TOKEN) heap.push(ranks[part], part);
		const before = previous[part];
		if (before >= 0) {
			ranks[before] = joinedRank(before);
			if (ranks[before] !== NOT_A_TOKEN) heap.push(ranks[before], before);
		}
	}
	return parts;
}

/** Candidate joins ordered by rank, then position (tiktoken's tie rule: the leftmost). */
class JoinHeap {
	size = 0;

	constructor(
		private readonly ranks: Int32Array,
		private readonly positions: Int32Array,
	) {}

	lowestRank(): number {
		return this.ranks[0];
	}

	push(rank: number, position: number): void {
		const { ranks, positions } = this;
		let index = this.size++;
		while (index > 0) {
			const parent = (index - 1) >> 1;
			if (ranks[parent] < rank || (ranks[parent] === rank && positions[parent] < position)) break;
			ranks[index] = ranks[parent];
			positions[index] = positions[parent];
			index = parent;
		}
		ranks[index] = rank;
		positions[index] = position;
	}

	/** Removes the lowest entry and returns its position. */
	pop(): number {
		const { ranks, positions } = this;
		const top = positions[0];
		const size = --this.size;
		const rank = ranks[size];
		const position = positions[size];
		let index = 0;
		for (;;) {
			let child = 2 * index + 1;
			if (child >= size) break;
			if (child + 1 < size && (ranks[child + 1] < ranks[child] || (ranks[child + 1] === ranks[child] && positions[child + 1] < positions[child]))) child++;
			if (rank < ranks[child] || (rank === ranks[child] && position < positions[child])) break;
			ranks[index] = ranks[child];
			positions[index] = positions[child];
			index = child;
		}
		ranks[index] = rank;
		positions[index] = position;
		return top;
	}
}

/** Reads the encoding's ranks file next to this module (nodes/core/ranks in the repository, dist/nodes/core/ranks when installed). */
export function loadBytePairEncoding(name: BpeEncodingName): BytePairEncoding {
	const file = path.join(__dirname, 'ranks', `${name}.bin`);
	let table: RankTable;
	try {
		table = RankTable.fromFile(brotliDecompressSync(readFileSync(file)), TOKEN_COUNTS[name]);
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		throw new Error(`The token counter's data for ${name} could not be read (${file}: ${reason}). Reinstall n8n-nodes-clawgate.`);
	}
	const pattern = new RegExp(PRE_TOKENIZERS[name].join('|'), 'gu');
	return {
		name,
		countTokens(text) {
			let tokens = 0;
			pattern.lastIndex = 0;
			for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) tokens += countPieceTokens(table, match[0]);
			return tokens;
		},
	};
}
