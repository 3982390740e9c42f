/**
 * The OpenAI model's own reading of the wire, against answers recorded from OpenAI's API reference
 * (test/platforms/fixtures/openai) played by a plain HTTP server, so the emulator and the model
 * cannot share one misunderstanding of Chat Completions (the server-sent events reader itself:
 * test/core/server-sent-events.test.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { OpenAiChatModel } from '../../nodes/core/session/openai.model';
import type { ModelCallError } from '../../nodes/core/session/model';

const recorded = <T>(name: string): T => (JSON.parse(readFileSync(join(__dirname, 'fixtures', 'openai', `${name}.json`), 'utf8')) as { payload: T }).payload;
const completion = recorded<Record<string, unknown>>('chat-completion');
const chunks = recorded<object[]>('chat-completion-stream');
const quota = recorded<object>('error-rate-limit');

/** The stream as OpenAI sends it: one `data:` event per chunk, then [DONE]. */
const documentedStream = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('') + 'data: [DONE]\n\n';

interface Answer {
	status: number;
	headers: Record<string, string>;
	/** Written one after the other. */
	parts: string[];
}

describe('OpenAiChatModel reads what OpenAI documents', () => {
	let server: Server;
	let baseUrl: string;
	let answer: Answer;
	const bodies: Array<Record<string, unknown>> = [];

	beforeAll(async () => {
		server = createServer((request, response) => {
			const received: Buffer[] = [];
			request.on('data', (chunk: Buffer) => received.push(chunk));
			request.on('end', () => {
				bodies.push(JSON.parse(Buffer.concat(received).toString('utf8')) as Record<string, unknown>);
				response.writeHead(answer.status, answer.headers);
				for (const part of answer.parts) response.write(part);
				response.end();
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
	});
	afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

	const model = () => new OpenAiChatModel({ apiKey: 'sk-recorded', baseUrl, timeoutMs: 5_000 });
	const request = (onText?: (delta: string) => void) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hello!' }], maxOutputTokens: 64, onText });

	test('the documented completion gives its text, model, finish reason and usage', async () => {
		answer = { status: 200, headers: { 'content-type': 'application/json' }, parts: [JSON.stringify(completion)] };
		await expect(model().complete(request())).resolves.toEqual({
			text: 'Hello! How can I assist you today?',
			model: 'gpt-4.1-2025-04-14',
			finishReason: 'stop',
			usage: { promptTokens: 19, completionTokens: 10, totalTokens: 29 },
		});
		expect(bodies.at(-1)).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 64 });
	});

	test('the documented stream hands on each piece and ends in the same completion, usage from its last chunk', async () => {
		answer = { status: 200, headers: { 'content-type': 'text/event-stream' }, parts: [documentedStream] };
		const pieces: string[] = [];
		await expect(model().complete(request((delta) => pieces.push(delta)))).resolves.toEqual({
			text: 'Hello! How can I help you today?',
			model: 'gpt-4o-mini',
			finishReason: 'stop',
			usage: { promptTokens: 9, completionTokens: 9, totalTokens: 18 },
		});
		expect(pieces).toEqual(['Hello', '! How can I', ' help you today?']);
		expect(bodies.at(-1)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
	});

	test("the documented exhausted quota (429 insufficient_quota) says to check billing and is not retried", async () => {
		answer = { status: 429, headers: { 'content-type': 'application/json' }, parts: [JSON.stringify(quota)] };
		await expect(model().complete(request())).rejects.toMatchObject({ kind: 'auth', retryable: false, options: { status: 429 } });
	});

	test('an error event in the stream is a server error, which core retries', async () => {
		answer = { status: 200, headers: { 'content-type': 'text/event-stream' }, parts: [`data: ${JSON.stringify(chunks[1])}\n\n`, 'data: {"error":{"message":"The server is overloaded.","type":"server_error"}}\n\n'] };
		const error = (await model().complete(request(() => undefined)).catch((failure: unknown) => failure)) as ModelCallError;
		expect(error).toMatchObject({ kind: 'server', retryable: true });
		expect(error.message).toContain('The server is overloaded.');
	});

	test('a line that never ends (2 MB without a newline) is refused as no answer, without waiting for the rest', async () => {
		answer = { status: 200, headers: { 'content-type': 'text/event-stream' }, parts: ['data: ', ...Array(32).fill('x'.repeat(64 * 1024))] };
		await expect(model().complete(request(() => undefined))).rejects.toMatchObject({ kind: 'bad_response' });
	});

	test('a body that is not JSON is no Chat Completions answer', async () => {
		answer = { status: 200, headers: { 'content-type': 'text/html' }, parts: ['<html>gateway</html>'] };
		await expect(model().complete(request())).rejects.toMatchObject({ kind: 'bad_response' });
	});
});
