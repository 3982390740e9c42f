/**
 * Splitting long outbound text into messages a platform accepts (DESIGN.md "Triggers and send
 * nodes": split at the platform's limit without breaking code fences, words or surrogate pairs).
 *
 * Every limit here is counted in UTF-16 code units (JavaScript's `string.length`), because that is
 * how the platforms count: Telegram 4096 per message (1024 per caption), Discord 2000 per message
 * content, Slack 40000 per `text` (3000 per section block, so Block Kit senders pass that), Twilio
 * 1600 per message body (SMS and WhatsApp). An astral emoji such as 👍 counts as 2.
 */

export interface ChunkOptions {
	/** Most UTF-16 code units in one chunk, fence lines added by the split included. */
	limit: number;
	/** Most lines in one chunk (Discord clients collapse tall messages; OpenClaw uses 17 there). */
	maxLines?: number;
}

/**
 * One chunk and where it came from. The content invariant, for `splitText(text, options)`:
 * - `chunk.text === chunk.reopenedFence + text.slice(chunk.start, chunk.end) + chunk.closingFence`;
 * - the chunks are in order and do not overlap, and what lies between them (before the first
 *   chunk, between two chunks, after the last) is whitespace only (as `String.prototype.trim`
 *   sees it): the whitespace at the split, or none where a word too long for a chunk was cut;
 * - so joining the bodies `text.slice(start, end)` with that whitespace gives back `text` exactly;
 * - every body holds at least one non-whitespace character, and every `chunk.text` fits the
 *   limit and line count. Text that is only whitespace gives no chunks.
 */
export interface TextChunk {
	text: string;
	start: number;
	end: number;
	/** The fence's opening line and a line break (```` ```python\n ````) when the chunk starts inside a code block. */
	reopenedFence: string;
	/** A line break and the closing fence (`\n```) when the chunk ends inside a code block that goes on. */
	closingFence: string;
}

/**
 * `text` split into chunks of at most `limit` code units (and `maxLines` lines), at the best
 * place that keeps a chunk at least half full: a blank line (or just before a code block, a
 * heading, or after a code block), then a line break, then a sentence end, then a space, then
 * between two CJK characters. A word is cut only when it alone is longer than the room in a
 * chunk, and then between grapheme clusters (emoji, flags and ZWJ sequences stay whole), or
 * between code points when a single cluster is larger than a chunk: a surrogate pair is never cut.
 *
 * A chunk that ends inside a ``` (or ~~~) code block gets a closing fence and the next one
 * starts with the block's opening line again, language included, so each chunk renders as
 * valid Markdown on its own; a code block that fits in a fresh chunk moves there whole instead
 * of being cut. Whitespace at a split is dropped, except the indentation of the next line.
 * Fences are repeated only while their lines take at most half of a chunk (a limit of 16 or
 * more, `maxLines` 4 or more; an info string that is too long is left out of the repeat), and
 * only for fences at the start of a line, not inside a quote.
 */
export function chunkText(text: string, options: ChunkOptions): string[] {
	return splitText(text, options).map((chunk) => chunk.text);
}

/** Like `chunkText`, with each chunk's position in `text` (see `TextChunk` for the invariant). */
export function splitText(text: string, options: ChunkOptions): TextChunk[] {
	return [...splitterFor(text)(options)];
}

/**
 * Splits of `text` that share one scan of its code fences: each call gives chunks one at a time,
 * with its own limits, from `from` on (0, or the `start` of a chunk an earlier call gave).
 * For callers that split the same text again with other limits, such as `formatAndChunk`.
 */
export function splitterFor(text: string): (options: ChunkOptions, from?: number) => IterableIterator<TextChunk> {
	const index = new TextIndex(text);
	return (options, from) => {
		const { limit, maxLines } = checkOptions(options);
		return new Splitter(index, limit, maxLines).chunks(from);
	};
}

