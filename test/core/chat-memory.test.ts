/**
 * Clawgate Chat Memory's token window (what n8n's AI Agent reads and writes), over every store a
 * workflow can choose: SQLite in a temporary file, and the real Redis and Postgres on 127.0.0.1
 * (REDIS_HOST/REDIS_PORT and PG* variables point elsewhere), each run under its own prefix.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { Pool } from 'pg';

import { TokenWindowHistory } from '../../nodes/core/session/chat-memory';
import { SessionEngine, type SessionEngineConfig } from '../../nodes/core/session/engine';
import { inboundFromItem, sessionIdOfItem } from '../../nodes/core/session/inbound';
import type { ChatCompletion, ChatModel, ChatRequest } from '../../nodes/core/session/model';
import type { SessionStore } from '../../nodes/core/session/store';
import { PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../../nodes/core/stores/redis.store';
import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';
import { createTokenCounter } from '../../nodes/core/tokens';

jest.setTimeout(30_000);

const redisAddress = { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };
const postgresAddress = {
	host: process.env.PGHOST ?? '127.0.0.1',
	port: Number(process.env.PGPORT ?? 5432),
	database: process.env.PGDATABASE ?? 'test',
	user: process.env.PGUSER ?? 'postgres',
	password: process.env.PGPASSWORD,
};

interface Backend {
	/** A new store instance over the run's data: what another n8n process (a queue-mode worker) would open. */
	open(): SessionStore;
	destroy(): Promise<void>;
}

const kinds: Array<{ name: string; setUp(runId: string): Backend }> = [
	{
		name: 'SQLite',
		setUp() {
			const dir = mkdtempSync(join(tmpdir(), 'clawgate-memory-'));
			return { open: () => new SqliteSessionStore({ filename: join(dir, 'sessions.sqlite') }), destroy: async () => rmSync(dir, { recursive: true, force: true }) };
		},
	},
	{
		name: 'Redis',
		setUp(runId) {
			const keyPrefix = `clawgate-test:${runId}:`;
			return {
				open: () => new RedisSessionStore({ ...redisAddress, keyPrefix }),
				destroy: async () => {
					const redis = new Redis(redisAddress);
					const keys: string[] = [];
					for await (const batch of redis.scanStream({ match: `${keyPrefix}*`, count: 1000 })) keys.push(...(batch as string[]));
					if (keys.length > 0) await redis.del(...keys);
					await redis.quit();
				},
			};
		},
	},
	{
		name: 'Postgres',
		setUp(runId) {
			const tablePrefix = `clawgate_test_${runId}_`;
			return {
				open: () => new PostgresSessionStore({ ...postgresAddress, tablePrefix }),
				destroy: async () => {
					const admin = new Pool(postgresAddress);
					const { rows } = await admin.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE tablename LIKE $1', [`${tablePrefix}%`]);
					for (const { tablename } of rows) await admin.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
					await admin.end();
				},
			};
		},
	},
];

/** AI Session's model seam: answers "reply N to: <text>" and records every request. */
class ScriptedModel implements ChatModel {
	requests: ChatRequest[] = [];

	async complete(request: ChatRequest): Promise<ChatCompletion> {
		this.requests.push(request);
		return {
			text: `reply ${this.requests.length} to: ${request.messages.at(-1)!.content}`,
			model: request.model,
			finishReason: 'stop',
			usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
		};
	}
}

const engineConfig: SessionEngineConfig = {
	models: ['gpt-4o-mini'],
	systemPrompt: 'You are terse.',
	maxOutputTokens: 256,
	safetyMargin: 64,
	commands: { new: true, reset: true },
	limits: { messagesPerMinute: 0, tokensPerDay: 0, limitReply: '' },
	compaction: { enabled: false, thresholdTokens: 6000, keepRecentTokens: 2000 },
	retries: 0,
	timeoutMs: 5000,
	lock: { waitMs: 5000, leaseMs: 30_000 },
};

const counter = createTokenCounter('gpt-4o-mini');
const tokensOf = (role: 'user' | 'assistant', content: string) => counter.countMessage({ role, content });

