/**
 * The server-sent events reader (nodes/core/server-sent-events.ts) fed OpenAI's documented stream
 * (test/platforms/fixtures/openai) cut at every kind of boundary, and the spec's line rules.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { serverSentData, ServerSentEventsError } from '../../nodes/core/server-sent-events';

const chunks = (JSON.parse(readFileSync(join(__dirname, '..', 'platforms', 'fixtures', 'openai', 'chat-completion-stream.json'), 'utf8')) as { payload: object[] }).payload;
const documentedStream = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('') + 'data: [DONE]\n\n';

const bodyOf = (parts: Uint8Array[]) =>
	new Response(
		new ReadableStream<Uint8Array>({
			start(controller) {
				for (const part of parts) controller.enqueue(part);
				controller.close();
			},
		}),
	);
const encoder = new TextEncoder();
const eventsOf = async (parts: string[], maxLineChars?: number) => {
	const events: string[] = [];
	for await (const data of serverSentData(bodyOf(parts.map((part) => encoder.encode(part))), maxLineChars)) events.push(data);
	return events;
};

describe('server-sent events, however the body is cut', () => {
	const expected = [...chunks.map((chunk) => JSON.stringify(chunk)), '[DONE]'];

	test('the documented stream in one piece, one byte at a time, and cut at every third byte', async () => {
		expect(await eventsOf([documentedStream])).toEqual(expected);
		expect(await eventsOf([...documentedStream])).toEqual(expected);
		const thirds = documentedStream.match(/[\s\S]{1,3}/g) as string[];
		expect(await eventsOf(thirds)).toEqual(expected);
	});

	test('CRLF and CR line ends, a CRLF cut between two chunks, comments, other fields and "data:" without a space', async () => {
		expect(await eventsOf(['data: one\r', '\n\r\n: keep-alive\r\nevent: message\rid: 7\rdata:two\r\rdata: three\n\n'])).toEqual(['one', 'two', 'three']);
	});

	test('the data lines of one event are joined by newlines; an empty event is skipped; an event the body ends in is dropped', async () => {
		expect(await eventsOf(['data: a\ndata: b\n\n\n\ndata: {"cut', '\ndata: short'])).toEqual(['a\nb']);
	});

	test('a multi-byte character cut between chunks arrives whole', async () => {
		const bytes = encoder.encode('data: ¡olé 🙂!\n\n');
		const events: string[] = [];
		for await (const data of serverSentData(bodyOf([...bytes].map((byte) => Uint8Array.of(byte))))) events.push(data);
		expect(events).toEqual(['¡olé 🙂!']);
	});

	test('a line longer than the limit ends the reading with an error, however it is cut', async () => {
		await expect(eventsOf(['data: ', 'x'.repeat(600), 'x'.repeat(600)], 1_000)).rejects.toThrow(ServerSentEventsError);
		await expect(eventsOf(['data: ' + 'x'.repeat(900) + '\n\ndata: ok\n\n'], 1_000)).resolves.toEqual(['x'.repeat(900), 'ok']);
	});

	test('a line that comes one character at a time is not searched again with each one (200,000 chunks: linear, where rescanning would not end within the test)', async () => {
		const parts = Array.from({ length: 200_000 }, () => 'z');
		expect(await eventsOf(['data: ', ...parts, '\n\n'], 1_000_000)).toEqual(['z'.repeat(200_000)]);
		// About 1 s here; searching the whole line again per chunk took over 30 s for 150,000 of them.
	}, 20_000);
});
