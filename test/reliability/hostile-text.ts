/**
 * Text a stranger (or a model tricked by one) can make Clawgate format or count: each input is
 * one that once made splitting, parsing or counting slow, or a size a Webhook or Chat Trigger item
 * can reach. Built lazily and once, so a test that needs one does not build all of them.
 */
import { randomBytes } from 'node:crypto';

import { seededRandom } from '../fixtures/seeded-random';

const ONE_MEGABYTE = 1_000_000;
const EMOJI = ['😀', '🎉', '👍🏽', '❤️', '🤖', '👨‍👩‍👧‍👦', '🇩🇪'];

function lettersWithoutSpaces(length: number, seed: number): string {
	const random = seededRandom(seed);
	let text = '';
	while (text.length < length) text += String.fromCharCode(97 + Math.floor(random() * 26)).repeat(1 + Math.floor(random() * 3));
	return text.slice(0, length);
}

/** A fenced code block that never closes, then code-like lines. */
function openFenceThen(length: number): string {
	let body = '';
	for (let line = 0; body.length < length; line++) body += `const value${line} = items.map((item) => item * ${line}); // [${line}](https://example.com/${line})\n`;
	return '```ts\n' + body.slice(0, length);
}

export interface HostileText {
	name: string;
	make(): string;
}

export const HOSTILE_TEXTS: readonly HostileText[] = [
	{ name: '"```" + 20,000 spaces + a word', make: () => '```' + ' '.repeat(20_000) + 'x' },
	{ name: '8,000 no-break spaces between two words', make: () => `x${'\u00a0'.repeat(8_000)}x` },
	{ name: '100,000 characters of "*_"', make: () => '*_'.repeat(50_000) },
	{ name: '200,000 combining marks on one letter ("Zalgo")', make: () => `x${'\u0301'.repeat(200_000)}` },
	{ name: '200,000 letters without a space', make: () => lettersWithoutSpaces(200_000, 7) },
	{ name: '1 MB of "a"', make: () => 'a'.repeat(ONE_MEGABYTE) },
	{ name: '1 MB of random base64', make: () => randomBytes(ONE_MEGABYTE).toString('base64').slice(0, ONE_MEGABYTE) },
	{ name: '1 MB of emoji', make: () => Array.from({ length: ONE_MEGABYTE / 4 }, (_, index) => EMOJI[(index * 7919) % EMOJI.length]).join('') },
	{ name: '50,000 nested brackets', make: () => '['.repeat(50_000) + 'x' + ']'.repeat(50_000) },
	{ name: '20,000 nested links', make: () => '[a]('.repeat(20_000) + 'https://example.com' + ')'.repeat(20_000) },
	{ name: '20,000 links nested in link text', make: () => '['.repeat(20_000) + 'x' + '](https://example.com)'.repeat(20_000) },
	{ name: 'an open fence followed by 200,000 characters', make: () => openFenceThen(200_000) },
];

const built = new Map<string, string>();

/** The input's text, built on first use. */
export function hostileText(input: HostileText): string {
	let text = built.get(input.name);
	if (text === undefined) built.set(input.name, (text = input.make()));
	return text;
}
