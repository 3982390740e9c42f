import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INode, StructuredChunk } from 'n8n-workflow';

import { closeSessionStores, defaultSqliteFile, resolveSqliteFile } from '../../nodes/shared/session-stores';
import { makeOpenAiKey, OpenAiEmulator } from '../emulators/openai';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow, telegramDmEnvelope } from './harness';

const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
const folder = mkdtempSync(join(tmpdir(), 'clawgate-ai-session-'));
beforeAll(() => model.start());
afterAll(async () => {
	await closeSessionStores();
	await model.stop();
	rmSync(folder, { recursive: true, force: true });
});


const envelope = (text: string, chatId = '42') => telegramDmEnvelope(chatId, text);

function aiSessionNode(parameters: IDataObject = {}, settings: Partial<INode> = {}): INode {
	return {
		id: 'ai-session',
		name: 'AI Session',
		type: `${PACKAGE}.aiSession`,
		typeVersion: 1,
		position: [200, 0],
		parameters: { options: { sqliteFile: join(folder, 'sessions.sqlite') }, ...parameters },
		credentials: { openAiApi: { id: '1', name: 'OpenAI' } },
		...settings,
	};
}

function run(input: IDataObject[], { node = aiSessionNode(), apiKey = model.apiKey } = {}) {
	return runWorkflow({
		nodes: [node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		credentials: { openAiApi: { apiKey, url: model.baseUrl } },
		input,
	});
}

test('an envelope gets a reply with zero parameter changes; the envelope is kept and the reply added', async () => {
	const item = envelope('hello there');
	const { error, outputOf } = await run([item]);
	expect(error).toBeUndefined();
	const [out] = outputOf('AI Session', 0);
	expect(out.json).toMatchObject({
		...item,
		reply: {
			text: 'answer to: hello there',
			model: 'gpt-4o-mini',
			finishReason: 'stop',
			usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number), totalTokens: expect.any(Number) },
			session: { id: item.sessionId, turns: 2, compacted: false },
		},
	});
	expect(out.pairedItem).toMatchObject({ item: 0 });
});

test('items of one run share the conversation, and a redelivered message leaves on the Ignored output', async () => {
	const first = envelope('first', '43');
	const second = envelope('second', '43');
	const { outputOf } = await run([first, second, { ...first }]);
	expect(outputOf('AI Session', 0).map((item) => (item.json.reply as IDataObject).text)).toEqual(['answer to: first', 'answer to: second']);
	const ignored = outputOf('AI Session', 1);
	expect(ignored).toHaveLength(1);
	expect(ignored[0].json).toMatchObject({ ignored: 'duplicate', message: { id: (first.message as IDataObject).id } });
	expect(ignored[0].pairedItem).toMatchObject({ item: 2 });
	expect(model.prompts().at(-1)!.map((message) => message.content)).toEqual([
		'You are a helpful assistant. Answer briefly and clearly.',
		'first',
		'answer to: first',
		'second',
	]);
});

test('n8n Chat Trigger items (sessionId, chatInput) are answered as they are', async () => {
	const { outputOf } = await run([{ sessionId: 'chat-abc', action: 'sendMessage', chatInput: 'hi from the chat' }]);
	// In their own namespace: no item a Clawgate trigger did not make reaches a platform conversation.
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: hi from the chat', session: { id: 'chat:chat-abc' } });
});

test('a Chat Trigger body shaped like a Telegram envelope neither reads that conversation nor claims its next message', async () => {
	await run([envelope('my secret is 1234', '46')]);
	const victim = telegramDmEnvelope('46', 'placeholder');
	const nextId = String(Number((victim.message as IDataObject).id) + 1);
	// Everything a Telegram envelope carries but its origin proof, which a Chat Trigger body cannot have.
	const shaped: IDataObject = { ...telegramDmEnvelope('46', 'what did I say?', nextId) };
	delete shaped.origin;
	const { outputOf } = await run([{ ...shaped, chatInput: 'what did I say?' }]);
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ session: { id: 'chat:telegram:777:dm:46' } });
	expect(JSON.stringify(model.prompts().at(-1))).not.toContain('my secret is 1234');
	// The real next message of the Telegram user is still answered, not ignored as a duplicate.
	const { outputOf: real } = await run([telegramDmEnvelope('46', 'hello again', nextId)]);
	expect(real('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: hello again' });
});

test('the system prompt is an expression, so it can differ per channel', async () => {
	await run([envelope('ping', '44')], { node: aiSessionNode({ systemPrompt: '={{ "You answer on " + $json.channel + "." }}' }) });
	expect(model.prompts().at(-1)![0]).toEqual({ role: 'system', content: 'You answer on telegram.' });
});