/** Characters a line may be broken at; no-break spaces (U+00A0, U+2007, U+202F) are not among them. */
function isBreakingSpace(code: number): boolean {
	return (
		code === 0x20 ||
		(code >= 0x09 && code <= 0x0d) ||
		code === 0x1680 ||
		(code >= 0x2000 && code <= 0x200a && code !== 0x2007) ||
		code === 0x2028 ||
		code === 0x2029 ||
		code === 0x205f ||
		code === 0x3000
	);
}

/** Whitespace as `String.prototype.trim` sees it: breaking spaces and the no-break ones. */
function isWhitespace(code: number): boolean {
	return isBreakingSpace(code) || code === 0xa0 || code === 0x2007 || code === 0x202f || code === 0xfeff;
}

function checkOptions({ limit, maxLines }: ChunkOptions): { limit: number; maxLines: number } {
	// Two units is the least that holds any code point, so a surrogate pair never has to be cut.
	if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`The text limit must be a whole number of characters, 2 or more (got ${limit}).`);
	if (maxLines !== undefined && (!Number.isInteger(maxLines) || maxLines < 1)) {
		throw new RangeError(`The line limit must be a whole number of lines, 1 or more (got ${maxLines}).`);
	}
	return { limit, maxLines: maxLines ?? Number.POSITIVE_INFINITY };
}

/** A fenced code block, by positions in the text. */
interface Fence {
	openStart: number;
	/** Index of the line break ending the opening line (or the text's length). */
	openEnd: number;
	/** Start of the closing line; the text's length when the block is never closed (it then runs to the end). */
	closeStart: number;
	/** End of the closing fence's backticks or tildes. */
	closeEnd: number;
	closed: boolean;
	/** The opening line and a line break, to start a chunk inside the block. */
	reopen: string;
	/** A line break and a closing fence, to end a chunk inside the block. */
	close: string;
}

// How good a split point is; higher is better.
const enum Rank {
	Hard = 0,
	CjkBoundary = 1,
	Space = 2,
	Sentence = 3,
	LineInCode = 4,
	Line = 5,
	Paragraph = 6,
}

const PREFERENCE = [Rank.Paragraph, Rank.Line, Rank.LineInCode, Rank.Sentence, Rank.Space, Rank.CjkBoundary];

interface Candidate {
	/** Where the chunk's body ends (trailing whitespace excluded). */
	end: number;
	/** Where the next chunk's body starts. */
	next: number;
	rank: Rank;
}

const FENCE_START = /^( *)(`{3,}|~{3,})/;
const FENCE_CLOSE = /^( *)(`{3,}|~{3,})[ \t\r]*$/;
const HEADING = /^ {0,3}#{1,6}[ \t]/;
// Closing quotes and brackets may follow a sentence's final punctuation: 'he said "no."'
const SENTENCE_END = /[.!?…。！？‼⁇⁈⁉][)\]}"'’”»」』）]*$/u;

let graphemes: Intl.Segmenter | undefined;

/**
 * What every split of one text asks about it, worked out once in a pass over the text, so that
 * each question costs constant time however long the runs of spaces or lines are.
 */
class TextIndex {
	/** For each position, the next one that is not whitespace (the text's length when none is). */
	readonly nextContent: Int32Array;
	/** For each position, the next breaking space at or after it (the text's length when none is). */
	readonly nextBreakingSpace: Int32Array;
	/** For each position, how many line breaks come before it. */
	readonly lineBreaksBefore: Int32Array;
	/** End of the text without its trailing whitespace. */
	readonly contentEnd: number;
	readonly fences: Fence[];
	readonly fenceByOpenStart = new Map<number, Fence>();
	readonly fenceByCloseEnd = new Map<number, Fence>();

