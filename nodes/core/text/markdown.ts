/**
 * Markdown as language models write it, parsed once into blocks and inlines that each platform's
 * renderer walks (Telegram HTML in `nodes/Telegram`, Slack mrkdwn in `nodes/Slack`); plain text for
 * SMS and WhatsApp is rendered here. Discord renders Markdown itself.
 *
 * Supported: **bold** / __bold__, *italic* / _italic_, ~~strike~~, ||spoiler||, `code`, fenced
 * code blocks with a language, [links](url), <https://autolinks>, ![images](url) (as links),
 * # headings, - / * / + bullets and 1. numbered items (nesting kept by indentation), > quotes,
 * --- rules and \-escapes. Emphasis follows CommonMark's delimiter rules, so snake_case_names and
 * 2 * 3 * 4 stay as written. Line breaks are kept as they are: chat messages are not reflowed.
 * Anything unmatched (an unclosed **, a stray <) is shown as the text it is.
 *
 * Parsing takes time linear in the text: model output is untrusted, and a quadratic corner (a
 * long run of spaces, brackets or asterisks) would freeze n8n's main thread.
 */

export type Inline =
	| { kind: 'text'; text: string }
	| { kind: 'code'; text: string }
	| { kind: 'bold' | 'italic' | 'strike' | 'spoiler'; children: Inline[] }
	| { kind: 'link'; url: string; children: Inline[] };

export type Block =
	| { kind: 'paragraph' | 'heading'; inlines: Inline[] }
	| { kind: 'item'; indent: string; marker: string; inlines: Inline[] }
	| { kind: 'quote'; blocks: Block[] }
	| { kind: 'code'; language: string; text: string }
	| { kind: 'rule' }
	| { kind: 'blank' };

/** The blocks of `markdown`, in order; each blank line is a `blank` block, so renderers can keep the spacing. */
export function parseMarkdown(markdown: string): Block[] {
	return parseBlocks(markdown.replace(/\r\n?/g, '\n').split('\n'), 0);
}

/** The one walk every renderer shares: each block rendered on its own, joined by line breaks. */
export function renderMarkdown(markdown: string, renderBlock: (block: Block) => string): string {
	return parseMarkdown(markdown).map(renderBlock).join('\n');
}

/**
 * Whether a link may be sent as a link: only http, https and mailto. Other schemes (`tg://user?id=`
 * opens a profile, `javascript:`, `data:`, `file:`) are shown as text, so a model (or a prompt
 * injected into it) cannot make a clickable link that does something else than open a page.
 */
export function isSafeLinkUrl(url: string): boolean {
	return /^(?:https?:\/\/[^\s]+|mailto:[^\s]+)$/i.test(url);
}

/** The text a reader sees of some inlines: markup dropped, link labels kept. */
export function inlineText(inlines: Inline[]): string {
	return inlines.map((inline) => (inline.kind === 'text' || inline.kind === 'code' ? inline.text : inlineText(inline.children))).join('');
}

/** Plain text for channels without formatting (SMS, WhatsApp through Twilio): links as "text (url)". */
export function markdownToPlain(markdown: string): string {
	return renderMarkdown(markdown, plainBlock);
}

/**
 * `markdown` as written, with links of unsafe schemes (see `isSafeLinkUrl`) made text by a
 * backslash (`[x]\(tg://…)`, `\<tg://…>`), for platforms that render Markdown themselves (Discord).
 * Code blocks and code spans are left alone: nothing in them is a link.
 */
export function neutralizeUnsafeLinks(markdown: string): string {
	const lines = markdown.split('\n');
	let fence: string | undefined;
	for (let i = 0; i < lines.length; i++) {
		const line = lines[i];
		if (fence !== undefined) {
			if (isClosingFence(line, fence)) fence = undefined;
			continue;
		}
		const opening = fenceOpening(line);
		if (opening) fence = opening.marker;
		else if (line.includes('](') || line.includes('<')) lines[i] = neutralizeLine(line);
	}
	return lines.join('\n');
}

