/**
 * Markdown as language models write it, turned into what each platform renders: Telegram's HTML
 * parse mode, Slack mrkdwn, or plain text for SMS and WhatsApp. Discord renders Markdown itself.
 *
 * Supported: **bold** / __bold__, *italic* / _italic_, ~~strike~~, ||spoiler||, `code`, fenced
 * code blocks with a language, [links](url), <https://autolinks>, ![images](url) (as links),
 * # headings, - / * / + bullets and 1. numbered items (nesting kept by indentation), > quotes,
 * --- rules and \-escapes. Emphasis follows CommonMark's delimiter rules, so snake_case_names and
 * 2 * 3 * 4 stay as written. Line breaks are kept as they are: chat messages are not reflowed.
 * Anything unmatched (an unclosed **, a stray <) is shown as the text it is.
 */

type Inline =
	| { kind: 'text'; text: string }
	| { kind: 'code'; text: string }
	| { kind: 'bold' | 'italic' | 'strike' | 'spoiler'; children: Inline[] }
	| { kind: 'link'; url: string; children: Inline[] };

type Block =
	| { kind: 'paragraph' | 'heading'; inlines: Inline[] }
	| { kind: 'item'; indent: string; marker: string; inlines: Inline[] }
	| { kind: 'quote'; blocks: Block[] }
	| { kind: 'code'; language: string; text: string }
	| { kind: 'rule' }
	| { kind: 'blank' };

/** Telegram Bot API `parse_mode: "HTML"`: only the tags Telegram knows, everything else escaped. */
export function markdownToTelegramHtml(markdown: string): string {
	const html = parseBlocks(splitLines(markdown))
		.map((block) => telegramBlock(block, false))
		.join('\n');
	// Code closes and reopens the styles around it, which can leave empty pairs: **`x`**.
	return html.replace(EMPTY_STYLE, '');
}

/** Slack mrkdwn, for `text` and `mrkdwn` text objects. */
export function markdownToSlackMrkdwn(markdown: string): string {
	return parseBlocks(splitLines(markdown))
		.map((block) => slackBlock(block))
		.join('\n');
}

/** Plain text for channels without formatting (SMS, WhatsApp through Twilio): links as "text (url)". */
export function markdownToPlain(markdown: string): string {
	return parseBlocks(splitLines(markdown))
		.map((block) => plainBlock(block))
		.join('\n');
}

