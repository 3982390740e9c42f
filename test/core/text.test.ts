import fc from 'fast-check';
import { chunkText, formatAndChunk, markdownRenderer, markdownToPlain, neutralizeUnsafeLinks, plainRenderer, splitText } from '../../nodes/core/text';
import {
	BREAKING_SPACE,
	chunkOptions,
	expectContentPreserved,
	expectFencesBalanced,
	lines,
	LONE_SURROGATE,
	markdown,
	openFenceAtEnd,
	RUNS,
	timed,
} from './text-checks';

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

describe('markdownToPlain', () => {
	it('strips markup and writes links as "text (url)"', () => {
		expect(markdownToPlain('# Hi\n**Bold** and _it_ with `code` and [docs](https://d.example) <https://a.example>\n- item\n```sh\nls -la\n```')).toBe(
			'Hi\nBold and it with code and docs (https://d.example) https://a.example\n• item\nls -la',
		);
	});
});

describe('formatAndChunk with the core renderers', () => {
	const prose = 'Compare a < b && c > d, then print the result. '.repeat(40);
	const code = Array.from({ length: 80 }, (_, i) => `if (a${i} < b && c > d) { log("<${i}>"); }`).join('\n');
	const answer = `# Answer\n\n${prose}\n\n\`\`\`js\n${code}\n\`\`\`\n\n**Done** — see [docs](https://example.com/?a=1&b=2).`;

	it('sends Markdown as chunked, for platforms that render it (Discord)', () => {
		expect(formatAndChunk(answer, { renderer: markdownRenderer, limit: 2000, maxLines: 17 })).toEqual(chunkText(answer, { limit: 2000, maxLines: 17 }));
	});
	it('refuses a limit below 10', () => {
		expect(() => formatAndChunk('hi', { renderer: plainRenderer, limit: 9 })).toThrow('10 or more');
	});

	it('never sends a message that shows nothing, such as a lone code fence', () => {
		expect(formatAndChunk('```' + ' '.repeat(50) + 'x', { renderer: markdownRenderer, limit: 20 })).toEqual(['x']);
		expect(formatAndChunk('```\n\n```', { renderer: plainRenderer, limit: 20 })).toEqual([]);
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

});

describe('linear time (a model answer must not freeze n8n)', () => {
	// Each of these took from 2 s to over 2 minutes before, synchronously on n8n's main thread.
	it('splits a fence followed by 20,000 spaces quickly into chunks that each show text', () => {
		const text = '```' + ' '.repeat(20_000) + 'x';
		for (const limit of [100, 1600, 4096]) {
			const { ms, result } = timed(() => splitText(text, { limit }));
			expect(ms).toBeLessThan(150);
			expect(result.map((chunk) => chunk.text)).toEqual(['```', 'x']);
		}
	});

	it('splits 8,000 no-break spaces between words quickly, without empty chunks', () => {
		const text = `x${'\u00a0'.repeat(8_000)}x`;
		const { ms, result } = timed(() => chunkText(text, { limit: 100 }));
		expect(ms).toBeLessThan(150);
		expect(result).toEqual(['x', 'x']);
	});

	it('cuts 80,000 characters without a space into full chunks quickly', () => {
		const text = 'a'.repeat(80_000);
		const { ms, result } = timed(() => chunkText(text, { limit: 4096 }));
		expect(ms).toBeLessThan(150);
		expect(result.slice(0, -1).every((chunk) => chunk.length === 4096)).toBe(true);
		expect(result.join('')).toBe(text);
	});

	it('parses long runs of markup characters in linear time', () => {
		for (const unit of [' ', '*', '_', '`', '[', '<', '\\', '](x', 'a* ', '> ', '# ', '- ', '*_', '[a](<', '[a]("']) {
			const text = `${unit.repeat(Math.floor(100_000 / unit.length))}x`;
			const { ms } = timed(() => markdownToPlain(text));
			expect({ unit, slow: ms > 150 }).toEqual({ unit, slow: false });
		}
	});
});

describe('unsafe link schemes', () => {
	const unsafe = '[me](tg://user?id=42) [run](javascript:alert(1)) [img](data:text/html,x) [f](file:///etc/passwd) <tg://user?id=42>';

	it('plain text shows the text of links of other schemes than http, https and mailto', () => {
		expect(markdownToPlain(unsafe)).toBe('me (tg://user?id=42) run (javascript:alert(1)) img (data:text/html,x) f (file:///etc/passwd) <tg://user?id=42>');
	});

	it('Markdown sent as written (Discord) has links of other schemes escaped, and safe links and code untouched', () => {
		expect(neutralizeUnsafeLinks(unsafe)).toBe('[me]\\(tg://user?id=42) [run]\\(javascript:alert(1)) [img]\\(data:text/html,x) [f]\\(file:///etc/passwd) \\<tg://user?id=42>');
		const safe = '[docs](https://d.example) <mailto:a@b.example> `[x](tg://y)`\n```\n[x](javascript:y)\n```';
		expect(neutralizeUnsafeLinks(safe)).toBe(safe);
		// What Discord then renders: no link, the text as written.
		expect(markdownToPlain(neutralizeUnsafeLinks('[me](tg://user?id=42)'))).toBe('[me](tg://user?id=42)');
	});
});