const UNSAFE_LINK_START = /\]\( *<?|<|`+/g;
const SCHEME = /([A-Za-z][A-Za-z0-9+.-]{1,31}):/y;
const SAFE_SCHEMES = new Set(['http', 'https', 'mailto']);

function neutralizeLine(line: string): string {
	const backticks = new BacktickRuns(line);
	let out = '';
	let copied = 0;
	UNSAFE_LINK_START.lastIndex = 0;
	for (let match = UNSAFE_LINK_START.exec(line); match; match = UNSAFE_LINK_START.exec(line)) {
		const at = match.index;
		if (match[0][0] === '`') {
			const close = backticks.find(at + match[0].length, match[0].length);
			if (close >= 0) UNSAFE_LINK_START.lastIndex = close + match[0].length;
			continue;
		}
		if (isEscaped(line, at)) continue;
		const urlStart = at + match[0].length;
		SCHEME.lastIndex = urlStart;
		const scheme = SCHEME.exec(line)?.[1];
		if (scheme === undefined || SAFE_SCHEMES.has(scheme.toLowerCase())) continue;
		// `]\(` is no link; `\<` is no autolink.
		const escapeAt = match[0][0] === ']' ? at + 1 : at;
		out += `${line.slice(copied, escapeAt)}\\`;
		copied = escapeAt;
	}
	return out + line.slice(copied);
}

function isEscaped(text: string, index: number): boolean {
	let backslashes = 0;
	while (index - backslashes > 0 && text[index - backslashes - 1] === '\\') backslashes++;
	return backslashes % 2 === 1;
}

// ---------------------------------------------------------------------------------------------
// Blocks

