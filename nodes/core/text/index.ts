/**
 * Outbound text shaping, the one place for it (DESIGN.md "Layers"): send nodes pass the model's
 * Markdown and their platform's capabilities (format, limit, lines) and get messages to send.
 */
import { chunkText, splitterFor, type ChunkOptions, type TextChunk } from './chunk';
import { escapeSlackText, escapeTelegramHtml, markdownToPlain, markdownToSlackMrkdwn, markdownToTelegramHtml, telegramVisibleLength } from './markdown';

export { chunkText, splitText, type ChunkOptions, type TextChunk } from './chunk';
export { escapeSlackText, escapeTelegramHtml, markdownToPlain, markdownToSlackMrkdwn, markdownToTelegramHtml, telegramVisibleLength } from './markdown';

/** `markdown` is sent as written (Discord renders Markdown itself). */
export type TextFormat = 'telegram-html' | 'slack-mrkdwn' | 'plain' | 'markdown';

export interface FormatOptions extends ChunkOptions {
	format: TextFormat;
	/**
	 * What the limit counts: `sent` (default) the formatted text as sent, which is how Discord,
	 * Slack and Twilio count; `visible` the text a reader sees, which is how Telegram counts a
	 * message with HTML parse mode ("1-4096 characters after entities parsing"), so tags and
	 * escapes do not use up the limit. Other formats count `visible` as `sent`.
	 */
	count?: 'sent' | 'visible';
}

const CONVERT: Record<TextFormat, (markdown: string) => string> = {
	'telegram-html': markdownToTelegramHtml,
	'slack-mrkdwn': markdownToSlackMrkdwn,
	plain: markdownToPlain,
	markdown: (markdown) => markdown,
};

/** The smallest limit `formatAndChunk` accepts: five characters per escaped `&` and two per code point. */
export const MIN_FORMAT_LIMIT = 10;

/** `markdown` in the platform's format, without any splitting. */
export function formatMarkdown(markdown: string, format: TextFormat): string {
	return CONVERT[format](markdown);
}

/**
 * `markdown` as messages in `format`, each within `limit` and `maxLines` once formatted.
 *
 * The Markdown is chunked first (code fences closed and reopened, see `chunkText`) and each chunk
 * converted, so every message is well-formed on its own: balanced HTML tags, closed code blocks.
 * Formatting can make a chunk longer (HTML tags, `&amp;`); then that chunk is cut again from the
 * same start with a proportionally smaller limit, and what it leaves goes on into the next
 * message, so messages stay full. A chunk that cannot fit with its markup at all (only with a
 * tiny limit) is sent as escaped plain text. Messages with no visible text are left out, since
 * platforms reject empty messages.
 */
export function formatAndChunk(markdown: string, options: FormatOptions): string[] {
	const { format, limit, maxLines, count = 'sent' } = options;
	if (!Number.isInteger(limit) || limit < MIN_FORMAT_LIMIT) {
		throw new RangeError(`The text limit must be a whole number of characters, ${MIN_FORMAT_LIMIT} or more (got ${limit}).`);
	}
	const convert = CONVERT[format];
	const measure = format === 'telegram-html' && count === 'visible' ? telegramVisibleLength : (text: string) => text.length;
	const lineLimit = maxLines ?? Number.POSITIVE_INFINITY;
	const fits = (message: string) => measure(message) <= limit && message.split('\n').length <= lineLimit;
	const messages: string[] = [];
	const send = (message: string) => {
		if ((format === 'telegram-html' ? message.replace(/<[^>]*>/g, '') : message).trim() !== '') messages.push(message);
	};

	const split = splitterFor(markdown);
	const full: ChunkOptions = { limit, maxLines };
	let chunks = split(full);
	for (let step = chunks.next(); !step.done; step = chunks.next()) {
		let chunk: TextChunk = step.value;
		let message = convert(chunk.text);
		if (fits(message)) {
			send(message);
			continue;
		}
		// Too long once formatted: cut again from the same start, smaller, until the first piece
		// fits; what it leaves is chunked at the full limit again. Each turn lowers a limit.
		let piece = full;
		let pieces = chunks;
		for (;;) {
			const length = measure(message);
			const lines = message.split('\n').length;
			const smaller: ChunkOptions = {
				limit: length > limit ? Math.min(piece.limit - 1, Math.floor((chunk.text.length * limit) / length)) : piece.limit,
				maxLines: lines > lineLimit ? Math.min(piece.maxLines ?? lines, lines) - (lines - lineLimit) : piece.maxLines,
			};
			if (smaller.limit < 2 || (smaller.maxLines !== undefined && smaller.maxLines < 1)) {
				asPlainText(chunk.text, format, limit, maxLines).forEach(send);
				break;
			}
			piece = smaller;
			pieces = split(piece, chunk.start);
			chunk = pieces.next().value as TextChunk;
			message = convert(chunk.text);
			if (fits(message)) {
				send(message);
				break;
			}
		}
		const after = pieces.next();
		if (after.done) break;
		chunks = split(full, after.value.start);
	}
	return messages;
}

/** The last resort: no markup, escaped where the format needs it, split small enough for the escapes. */
function asPlainText(piece: string, format: TextFormat, limit: number, maxLines: number | undefined): string[] {
	const escape = format === 'telegram-html' ? escapeTelegramHtml : format === 'slack-mrkdwn' ? escapeSlackText : (text: string) => text;
	// `&` → `&amp;` is the largest growth of an escape.
	const growth = format === 'telegram-html' || format === 'slack-mrkdwn' ? 5 : 1;
	return chunkText(markdownToPlain(piece), { limit: Math.floor(limit / growth), maxLines }).map(escape);
}