test('a rate-limited model (429 with retry-after) is retried and the user still gets the answer', async () => {
	model.fail({ status: 429, retryAfterSeconds: 1 });
	const started = Date.now();
	const { outputOf } = await run([envelope('are you there?', '45')]);
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: are you there?' });
	expect(Date.now() - started).toBeGreaterThanOrEqual(900);
});

test('a model that keeps failing falls back to the next model, and the reply says which model answered', async () => {
	model.fail({ status: 500, model: 'gpt-4o-mini' }, { status: 500, model: 'gpt-4o-mini' }, { status: 500, model: 'gpt-4o-mini' });
	const node = aiSessionNode({ fallbackModels: 'gpt-4o', options: { sqliteFile: join(folder, 'sessions.sqlite'), retries: 2 } });
	const { outputOf } = await run([envelope('fallback please', '46')], { node });
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: fallback please', model: expect.stringMatching(/^gpt-4o/) });
	expect((outputOf('AI Session', 0)[0].json.reply as IDataObject).model).not.toBe('gpt-4o-mini');
});

test('with Continue On Fail, a rejected API key becomes an error on the item that never shows the key', async () => {
	const wrongKey = makeOpenAiKey();
	const { error, outputOf } = await run([envelope('hello', '47')], {
		node: aiSessionNode({}, { onError: 'continueRegularOutput' }),
		apiKey: wrongKey,
	});
	expect(error).toBeUndefined();
	const [item] = outputOf('AI Session', 0);
	expect(item.json.error).toEqual(expect.stringContaining('rejected the API key (401)'));
	expect(JSON.stringify(item)).not.toContain(wrongKey);
});

test('without Continue On Fail, a rejected API key fails the execution with an actionable message', async () => {
	const wrongKey = makeOpenAiKey();
	const { error, run: result } = await run([envelope('hello', '48')], { apiKey: wrongKey });
	expect(error?.message).toContain('rejected the API key (401)');
	expect(JSON.stringify(result)).not.toContain(wrongKey);
});

describe('the SQLite File option', () => {
	const allowed = join(folder, 'allowed');
	const outside = join(folder, 'outside');
	mkdirSync(allowed, { recursive: true });
	mkdirSync(outside, { recursive: true });
	const restricted = { N8N_RESTRICT_FILE_ACCESS_TO: ` ${allowed} ; /nowhere-else ` };

	test('empty means the file beside n8n\'s own database; a leading ~ is the home folder', () => {
		expect(resolveSqliteFile('', {})).toBe(defaultSqliteFile());
		expect(resolveSqliteFile('~/bots/sessions.sqlite', {})).toBe(join(homedir(), 'bots', 'sessions.sqlite'));
	});

	test('with N8N_RESTRICT_FILE_ACCESS_TO set, a file inside an allowed folder is used', () => {
		expect(resolveSqliteFile(join(allowed, 'sub', 'sessions.sqlite'), restricted)).toBe(join(allowed, 'sub', 'sessions.sqlite'));
	});

	test.each([
		['a folder outside', () => join(outside, 'sessions.sqlite')],
		['a sibling folder whose name starts like an allowed one', () => `${allowed}-2/sessions.sqlite`],
		['a path that climbs out with ..', () => join(allowed, '..', 'outside', 'sessions.sqlite')],
		['a symbolic link inside that points outside', () => {
			const link = join(allowed, 'link-out');
			symlinkSync(outside, link);
			return join(link, 'sessions.sqlite');
		}],
	])('with N8N_RESTRICT_FILE_ACCESS_TO set, %s is refused with an error naming the setting', (_case, path) => {
		expect(() => resolveSqliteFile(path(), restricted)).toThrow(/outside the folders this n8n may use \(N8N_RESTRICT_FILE_ACCESS_TO=.*\)\. Choose a file inside one of them/);
	});

	test('an AI Session whose SQLite file is outside N8N_RESTRICT_FILE_ACCESS_TO fails with that message, and creates no file', async () => {
		const previous = process.env.N8N_RESTRICT_FILE_ACCESS_TO;
		process.env.N8N_RESTRICT_FILE_ACCESS_TO = allowed;
		try {
			const node = aiSessionNode({ options: { sqliteFile: join(outside, 'refused.sqlite') } });
			const { error } = await run([envelope('hello', '49')], { node });
			expect(error?.message).toContain('N8N_RESTRICT_FILE_ACCESS_TO');
			expect(() => require('node:fs').statSync(join(outside, 'refused.sqlite'))).toThrow();
		} finally {
			if (previous === undefined) delete process.env.N8N_RESTRICT_FILE_ACCESS_TO;
			else process.env.N8N_RESTRICT_FILE_ACCESS_TO = previous;
		}
	});
});