	constructor(readonly text: string) {
		const length = text.length;
		this.nextContent = new Int32Array(length + 1);
		this.nextBreakingSpace = new Int32Array(length + 1);
		this.lineBreaksBefore = new Int32Array(length + 1);
		this.nextContent[length] = length;
		this.nextBreakingSpace[length] = length;
		for (let i = length - 1; i >= 0; i--) {
			const code = text.charCodeAt(i);
			this.nextContent[i] = isWhitespace(code) ? this.nextContent[i + 1] : i;
			this.nextBreakingSpace[i] = isBreakingSpace(code) ? i : this.nextBreakingSpace[i + 1];
		}
		for (let i = 0; i < length; i++) this.lineBreaksBefore[i + 1] = this.lineBreaksBefore[i] + (text.charCodeAt(i) === 0x0a ? 1 : 0);
		let end = length;
		while (end > 0 && isWhitespace(text.charCodeAt(end - 1))) end--;
		this.contentEnd = end;
		this.fences = findFences(text);
		for (const fence of this.fences) {
			this.fenceByOpenStart.set(fence.openStart, fence);
			if (fence.closed) this.fenceByCloseEnd.set(fence.closeEnd, fence);
		}
	}

	hasContent(start: number, end: number): boolean {
		return start < end && this.nextContent[start] < end;
	}

	lineBreaks(start: number, end: number): number {
		return this.lineBreaksBefore[end] - this.lineBreaksBefore[start];
	}
}

class Splitter {
	private readonly text: string;
	private readonly contentEnd: number;
	/** Each fence as this split repeats it (`undefined`: treated as text); worked out when first met. */
	private readonly repeats = new Map<Fence, Fence | undefined>();

	constructor(
		private readonly index: TextIndex,
		private readonly limit: number,
		private readonly maxLines: number,
	) {
		this.text = index.text;
		this.contentEnd = index.contentEnd;
	}

	*chunks(from = 0): IterableIterator<TextChunk> {
		let start = from === 0 ? this.nextBodyStart(0, this.index.nextContent[0]) : from;
		while (start < this.contentEnd) {
			const reopenedFence = this.fenceAround(start)?.reopen ?? '';
			// The last chunk ends where the text does: an unclosed block stays unclosed, as written.
			if (this.fits(reopenedFence, start, this.contentEnd, '')) {
				yield this.chunk(reopenedFence, start, this.contentEnd, '');
				return;
			}
			const split = this.chooseSplit(start, reopenedFence);
			yield this.chunk(reopenedFence, start, split.end, this.closingFence(split.end));
			start = split.next;
		}
	}

	private chunk(reopenedFence: string, start: number, end: number, closingFence: string): TextChunk {
		return { text: reopenedFence + this.text.slice(start, end) + closingFence, start, end, reopenedFence, closingFence };
	}

	/**
	 * A fence is repeated only when its lines leave at least half of a chunk for the code; when
	 * its opening line is too long for that, it is repeated without the info string. A fence whose
	 * own opening line cannot fit in a chunk beside its closing one is text, and may be split at
	 * its spaces: kept whole, it could not be sent at all.
	 */
	private repeatable(fence: Fence): Fence | undefined {
		if (this.repeats.has(fence)) return this.repeats.get(fence);
		let repeat: Fence | undefined;
		const closeLength = Math.max(fence.close.length, 1 + fence.closeEnd - fence.closeStart);
		const room = Math.floor(this.limit / 2) - closeLength;
		if (this.maxLines < 4 || fence.openEnd - fence.openStart + closeLength > this.limit) repeat = undefined;
		else if (fence.reopen.length <= room) repeat = fence;
		else {
			const bare = `${fence.close.slice(1)}\n`;
			repeat = bare.length <= room ? { ...fence, reopen: bare } : undefined;
		}
		this.repeats.set(fence, repeat);
		return repeat;
	}

	/** The repeated fence whose code a chunk boundary at `position` falls in, if any. */
	private fenceAround(position: number): Fence | undefined {
		const fence = this.fenceSpanning(position);
		return fence && position >= fence.openEnd && (position < fence.closeEnd || !fence.closed) ? fence : undefined;
	}

	private closingFence(end: number): string {
		return this.fenceAround(end)?.close ?? '';
	}