describe.each(kinds)('Clawgate Chat Memory over the $name store', (kind) => {
	let backend: Backend;
	const stores: SessionStore[] = [];
	const open = () => {
		const store = backend.open();
		stores.push(store);
		return store;
	};
	let sessionId: string;

	beforeAll(() => {
		backend = kind.setUp(randomUUID().replace(/-/g, '').slice(0, 12));
	});
	beforeEach(() => {
		sessionId = `telegram:7000:dm:${randomUUID()}`;
	});
	afterAll(async () => {
		await Promise.all(stores.map((store) => store.close()));
		await backend.destroy();
	});

	test('an exchange saved by the agent is read back as user and assistant messages, oldest first', async () => {
		const memory = new TokenWindowHistory(open(), sessionId, { windowTokens: 4000, counter });
		await memory.append([
			{ role: 'user', text: 'My name is Ada.' },
			{ role: 'assistant', text: 'Hello Ada.' },
		]);
		await memory.append([
			{ role: 'user', text: 'What is 6*7?' },
			{ role: 'assistant', text: '42.' },
		]);
		expect(await memory.readWindow()).toEqual([
			{ role: 'user', text: 'My name is Ada.' },
			{ role: 'assistant', text: 'Hello Ada.' },
			{ role: 'user', text: 'What is 6*7?' },
			{ role: 'assistant', text: '42.' },
		]);
	});

	test('the window holds the newest turns whose tokens fit, starting with a user turn, however many turns are stored', async () => {
		const store = open();
		const writer = new TokenWindowHistory(store, sessionId, { windowTokens: 100_000, counter });
		for (let turn = 1; turn <= 40; turn++) {
			await writer.append([
				{ role: 'user', text: `Question ${turn}: what comes after ${turn}?` },
				{ role: 'assistant', text: `${turn + 1} comes after ${turn}.` },
			]);
		}
		const lastTwoExchanges = [
			['user', 'Question 39: what comes after 39?'],
			['assistant', '40 comes after 39.'],
			['user', 'Question 40: what comes after 40?'],
			['assistant', '41 comes after 40.'],
		] as const;
		const fourTurns = lastTwoExchanges.reduce((sum, [role, text]) => sum + tokensOf(role, text), 0);

		// Room for the four newest turns and part of a fifth: the fifth (an answer) does not fit and is not cut.
		const narrow = new TokenWindowHistory(store, sessionId, { windowTokens: fourTurns + tokensOf('assistant', '39 comes after 38.') - 1, counter });
		expect(await narrow.readWindow()).toEqual(lastTwoExchanges.map(([role, text]) => ({ role, text })));

		// One token more lets the answer in, but a window never starts with an answer without its question.
		const withAnswer = new TokenWindowHistory(store, sessionId, { windowTokens: fourTurns + tokensOf('assistant', '39 comes after 38.'), counter });
		expect((await withAnswer.readWindow())[0]).toEqual({ role: 'user', text: 'Question 39: what comes after 39?' });

		const all = await new TokenWindowHistory(store, sessionId, { windowTokens: 100_000, counter }).readWindow();
		expect(all).toHaveLength(80);
	});

	test('turns are counted as AI Session counts them, so the stored token totals mean the same to both', async () => {
		const store = open();
		await new TokenWindowHistory(store, sessionId, { windowTokens: 4000, counter }).append([
			{ role: 'user', text: 'Count me.' },
			{ role: 'assistant', text: 'Counted.' },
		]);
		const { turns } = await store.readWindow(sessionId, 4000);
		expect(turns.map((turn) => turn.tokens)).toEqual([tokensOf('user', 'Count me.'), tokensOf('assistant', 'Counted.')]);
	});

	test('a conversation moves between AI Session and the agent: each sees the turns the other stored', async () => {
		const model = new ScriptedModel();
		const store = open();
		const engine = new SessionEngine(store, model, engineConfig);
		const envelope = { sessionId, channel: 'telegram', accountId: '7000', chat: { id: '42' }, message: { id: '1' } };

		// AI Session answers first, in the session its item names.
		const inbound = inboundFromItem(envelope, { sessionId: envelope.sessionId, text: 'My name is Ada.', fromTrigger: true });
		await engine.handle(inbound);

		// The agent's memory, with the same Session Key, reads that exchange and adds its own.
		const agentSession = sessionIdOfItem(envelope, { sessionId: envelope.sessionId, fromTrigger: true });
		expect(agentSession).toBe(inbound.sessionId);
		const memory = new TokenWindowHistory(open(), agentSession, { windowTokens: 4000, counter });
		expect(await memory.readWindow()).toEqual([
			{ role: 'user', text: 'My name is Ada.' },
			{ role: 'assistant', text: 'reply 1 to: My name is Ada.' },
		]);
		await memory.append([
			{ role: 'user', text: 'What is 6*7?' },
			{ role: 'assistant', text: 'It is 42.' },
		]);

		// Back in AI Session, the model gets the agent's exchange too.
		await engine.handle({ ...inbound, text: 'What do you know?', messageKey: 'telegram:7000:42:2' });
		expect(model.requests[1].messages.map((message) => `${message.role}: ${message.content}`)).toEqual([
			'system: You are terse.',
			'user: My name is Ada.',
			'assistant: reply 1 to: My name is Ada.',
			'user: What is 6*7?',
			'assistant: It is 42.',
			'user: What do you know?',
		]);
	});

	test("AI Session's /reset starts a fresh context for the agent too, and the agent's clear is a reset", async () => {
		const store = open();
		const memory = new TokenWindowHistory(store, sessionId, { windowTokens: 4000, counter });
		await memory.append([
			{ role: 'user', text: 'Old question' },
			{ role: 'assistant', text: 'Old answer' },
		]);
		await new SessionEngine(store, new ScriptedModel(), engineConfig).handle({ sessionId, text: '/reset', messageKey: null, senderKey: null, command: 'reset' });
		expect(await memory.readWindow()).toEqual([]);

		await memory.append([
			{ role: 'user', text: 'New question' },
			{ role: 'assistant', text: 'New answer' },
		]);
		await memory.resetContext();
		expect(await memory.readWindow()).toEqual([]);
		expect((await store.readWindow(sessionId, 0)).state.turnCount).toBe(4);
	});

	test("AI Session's summary reaches the agent first, inside the window", async () => {
		const store = open();
		const memory = new TokenWindowHistory(store, sessionId, { windowTokens: 4000, counter });
		await memory.append([
			{ role: 'user', text: 'Early question' },
			{ role: 'assistant', text: 'Early answer' },
			{ role: 'user', text: 'Later question' },
			{ role: 'assistant', text: 'Later answer' },
		]);
		await store.saveSummary(sessionId, { content: 'Ada asked early.', tokens: 20, throughSeq: 2 });
		expect(await memory.readWindow()).toEqual([
			{ role: 'system', text: 'Summary of the earlier conversation:\nAda asked early.' },
			{ role: 'user', text: 'Later question' },
			{ role: 'assistant', text: 'Later answer' },
		]);
	});

	test('a second store instance (another queue-mode worker) reads what the first wrote: nothing is kept in the process', async () => {
		await new TokenWindowHistory(open(), sessionId, { windowTokens: 4000, counter }).append([
			{ role: 'user', text: 'Written on worker 1' },
			{ role: 'assistant', text: 'Answered on worker 1' },
		]);
		expect(await new TokenWindowHistory(open(), sessionId, { windowTokens: 4000, counter }).readWindow()).toEqual([
			{ role: 'user', text: 'Written on worker 1' },
			{ role: 'assistant', text: 'Answered on worker 1' },
		]);
	});
});

describe('which session the memory reads', () => {
	test("an item no Clawgate trigger signed gets AI Session's `chat:` namespace, so it can never name a platform conversation", () => {
		const forged = { sessionId: 'telegram:7000:dm:42', channel: 'telegram', accountId: '7000', chat: { id: '42' }, message: { id: '1' } };
		expect(sessionIdOfItem(forged, { sessionId: forged.sessionId, fromTrigger: false })).toBe('chat:telegram:7000:dm:42');
		expect(sessionIdOfItem({ sessionId: 'web-1', chatInput: 'hi' }, { sessionId: 'web-1', fromTrigger: false })).toBe('chat:web-1');
	});

	test('an empty session key is refused with what to set', () => {
		expect(() => sessionIdOfItem({}, { sessionId: '', fromTrigger: false })).toThrow(/Session Key/);
	});
});
