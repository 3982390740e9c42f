/**
 * `formatAndChunk` over every renderer: messages a platform accepts, in time linear in the text,
 * whatever the model wrote (DESIGN.md "Send nodes": split ... in time linear in the text).
 */
import fc from 'fast-check';
import { formatAndChunk, markdownRenderer, plainRenderer, type TextRenderer } from '../../nodes/core/text';
import { googleChatRenderer } from '../../nodes/GoogleChat/googleChat.format';
import { slackMrkdwnRenderer } from '../../nodes/Slack/slack.format';
import { telegramHtmlRenderer } from '../../nodes/Telegram/telegram.format';
import { isSubsequence, lettersAndDigits, lines, LONE_SURROGATE, markdown, pathologicalMarkdown, RUNS, scanFences, slackProblem, telegramHtmlProblem, timed } from '../core/text-checks';

const RENDERERS = [telegramHtmlRenderer, slackMrkdwnRenderer, plainRenderer, markdownRenderer, googleChatRenderer];
/** Telegram HTML counted as sent (tags and escapes included). */
const telegramHtmlAsSent: TextRenderer = { ...telegramHtmlRenderer, measure: undefined };

const measure = (renderer: TextRenderer, message: string) => (renderer.measure ? renderer.measure(message) : message.length);
const decodeEntities = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

/** What a reader sees of a message, link addresses included (they are where a link leads). */
function visibleText(renderer: TextRenderer, message: string): string {
	// The address after the label, where Markdown has it: `[label](url)`.
	if (renderer.name === telegramHtmlRenderer.name) return decodeEntities(message.replace(/<a href="([^"]*)">([\s\S]*?)<\/a>/g, ' $2 $1 ').replace(/<[^<>]*>/g, ''));
	if (renderer === slackMrkdwnRenderer) return decodeEntities(message.replace(/<([^<>|]*)\|([^<>]*)>/g, ' $2 $1 '));
	if (renderer === googleChatRenderer) return message.replace(/<([^<>|]*)\|([^<>]*)>/g, ' $2 $1 ');
	return message;
}