	/** The repeated fence with `openStart < position <= closeEnd` (fences never overlap). */
	private fenceSpanning(position: number): Fence | undefined {
		const fences = this.index.fences;
		let low = 0;
		let high = fences.length - 1;
		while (low <= high) {
			const middle = (low + high) >> 1;
			const fence = fences[middle];
			if (position <= fence.openStart) high = middle - 1;
			else if (position > fence.closeEnd) low = middle + 1;
			else return this.repeatable(fence);
		}
		return undefined;
	}

	private repeatedFenceAt(openStart: number): Fence | undefined {
		const fence = this.index.fenceByOpenStart.get(openStart);
		return fence && this.repeatable(fence);
	}

	private fits(reopenedFence: string, start: number, end: number, closingFence: string): boolean {
		if (reopenedFence.length + (end - start) + closingFence.length > this.limit) return false;
		return this.maxLines === Number.POSITIVE_INFINITY || this.lines(reopenedFence, start, end, closingFence) <= this.maxLines;
	}

	private lines(reopenedFence: string, start: number, end: number, closingFence: string): number {
		return 1 + (reopenedFence ? 1 : 0) + this.index.lineBreaks(start, end) + (closingFence ? 1 : 0);
	}

	/** Chunk fullness, 0 to 1, by characters or lines, whichever is fuller. */
	private fill(reopenedFence: string, start: number, end: number): number {
		const closingFence = this.closingFence(end);
		const characters = (reopenedFence.length + end - start + closingFence.length) / this.limit;
		if (this.maxLines === Number.POSITIVE_INFINITY) return characters;
		return Math.max(characters, this.lines(reopenedFence, start, end, closingFence) / this.maxLines);
	}

	/**
	 * A split must leave text on both sides and must not fall inside a fence line (that would
	 * unbalance the fences). `strict` also refuses splits that leave an empty code block: just
	 * after an opening fence or just before a closing one; those are used only when nothing else fits.
	 */
	private isAllowed(start: number, { end, next }: Candidate, strict: boolean): boolean {
		if (end <= start || !this.index.hasContent(start, end) || !this.index.hasContent(next, this.contentEnd)) return false;
		const atEnd = this.fenceSpanning(end);
		if (atEnd && (end < atEnd.openEnd || (strict && end === atEnd.openEnd) || (atEnd.closed && end > atEnd.closeStart && end < atEnd.closeEnd))) return false;
		const atNext = this.fenceSpanning(next);
		if (atNext && (next <= atNext.openEnd || (atNext.closed && ((strict && next === atNext.closeStart) || (next > atNext.closeStart && next < atNext.closeEnd))))) return false;
		return true;
	}

	private chooseSplit(start: number, reopenedFence: string): Candidate {
		const best = new Map<Rank, Candidate>();
		let furthest: Candidate | undefined;
		let beforeFence: Candidate | undefined;
		let emptyBlock: Candidate | undefined;
		const consider = (candidate: Candidate) => {
			if (!this.isAllowed(start, candidate, false) || !this.fits(reopenedFence, start, candidate.end, this.closingFence(candidate.end))) return;
			if (!this.isAllowed(start, candidate, true)) {
				emptyBlock = candidate;
				return;
			}
			best.set(candidate.rank, candidate);
			furthest = candidate;
			// A code block that does not fit here but fits a fresh chunk goes there whole.
			const fence = this.repeatedFenceAt(candidate.next);
			if (fence && !this.fits(reopenedFence, start, fence.closeEnd, '') && this.fits('', fence.openStart, fence.closeEnd, '')) beforeFence = candidate;
		};

		const { text, index } = this;
		const room = this.limit - reopenedFence.length;
		const stop = Math.min(this.contentEnd, start + room);
		for (let i = start; i <= stop && 1 + (reopenedFence ? 1 : 0) + index.lineBreaks(start, i) <= this.maxLines; i++) {
			if (isWhitespace(text.charCodeAt(i))) {
				const runEnd = index.nextContent[i];
				// Whitespace of no-break spaces alone is no place to split.
				if (i > start && index.nextBreakingSpace[i] < runEnd) consider({ end: i, next: this.nextBodyStart(i, runEnd), rank: this.rankSpace(i, runEnd, index.lineBreaks(i, runEnd)) });
				i = runEnd - 1;
			} else if (i > start && isCjkBreak(text, i)) {
				const rank = SENTENCE_END.test(text.slice(Math.max(start, i - 8), i)) ? Rank.Sentence : Rank.CjkBoundary;
				consider({ end: i, next: i, rank });
			}
		}

		if (beforeFence) return beforeFence;
		for (const rank of PREFERENCE) {
			const candidate = best.get(rank);
			if (candidate && this.fill(reopenedFence, start, candidate.end) >= 0.5) return candidate;
		}
		return furthest ?? emptyBlock ?? this.hardSplit(start, reopenedFence, room);
	}

