/** Checks and generators shared by the text tests (core chunking and each platform's renderer). */
import fc from 'fast-check';
import type { TextChunk } from '../../nodes/core/text';

// Checks written from the platforms' rules, independent of the code under test.

export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const WHITESPACE_ONLY = /^\s*$/;
export const BREAKING_SPACE = /[\t\n\v\f\r \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]/;

/** CommonMark code fences in `markdown`: the opening and closing lines, and the line left open at the end (or null). */
export function scanFences(markdown: string): { fenceLines: string[]; openAtEnd: string | null } {
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

export const openFenceAtEnd = (markdown: string) => scanFences(markdown).openAtEnd;

/**
 * The content invariant of `splitText` (see `TextChunk`): each chunk is its body between the
 * added fence lines, bodies are in order, and only whitespace lies between them, so the bodies
 * joined with that whitespace give back the original text.
 */
export function expectContentPreserved(original: string, chunks: TextChunk[]): void {
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
export function expectFencesBalanced(original: string, chunks: TextChunk[], limit = Number.POSITIVE_INFINITY): void {
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
export function telegramHtmlProblem(html: string): string | null {
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
export function slackProblem(mrkdwn: string): string | null {
	const withoutLinks = mrkdwn.replace(/<(?:https?|mailto|tg):[^<>|\s]+(?:\|[^<>]*)?>/gi, '').replace(/^>(?: |$)/gm, '');
	if (/[<>]/.test(withoutLinks)) return 'unescaped < or >';
	if (/&(?!amp;|lt;|gt;)/.test(withoutLinks)) return 'unescaped &';
	return null;
}

export const lines = (text: string) => text.split('\n').length;

// ------------------------------------------------------------------------------------------
// Arbitrary Markdown-ish text for the properties.

export const letters = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzé'), minLength: min, maxLength: max });
export const codeLine = fc.oneof(
	letters(0, 30),
	fc.constantFrom('    return a < b && c > d;', '\tindented', '  # comment', 'x = "👍🏽"', '```', '~~~', '', '   ', '<div>&amp;</div>'),
);
export const fenceBlock = fc
	.record({
		marker: fc.constantFrom('```', '````', '~~~'),
		info: fc.constantFrom('', 'python', 'ts', 'js title', ' bash'),
		body: fc.array(codeLine, { maxLength: 25 }),
		closed: fc.boolean(),
		indent: fc.constantFrom('', '', '  '),
	})
	.map(({ marker, info, body, closed, indent }) => `\n${indent}${marker}${info}\n${body.map((line) => indent + line).join('\n')}${closed ? `\n${indent}${marker}\n` : '\n'}`);
export const markdownPiece = fc.oneof(
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
export const markdown = fc.array(markdownPiece, { maxLength: 80 }).map((pieces) => pieces.join(''));
export const chunkOptions = fc.record({ limit: fc.integer({ min: 40, max: 400 }), maxLines: fc.option(fc.integer({ min: 4, max: 30 }), { nil: undefined }) });
export const RUNS = { numRuns: 300 };

// ------------------------------------------------------------------------------------------


// ------------------------------------------------------------------------------------------
// Material that once made splitting or parsing slow: long runs of one character, fences,
// markup characters, no-break spaces, surrogates. Long strings are built from long runs.

const RUN_UNITS = [' ', '\u00a0', '`', '```', '```\n', '~~~', '*', '_', '~', '|', '[', ']', '(', ')', '<', '>', '&', '\\', '\n', '\n\n', '#', '> ', '- ', '👍', '👍🏽', '🇩🇪', 'a', '東', '\u0301', '\t', '](', '[a](tg://x)', '<https://a.example>', '\ud800'];
const pathologicalRun = fc
	.record({ unit: fc.constantFrom(...RUN_UNITS), times: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1_000, max: 100_000 })) })
	.map(({ unit, times }) => unit.repeat(Math.max(1, Math.min(times, Math.floor(100_000 / unit.length)))));
/** Text up to 200,000 characters that favours what was once slow. */
export const pathologicalMarkdown = fc
	.array(fc.oneof({ arbitrary: pathologicalRun, weight: 3 }, { arbitrary: markdownPiece, weight: 2 }), { maxLength: 12 })
	.map((pieces) => pieces.join('').slice(0, 200_000));

/** Letters and digits a reader must still find, in order, in what was sent. */
export const lettersAndDigits = (text: string) => text.match(/[\p{L}\p{N}]/gu)?.join('') ?? '';

export function isSubsequence(needle: string, haystack: string): boolean {
	let at = 0;
	for (const char of needle) {
		at = haystack.indexOf(char, at);
		if (at < 0) return false;
		at += char.length;
	}
	return true;
}

/**
 * CPU milliseconds `work` took on this thread: what a call costs n8n's event loop. Neither other
 * processes on a busy test machine nor V8's own background threads (concurrent marking,
 * compilers), which run beside the event loop, count against the code (Node 24's
 * threadCpuUsage; the whole process's CPU where it is missing).
 */
export function cpuMsOf(work: () => void): number {
	const usage = typeof process.threadCpuUsage === 'function' ? () => process.threadCpuUsage() : () => process.cpuUsage();
	const started = usage();
	work();
	const ended = usage();
	return (ended.user - started.user + ended.system - started.system) / 1000;
}

/** Milliseconds of CPU `run` used on this thread (the fastest of three), and what it returned. */
export function timed<T>(run: () => T): { ms: number; result: T } {
	let ms = Number.POSITIVE_INFINITY;
	let result!: T;
	for (let attempt = 0; attempt < 3; attempt++) {
		// The fastest of three leaves out a GC pause a call happened to pay for its neighbours.
		ms = Math.min(
			ms,
			cpuMsOf(() => {
				result = run();
			}),
		);
		if (ms < 50) break;
	}
	return { ms, result };
}
