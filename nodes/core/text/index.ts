/**
 * Outbound text shaping, the one place for it (DESIGN.md "Layers"): send nodes pass the model's
 * Markdown, their platform's renderer and limits, and get messages to send.
 */
import { chunkText, splitterFor, type ChunkOptions, type TextChunk } from './chunk';
import { markdownToPlain } from './markdown';
import type { TextRenderer } from './renderer';

export { chunkText, splitText, splitterFor, type ChunkOptions, type TextChunk } from './chunk';
export { inlineText, isSafeLinkUrl, markdownToPlain, neutralizeUnsafeLinks, parseMarkdown, renderMarkdown, type Block, type Inline } from './markdown';
export { markdownRenderer, plainRenderer, type TextRenderer } from './renderer';

export interface FormatOptions extends ChunkOptions {
	/** The platform's format: `plainRenderer`, `markdownRenderer`, or one from a platform folder. */
	renderer: TextRenderer;
}

/** The smallest limit `formatAndChunk` accepts: five characters per escaped `&` and two per code point. */
export const MIN_FORMAT_LIMIT = 10;

/**
 * How often a chunk too long once formatted is cut again, smaller, before it is sent as escaped
 * plain text. Each cut is proportional to the overshoot, so one or two are the rule; the bound
 * keeps the work per message a constant times the limit, whatever the text.
 */
const MAX_CUTS = 4;

/**
 * `markdown` as messages in the renderer's format, each within `limit` and `maxLines` as the
 * platform counts them (`renderer.measure`), in time linear in the text.
 *
 * The Markdown is chunked first (code fences closed and reopened, see `chunkText`) and each chunk
 * rendered, so every message is well-formed on its own: balanced HTML tags, closed code blocks.
 * Rendering can make a chunk longer (HTML tags, `&amp;`); then that chunk is cut again from the
 * same start with a proportionally smaller limit, and what it leaves goes on into the next
 * message, so messages stay full. A chunk that still does not fit after a few cuts (only with a
 * tiny limit) is sent as escaped plain text. Messages that show nothing are left out, since
 * platforms reject empty messages.
 */
export function formatAndChunk(markdown: string, options: FormatOptions): string[] {
	const { renderer, limit, maxLines } = options;
	if (!Number.isInteger(limit) || limit < MIN_FORMAT_LIMIT) {
		throw new RangeError(`The text limit for ${renderer.name} must be a whole number of characters, ${MIN_FORMAT_LIMIT} or more (got ${limit}).`);
	}
	const measure = (message: string) => (renderer.measure ? renderer.measure(message) : message.length);
	const lineLimit = maxLines ?? Number.POSITIVE_INFINITY;
	const fits = (message: string) => measure(message) <= limit && lineCount(message) <= lineLimit;
	const messages: string[] = [];
	const send = (message: string) => {
		if (renderer.isVisible ? renderer.isVisible(message) : /\S/.test(message)) messages.push(message);
	};

	const split = splitterFor(markdown);
	const full: ChunkOptions = { limit, maxLines };
	// After a cut, the limit that fitted carries on (a text of emoji on a platform counting bytes
	// would otherwise be cut twice per message); once messages come out less than two thirds full
	// at it, the full limit is tried again.
	let current = full;
	let chunks = split(current);
	for (let step = chunks.next(); !step.done; step = chunks.next()) {
		let chunk: TextChunk = step.value;
		let message = renderer.render(chunk.text);
		if (fits(message)) {
			send(message);
			if (current !== full && measure(message) * 3 < limit * 2) {
				const next = chunks.next();
				if (next.done) break;
				current = full;
				chunks = split(current, next.value.start);
			}
			continue;
		}
		// Too long once rendered: cut again from the same start, smaller, until the first piece
		// fits; what it leaves is chunked at the limit that fitted. Each cut lowers a limit.
		let piece = current;
		let pieces = chunks;
		for (let cut = 1; ; cut++) {
			const length = measure(message);
			const lines = lineCount(message);
			const smaller: ChunkOptions = {
				limit: length > limit ? Math.min(piece.limit - 1, Math.floor((chunk.text.length * limit) / length)) : piece.limit,
				maxLines: lines > lineLimit ? Math.min(piece.maxLines ?? lines, lines) - (lines - lineLimit) : piece.maxLines,
			};
			if (cut > MAX_CUTS || smaller.limit < 2 || (smaller.maxLines !== undefined && smaller.maxLines < 1)) {
				asPlainText(chunk.text, renderer, limit, maxLines).forEach(send);
				piece = full;
				break;
			}
			piece = smaller;
			pieces = split(piece, chunk.start);
			chunk = pieces.next().value as TextChunk;
			message = renderer.render(chunk.text);
			if (fits(message)) {
				send(message);
				break;
			}
		}
		const after = pieces.next();
		if (after.done) break;
		current = piece;
		chunks = split(current, after.value.start);
	}
	return messages;
}

/** The last resort: no markup, escaped for the format, split small enough for the escapes to fit. */
function asPlainText(piece: string, renderer: TextRenderer, limit: number, maxLines: number | undefined): string[] {
	return chunkText(markdownToPlain(piece), { limit: Math.floor(limit / renderer.escapeGrowth), maxLines }).map((text) => renderer.escape(text));
}

function lineCount(text: string): number {
	let lines = 1;
	for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
	return lines;
}