	private rankSpace(runStart: number, runEnd: number, lineBreaks: number): Rank {
		const inCode = this.fenceAround(runStart) !== undefined;
		if (lineBreaks > 0) {
			const lineStart = this.text.lastIndexOf('\n', runEnd - 1) + 1;
			const closesFence = this.index.fenceByCloseEnd.get(runStart);
			const atBlockEdge =
				this.repeatedFenceAt(lineStart) !== undefined || (closesFence !== undefined && this.repeatable(closesFence) !== undefined) || (!inCode && HEADING.test(this.text.slice(lineStart, lineStart + 8)));
			if (atBlockEdge) return Rank.Paragraph;
			if (inCode) return Rank.LineInCode;
			return lineBreaks > 1 ? Rank.Paragraph : Rank.Line;
		}
		if (!inCode && SENTENCE_END.test(this.text.slice(Math.max(0, runStart - 8), runStart))) return Rank.Sentence;
		return Rank.Space;
	}

	/**
	 * Where the next body starts after the whitespace `[runStart, runEnd)`: at the start of its
	 * last line, so that line's indentation (code, nested lists) survives, unless the whitespace
	 * has no line break (mid-line, except at the very start) or the indentation is a quarter of a
	 * chunk or more.
	 */
	private nextBodyStart(runStart: number, runEnd: number): number {
		if (this.index.lineBreaks(runStart, runEnd) === 0) return runStart === 0 ? (runEnd < this.limit / 4 ? 0 : runEnd) : runEnd;
		const lineStart = this.text.lastIndexOf('\n', runEnd - 1) + 1;
		return runEnd - lineStart < this.limit / 4 ? lineStart : runEnd;
	}

	/**
	 * No whitespace to split at within the room: a word longer than a chunk, or a line of fences
	 * or no-break spaces. Cut at the furthest place that fits, by preference between grapheme
	 * clusters, else between code points (a surrogate pair is never cut); and where it can, not
	 * inside a run of three or more backticks or tildes (a fence marker) nor where the split would
	 * unbalance a code block. Whitespace at the cut goes between the chunks, so no chunk starts or
	 * ends with it. One walk over the room.
	 */
	private hardSplit(start: number, reopenedFence: string, room: number): Candidate {
		const { text, index } = this;
		const windowEnd = Math.min(this.contentEnd, start + room);
		// The furthest cut of each kind, best kind first: a cluster boundary that keeps markers and
		// blocks whole; a code point boundary that does; one that leaves an empty code block; any.
		// Walking back from the end of the room, the first cut of the best kind ends the search.
		const furthest: (Candidate | undefined)[] = [];
		for (let cut = windowEnd; cut > start && furthest[0] === undefined; cut--) {
			if (isLowSurrogate(text.charCodeAt(cut)) && isHighSurrogate(text.charCodeAt(cut - 1))) continue;
			let end = cut;
			if (isWhitespace(text.charCodeAt(cut - 1))) {
				// Every cut in a run of whitespace is the same split: the run goes between the chunks.
				while (end > start && isWhitespace(text.charCodeAt(end - 1))) end--;
				cut = end + 1;
				if (end === start) continue;
			}
			const candidate: Candidate = { end, next: index.nextContent[end], rank: Rank.Hard };
			if (candidate.next >= this.contentEnd || !this.fits(reopenedFence, start, candidate.end, this.closingFence(candidate.end))) continue;
			const keepsMarker = !(candidate.next === end && isInsideFenceMarker(text, end));
			if (keepsMarker && this.isAllowed(start, candidate, true)) {
				if (candidate.next !== end || isGraphemeBoundary(text, end, start)) furthest[0] = candidate;
				else furthest[1] ??= candidate;
			} else if (keepsMarker && this.isAllowed(start, candidate, false)) furthest[2] ??= candidate;
			else furthest[3] ??= candidate;
			if (!keepsMarker) {
				// The other cuts inside this run of backticks or tildes are no better: go on before it.
				let runStart = end;
				while (runStart > start && text[runStart - 1] === text[end]) runStart--;
				cut = runStart + 1;
			}
		}
		const split = furthest[0] ?? furthest[1] ?? furthest[2] ?? furthest[3];
		if (split) return split;
		// Unreachable with a limit of 2 or more; kept so that a bug cannot become an endless loop or an empty chunk.
		const first = index.nextContent[start];
		const end = first + (isHighSurrogate(text.charCodeAt(first)) ? 2 : 1);
		return { end, next: index.nextContent[end], rank: Rank.Hard };
	}
}

