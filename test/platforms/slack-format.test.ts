import fc from 'fast-check';
import { formatAndChunk, plainRenderer } from '../../nodes/core/text';
import { markdownToSlackMrkdwn, slackMrkdwnRenderer } from '../../nodes/Slack/slack.format';
import { markdown, RUNS, slackProblem } from '../core/text-checks';

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

describe('formatAndChunk with Slack mrkdwn', () => {
	const prose = 'Compare a < b && c > d, then print the result. '.repeat(40);
	const code = Array.from({ length: 80 }, (_, i) => `if (a${i} < b && c > d) { log("<${i}>"); }`).join('\n');
	const answer = `# Answer\n\n${prose}\n\n\`\`\`js\n${code}\n\`\`\`\n\n**Done** — see [docs](https://example.com/?a=1&b=2).`;

	it('sends Slack mrkdwn and plain text within their limits', () => {
		for (const renderer of [slackMrkdwnRenderer, plainRenderer]) {
			for (const message of formatAndChunk(answer, { renderer, limit: 1600 })) {
				expect(message.length).toBeLessThanOrEqual(1600);
				if (renderer === slackMrkdwnRenderer) expect(slackProblem(message)).toBeNull();
			}
		}
	});
});

describe('Slack links', () => {
	it('makes no link of schemes other than http, https and mailto: the text shows, the address as text', () => {
		expect(markdownToSlackMrkdwn('[me](tg://user?id=42) [x](javascript:alert(1)) <tg://user?id=42> [ok](mailto:a@b.example)')).toBe(
			'me (tg://user?id=42) x (javascript:alert(1)) &lt;tg://user?id=42&gt; <mailto:a@b.example|ok>',
		);
	});
});

describe('Slack mrkdwn properties', () => {
	it('any text converts to valid Slack mrkdwn', () => {
		fc.assert(
			fc.property(markdown, (text) => {
				expect(slackProblem(markdownToSlackMrkdwn(text))).toBeNull();
			}),
			RUNS,
		);
	});
});
