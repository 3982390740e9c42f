import fc from 'fast-check';
import {
	chunkText,
	formatAndChunk,
	markdownToPlain,
	markdownToSlackMrkdwn,
	markdownToTelegramHtml,
	splitText,
	telegramVisibleLength,
	type TextChunk,
	type TextFormat,
} from '../../nodes/core/text';

// ------------------------------------------------------------------------------------------
// Checks written from the platforms' rules, independent of the code under test.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const WHITESPACE_ONLY = /^\s*$/;
const BREAKING_SPACE = /[\t\n\v\f\r \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]/;

/** CommonMark code fences in `markdown`: the opening and closing lines, and the line left open at the end (or null). */
function scanFences(markdown: string): { fenceLines: string[]; openAtEnd: string | null } {
	let open: { line: string; char: string; length: number } | null = null;
	const fenceLines: string[] = [];
	for (const line of markdown.split('\n')) {
		if (!open) {
			const match = /^ *(`{3,}|~{3,})(.*)$/.exec(line);
			if (match && !(match[1][0] === '`' && match[2].includes('`'))) {
				open = { line: line.trimEnd(), char: match[1][0], length: match[1].length };
				fenceLines.push(line);
			}
		} else {
			const match = /^ *(`{3,}|~{3,})[ \t\r]*$/.exec(line);
			if (match && match[1][0] === open.char && match[1].length >= open.length) {
				open = null;
				fenceLines.push(line);
			}
		}
	}
	return { fenceLines, openAtEnd: open?.line ?? null };
}

const openFenceAtEnd = (markdown: string) => scanFences(markdown).openAtEnd;

/**
 * The content invariant of `splitText` (see `TextChunk`): each chunk is its body between the
 * added fence lines, bodies are in order, and only whitespace lies between them, so the bodies
 * joined with that whitespace give back the original text.
 */
function expectContentPreserved(original: string, chunks: TextChunk[]): void {
	let rebuilt = '';
	let previousEnd = 0;
	for (const chunk of chunks) {
		expect(chunk.text).toBe(chunk.reopenedFence + original.slice(chunk.start, chunk.end) + chunk.closingFence);
		expect(chunk.start).toBeGreaterThanOrEqual(previousEnd);
		const gap = original.slice(previousEnd, chunk.start);
		expect(gap).toMatch(WHITESPACE_ONLY);
		expect(original.slice(chunk.start, chunk.end).trim()).not.toBe('');
		rebuilt += gap + original.slice(chunk.start, chunk.end);
		previousEnd = chunk.end;
	}
	expect(original.slice(previousEnd)).toMatch(WHITESPACE_ONLY);
	rebuilt += original.slice(previousEnd);
	expect(rebuilt).toBe(original);
}

/**
 * Every chunk's fences are balanced, except the text's own unclosed block at the very end. For
 * any text this is promised when each fence line takes at most a quarter of the `limit` less one
 * (then the fence lines always fit beside the code); with a longer one the check is skipped.
 */