/** Letters and digits a reader must find: all of the text's, except fence info strings (markup; a split may make any ``` start one) and "mailto". */
function expectedLetters(text: string): string {
	return lettersAndDigits(text.replace(/(`{3,}|~{3,})[^\n]*/g, '').replace(/mailto:/gi, ''));
}

function expectValidMessages(text: string, renderer: TextRenderer, limit: number, maxLines: number | undefined): void {
	const { ms, result: messages } = timed(() => formatAndChunk(text, { renderer, limit, maxLines }));
	expect({ renderer: renderer.name, limit, maxLines, length: text.length, slow: ms >= 150 }).toEqual({ renderer: renderer.name, limit, maxLines, length: text.length, slow: false });
	for (const message of messages) {
		expect(measure(renderer, message)).toBeLessThanOrEqual(limit);
		if (maxLines) expect(lines(message)).toBeLessThanOrEqual(maxLines);
		expect(message.trim()).not.toBe('');
		expect(renderer.isVisible ? renderer.isVisible(message) : true).toBe(true);
		if (renderer === telegramHtmlRenderer) expect(telegramHtmlProblem(message)).toBeNull();
		if (renderer === slackMrkdwnRenderer) expect(slackProblem(message)).toBeNull();
		// Each message's own fences are balanced: a fence marker is never cut in two.
		if (renderer === markdownRenderer && scanFences(text).fenceLines.every((line) => line.length <= Math.floor(limit / 4) - 1)) {
			expect(messages.slice(0, -1).every((sent) => scanFences(sent).openAtEnd === null)).toBe(true);
		}
	}
	expect(isSubsequence(expectedLetters(text), lettersAndDigits(messages.map((message) => visibleText(renderer, message)).join('\n')))).toBe(true);
}

describe('formatAndChunk over every renderer', () => {
	// Reported: each froze n8n for 27 s to over 2 minutes and sent 2-, 1- and 1-character messages.
	it('sends "```" and 20,000 spaces and a word as that word, quickly, on Telegram and Slack', () => {
		const text = '```' + ' '.repeat(20_000) + 'x';
		for (const [renderer, limit] of [
			[telegramHtmlRenderer, 4096],
			[slackMrkdwnRenderer, 3000],
		] as const) {
			const { ms, result } = timed(() => formatAndChunk(text, { renderer, limit }));
			expect(ms).toBeLessThan(150);
			expect(result).toEqual(['x']);
		}
		// Within Slack's 40,000 it is one message: a code block whose info string is "x", with no code, so nothing to send.
		const { ms, result } = timed(() => formatAndChunk(text, { renderer: slackMrkdwnRenderer, limit: 40_000 }));
		expect(ms).toBeLessThan(150);
		expect(result).toEqual([]);
	});

	it('sends 8,000 no-break spaces between two words on Slack quickly, as the two words', () => {
		const text = `x${'\u00a0'.repeat(8000)}x`;
		for (const limit of [100, 3000]) {
			const { ms, result } = timed(() => formatAndChunk(text, { renderer: slackMrkdwnRenderer, limit }));
			expect(ms).toBeLessThan(150);
			expect(result).toEqual(['x', 'x']);
		}
	});

	// Found by the 200,000-character property: one grapheme cluster of 200,000 combining marks cost a
	// segmenter call for every cut refused inside it, 1.2 s per send.
	it('sends a run of 200,000 combining marks ("Zalgo" text) quickly, in valid messages', () => {
		const text = `x${'\u0301'.repeat(200_000)}`;
		for (const renderer of RENDERERS) expectValidMessages(text, renderer, 1600, 17);
	});

	it('sends 80,000 characters without a space quickly, in full messages', () => {
		const text = 'a'.repeat(80_000);
		for (const renderer of RENDERERS) {
			const { ms, result } = timed(() => formatAndChunk(text, { renderer, limit: 4096 }));
			expect(ms).toBeLessThan(150);
			expect(result.join('')).toBe(text);
			expect(result.slice(0, -1).every((message) => message.length === 4096)).toBe(true);
		}
	});

	it('formatted chunks fit the limit and are valid Telegram HTML or Slack mrkdwn', () => {
		fc.assert(
			fc.property(markdown, fc.constantFrom(telegramHtmlAsSent, slackMrkdwnRenderer, plainRenderer, markdownRenderer, googleChatRenderer), fc.integer({ min: 10, max: 400 }), fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }), (text, renderer, limit, maxLines) => {
				for (const message of formatAndChunk(text, { renderer, limit, maxLines })) {
					expect(message.length).toBeLessThanOrEqual(limit);
					if (maxLines) expect(lines(message)).toBeLessThanOrEqual(maxLines);
					expect(message).not.toMatch(LONE_SURROGATE);
					expect(message.trim()).not.toBe('');
					if (renderer === telegramHtmlAsSent) expect(telegramHtmlProblem(message)).toBeNull();
					if (renderer === slackMrkdwnRenderer) expect(slackProblem(message)).toBeNull();
				}
			}),
			RUNS,
		);
	});

	// Platforms' own limits (Twilio 1,600, Discord 2,000 in 17 lines, Slack 4,000, Telegram 4,096, LINE
	// 5,000): a model answer of any shape, up to 200,000 characters, is formatted in one short call.
	it('any text up to 200,000 characters, any renderer, at the platforms\' limits: each call under 150 ms, valid messages that keep every letter', () => {
		fc.assert(
			fc.property(pathologicalMarkdown, fc.constantFrom(...RENDERERS), fc.constantFrom(1600, 2000, 4000, 4096, 5000), fc.option(fc.constantFrom(17), { nil: undefined }), (text, renderer, limit, maxLines) => {
				expectValidMessages(text, renderer, limit, maxLines);
			}),
			{ numRuns: 60 },
		);
	});

	// Tiny limits make a message of every few characters, each with its fixed cost (about 50 µs), so
	// they run on texts of up to 5,000 characters; what they test is that no shape of text breaks the
	// rules. The time bar is about the shape of the text, and the property above holds it at 200,000.
	it('any text up to 5,000 characters, any renderer, tiny limits and line caps: each call under 150 ms, valid messages that keep every letter', () => {
		fc.assert(
			fc.property(pathologicalMarkdown.map((text) => text.slice(0, 5_000)), fc.constantFrom(...RENDERERS), fc.constantFrom(10, 100), fc.option(fc.constantFrom(1, 4), { nil: undefined }), (text, renderer, limit, maxLines) => {
				expectValidMessages(text, renderer, limit, maxLines);
			}),
			{ numRuns: 60 },
		);
	});
});