/** Telegram HTML needs `&`, `<` and `>` escaped outside tags; it rejects a message with a bare `<`. */
export function escapeTelegramHtml(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack asks for exactly these three to be escaped in message text; nothing else. */
export function escapeSlackText(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The length Telegram counts for a message sent with HTML parse mode: the text after entity
 * parsing, so tags do not count and `&amp;` counts as one character.
 */
export function telegramVisibleLength(html: string): number {
	return html.replace(/<[^>]*>/g, '').replace(/&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/gi, (entity) => (entity.startsWith('&#') && codePointOf(entity) > 0xffff ? '  ' : ' ')).length;
}

function codePointOf(entity: string): number {
	return entity[2] === 'x' || entity[2] === 'X' ? parseInt(entity.slice(3), 16) : parseInt(entity.slice(2), 10);
}

// ---------------------------------------------------------------------------------------------
// Blocks

const FENCE_OPEN = /^( *)(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
const FENCE_OPEN_TILDE = /^( *)(~{3,})[ \t]*(\S*).*$/;
const HEADING = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const BLANK = /^[ \t]*$/;

function splitLines(markdown: string): string[] {
	return markdown.replace(/\r\n?/g, '\n').split('\n');
}

function parseBlocks(lines: string[]): Block[] {
	const blocks: Block[] = [];
	for (let i = 0; i < lines.length; ) {
		const line = lines[i];
		const fence = FENCE_OPEN.exec(line) ?? FENCE_OPEN_TILDE.exec(line);
		if (BLANK.test(line)) {
			blocks.push({ kind: 'blank' });
			i++;
		} else if (fence) {
			const [, indent, marker, language] = fence;
			const code: string[] = [];
			for (i++; i < lines.length && !isClosingFence(lines[i], marker); i++) code.push(stripIndent(lines[i], indent.length));
			i++;
			blocks.push({ kind: 'code', language, text: code.join('\n') });
		} else if (HEADING.test(line)) {
			blocks.push({ kind: 'heading', inlines: parseInline(HEADING.exec(line)![1] ?? '') });
			i++;
		} else if (RULE.test(line)) {
			blocks.push({ kind: 'rule' });
			i++;
		} else if (QUOTE.test(line)) {
			const quoted: string[] = [];
			for (; i < lines.length && QUOTE.test(lines[i]); i++) quoted.push(lines[i].replace(QUOTE, ''));
			blocks.push({ kind: 'quote', blocks: parseBlocks(quoted) });
		} else if (ITEM.test(line)) {
			const [, indent, marker, text] = ITEM.exec(line)!;
			blocks.push({ kind: 'item', indent, marker: /\d/.test(marker) ? `${marker.slice(0, -1)}.` : '•', inlines: parseInline(text) });
			i++;
		} else {
			const paragraph: string[] = [];
			for (; i < lines.length && (paragraph.length === 0 || startsParagraphLine(lines[i])); i++) paragraph.push(lines[i].trim());
			blocks.push({ kind: 'paragraph', inlines: parseInline(paragraph.join('\n')) });
		}
	}
	return blocks;
}

function startsParagraphLine(line: string): boolean {
	return !BLANK.test(line) && !FENCE_OPEN.test(line) && !FENCE_OPEN_TILDE.test(line) && !HEADING.test(line) && !RULE.test(line) && !QUOTE.test(line) && !ITEM.test(line);
}

function isClosingFence(line: string, marker: string): boolean {
	const match = /^ *(`{3,}|~{3,})[ \t]*$/.exec(line);
	return match !== null && match[1][0] === marker[0] && match[1].length >= marker.length;
}

function stripIndent(line: string, indent: number): string {
	let strip = 0;
	while (strip < indent && line[strip] === ' ') strip++;
	return line.slice(strip);
}

// ---------------------------------------------------------------------------------------------
// Inlines

interface Delimiter {
	kind: 'delimiter';
	char: '*' | '_' | '~' | '|';
	count: number;
	original: number;
	canOpen: boolean;
	canClose: boolean;
}

type Item = Inline | Delimiter;

const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/;
const PUNCTUATION = /[\p{P}\p{S}]/u;
const WHITESPACE = /\s/u;
const AUTOLINK = /^<((?:https?|mailto|tg|ftp):[^\s<>]*)>/i;
const MAX_LABEL = 1000;
const SPECIAL = /[\\`[!<*_~|]/g;

function parseInline(source: string): Inline[] {
	const backticks = new BacktickRuns(source);
	const items: Item[] = [];
	let text = '';
	const flush = () => {
		if (text) items.push({ kind: 'text', text });
		text = '';
	};
	for (let i = 0; i < source.length; ) {
		const char = source[i];
		if (char === '\\' && i + 1 < source.length && ASCII_PUNCTUATION.test(source[i + 1])) {
			text += source[i + 1];
			i += 2;
		} else if (char === '`') {
			const run = runLength(source, i, '`');
			const close = backticks.find(i + run, run);
			if (close < 0) {
				text += '`'.repeat(run);
				i += run;
			} else {
				flush();
				items.push({ kind: 'code', text: codeSpanText(source.slice(i + run, close)) });
				i = close + run;
			}
		} else if (char === '[' || (char === '!' && source[i + 1] === '[')) {
			const link = parseLink(source, char === '!' ? i + 1 : i, backticks);
			if (link) {
				flush();
				const children = parseInline(link.label);
				items.push({ kind: 'link', url: link.url, children: children.length > 0 || char !== '!' ? children : [{ kind: 'text', text: 'image' }] });
				i = link.end;
			} else {
				text += char;
				i++;
			}
		} else if (char === '<' && AUTOLINK.test(source.slice(i, i + 2048))) {
			const url = AUTOLINK.exec(source.slice(i, i + 2048))![1];
			flush();
			items.push({ kind: 'link', url, children: [{ kind: 'text', text: url.replace(/^mailto:/i, '') }] });
			i += url.length + 2;
		} else if (char === '*' || char === '_' || char === '~' || (char === '|' && source[i + 1] === '|')) {
			const run = runLength(source, i, char);
			// Only ~~double~~ strikes and ||double|| hides: a single ~ often means "about".
			if ((char === '~' || char === '|') && run !== 2) {
				text += char.repeat(run);
			} else {
				flush();
				items.push(delimiter(source, i, run, char));
			}
			i += run;
		} else {
			// Ordinary text up to the next character that may start markup.
			SPECIAL.lastIndex = i + 1;
			const next = SPECIAL.exec(source)?.index ?? source.length;
			text += source.slice(i, next);
			i = next;
		}
	}
	flush();
	return resolveEmphasis(items);
}

function runLength(source: string, start: number, char: string): number {
	let end = start;
	while (source[end] === char) end++;
	return end - start;
}

/** Finds the backtick run that closes a code span; remembers misses, so stray backticks cost linear time. */
class BacktickRuns {
	private readonly noneFrom = new Map<number, number>();

	constructor(private readonly source: string) {}

	find(from: number, length: number): number {
		const none = this.noneFrom.get(length);
		if (none !== undefined && from >= none) return -1;
		for (let i = this.source.indexOf('`', from); i >= 0; i = this.source.indexOf('`', i)) {
			const run = runLength(this.source, i, '`');
			if (run === length) return i;
			i += run;
		}
		this.noneFrom.set(length, Math.min(none ?? from, from));
		return -1;
	}
}

/** CommonMark: one space on each side is padding (so `` `x` `` can show backticks), line breaks are spaces. */
function codeSpanText(raw: string): string {
	const text = raw.replace(/\n/g, ' ');
	return text.length > 2 && text.startsWith(' ') && text.endsWith(' ') && text.trim() !== '' ? text.slice(1, -1) : text;
}

/** `[label](url "title")` starting at `open` (the `[`), or undefined when it is not a link. */
function parseLink(source: string, open: number, backticks: BacktickRuns): { label: string; url: string; end: number } | undefined {
	let depth = 0;
	let close = -1;
	// Labels are short; the bound keeps a text full of stray brackets linear.
	for (let i = open; i < Math.min(source.length, open + MAX_LABEL); i++) {
		const char = source[i];
		if (char === '\\') i++;
		else if (char === '`') {
			const run = runLength(source, i, '`');
			const end = backticks.find(i + run, run);
			i = end < 0 ? i + run - 1 : end + run - 1;
		} else if (char === '[') depth++;
		else if (char === ']' && --depth === 0) {
			close = i;
			break;
		}
	}
	if (close < 0 || source[close + 1] !== '(') return undefined;
	let i = close + 2;
	while (source[i] === ' ') i++;
	let url = '';
	if (source[i] === '<') {
		const end = source.indexOf('>', i);
		if (end < 0 || source.slice(i, end).includes('\n')) return undefined;
		url = source.slice(i + 1, end);
		i = end + 1;
	} else {
		let parens = 0;
		const start = i;
		for (; i < source.length && !WHITESPACE.test(source[i]); i++) {
			if (source[i] === '\\') i++;
			else if (source[i] === '(') parens++;
			else if (source[i] === ')' && --parens < 0) break;
		}
		url = source.slice(start, i);
	}
	while (source[i] === ' ') i++;
	const title = /^(?:"[^"]*"|'[^']*')/.exec(source.slice(i));
	if (title) i += title[0].length;
	while (source[i] === ' ') i++;
	if (source[i] !== ')') return undefined;
	return { label: source.slice(open + 1, close), url: url.replace(/\\([!-/:-@[-`{-~])/g, '$1'), end: i + 1 };
}

/** A run of `*`, `_`, `~` or `|` with whether it can open or close emphasis (CommonMark "flanking"). */
function delimiter(source: string, start: number, count: number, char: string): Delimiter {
	const before = start > 0 ? codePointBefore(source, start) : ' ';
	const after = start + count < source.length ? String.fromCodePoint(source.codePointAt(start + count)!) : ' ';
	const beforeSpace = WHITESPACE.test(before);
	const afterSpace = WHITESPACE.test(after);
	const beforePunct = PUNCTUATION.test(before);
	const afterPunct = PUNCTUATION.test(after);
	const left = !afterSpace && (!afterPunct || beforeSpace || beforePunct);
	const right = !beforeSpace && (!beforePunct || afterSpace || afterPunct);
	// An underscore inside a word (snake_case) is never emphasis.
	const canOpen = char === '_' ? left && (!right || beforePunct) : left;
	const canClose = char === '_' ? right && (!left || afterPunct) : right;
	return { kind: 'delimiter', char: char as Delimiter['char'], count, original: count, canOpen, canClose };
}

function codePointBefore(source: string, index: number): string {
	const low = source.charCodeAt(index - 1);
	if (low >= 0xdc00 && low <= 0xdfff && index >= 2) return source.slice(index - 2, index);
	return source[index - 1];
}

/** CommonMark's "process emphasis", with a stack: each closer takes the nearest opener it may. */
function resolveEmphasis(items: Item[]): Inline[] {
	const stack: Item[] = [];
	for (const item of items) {
		if (item.kind !== 'delimiter') {
			stack.push(item);
			continue;
		}
		const closer = item;
		while (closer.count > 0 && closer.canClose) {
			const at = findOpener(stack, closer);
			if (at < 0) break;
			const opener = stack[at] as Delimiter;
			const used = closer.char === '~' || closer.char === '|' || (opener.count >= 2 && closer.count >= 2) ? 2 : 1;
			const kind = closer.char === '~' ? 'strike' : closer.char === '|' ? 'spoiler' : used === 2 ? 'bold' : 'italic';
			const children = literalDelimiters(stack.splice(at + 1));
			opener.count -= used;
			closer.count -= used;
			if (opener.count === 0) stack.pop();
			stack.push({ kind, children });
		}
		if (closer.count > 0) stack.push(closer);
	}
	return literalDelimiters(stack);
}

function findOpener(stack: Item[], closer: Delimiter): number {
	for (let i = stack.length - 1; i >= 0; i--) {
		const opener = stack[i];
		if (opener.kind !== 'delimiter' || opener.char !== closer.char || !opener.canOpen || opener.count === 0) continue;
		if (closer.char === '~' || closer.char === '|') {
			if (opener.count === closer.count) return i;
			continue;
		}
		// The "rule of 3", so that *a **b** c* nests instead of pairing the wrong runs.
		const both = opener.canClose || closer.canOpen;
		if (both && (opener.original + closer.original) % 3 === 0 && !(opener.original % 3 === 0 && closer.original % 3 === 0)) continue;
		return i;
	}
	return -1;
}

/** Unmatched delimiters are text; neighbouring texts are merged. */
function literalDelimiters(items: Item[]): Inline[] {
	const inlines: Inline[] = [];
	for (const item of items) {
		const inline: Inline = item.kind === 'delimiter' ? { kind: 'text', text: item.char.repeat(item.count) } : item;
		const last = inlines[inlines.length - 1];
		if (inline.kind === 'text' && last?.kind === 'text') last.text += inline.text;
		else if (inline.kind !== 'text' || inline.text) inlines.push(inline.kind === 'text' ? { ...inline } : inline);
	}
	return inlines;
}

/** Only links a chat client can open; others are shown as text so the platform cannot reject them. */
function isLinkable(url: string): boolean {
	return /^(?:https?:\/\/[^\s]+|mailto:[^\s]+|tg:\/\/[^\s]+)$/i.test(url);
}

function plainInlines(inlines: Inline[]): string {
	return inlines.map((inline) => (inline.kind === 'text' || inline.kind === 'code' ? inline.text : plainInlines(inline.children))).join('');
}

// ---------------------------------------------------------------------------------------------
// Telegram HTML

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
			if (inLink || !isLinkable(inline.url)) html += inline.children.length ? `${label} (${escapeTelegramHtml(inline.url)})` : label;
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

// ---------------------------------------------------------------------------------------------
// Slack mrkdwn

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
		else if (inline.kind === 'code') mrkdwn += inline.text ? `\`${escapeSlackText(inline.text)}\`` : '';
		else if (inline.kind === 'link') {
			const label = escapeSlackText(plainInlines(inline.children).replace(/\n/g, ' '));
			if (isLinkable(inline.url)) mrkdwn += `<${slackUrl(inline.url)}${label && label !== escapeSlackText(inline.url) ? `|${label}` : ''}>`;
			else mrkdwn += label ? `${label} (${escapeSlackText(inline.url)})` : escapeSlackText(inline.url);
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

// ---------------------------------------------------------------------------------------------
// Plain text

function plainBlock(block: Block): string {
	switch (block.kind) {
		case 'blank':
			return '';
		case 'rule':
			return '———';
		case 'paragraph':
		case 'heading':
			return plainText(block.inlines);
		case 'item':
			return `${block.indent}${block.marker} ${plainText(block.inlines)}`;
		case 'quote':
			return block.blocks
				.map((inner) => plainBlock(inner))
				.join('\n')
				.split('\n')
				.map((line) => `> ${line}`.trimEnd())
				.join('\n');
		case 'code':
			return block.text;
	}
}

function plainText(inlines: Inline[]): string {
	return inlines
		.map((inline) => {
			if (inline.kind === 'text' || inline.kind === 'code') return inline.text;
			if (inline.kind !== 'link') return plainText(inline.children);
			const label = plainText(inline.children);
			const bare = inline.url.replace(/^mailto:/i, '');
			return !label || label === inline.url || label === bare ? bare : `${label} (${inline.url})`;
		})
		.join('');
}