function expectFencesBalanced(original: string, chunks: TextChunk[], limit = Number.POSITIVE_INFINITY): void {
	if (scanFences(original).fenceLines.some((line) => line.length > Math.floor(limit / 4) - 1)) return;
	chunks.forEach((chunk, index) => {
		const last = index === chunks.length - 1;
		// Only the text's own unclosed block, at the very end, may stay open.
		expect(openFenceAtEnd(chunk.text) !== null).toBe(last && openFenceAtEnd(original) !== null);
		if (chunk.reopenedFence) {
			// Reopened with the same opening line, language included, or with the bare fence when
			// that line would take too much of the chunk.
			const opening = openFenceAtEnd(original.slice(0, chunk.start))!;
			expect([`${opening}\n`, `${/^ *(`+|~+)/.exec(opening)![0]}\n`]).toContain(chunk.reopenedFence);
		}
	});
}

const TELEGRAM_TAGS = new Set(['b', 'i', 'u', 's', 'code', 'pre', 'a', 'blockquote', 'tg-spoiler']);
const STYLE_TAGS = new Set(['b', 'i', 'u', 's', 'tg-spoiler']);

/**
 * Telegram's HTML parse mode: known tags only, balanced and properly nested within the Bot API's
 * nesting rules, every other `<`, `>` and `&` escaped. Returns the problem, or null.
 */
function telegramHtmlProblem(html: string): string | null {
	const stack: string[] = [];
	const token = /<(\/?)([a-z-]+)((?: [a-z]+="[^"<>]*")*)>|&(?:amp|lt|gt|quot);|[<>&]/g;
	for (let match = token.exec(html); match; match = token.exec(html)) {
		const [whole, closing, tag, attributes] = match;
		if (!tag) {
			if (whole.length === 1) return `unescaped ${whole} at ${match.index}`;
			continue;
		}
		if (!TELEGRAM_TAGS.has(tag)) return `unknown tag <${tag}>`;
		if (closing) {
			if (stack.pop() !== tag) return `</${tag}> closes nothing`;
			continue;
		}
		const parent = stack[stack.length - 1];
		if (parent === 'code' || (parent === 'pre' && tag !== 'code')) return `<${tag}> inside <${parent}>`;
		if ((tag === 'code' || tag === 'pre') && stack.some((open) => STYLE_TAGS.has(open) || open === 'a')) return `<${tag}> inside a style or link`;
		if (tag === 'code' && attributes && parent !== 'pre') return 'code with a language outside pre';
		if ((tag === 'blockquote' || tag === 'a') && stack.includes(tag)) return `nested <${tag}>`;
		if (tag === 'a' ? !/^ href="[^"]+"$/.test(attributes) : tag !== 'code' && attributes) return `bad attributes on <${tag}>`;
		stack.push(tag);
	}
	return stack.length ? `unclosed <${stack.join('><')}>` : null;
}

/** Slack: `<` only opens a link and `>` closes one or marks a quote; `&` only starts one of the three escapes. */
function slackProblem(mrkdwn: string): string | null {
	const withoutLinks = mrkdwn.replace(/<(?:https?|mailto|tg):[^<>|\s]+(?:\|[^<>]*)?>/gi, '').replace(/^>(?: |$)/gm, '');
	if (/[<>]/.test(withoutLinks)) return 'unescaped < or >';
	if (/&(?!amp;|lt;|gt;)/.test(withoutLinks)) return 'unescaped &';
	return null;
}

const lines = (text: string) => text.split('\n').length;

// ------------------------------------------------------------------------------------------
// Arbitrary Markdown-ish text for the properties.

const letters = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzé'), minLength: min, maxLength: max });
const codeLine = fc.oneof(
	letters(0, 30),
	fc.constantFrom('    return a < b && c > d;', '\tindented', '  # comment', 'x = "👍🏽"', '```', '~~~', '', '   ', '<div>&amp;</div>'),
);
const fenceBlock = fc
	.record({
		marker: fc.constantFrom('```', '````', '~~~'),
		info: fc.constantFrom('', 'python', 'ts', 'js title', ' bash'),
		body: fc.array(codeLine, { maxLength: 25 }),
		closed: fc.boolean(),
		indent: fc.constantFrom('', '', '  '),
	})
	.map(({ marker, info, body, closed, indent }) => `\n${indent}${marker}${info}\n${body.map((line) => indent + line).join('\n')}${closed ? `\n${indent}${marker}\n` : '\n'}`);
const markdownPiece = fc.oneof(
	{ arbitrary: letters(1, 12), weight: 10 },
	{ arbitrary: fc.constantFrom(' ', ' ', '  ', '\n', '\n\n', '\n\n\n', '. ', '! ', '? ', ', ', '\t', '\u00a0', ' \n '), weight: 10 },
	{ arbitrary: fc.constantFrom('👍', '👍🏽', '👨‍👩‍👧‍👦', '🇩🇪', '🏳️‍🌈', 'e\u0301', '東京の天気は晴れです。', '你好世界', '안녕하세요', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'ลาก่อน', 'Zürich'), weight: 4 },
	{ arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }), weight: 2 },
	{ arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 2 },
	{ arbitrary: fc.array(fc.constantFrom('a', 'b', '👍', '🇩🇪', '👨‍👩‍👧‍👦', '字'), { minLength: 20, maxLength: 200 }).map((units) => units.join('')), weight: 1 },
	{ arbitrary: fenceBlock, weight: 3 },
	{ arbitrary: fc.constantFrom('**', '*', '_', '__', '~~', '`', '||', '[', ']', '](https://example.com/a?b=1&c=2)', '<', '>', '&', '\\', '\n# ', '\n> ', '\n- ', '\n1. ', '\n  * ', '\n---\n', '<b>', 'snake_case_name'), weight: 6 },
	{ arbitrary: fc.constantFrom('**bold**', '*it*', '`x < y`', '[link](https://example.com)', '~~no~~', '<https://a.example>'), weight: 3 },
);
const markdown = fc.array(markdownPiece, { maxLength: 80 }).map((pieces) => pieces.join(''));
const chunkOptions = fc.record({ limit: fc.integer({ min: 40, max: 400 }), maxLines: fc.option(fc.integer({ min: 4, max: 30 }), { nil: undefined }) });
const RUNS = { numRuns: 300 };

// ------------------------------------------------------------------------------------------

describe('chunkText', () => {
	it('sends text that fits as one chunk, unchanged, and nothing for blank text', () => {
		expect(chunkText('Hello **world**', { limit: 4096 })).toEqual(['Hello **world**']);
		expect(chunkText('', { limit: 4096 })).toEqual([]);
		expect(chunkText(' \n\n\t ', { limit: 4096 })).toEqual([]);
	});

	it('splits at a paragraph break before a line break, a sentence end or a space', () => {
		const first = 'First paragraph, which is quite long. It goes on here';
		const text = `${first}\n\nSecond paragraph.\nNext line. More words here`;
		expect(chunkText(text, { limit: 80 })).toEqual([first, 'Second paragraph.\nNext line. More words here']);
	});

	it('splits at a sentence end rather than between other words', () => {
		const text = 'One sentence here. Another sentence follows and then keeps going for a while';
		expect(chunkText(text, { limit: 30 })[0]).toBe('One sentence here.');
	});

	it('never splits a word that fits in a chunk', () => {
		const words = Array.from({ length: 400 }, (_, i) => ['short', 'medium-length', 'extraordinarily', 'a', 'antidisestablishment'][i % 5]);
		const chunks = chunkText(words.join(' '), { limit: 50 });
		const known = new Set(words);
		expect(chunks.flatMap((chunk) => chunk.split(' ')).filter((word) => !known.has(word))).toEqual([]);
		expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(50);
		expect(chunks.join(' ')).toBe(words.join(' '));
	});

	it('cuts a word longer than the limit between grapheme clusters: flags and ZWJ families stay whole', () => {
		const family = '👨‍👩‍👧‍👦'; // 11 code units
		const text = `${'🇩🇪'.repeat(5)}${family.repeat(3)}${'👍🏽'.repeat(4)}`;
		const chunks = chunkText(text, { limit: 12 });
		expect(chunks.join('')).toBe(text);
		const clusters = (s: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].map((g) => g.segment);
		for (const chunk of chunks) {
			expect(chunk.length).toBeLessThanOrEqual(12);
			for (const cluster of clusters(chunk)) expect(['🇩🇪', family, '👍🏽']).toContain(cluster);
		}
	});

	it('never splits a surrogate pair, even inside a cluster longer than the limit', () => {
		const family = '👨‍👩‍👧‍👦';
		for (const limit of [2, 3, 5]) {
			const chunks = chunkText(family.repeat(2) + '𝔘𝔫𝔦', { limit });
			expect(chunks.join('')).toBe(family.repeat(2) + '𝔘𝔫𝔦');
			for (const chunk of chunks) {
				expect(chunk.length).toBeLessThanOrEqual(limit);
				expect(chunk).not.toMatch(LONE_SURROGATE);
			}
		}
	});

	it('breaks Chinese and Japanese between characters, never before closing punctuation', () => {
		const text = '東京の天気は晴れです。明日は雨が降るでしょう。週末は「晴れ」の予報です。'.repeat(4);
		const chunks = chunkText(text, { limit: 30 });
		expect(chunks.join('')).toBe(text);
		for (const chunk of chunks) {
			expect(chunk.length).toBeLessThanOrEqual(30);
			expect(chunk).not.toMatch(/^[。」、]/);
			expect(chunk).not.toMatch(/「$/);
		}
		expect(chunks[0]).toMatch(/。$/);
	});

	it('closes a code block at a split and reopens it with its language in the next chunk', () => {
		const code = Array.from({ length: 30 }, (_, i) => `    print("line ${i}")`).join('\n');
		const text = `Here is the script:\n\n\`\`\`python\ndef main():\n${code}\n\`\`\`\n\nRun it with python3.`;
		const chunks = chunkText(text, { limit: 200 });
		expect(chunks.length).toBeGreaterThan(3);
		expect(chunks[0]).toMatch(/^Here is the script:\n\n```python\ndef main\(\):\n/);
		for (const chunk of chunks.slice(0, -1)) expect(chunk.endsWith('\n```')).toBe(true);
		// Reopened with the language, and the code's indentation survives the split.
		for (const chunk of chunks.slice(1)) expect(chunk).toMatch(/^```python\n {4}print/);
		expect(chunks[chunks.length - 1]).toMatch(/\n```\n\nRun it with python3\.$/);
		for (const chunk of chunks) {
			expect(chunk.length).toBeLessThanOrEqual(200);
			expect(openFenceAtEnd(chunk)).toBeNull();
		}
	});

	it('moves a code block that fits in a fresh chunk there whole instead of cutting it', () => {
		const block = '```ts\nconst a = 1;\nconst b = 2;\nconst c = 3;\n```';
		const text = `${'Intro words here. '.repeat(3)}\n${block}\nAfter.`;
		const chunks = chunkText(text, { limit: 80 });
		expect(chunks).toContain(`${block}\nAfter.`);
	});

	it('reopens tilde fences and fences indented in a list item', () => {
		const code = Array.from({ length: 12 }, (_, i) => `   x${i} = ${i}`).join('\n');
		const text = `1. Install:\n   ~~~bash\n${code}\n   ~~~\n2. Done`;
		const chunks = splitText(text, { limit: 60 });
		expect(chunks.some((chunk) => chunk.reopenedFence === '   ~~~bash\n')).toBe(true);
		expect(chunks.some((chunk) => chunk.closingFence === '\n   ~~~')).toBe(true);
		expectFencesBalanced(text, chunks);
		expectContentPreserved(text, chunks);
	});

	it('reopens a fence without its info string when that would take more than half a chunk', () => {
		const text = `\`\`\`python title="a-very-long-file-name.py"\n${'x = 1\n'.repeat(20)}\`\`\``;
		const chunks = splitText(text, { limit: 60 });
		expect(chunks.slice(1).every((chunk) => chunk.reopenedFence === '```\n')).toBe(true);
		expectFencesBalanced(text, chunks);
	});

	it('keeps to a line limit (Discord) as well as the character limit', () => {
		const text = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
		const chunks = chunkText(text, { limit: 2000, maxLines: 17 });
		expect(chunks.map(lines)).toEqual([17, 17, 16]);
	});

	it('splits a 10,000-character answer with code blocks at 4096 into valid chunks', () => {
		const prose = 'The function below reads the configuration, validates it and starts the server. '.repeat(20);
		const code = (lines: number) => Array.from({ length: lines }, (_, i) => `    const value${i} = await load("key-${i}"); // 👍`).join('\n');
		const smallBlock = `\`\`\`json\n{ "port": 8080 }\n${code(20)}\n\`\`\``;
		const answer = `## Setup\n\n${prose}\n\n\`\`\`typescript\n${code(120)}\n\`\`\`\n\n${prose}\n\n${smallBlock}\n\n${prose}\n\nDone.`;
		expect(answer.length).toBeGreaterThan(10_000);
		const chunks = splitText(answer, { limit: 4096 });
		expect(chunks.length).toBeGreaterThanOrEqual(3);
		for (const chunk of chunks) {
			expect(chunk.text.length).toBeLessThanOrEqual(4096);
			expect(chunk.text).not.toMatch(LONE_SURROGATE);
		}
		expectFencesBalanced(answer, chunks);
		expectContentPreserved(answer, chunks);
		// The long block is cut and reopened with its language; the short one moves whole.
		expect(chunks.filter((chunk) => chunk.reopenedFence === '```typescript\n').length).toBeGreaterThan(0);
		expect(chunks.some((chunk) => chunk.text.includes(smallBlock))).toBe(true);
	});

	it('refuses a limit that cannot hold an emoji', () => {
		expect(() => chunkText('hi', { limit: 1 })).toThrow('2 or more');
		expect(() => chunkText('hi', { limit: 100, maxLines: 0 })).toThrow('1 or more');
	});
});

describe('markdownToTelegramHtml', () => {
	it('turns bold, italic, strike, code, links and spoilers into Telegram tags', () => {
		expect(markdownToTelegramHtml('**bold** *it* _it_ ~~gone~~ `x` [site](https://example.com) ||secret||')).toBe(
			'<b>bold</b> <i>it</i> <i>it</i> <s>gone</s> <code>x</code> <a href="https://example.com">site</a> <tg-spoiler>secret</tg-spoiler>',
		);
		expect(markdownToTelegramHtml('***both***')).toBe('<i><b>both</b></i>');
	});

	it('escapes &, < and > everywhere, including code and link URLs', () => {
		expect(markdownToTelegramHtml('AT&T <script> 1 < 2 > 0 `a<b && c>d` [q](https://x.test/?a=1&b="2")')).toBe(
			'AT&amp;T &lt;script&gt; 1 &lt; 2 &gt; 0 <code>a&lt;b &amp;&amp; c&gt;d</code> <a href="https://x.test/?a=1&amp;b=&quot;2&quot;">q</a>',
		);
	});

	it('writes fenced code as pre with the language class', () => {
		expect(markdownToTelegramHtml('```python\nif a < b:\n    pass\n```')).toBe('<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>');
		expect(markdownToTelegramHtml('```\nplain\n```')).toBe('<pre>plain</pre>');
	});

	it('makes headings bold lines, keeps list markers as text and quotes as blockquote', () => {
		expect(markdownToTelegramHtml('# Title **x**\n- one\n* two\n  + nested\n3. three\n> quoted *text*\n> more')).toBe(
			'<b>Title x</b>\n• one\n• two\n  • nested\n3. three\n<blockquote>quoted <i>text</i>\nmore</blockquote>',
		);
	});

	it('leaves snake_case, arithmetic and unmatched markers as text', () => {
		expect(markdownToTelegramHtml('snake_case_name 2 * 3 * 4 **open only')).toBe('snake_case_name 2 * 3 * 4 **open only');
	});

	it('keeps code out of bold and links, which Telegram does not allow to nest', () => {
		const html = markdownToTelegramHtml('**see `npm i` now** and [`docs`](https://d.example)');
		expect(html).toBe('<b>see </b><code>npm i</code><b> now</b> and <a href="https://d.example">docs</a>');
		expect(telegramHtmlProblem(html)).toBeNull();
	});

	it('shows links Telegram cannot open as text', () => {
		expect(markdownToTelegramHtml('[file](./local.md) [x](javascript:alert(1))')).toBe('file (./local.md) x (javascript:alert(1))');
	});

	it('counts the length Telegram counts: text after entity parsing', () => {
		expect(telegramVisibleLength('<b>a &amp; b</b> &lt;')).toBe('a & b <'.length);
	});
});

describe('markdownToSlackMrkdwn', () => {
	it('writes links as <url|text> and the Slack marks', () => {
		expect(markdownToSlackMrkdwn('**bold** *it* ~~gone~~ `x` [the docs](https://example.com/a?b=1&c=2) <https://a.example>')).toBe(
			'*bold* _it_ ~gone~ `x` <https://example.com/a?b=1&amp;c=2|the docs> <https://a.example>',
		);
	});

	it('escapes &, < and >, and keeps | and > out of link URLs', () => {
		expect(markdownToSlackMrkdwn('a < b & c > d [x](https://e.example/?q=a|b)')).toBe('a &lt; b &amp; c &gt; d <https://e.example/?q=a%7Cb|x>');
	});

	it('makes headings bold, drops the code language and keeps quotes', () => {
		expect(markdownToSlackMrkdwn('## Results **now**\n```js\nx < 1\n```\n> said')).toBe('*Results now*\n```\nx &lt; 1\n```\n> said');
	});
});

describe('markdownToPlain', () => {
	it('strips markup and writes links as "text (url)"', () => {
		expect(markdownToPlain('# Hi\n**Bold** and _it_ with `code` and [docs](https://d.example) <https://a.example>\n- item\n```sh\nls -la\n```')).toBe(
			'Hi\nBold and it with code and docs (https://d.example) https://a.example\n• item\nls -la',
		);
	});
});

describe('formatAndChunk', () => {
	const prose = 'Compare a < b && c > d, then print the result. '.repeat(40);
	const code = Array.from({ length: 80 }, (_, i) => `if (a${i} < b && c > d) { log("<${i}>"); }`).join('\n');
	const answer = `# Answer\n\n${prose}\n\n\`\`\`js\n${code}\n\`\`\`\n\n**Done** — see [docs](https://example.com/?a=1&b=2).`;

	it('sends Telegram HTML chunks that fit 4096 and are valid on their own', () => {
		const messages = formatAndChunk(answer, { format: 'telegram-html', limit: 4096 });
		expect(messages.length).toBeGreaterThan(1);
		for (const message of messages) {
			expect(message.length).toBeLessThanOrEqual(4096);
			expect(telegramHtmlProblem(message)).toBeNull();
		}
		expect(messages.filter((message) => message.includes('<pre><code class="language-js">')).length).toBeGreaterThan(1);
	});

	it('re-chunks a piece whose escaping makes it longer than the limit', () => {
		const messages = formatAndChunk('& < > '.repeat(200), { format: 'telegram-html', limit: 100 });
		for (const message of messages) expect(message.length).toBeLessThanOrEqual(100);
		expect(messages.join(' ').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')).toBe('& < > '.repeat(200).trim());
	});

	it('can count Telegram limits after entity parsing, which fills messages further', () => {
		const sent = formatAndChunk(answer, { format: 'telegram-html', limit: 4096 });
		const visible = formatAndChunk(answer, { format: 'telegram-html', limit: 4096, count: 'visible' });
		for (const message of visible) expect(telegramVisibleLength(message)).toBeLessThanOrEqual(4096);
		expect(visible.length).toBeLessThan(sent.length);
	});

	it('sends Slack mrkdwn and plain text within their limits', () => {
		for (const format of ['slack-mrkdwn', 'plain'] as const) {
			for (const message of formatAndChunk(answer, { format, limit: 1600 })) {
				expect(message.length).toBeLessThanOrEqual(1600);
				if (format === 'slack-mrkdwn') expect(slackProblem(message)).toBeNull();
			}
		}
	});

	it('sends Markdown as chunked, for platforms that render it (Discord)', () => {
		expect(formatAndChunk(answer, { format: 'markdown', limit: 2000, maxLines: 17 })).toEqual(chunkText(answer, { limit: 2000, maxLines: 17 }));
	});

	it('falls back to escaped plain text when markup cannot fit a tiny limit', () => {
		const messages = formatAndChunk('```python\nprint(1 & 2)\n```', { format: 'telegram-html', limit: 20 });
		for (const message of messages) expect(message.length).toBeLessThanOrEqual(20);
		expect(messages.join('')).toContain('&amp;');
	});

	it('refuses a limit below 10', () => {
		expect(() => formatAndChunk('hi', { format: 'plain', limit: 9 })).toThrow('10 or more');
	});
});

describe('properties', () => {
	it('every chunk fits, no surrogate is split, fences are balanced and the content is preserved', () => {
		fc.assert(
			fc.property(markdown, chunkOptions, (text, options) => {
				const chunks = splitText(text, options);
				expect(chunkText(text, options)).toEqual(chunks.map((chunk) => chunk.text));
				for (const chunk of chunks) {
					expect(chunk.text.length).toBeLessThanOrEqual(options.limit);
					if (options.maxLines) expect(lines(chunk.text)).toBeLessThanOrEqual(options.maxLines);
					expect(chunk.text).not.toMatch(LONE_SURROGATE);
				}
				expectContentPreserved(text, chunks);
				expectFencesBalanced(text, chunks, options.limit);
			}),
			RUNS,
		);
	});

	it('with tiny limits and line limits too, every chunk fits, no surrogate is split and the content is preserved', () => {
		const tiny = fc.record({ limit: fc.integer({ min: 2, max: 40 }), maxLines: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }) });
		fc.assert(
			fc.property(markdown, tiny, (text, options) => {
				const chunks = splitText(text, options);
				for (const chunk of chunks) {
					expect(chunk.text.length).toBeLessThanOrEqual(options.limit);
					if (options.maxLines) expect(lines(chunk.text)).toBeLessThanOrEqual(options.maxLines);
					expect(chunk.text).not.toMatch(LONE_SURROGATE);
				}
				expectContentPreserved(text, chunks);
			}),
			{ numRuns: 150 },
		);
	});

	it('a chunk boundary without whitespace is between CJK characters or inside a run too long for a chunk, and between clusters when it can be', () => {
		const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
		fc.assert(
			fc.property(markdown, chunkOptions, (text, options) => {
				const chunks = splitText(text, options);
				const clusterEnds = new Set([...segmenter.segment(text)].map((cluster) => cluster.index + cluster.segment.length));
				for (let i = 1; i < chunks.length; i++) {
					const at = chunks[i].start;
					if (chunks[i - 1].end !== at) continue;
					const cjk = /[\u3000-\u30ff\u4e00-\u9fff]/;
					if (cjk.test(text[at - 1]) && cjk.test(text[at])) continue;
					// Words end at breaking spaces; a no-break space (U+00A0) joins its neighbours.
					let runStart = at;
					let runEnd = at;
					while (runStart > 0 && !BREAKING_SPACE.test(text[runStart - 1])) runStart--;
					while (runEnd < text.length && !BREAKING_SPACE.test(text[runEnd])) runEnd++;
					expect(runEnd - runStart).toBeGreaterThan(options.limit / 4);
					// A cluster is cut only when it alone is longer than a chunk's room.
					if (!clusterEnds.has(at)) {
						const cluster = [...segmenter.segment(text)].find((c) => c.index < at && c.index + c.segment.length > at)!;
						expect(cluster.segment.length).toBeGreaterThan(options.limit / 2);
					}
				}
			}),
			RUNS,
		);
	});

	it('formatted chunks fit the limit and are valid Telegram HTML or Slack mrkdwn', () => {
		const formats: TextFormat[] = ['telegram-html', 'slack-mrkdwn', 'plain', 'markdown'];
		fc.assert(
			fc.property(markdown, fc.constantFrom(...formats), fc.integer({ min: 10, max: 400 }), fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }), (text, format, limit, maxLines) => {
				for (const message of formatAndChunk(text, { format, limit, maxLines })) {
					expect(message.length).toBeLessThanOrEqual(limit);
					if (maxLines) expect(lines(message)).toBeLessThanOrEqual(maxLines);
					expect(message).not.toMatch(LONE_SURROGATE);
					expect(message.trim()).not.toBe('');
					if (format === 'telegram-html') expect(telegramHtmlProblem(message)).toBeNull();
					if (format === 'slack-mrkdwn') expect(slackProblem(message)).toBeNull();
				}
			}),
			RUNS,
		);
	});

	it('any text converts to valid Telegram HTML and Slack mrkdwn', () => {
		fc.assert(
			fc.property(markdown, (text) => {
				expect(telegramHtmlProblem(markdownToTelegramHtml(text))).toBeNull();
				expect(slackProblem(markdownToSlackMrkdwn(text))).toBeNull();
			}),
			RUNS,
		);
	});
});
