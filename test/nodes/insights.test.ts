/**
 * AI Session records what it did and the Insights node reads it back, in real n8n executions
 * (n8n-core's engine): outcomes (answered, command, duplicate, error with its class), the tokens
 * the model reported, per-item latency, sessions and a transcript.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INode } from 'n8n-workflow';

import { closeSessionStores } from '../../nodes/shared/session-stores';
import { OpenAiEmulator } from '../emulators/openai';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow, telegramDmEnvelope } from './harness';

jest.setTimeout(60_000);

const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
const folder = mkdtempSync(join(tmpdir(), 'clawgate-insights-node-'));
const sqliteFile = join(folder, 'sessions.sqlite');
beforeAll(() => model.start());
afterAll(async () => {
	await closeSessionStores();
	await model.stop();
	rmSync(folder, { recursive: true, force: true });
});

const aiSession: INode = {
	id: 'ai-session',
	name: 'AI Session',
	type: `${PACKAGE}.aiSession`,
	typeVersion: 1,
	position: [200, 0],
	parameters: { options: { sqliteFile } },
	credentials: { openAiApi: { id: '1', name: 'OpenAI' } },
	onError: 'continueRegularOutput',
};

function insights(parameters: IDataObject): INode {
	return { id: 'insights', name: 'Insights', type: `${PACKAGE}.insights`, typeVersion: 1, position: [200, 0], parameters: { store: 'sqlite', ...parameters, options: { sqliteFile, ...((parameters.options as IDataObject) ?? {}) } } };
}

const runNode = (node: INode, input: IDataObject[]) =>
	runWorkflow({
		nodes: [node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl } },
		input,
	});

async function totals(): Promise<IDataObject> {
	const { outputOf, error } = await runNode(insights({ operation: 'usageSummary', groupBy: [], days: 2 }), [{}]);
	expect(error).toBeUndefined();
	return outputOf('Insights')[0].json;
}

test('answers, a command, a redelivery and a failed model call are each counted under their outcome, with the tokens the model reported', async () => {
	const before = await totals();
	const first = telegramDmEnvelope('501', 'hello');
	const second = telegramDmEnvelope('501', 'how are you?');
	const help = telegramDmEnvelope('501', '/help');
	(help.message as IDataObject).command = 'help';
	const failing = telegramDmEnvelope('502', 'this one fails');
	model.fail({ status: 400, message: 'bad request from the emulator' });
	// The failing item first, so the scripted 400 is the one its model call gets.
	const { outputOf } = await runNode(aiSession, [failing, first, second, help, { ...first }]);
	const replies = outputOf('AI Session', 0);
	expect(replies.map((item) => item.json.error ?? (item.json.reply as IDataObject).text)).toEqual([
		expect.stringContaining('bad request'),
		'answer to: hello',
		'answer to: how are you?',
		expect.stringContaining('/help'),
	]);
	const usage = replies.slice(1, 3).map((item) => (item.json.reply as IDataObject).usage as IDataObject);
	const after = await totals();
	const delta = (field: string) => Number(after[field]) - Number(before[field]);
	expect([delta('messages'), delta('answered'), delta('commands'), delta('duplicates'), delta('errors')]).toEqual([5, 2, 1, 1, 1]);
	expect(delta('promptTokens')).toBe(usage.reduce((sum, entry) => sum + Number(entry.promptTokens), 0));
	expect(delta('completionTokens')).toBe(usage.reduce((sum, entry) => sum + Number(entry.completionTokens), 0));

	const { outputOf: metrics } = await runNode(insights({ operation: 'metrics' }), [{}]);
	expect(String(metrics('Insights')[0].json.metrics)).toMatch(/clawgate_errors_total\{stage="answer",channel="telegram",via="telegram",class="model_bad_request"\} [1-9]/);
});

test('each item\'s turn latency is its own, and covers its model call', async () => {
	const before = await totals();
	model.latencyMs = 300;
	try {
		await runNode(aiSession, ['one', 'two', 'three'].map((text, index) => telegramDmEnvelope(`60${index}`, text)));
	} finally {
		model.latencyMs = 0;
	}
	const after = await totals();
	const turn = after.turnLatency as IDataObject;
	const modelLatency = after.modelLatency as IDataObject;
	const beforeTurn = before.turnLatency as IDataObject;
	const beforeModel = before.modelLatency as IDataObject;
	const added = (figures: IDataObject, earlier: IDataObject) => (Number(figures.meanMs) * Number(figures.count) - Number(earlier.meanMs ?? 0) * Number(earlier.count)) / (Number(figures.count) - Number(earlier.count));
	const meanTurn = added(turn, beforeTurn);
	const meanModel = added(modelLatency, beforeModel);
	expect(meanModel).toBeGreaterThanOrEqual(290);
	expect(meanTurn).toBeGreaterThanOrEqual(meanModel - 2);
	// Measured per item: three items of ~300 ms each, not the time since the execution started (which would average ~600 ms).
	expect(meanTurn).toBeLessThan(550);
});

test('Sessions lists the conversation with its message count, and Transcript returns its turns in order', async () => {
	const chat = '701';
	await runNode(aiSession, [telegramDmEnvelope(chat, 'first words'), telegramDmEnvelope(chat, 'second words')]);
	const sessionId = String(telegramDmEnvelope(chat, 'x').sessionId);
	const { outputOf: sessions } = await runNode(insights({ operation: 'sessions', order: 'lastSeen', limit: 50, days: 1 }), [{}]);
	expect(sessions('Insights').map((item) => item.json)).toContainEqual(expect.objectContaining({ sessionId, channel: 'telegram', messages: 2 }));
	const { outputOf: transcript } = await runNode(insights({ operation: 'transcript', sessionId, limit: 10 }), [{}]);
	expect(transcript('Insights').map((item) => `${item.json.role}: ${item.json.content}`)).toEqual([
		'user: first words',
		'assistant: answer to: first words',
		'user: second words',
		'assistant: answer to: second words',
	]);
});