const HEADING_START = /^ {0,3}(#{1,6})(?=[ \t]|$)/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const BLANK = /^[ \t]*$/;
/** Telegram cannot nest quotes and Slack has one level; deeper `>` stay text, which also keeps `> > > …` linear. */
const MAX_QUOTE_DEPTH = 8;

function parseBlocks(lines: string[], quoteDepth: number): Block[] {
	const blocks: Block[] = [];
	const isQuote = (line: string) => quoteDepth < MAX_QUOTE_DEPTH && QUOTE.test(line);
	for (let i = 0; i < lines.length; ) {
		const line = lines[i];
		const fence = fenceOpening(line);
		if (BLANK.test(line)) {
			blocks.push({ kind: 'blank' });
			i++;
		} else if (fence) {
			const code: string[] = [];
			for (i++; i < lines.length && !isClosingFence(lines[i], fence.marker); i++) code.push(stripIndent(lines[i], fence.indent));
			i++;
			blocks.push({ kind: 'code', language: fence.language, text: code.join('\n') });
		} else if (HEADING_START.test(line)) {
			blocks.push({ kind: 'heading', inlines: parseInline(headingText(line)) });
			i++;
		} else if (RULE.test(line)) {
			blocks.push({ kind: 'rule' });
			i++;
		} else if (isQuote(line)) {
			const quoted: string[] = [];
			for (; i < lines.length && isQuote(lines[i]); i++) quoted.push(lines[i].replace(QUOTE, ''));
			blocks.push({ kind: 'quote', blocks: parseBlocks(quoted, quoteDepth + 1) });
		} else if (ITEM.test(line)) {
			const [, indent, marker, text] = ITEM.exec(line)!;
			blocks.push({ kind: 'item', indent, marker: /\d/.test(marker) ? `${marker.slice(0, -1)}.` : '•', inlines: parseInline(text) });
			i++;
		} else {
			const paragraph: string[] = [];
			for (; i < lines.length && (paragraph.length === 0 || startsParagraphLine(lines[i], isQuote)); i++) paragraph.push(lines[i].trim());
			blocks.push({ kind: 'paragraph', inlines: parseInline(paragraph.join('\n')) });
		}
	}
	return blocks;
}

function startsParagraphLine(line: string, isQuote: (line: string) => boolean): boolean {
	return !BLANK.test(line) && !fenceOpening(line) && !HEADING_START.test(line) && !RULE.test(line) && !isQuote(line) && !ITEM.test(line);
}

/**
 * An opening code fence: ``` or ~~~ (three or more) after spaces, then an info string whose first
 * word is the language. A backtick fence's info string cannot hold a backtick (```` ```js` ```` is
 * inline code). Written without a regular expression, whose backtracking is quadratic on long runs of spaces.
 */
function fenceOpening(line: string): { indent: number; marker: string; language: string } | undefined {
	let indent = 0;
	while (line.charCodeAt(indent) === 0x20) indent++;
	const char = line[indent];
	if (char !== '`' && char !== '~') return undefined;
	let markerEnd = indent;
	while (line[markerEnd] === char) markerEnd++;
	if (markerEnd - indent < 3) return undefined;
	const info = line.slice(markerEnd);
	if (char === '`' && info.includes('`')) return undefined;
	const language = /^[ \t]*(\S*)/.exec(info)![1];
	return { indent, marker: line.slice(indent, markerEnd), language };
}

function isClosingFence(line: string, marker: string): boolean {
	const match = /^ *(`{3,}|~{3,})[ \t]*$/.exec(line);
	return match !== null && match[1][0] === marker[0] && match[1].length >= marker.length;
}

/** A heading's text: after the #s and before an optional closing run of #s. */
function headingText(line: string): string {
	const text = line.slice(HEADING_START.exec(line)![0].length).trim();
	const closing = /(?:^|[ \t])#+$/.exec(text);
	return closing ? text.slice(0, closing.index).trimEnd() : text;
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
const AUTOLINK = /<((?:https?|mailto):[^\s<>]{1,2048})>/iy;
const MAX_LABEL = 1000;
/** Styles nest at most this deep; deeper pairs stay unstyled, so rendering cannot exhaust the stack. */
const MAX_STYLE_DEPTH = 32;
const SPECIAL = /[\\`[!<*_~|]/g;

function parseInline(source: string): Inline[] {
	const scan = new InlineScan(source);
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
			const close = scan.backticks.find(i + run, run);
			if (close < 0) {
				text += '`'.repeat(run);
				i += run;
			} else {
				flush();
				items.push({ kind: 'code', text: codeSpanText(source.slice(i + run, close)) });
				i = close + run;
			}
		} else if (char === '[' || (char === '!' && source[i + 1] === '[')) {
			const link = parseLink(scan, char === '!' ? i + 1 : i);
			if (link) {
				flush();
				const children = parseInline(link.label);
				items.push({ kind: 'link', url: link.url, children: children.length > 0 || char !== '!' ? children : [{ kind: 'text', text: 'image' }] });
				i = link.end;
			} else {
				text += char;
				i++;
			}
		} else if (char === '<' && ((AUTOLINK.lastIndex = i), AUTOLINK.test(source))) {
			const url = source.slice(i + 1, AUTOLINK.lastIndex - 1);
			flush();
			items.push({ kind: 'link', url, children: [{ kind: 'text', text: url.replace(/^mailto:/i, '') }] });
			i = AUTOLINK.lastIndex;
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

/**
 * What link parsing needs to know about one inline source, each worked out once, so that a text
 * full of `[`, `](`, `<` or quotes is parsed in linear time rather than one scan per attempt.
 */
class InlineScan {
	readonly backticks: BacktickRuns;
	private closingBrackets?: Int32Array;
	private urlEnds?: Int32Array;
	private readonly nextFound = new Map<string, { from: number; at: number }>();

	constructor(readonly source: string) {
		this.backticks = new BacktickRuns(source);
	}

	/** The `]` that closes the `[` at `open` (escapes and code spans skipped, brackets nested), or -1. */
	closingBracket(open: number): number {
		if (!this.closingBrackets) {
			const { source } = this;
			const closing = new Int32Array(source.length).fill(-1);
			const opens: number[] = [];
			for (let i = 0; i < source.length; i++) {
				const char = source[i];
				if (char === '\\') i++;
				else if (char === '`') {
					const run = runLength(source, i, '`');
					const end = this.backticks.find(i + run, run);
					i = end < 0 ? i + run - 1 : end + run - 1;
				} else if (char === '[') opens.push(i);
				else if (char === ']' && opens.length > 0) closing[opens.pop()!] = i;
			}
			this.closingBrackets = closing;
		}
		return this.closingBrackets[open];
	}

	/**
	 * Where a bare link destination starting at `start` ends: at whitespace or at a `)` that closes
	 * no `(` of its own. Worked out for every start at once, from the right.
	 */
	urlEnd(start: number): number {
		if (!this.urlEnds) {
			const { source } = this;
			const ends = new Int32Array(source.length + 2).fill(source.length);
			for (let i = source.length - 1; i >= 0; i--) {
				const char = source[i];
				if (WHITESPACE.test(char) || char === ')') ends[i] = i;
				else if (char === '\\') ends[i] = ends[Math.min(i + 2, source.length)];
				else if (char === '(') {
					// A balanced group: the destination goes on after its `)`, or stops where the group does.
					const groupEnd = ends[i + 1];
					ends[i] = source[groupEnd] === ')' ? ends[groupEnd + 1] : groupEnd;
				} else ends[i] = ends[i + 1];
			}
			this.urlEnds = ends;
		}
		return this.urlEnds[start];
	}

	/** `source.indexOf(char, from)`, remembered, so that repeated searches from left to right cost linear time. */
	indexOf(char: string, from: number): number {
		const last = this.nextFound.get(char);
		if (last && from >= last.from && (from <= last.at || last.at < 0)) return last.at;
		const at = this.source.indexOf(char, from);
		this.nextFound.set(char, { from, at });
		return at;
	}
}

/** CommonMark: one space on each side is padding (so `` `x` `` can show backticks), line breaks are spaces. */
function codeSpanText(raw: string): string {
	const text = raw.replace(/\n/g, ' ');
	return text.length > 2 && text.startsWith(' ') && text.endsWith(' ') && text.trim() !== '' ? text.slice(1, -1) : text;
}

/** `[label](url "title")` starting at `open` (the `[`), or undefined when it is not a link. */
function parseLink(scan: InlineScan, open: number): { label: string; url: string; end: number } | undefined {
	const { source } = scan;
	const close = scan.closingBracket(open);
	// Labels are short; a bracket closed thousands of characters later is no label.
	if (close < 0 || close - open > MAX_LABEL || source[close + 1] !== '(') return undefined;
	let i = close + 2;
	while (source[i] === ' ') i++;
	let url = '';
	if (source[i] === '<') {
		const end = scan.indexOf('>', i);
		const lineBreak = scan.indexOf('\n', i);
		if (end < 0 || (lineBreak >= 0 && lineBreak < end)) return undefined;
		url = source.slice(i + 1, end);
		i = end + 1;
	} else {
		const start = i;
		i = scan.urlEnd(start);
		url = source.slice(start, i);
	}
	while (source[i] === ' ') i++;
	if (source[i] === '"' || source[i] === "'") {
		const titleEnd = scan.indexOf(source[i], i + 1);
		if (titleEnd >= 0) i = titleEnd + 1;
	}
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

/**
 * CommonMark's "process emphasis", with a stack: each closer takes the nearest opener it may.
 * Like CommonMark's "openers bottom", a search that found nothing is not repeated below where it
 * stopped, so a text of closers without openers (`a* a* a*…`) costs linear time.
 */
function resolveEmphasis(items: Item[]): Inline[] {
	const stack: Item[] = [];
	const depth = new Map<Inline, number>();
	// Per kind of closer (character, whether it can open, length modulo 3): the stack height below which no opener is.
	const searchedDownTo = new Int32Array(DELIMITER_CHARS.length * 6);
	for (const item of items) {
		if (item.kind !== 'delimiter') {
			stack.push(item);
			continue;
		}
		const closer = item;
		const key = DELIMITER_CHARS.indexOf(closer.char) * 6 + (closer.canOpen ? 3 : 0) + (closer.original % 3);
		while (closer.count > 0 && closer.canClose) {
			const at = findOpener(stack, closer, searchedDownTo[key]);
			if (at < 0) {
				searchedDownTo[key] = stack.length;
				break;
			}
			const opener = stack[at] as Delimiter;
			const used = closer.char === '~' || closer.char === '|' || (opener.count >= 2 && closer.count >= 2) ? 2 : 1;
			const kind = closer.char === '~' ? 'strike' : closer.char === '|' ? 'spoiler' : used === 2 ? 'bold' : 'italic';
			const children = literalDelimiters(stack.splice(at + 1));
			opener.count -= used;
			closer.count -= used;
			if (opener.count === 0) stack.pop();
			let childDepth = 0;
			for (const child of children) childDepth = Math.max(childDepth, depth.get(child) ?? 0);
			if (childDepth < MAX_STYLE_DEPTH) {
				const styled: Inline = { kind, children };
				depth.set(styled, childDepth + 1);
				stack.push(styled);
			} else for (const child of children) stack.push(child);
			// Searches that stopped above the removed items must look at what now takes their place.
			for (let k = 0; k < searchedDownTo.length; k++) if (searchedDownTo[k] > stack.length) searchedDownTo[k] = stack.length;
		}
		if (closer.count > 0) stack.push(closer);
	}
	return literalDelimiters(stack);
}

const DELIMITER_CHARS = ['*', '_', '~', '|'];

/** The nearest opener for `closer` at or above `bottom` in the stack, or -1. */
function findOpener(stack: Item[], closer: Delimiter, bottom: number): number {
	for (let i = stack.length - 1; i >= bottom; i--) {
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