/**
 * Whether a cut at `position` (between two code points) falls between grapheme clusters (UAX #29),
 * with `start` a known boundary before it. The common cases (Latin, CJK, Hangul, emoji with skin
 * tones or variation selectors, flags) are decided here; the rest asks `Intl.Segmenter` about a
 * few characters around the cut, because segmenting a whole chunk costs more than linear time in
 * Node's ICU (16,000 characters take about 0.2 s).
 */
function isGraphemeBoundary(text: string, position: number, start: number): boolean {
	const before = text.codePointAt(isLowSurrogate(text.charCodeAt(position - 1)) && position >= 2 ? position - 2 : position - 1)!;
	const after = text.codePointAt(position)!;
	if (before === 0x0d && after === 0x0a) return false;
	// Controls and lone surrogates are clusters of their own (GB4, GB5).
	if (before < 0x20 || after < 0x20 || (before >= 0xd800 && before <= 0xdfff) || (after >= 0xd800 && after <= 0xdfff)) return true;
	if (isExtending(after)) return false;
	if (isRegionalIndicator(before) && isRegionalIndicator(after)) {
		// Flags are pairs: the cut is between two only after an even number of indicators.
		let count = 0;
		for (let i = position; i - 2 >= start && isRegionalIndicator(text.codePointAt(i - 2)!); i -= 2) count++;
		return count % 2 === 0;
	}
	// After a joiner even © may continue an emoji sequence; that case goes to the segmenter.
	if (isSimple(after) && before !== 0x200d && (isSimple(before) || isExtending(before) || (before >= 0x1f300 && before <= 0x1faff))) return true;
	graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
	const from = Math.max(start, position - GRAPHEME_LOOKAROUND);
	let offset = from;
	for (const { segment } of graphemes.segment(text.slice(from, Math.min(text.length, position + GRAPHEME_LOOKAROUND)))) {
		offset += segment.length;
		// A cluster that began before the window is longer than any writing system needs (a run of
		// combining marks, "Zalgo" text): it may be cut, or every cut of a long run would be refused
		// and each refusal would cost a segmenter call.
		if (offset >= position) return offset === position || (segment.length === offset - from && from > start);
	}
	return true;
}

/** Code units looked at on each side of a cut; a grapheme cluster longer than this may be split. */
const GRAPHEME_LOOKAROUND = 32;

/** Characters no cluster rule joins to what comes before them (below U+0300, CJK, Hangul syllables), nor to what follows. */
function isSimple(code: number): boolean {
	if (code < 0x300) return true;
	if (code === 0x3099 || code === 0x309a || (code >= 0x302a && code <= 0x302f) || code === 0xff9e || code === 0xff9f) return false;
	return (code >= 0x3000 && code <= 0x9fff) || (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) || (code >= 0xff00 && code <= 0xffef);
}

