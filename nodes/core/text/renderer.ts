/**
 * How a platform shows Markdown: each platform folder defines one renderer and passes it to
 * `formatAndChunk`, so no platform's rendering lives in core (DESIGN.md "Layers").
 */
import { markdownToPlain, neutralizeUnsafeLinks } from './markdown';

export interface TextRenderer {
	/** Shown in error messages ("Telegram HTML"). */
	readonly name: string;
	/** Markdown as the model wrote it → the platform's format. Linear in the input. */
	render(markdown: string): string;
	/** Plain text escaped for the format (the last resort when markup cannot fit). */
	escape(text: string): string;
	/** The most characters `escape` makes of one (`&` → `&amp;` is 5). */
	readonly escapeGrowth: number;
	/** The length the platform counts against its limit; default the string length. */
	measure?(formatted: string): number;
	/** Whether a formatted message shows anything (platforms reject empty messages); default: non-whitespace present. */
	isVisible?(formatted: string): boolean;
}

/** SMS and WhatsApp through Twilio: no formatting, links written out as "text (url)". */
export const plainRenderer: TextRenderer = {
	name: 'plain text',
	render: markdownToPlain,
	escape: (text) => text,
	escapeGrowth: 1,
};

/**
 * Platforms that render Markdown themselves (Discord): sent as written, except that links of
 * unsafe schemes are made text. A message that is only markup (a lone ``` line) shows nothing.
 */
export const markdownRenderer: TextRenderer = {
	name: 'Markdown',
	render: neutralizeUnsafeLinks,
	// A backslash before punctuation shows the punctuation itself.
	escape: (text) => text.replace(/[\\`*_~|[\]<>#]/g, '\\$&'),
	escapeGrowth: 2,
	isVisible: (markdown) => /\S/.test(markdownToPlain(markdown)),
};
