/**
 * Markdown → Slack mrkdwn, for `text` and `mrkdwn` text objects
 * (https://api.slack.com/reference/surfaces/formatting). The parsing is core's; this file only
 * decides how each block and inline looks in Slack.
 */
import { inlineText, isSafeLinkUrl, renderMarkdown, type Block, type Inline } from '../core/text/markdown';
import type { TextRenderer } from '../core/text/renderer';

export const slackMrkdwnRenderer: TextRenderer = {
	name: 'Slack mrkdwn',
	render: markdownToSlackMrkdwn,
	escape: escapeSlackText,
	escapeGrowth: '&amp;'.length,
};

export function markdownToSlackMrkdwn(markdown: string): string {
	return renderMarkdown(markdown, slackBlock);
}

/** Slack asks for exactly these three to be escaped in message text; nothing else. */
export function escapeSlackText(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SLACK_MARK = { bold: '*', italic: '_', strike: '~', spoiler: '' } as const;

function slackBlock(block: Block): string {
	switch (block.kind) {
		case 'blank':
			return '';
		case 'rule':
			return '———';
		case 'paragraph':
			return slackInlines(block.inlines, new Set());
		case 'heading':
			return slackMark('*', slackInlines(block.inlines, new Set(['*'])));
		case 'item':
			return `${block.indent}${block.marker} ${slackInlines(block.inlines, new Set())}`;
		case 'quote':
			// Slack has one level of quote; inner quotes join it.
			return block.blocks
				.map((inner) => (inner.kind === 'quote' ? slackBlock(inner).replace(/^> /gm, '') : slackBlock(inner)))
				.join('\n')
				.split('\n')
				.map((line) => `> ${line}`)
				.join('\n');
		case 'code':
			// Slack shows no language; the ``` lines stay their own lines so the code starts at column 0.
			return block.text.trim() ? `\`\`\`\n${escapeSlackText(block.text)}\n\`\`\`` : '';
	}
}

/** `active` holds the marks already open: Slack does not nest a mark in itself (*a *b* c*). */
function slackInlines(inlines: Inline[], active: Set<string>): string {
	let mrkdwn = '';
	for (const inline of inlines) {
		if (inline.kind === 'text') mrkdwn += escapeSlackText(inline.text);
		// A code span of spaces only would be a message of backticks and nothing to read.
		else if (inline.kind === 'code') mrkdwn += inline.text.trim() ? `\`${escapeSlackText(inline.text)}\`` : inline.text;
		else if (inline.kind === 'link') {
			const label = escapeSlackText(inlineText(inline.children).replace(/\n/g, ' '));
			if (isSafeLinkUrl(inline.url)) mrkdwn += `<${slackUrl(inline.url)}${label && label !== escapeSlackText(inline.url) ? `|${label}` : ''}>`;
			// An unsafe link shows its label and its address as text: a reader sees where it pointed.
			else mrkdwn += label && label !== escapeSlackText(inline.url) ? `${label} (${escapeSlackText(inline.url)})` : escapeSlackText(inline.url);
		} else {
			const mark = SLACK_MARK[inline.kind];
			const inner = slackInlines(inline.children, new Set([...active, mark]));
			mrkdwn += mark && !active.has(mark) ? slackMark(mark, inner) : inner;
		}
	}
	return mrkdwn;
}

function slackMark(mark: string, text: string): string {
	return text ? `${mark}${text}${mark}` : '';
}

/** In `<url|label>` the URL ends at `|` or `>`, so those are percent-encoded inside it. */
function slackUrl(url: string): string {
	return url.replace(/&/g, '&amp;').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/\|/g, '%7C');
}