/** Extend and ZWJ characters that are always part of the cluster before them: skin tones, variation selectors, the joiner, tags. */
function isExtending(code: number): boolean {
	return (code >= 0x1f3fb && code <= 0x1f3ff) || (code >= 0xfe00 && code <= 0xfe0f) || code === 0x200d || (code >= 0xe0020 && code <= 0xe007f);
}

function isRegionalIndicator(code: number): boolean {
	return code >= 0x1f1e6 && code <= 0x1f1ff;
}

/** Whether `position` falls inside a run of three or more backticks or tildes (looking no further than that). */
function isInsideFenceMarker(text: string, position: number): boolean {
	const char = text[position];
	if ((char !== '`' && char !== '~') || text[position - 1] !== char) return false;
	return text[position - 2] === char || text[position + 1] === char;
}

/** Fenced code blocks (CommonMark: ``` or ~~~, three or more, closed by at least as many). */
function findFences(text: string): Fence[] {
	const fences: Fence[] = [];
	let open: { openStart: number; openEnd: number; indent: string; marker: string; line: string } | undefined;
	const close = (closeStart: number, closeEnd: number, closed: boolean) => {
		const { openStart, openEnd, indent, marker, line } = open!;
		fences.push({ openStart, openEnd, closeStart, closeEnd, closed, reopen: `${line}\n`, close: `\n${indent}${marker}` });
		open = undefined;
	};
	for (let lineStart = 0; lineStart <= text.length; ) {
		let lineEnd = text.indexOf('\n', lineStart);
		if (lineEnd < 0) lineEnd = text.length;
		const line = text.slice(lineStart, lineEnd);
		if (!open) {
			const match = FENCE_START.exec(line);
			const info = match ? trimEndOfLine(line.slice(match[0].length)) : '';
			// A backtick fence's info string cannot hold a backtick: "```js`" is inline code.
			if (match && !(match[2][0] === '`' && info.includes('`'))) {
				open = { openStart: lineStart, openEnd: lineEnd, indent: match[1], marker: match[2], line: match[0] + info };
			}
		} else {
			const match = FENCE_CLOSE.exec(line);
			if (match && match[2][0] === open.marker[0] && match[2].length >= open.marker.length) close(lineStart, lineStart + match[1].length + match[2].length, true);
		}
		lineStart = lineEnd + 1;
	}
	if (open) close(text.length, text.length, false);
	return fences;
}

/** `line` without trailing spaces, tabs and carriage returns (a regular expression would backtrack over a long run of them). */
function trimEndOfLine(line: string): string {
	let end = line.length;
	while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t' || line[end - 1] === '\r')) end--;
	return line.slice(0, end);
}

function isHighSurrogate(code: number): boolean {
	return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
	return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Chinese and Japanese are written without spaces and may be broken between any two characters,
 * except before closing punctuation or after opening punctuation (kinsoku rules, simplified).
 */
function isCjkBreak(text: string, index: number): boolean {
	const before = text.charCodeAt(index - 1);
	const after = text.charCodeAt(index);
	return isCjk(before) && isCjk(after) && !CJK_NO_BREAK_BEFORE.has(after) && !CJK_NO_BREAK_AFTER.has(before);
}

function isCjk(code: number): boolean {
	return (
		(code >= 0x3001 && code <= 0x30ff) || // CJK punctuation, hiragana, katakana (not the ideographic space)
		(code >= 0x3400 && code <= 0x4dbf) ||
		(code >= 0x4e00 && code <= 0x9fff) ||
		(code >= 0xf900 && code <= 0xfaff) ||
		(code >= 0xff01 && code <= 0xff60) // full-width forms
	);
}

// The combining voiced sound marks (U+3099, U+309A) belong to the kana before them.
const CJK_NO_BREAK_BEFORE = new Set([...'、。，．：；！？）」』】〕〉》〙〗ー々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ\u3099\u309a'].map((c) => c.charCodeAt(0)));
const CJK_NO_BREAK_AFTER = new Set([...'（「『【〔〈《〘〖'].map((c) => c.charCodeAt(0)));
