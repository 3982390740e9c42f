/**
 * What a node builds once per execution rather than once per item: AI Session's model client and
 * engine, and a send node's Redis or Postgres receipt store (whose credential n8n decrypts on
 * every read). A batch of items costs the per-item work only.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INode } from 'n8n-workflow';

import * as openAiModel from '../../nodes/core/session/openai.model';
import { buildMessageKey, type Envelope } from '../../nodes/core/envelope';
import type { DeliveryJournal } from '../../nodes/core/journal';
import { closeSessionStores, sessionStoreFor, type N8nRedisCredential } from '../../nodes/shared/session-stores';
import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow, telegramDmEnvelope } from './harness';

const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
const telegram = new TelegramEmulator();
const folder = mkdtempSync(join(tmpdir(), 'clawgate-reuse-'));
const redis = { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379), database: 0, password: '', user: '', ssl: false };
beforeAll(() => Promise.all([model.start(), telegram.start()]));
afterAll(async () => {
	await closeSessionStores();
	await Promise.all([model.stop(), telegram.stop()]);
	rmSync(folder, { recursive: true, force: true });
});

const only = (node: INode) => ({ [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main' as const, index: 0 }]] } });

test('AI Session builds one model client for a batch of messages, and answers each', async () => {
	const aiSession: INode = {
		id: 'ai-session',
		name: 'AI Session',
		type: `${PACKAGE}.aiSession`,
		typeVersion: 3,
		position: [0, 0],
		parameters: { options: { sqliteFile: join(folder, 'sessions.sqlite') } },
		credentials: { openAiApi: { id: '1', name: 'OpenAI' } },
	};
	const OpenAiChatModel = openAiModel.OpenAiChatModel;
	const clients = jest.spyOn(openAiModel, 'OpenAiChatModel').mockImplementation((options) => new OpenAiChatModel(options));
	try {
		const { error, outputOf, credentialReads } = await runWorkflow({
			nodes: [aiSession],
			connections: only(aiSession),
			credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl } },
			input: ['one', 'two', 'three'].map((text, index) => telegramDmEnvelope(`70${index}`, text)),
		});
		expect(error).toBeUndefined();
		expect(outputOf('AI Session').map((item) => (item.json.reply as IDataObject).text)).toEqual(['answer to: one', 'answer to: two', 'answer to: three']);
		expect(clients).toHaveBeenCalledTimes(1);
		expect(credentialReads('openAiApi')).toBe(1);
	} finally {
		clients.mockRestore();
	}
});

test('a send node with Redis delivery receipts reads the Redis credential once for a batch of journaled messages', async () => {
	const journal = sessionStoreFor({ kind: 'redis', redis: redis as N8nRedisCredential }) as unknown as DeliveryJournal;
	const run = randomUUID().slice(0, 8);
	const input = await Promise.all(
		['one', 'two', 'three'].map(async (text, index) => {
			const envelope = telegramDmEnvelope(`71${index}`, text, `${run}${index}`);
			const outcome = await journal.record({ key: buildMessageKey(envelope as unknown as Envelope), sessionId: String(envelope.sessionId), owner: `wf-${run}:trigger`, item: envelope, receivedAt: Date.now() });
			if (outcome.kind !== 'journaled') throw new Error('not journaled');
			return { ...envelope, reply: { text: `reply ${text}` }, delivery: { journal: 'redis', seq: outcome.seq, attempt: 1 } };
		}),
	);
	const send: INode = {
		id: 'telegram-send',
		name: 'Telegram Send',
		type: `${PACKAGE}.telegramSend`,
		typeVersion: 2,
		position: [0, 0],
		parameters: { receiptStore: 'redis' },
		credentials: { clawgateTelegramApi: { id: '1', name: 'Bot' }, redis: { id: '2', name: 'Redis' } },
	};

	const { error, outputOf, credentialReads } = await runWorkflow({
		nodes: [send],
		connections: only(send),
		credentials: { clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot }, redis: { ...redis } },
		input,
	});

	expect(error).toBeUndefined();
	expect(outputOf('Telegram Send').map((item) => (item.json.sent as IDataObject).chatId)).toEqual(['710', '711', '712']);
	expect(credentialReads('redis')).toBe(1);
	expect(credentialReads('clawgateTelegramApi')).toBe(1);
	for (const envelope of input) expect(await journal.isDelivered(buildMessageKey(envelope as unknown as Envelope))).toBe(true);
});
