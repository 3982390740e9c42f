/**
 * Markdown → Telegram Bot API `parse_mode: "HTML"`: only the tags Telegram knows, everything else
 * escaped (https://core.telegram.org/bots/api#html-style). The parsing is core's; this file only
 * decides how each block and inline looks in Telegram.
 */
import { inlineText, isSafeLinkUrl, renderMarkdown, type Block, type Inline } from '../core/text/markdown';
import type { TextRenderer } from '../core/text/renderer';

/** Telegram HTML; Telegram counts a message's length "after entities parsing", so tags do not use up the limit. */
export const telegramHtmlRenderer: TextRenderer = {
	name: 'Telegram HTML',
	render: markdownToTelegramHtml,
	escape: escapeTelegramHtml,
	escapeGrowth: '&amp;'.length,
	measure: telegramVisibleLength,
	isVisible: (html) => /\S/.test(html.replace(TAG, '')),
};

export function markdownToTelegramHtml(markdown: string): string {
	// Code closes and reopens the styles around it, which can leave empty pairs: **`x`**.
	return renderMarkdown(markdown, (block) => telegramBlock(block, false)).replace(EMPTY_STYLE, '');
}

/** Telegram HTML needs `&`, `<` and `>` escaped outside tags; it rejects a message with a bare `<`. */
export function escapeTelegramHtml(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The length Telegram counts for a message sent with HTML parse mode: the text after entity
 * parsing, so tags do not count and `&amp;` counts as one character.
 */
export function telegramVisibleLength(html: string): number {
	return html.replace(TAG, '').replace(/&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/gi, (entity) => (entity.startsWith('&#') && codePointOf(entity) > 0xffff ? '  ' : ' ')).length;
}

// A tag never holds `<`, so a stray `<` costs one step, not a scan to the next `>`.
const TAG = /<[^<>]*>/g;

function codePointOf(entity: string): number {
	return entity[2] === 'x' || entity[2] === 'X' ? parseInt(entity.slice(3), 16) : parseInt(entity.slice(2), 10);
}

const TELEGRAM_TAG = { bold: 'b', italic: 'i', strike: 's', spoiler: 'tg-spoiler' } as const;
const EMPTY_STYLE = /<(b|i|s|tg-spoiler)><\/\1>/g;

function telegramBlock(block: Block, inQuote: boolean): string {
	switch (block.kind) {
		case 'blank':
			return '';
		case 'rule':
			return '———';
		case 'paragraph':
			return telegramInlines(block.inlines, [], false);
		case 'heading':
			return wrap('b', telegramInlines(block.inlines, ['b'], false));
		case 'item':
			return `${block.indent}${block.marker} ${telegramInlines(block.inlines, [], false)}`;
		case 'quote':
			// Telegram cannot nest quotes: an inner quote's lines join the outer one.
			return inQuote ? block.blocks.map((inner) => telegramBlock(inner, true)).join('\n') : wrap('blockquote', block.blocks.map((inner) => telegramBlock(inner, true)).join('\n'));
		case 'code': {
			if (!block.text.trim()) return '';
			const code = escapeTelegramHtml(block.text);
			// A pre block may not sit inside a quote; the code's text stays.
			if (inQuote) return code;
			const language = block.language.replace(/[^\w+#.-]/g, '');
			return language ? `<pre><code class="language-${language}">${code}</code></pre>` : `<pre>${code}</pre>`;
		}
	}
}

/**
 * `open` lists the style tags around this point. Telegram lets bold, italic, strike and spoiler
 * contain anything but code, and code contain nothing; so code closes the styles around it and
 * reopens them after, and code inside a link is plain text.
 */
function telegramInlines(inlines: Inline[], open: string[], inLink: boolean): string {
	let html = '';
	for (const inline of inlines) {
		if (inline.kind === 'text') html += escapeTelegramHtml(inline.text);
		else if (inline.kind === 'code') {
			const code = escapeTelegramHtml(inline.text);
			if (inLink) html += code;
			else {
				const closing = [...open].reverse().map((tag) => `</${tag}>`).join('');
				const reopening = open.map((tag) => `<${tag}>`).join('');
				html += `${closing}<code>${code}</code>${reopening}`;
			}
		} else if (inline.kind === 'link') {
			const label = telegramInlines(inline.children, open, true) || escapeTelegramHtml(inline.url);
			// An unsafe link shows its label and its address as text: a reader sees where it pointed.
			if (inLink || !isSafeLinkUrl(inline.url)) html += inline.children.length && inlineText(inline.children) !== inline.url ? `${label} (${escapeTelegramHtml(inline.url)})` : label;
			else html += `<a href="${escapeTelegramHtml(inline.url).replace(/"/g, '&quot;')}">${label}</a>`;
		} else {
			const tag = TELEGRAM_TAG[inline.kind];
			html += open.includes(tag) ? telegramInlines(inline.children, open, inLink) : wrap(tag, telegramInlines(inline.children, [...open, tag], inLink));
		}
	}
	return html;
}

/** Empty elements are left out: an entity without text is of no use to anyone. */
function wrap(tag: string, html: string): string {
	return html ? `<${tag}>${html}</${tag}>` : '';
}