test('/forget answers only when "Allow /forget" is on, and then erases the conversation', async () => {
	const chat = '50';
	await run([envelope('my number is 7', chat)]);
	const forget = () => {
		const item = envelope('/forget', chat);
		return { ...item, message: { ...(item.message as IDataObject), command: 'forget' } };
	};
	const { outputOf: offOutput } = await run([forget()]);
	expect((offOutput('AI Session', 0)[0].json.reply as IDataObject).command).toBeUndefined();

	const allowing = aiSessionNode({ options: { sqliteFile: join(folder, 'sessions.sqlite'), allowForget: true } });
	const { outputOf } = await run([forget()], { node: allowing });
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ command: 'forget', session: { turns: 0 } });
	await run([envelope('what is my number?', chat)], { node: allowing });
	expect(model.prompts().at(-1)!.map((message) => message.content)).toEqual(['You are a helpful assistant. Answer briefly and clearly.', 'what is my number?']);
});

describe("streaming to n8n's Chat Trigger (Response Mode: Streaming)", () => {
	const chatItem = (chatInput: string, sessionId = 'web-1') => ({ sessionId, action: 'sendMessage', chatInput });
	async function streamed(input: IDataObject[], node = aiSessionNode()) {
		const chunks: StructuredChunk[] = [];
		const result = await runWorkflow({
			nodes: [node],
			connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
			credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl } },
			input,
			onChunk: (chunk) => chunks.push(chunk),
		});
		const text = chunks.filter((chunk) => chunk.type === 'item').map((chunk) => chunk.content ?? '').join('');
		return { ...result, chunks, types: chunks.map((chunk) => chunk.type), text };
	}
	test('the answer goes out as begin, its pieces, end, from AI Session; the reply item carries the same text', async () => {
		const { error, types, chunks, text, outputOf } = await streamed([chatItem('stream this answer to me')]);
		expect(error).toBeUndefined();
		expect(types[0]).toBe('begin');
		expect(types.at(-1)).toBe('end');
		expect(types.filter((type) => type === 'item').length).toBeGreaterThan(3);
		expect(chunks.every((chunk) => chunk.metadata.nodeName === 'AI Session' && chunk.metadata.itemIndex === 0)).toBe(true);
		expect(text).toBe('answer to: stream this answer to me');
		expect(outputOf('AI Session', 0)[0].json).toMatchObject({ output: text, reply: { text } });
	});

	test('a stream cut mid-answer is retried: the retry starts a new paragraph, and only its answer is the reply', async () => {
		model.fail({ cutStreamAfter: 2 });
		const { error, text, outputOf } = await streamed([chatItem('cut me off please', 'web-cut')]);
		expect(error).toBeUndefined();
		expect(text).toBe('answer to: \n\nanswer to: cut me off please');
		expect(outputOf('AI Session', 0)[0].json).toMatchObject({ output: 'answer to: cut me off please', reply: { attempts: [{ model: 'gpt-4o-mini', error: expect.stringMatching(/broke off/) }, { model: 'gpt-4o-mini' }] } });
	});

	test('a command and the Error Reply arrive whole; Enable Streaming off streams nothing', async () => {
		expect((await streamed([chatItem('/help', 'web-cmd')])).types).toEqual(['begin', 'item', 'end']);

		model.fail({ status: 403 });
		const refused = await streamed([chatItem('hello', 'web-err')], aiSessionNode({ options: { sqliteFile: join(folder, 'sessions.sqlite'), errorReply: 'Sorry, not now.' } }));
		expect(refused.types).toEqual(['begin', 'item', 'end']);
		expect(refused.text).toBe('Sorry, not now.');

		const off = await streamed([chatItem('hello', 'web-off')], aiSessionNode({ options: { sqliteFile: join(folder, 'sessions.sqlite'), enableStreaming: false } }));
		expect(off.chunks).toEqual([]);
		expect(off.outputOf('AI Session', 0)[0].json.output).toBe('answer to: hello');
	});

	test('with Continue On Fail, a failed item ends its message with the error the chat shows', async () => {
		model.fail({ status: 403 });
		const { error, chunks } = await streamed([chatItem('hello', 'web-fail')], aiSessionNode({}, { onError: 'continueRegularOutput' }));
		expect(error).toBeUndefined();
		expect(chunks.map((chunk) => chunk.type)).toEqual(['begin', 'error']);
		expect(chunks[1].content).toMatch(/rejected the API key \(403\)/);
		expect(chunks[1].content).not.toContain(model.apiKey);
	});
});
