/**
 * Markdown → Google Chat's text markup: *bold*, _italic_, ~strike~, `code`, ```block``` and
 * <url|text> links (https://developers.google.com/workspace/chat/format-messages). Chat has no
 * headings or quotes in message text: headings show bold, quotes keep a "> " that reads as one.
 * The parsing is core's; this file only decides how each piece looks in Google Chat.
 */
import { inlineText, isSafeLinkUrl, renderMarkdown, type Block, type Inline } from '../core/text/markdown';
import type { TextRenderer } from '../core/text/renderer';

const MARKS: Record<'bold' | 'italic' | 'strike', string> = { bold: '*', italic: '_', strike: '~' };

/**
 * Google Chat reads `<…>` as a link or a mention (`<users/all>` notifies everyone), so a `<` that
 * could open one is written as a look-alike; "a < b" stays as it is.
 */
export function escapeGoogleChatText(text: string): string {
	return text.replace(/<(?=\S)/g, '‹');
}

const wrap = (mark: string, inner: string) => (inner.trim() ? `${mark}${inner}${mark}` : inner);

/** Marks already open are not opened again: Chat does not nest a mark in itself. */
function chatInline(inline: Inline, open: ReadonlySet<string>): string {
	if (inline.kind === 'text') return escapeGoogleChatText(inline.text);
	if (inline.kind === 'code') return inline.text.trim() ? `\`${inline.text.replace(/`/g, 'ˋ')}\`` : inline.text;
	if (inline.kind === 'link') {
		const label = escapeGoogleChatText(inlineText(inline.children).replace(/\s+/g, ' ').replace(/[|>]/g, ' '));
		if (!isSafeLinkUrl(inline.url)) return label ? `${label} (${escapeGoogleChatText(inline.url)})` : escapeGoogleChatText(inline.url);
		// Inside <url|label> a URL ends at | or >: those are percent-encoded.
		const url = inline.url.replace(/\|/g, '%7C').replace(/>/g, '%3E').replace(/</g, '%3C');
		return label.trim() && label !== inline.url ? `<${url}|${label}>` : url;
	}
	if (inline.kind === 'spoiler') return inline.children.map((child) => chatInline(child, open)).join('');
	const mark = MARKS[inline.kind];
	const inner = inline.children.map((child) => chatInline(child, new Set([...open, mark]))).join('');
	return open.has(mark) ? inner : wrap(mark, inner);
}

const chatInlines = (inlines: Inline[], open: ReadonlySet<string> = new Set()) => inlines.map((inline) => chatInline(inline, open)).join('');

function chatBlock(block: Block): string {
	switch (block.kind) {
		case 'blank':
			return '';
		case 'rule':
			return '―――';
		case 'heading':
			return wrap('*', chatInlines(block.inlines, new Set(['*'])));
		case 'paragraph':
			return chatInlines(block.inlines);
		case 'item':
			return `${block.indent}${block.marker} ${chatInlines(block.inlines)}`;
		case 'quote':
			return block.blocks
				.map(chatBlock)
				.join('\n')
				.split('\n')
				.map((line) => `> ${line}`)
				.join('\n');
		case 'code':
			// Chat shows no language; the fence lines stay lines of their own.
			return block.text.trim() ? `\`\`\`\n${block.text.replace(/```/g, 'ˋˋˋ')}\n\`\`\`` : '';
	}
}

export function markdownToGoogleChat(markdown: string): string {
	return renderMarkdown(markdown, chatBlock);
}

export const googleChatRenderer: TextRenderer = {
	name: 'Google Chat text',
	render: markdownToGoogleChat,
	escape: escapeGoogleChatText,
	escapeGrowth: 1,
};
