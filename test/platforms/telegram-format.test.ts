import fc from 'fast-check';
import { formatAndChunk } from '../../nodes/core/text';
import { markdownToTelegramHtml, telegramHtmlRenderer, telegramVisibleLength } from '../../nodes/Telegram/telegram.format';
import { markdown, RUNS, telegramHtmlProblem } from '../core/text-checks';

/** Telegram HTML counted as sent (tags and escapes included): stricter than Telegram, for the tests that check string lengths. */
const telegramHtmlAsSent = { ...telegramHtmlRenderer, measure: undefined };

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

describe('formatAndChunk with Telegram HTML', () => {
	const prose = 'Compare a < b && c > d, then print the result. '.repeat(40);
	const code = Array.from({ length: 80 }, (_, i) => `if (a${i} < b && c > d) { log("<${i}>"); }`).join('\n');
	const answer = `# Answer\n\n${prose}\n\n\`\`\`js\n${code}\n\`\`\`\n\n**Done** — see [docs](https://example.com/?a=1&b=2).`;

	it('sends Telegram HTML chunks that fit 4096 and are valid on their own', () => {
		const messages = formatAndChunk(answer, { renderer: telegramHtmlAsSent, limit: 4096 });
		expect(messages.length).toBeGreaterThan(1);
		for (const message of messages) {
			expect(message.length).toBeLessThanOrEqual(4096);
			expect(telegramHtmlProblem(message)).toBeNull();
		}
		expect(messages.filter((message) => message.includes('<pre><code class="language-js">')).length).toBeGreaterThan(1);
	});
	it('re-chunks a piece whose escaping makes it longer than the limit', () => {
		const messages = formatAndChunk('& < > '.repeat(200), { renderer: telegramHtmlAsSent, limit: 100 });
		for (const message of messages) expect(message.length).toBeLessThanOrEqual(100);
		expect(messages.join(' ').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')).toBe('& < > '.repeat(200).trim());
	});
	it('can count Telegram limits after entity parsing, which fills messages further', () => {
		const sent = formatAndChunk(answer, { renderer: telegramHtmlAsSent, limit: 4096 });
		const visible = formatAndChunk(answer, { renderer: telegramHtmlRenderer, limit: 4096 });
		for (const message of visible) expect(telegramVisibleLength(message)).toBeLessThanOrEqual(4096);
		expect(visible.length).toBeLessThan(sent.length);
	});
	it('falls back to escaped plain text when markup cannot fit a tiny limit', () => {
		const messages = formatAndChunk('```python\nprint(1 & 2)\n```', { renderer: telegramHtmlAsSent, limit: 20 });
		for (const message of messages) expect(message.length).toBeLessThanOrEqual(20);
		expect(messages.join('')).toContain('&amp;');
	});
});

describe('Telegram links', () => {
	it('makes no link of schemes other than http, https and mailto: the text shows, the address as text', () => {
		expect(markdownToTelegramHtml('[me](tg://user?id=42) [x](data:text/html,y) <tg://user?id=42> [ok](mailto:a@b.example)')).toBe(
			'me (tg://user?id=42) x (data:text/html,y) &lt;tg://user?id=42&gt; <a href="mailto:a@b.example">ok</a>',
		);
	});
});

describe('Telegram HTML properties', () => {
	it('any text converts to valid Telegram HTML', () => {
		fc.assert(
			fc.property(markdown, (text) => {
				expect(telegramHtmlProblem(markdownToTelegramHtml(text))).toBeNull();
			}),
			RUNS,
		);
	});
});
