/**
 * Markdown → Matrix `org.matrix.custom.html` (the HTML subset of the client-server spec, "m.room.message
 * msgtypes"), and the plain `body` every Matrix event also carries. The parsing is core's.
 */
import { inlineText, isSafeLinkUrl, parseMarkdown, type Block, type Inline } from '../core/text/markdown';
import type { TextRenderer } from '../core/text/renderer';

export function escapeMatrixHtml(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// A tag never holds `<`, so a stray `<` costs one step.
const TAG = /<[^<>]*>/g;

export const matrixHtmlRenderer: TextRenderer = {
	name: 'Matrix HTML',
	render: markdownToMatrixHtml,
	escape: escapeMatrixHtml,
	escapeGrowth: '&quot;'.length,
	isVisible: (html) => /\S/.test(html.replace(TAG, '')),
};

export function markdownToMatrixHtml(markdown: string): string {
	// Blocks are joined with <br>: an HTML client would fold plain line breaks into spaces.
	return parseMarkdown(markdown).map(matrixBlock).join('<br>');
}

/** The `body` beside `formatted_body`: what clients without HTML (and notifications) show. */
export function matrixHtmlToPlain(html: string): string {
	return html
		.replace(/<br>|<\/p>|<\/li>|<\/blockquote>|<hr>/g, '\n')
		.replace(TAG, '')
		.replace(/&(lt|gt|quot|amp);/g, (_entity, name: string) => ({ lt: '<', gt: '>', quot: '"', amp: '&' })[name] ?? '');
}

function matrixBlock(block: Block): string {
	switch (block.kind) {
		case 'blank':
			return '';
		case 'rule':
			return '<hr>';
		case 'paragraph':
			return matrixInlines(block.inlines);
		case 'heading':
			return wrap('strong', matrixInlines(block.inlines));
		case 'item':
			return `${escapeMatrixHtml(block.indent)}${escapeMatrixHtml(block.marker)} ${matrixInlines(block.inlines)}`;
		case 'quote':
			return wrap('blockquote', block.blocks.map(matrixBlock).join('<br>'));
		case 'code': {
			if (!block.text.trim()) return '';
			const language = block.language.replace(/[^\w+#.-]/g, '');
			return `<pre><code${language ? ` class="language-${language}"` : ''}>${escapeMatrixHtml(block.text)}</code></pre>`;
		}
	}
}

const TAGS = { bold: 'strong', italic: 'em', strike: 'del', spoiler: 'span data-mx-spoiler' } as const;

function matrixInlines(inlines: Inline[]): string {
	let html = '';
	for (const inline of inlines) {
		if (inline.kind === 'text') html += escapeMatrixHtml(inline.text);
		else if (inline.kind === 'code') html += `<code>${escapeMatrixHtml(inline.text)}</code>`;
		else if (inline.kind === 'link') {
			const label = matrixInlines(inline.children) || escapeMatrixHtml(inline.url);
			// An unsafe link shows its label and its address as text.
			if (!isSafeLinkUrl(inline.url)) html += inline.children.length && inlineText(inline.children) !== inline.url ? `${label} (${escapeMatrixHtml(inline.url)})` : label;
			else html += `<a href="${escapeMatrixHtml(inline.url)}">${label}</a>`;
		} else {
			const tag = TAGS[inline.kind];
			const inner = matrixInlines(inline.children);
			html += inner ? `<${tag}>${inner}</${tag.split(' ')[0]}>` : '';
		}
	}
	return html;
}

function wrap(tag: string, html: string): string {
	return html ? `<${tag}>${html}</${tag}>` : '';
}
