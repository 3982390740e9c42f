/**
 * Concurrency: a burst of messages into one conversation loses nothing and is answered in arrival
 * order, each answer seeing every earlier message and reply (DESIGN.md "AI Session node", step 7).
 * In one n8n: 50 executions of the AI Session node at once, in real n8n-core, on each shared
 * store. Across processes (queue mode): two store instances with their own connections, as two
 * n8n workers have, taking turns at receiving the messages.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INode } from 'n8n-workflow';

import { OpenAiChatModel } from '../../nodes/core/session/openai.model';
import { closeSessionStores } from '../../nodes/shared/session-stores';
import { SessionEngine, type InboundMessage, type SessionEngineConfig, type SessionOutcome } from '../../nodes/core/session/engine';
import type { SessionStore } from '../../nodes/core/session/store';
import { ArrivalQueue } from '../../nodes/core/stores/fifo-mutex';
import { PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../../nodes/core/stores/redis.store';
import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';
import { OpenAiEmulator, type ChatCompletionBody } from '../emulators/openai';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow, telegramDmEnvelope as envelope } from '../nodes/harness';
import { recordFigure } from './figures';
import { postgresAddress, redisAddress, removePostgresRunData, removeRedisRunData } from './services';

jest.setTimeout(120_000);

const MESSAGES = 50;
const runId = randomUUID().slice(0, 8);
const folder = mkdtempSync(join(tmpdir(), 'clawgate-concurrency-'));


/** The answer says what the model was shown, so each reply proves what context its request had. */
function answerFor(request: ChatCompletionBody): string {
	const last = request.messages.at(-1);
	return `reply to ${String(last?.content)} after ${request.messages.length - 1} messages`;
}

const model = new OpenAiEmulator({ responder: answerFor });
beforeAll(() => model.start());
afterAll(async () => {
	await closeSessionStores();
	await model.stop();
	rmSync(folder, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// What must hold after a burst

interface BurstCheck {
	turns: number;
	/** Messages whose user turn sits where its arrival puts it, with its own reply right after. */
	inOrder: number;
	/** Requests that carried exactly every earlier message and reply, in order. */
	fullContext: number;
	problems: string[];
}

/**
 * Reads the session back and compares it with the arrival order: turns 2i and 2i+1 are message i
 * and its reply, and the model request for message i held messages 0..i-1 with their replies.
 */
async function checkBurst(store: SessionStore, sessionId: string, arrivals: string[]): Promise<BurstCheck> {
	const { state, turns } = await store.readWindow(sessionId, 1e9);
	const problems: string[] = [];
	let inOrder = 0;
	let fullContext = 0;
	const bodies = model.bodies();
	const expectedHistory: Array<{ role: string; content: string }> = [];
	for (const [index, text] of arrivals.entries()) {
		const user = turns[2 * index];
		const assistant = turns[2 * index + 1];
		const reply = `reply to ${text} after ${2 * index + 1} messages`;
		if (user?.role === 'user' && user.content === text && assistant?.role === 'assistant' && assistant.content === reply) inOrder++;
		else if (problems.length < 5) problems.push(`turns ${2 * index + 1}-${2 * index + 2} are ${JSON.stringify([user?.content, assistant?.content])}, expected ${JSON.stringify([text, reply])}`);
		const requests = bodies.filter((body) => body.messages.at(-1)?.content === text);
		const seen = requests.length === 1 ? requests[0].messages.slice(1, -1) : null;
		if (seen && JSON.stringify(seen) === JSON.stringify(expectedHistory)) fullContext++;
		else if (problems.length < 5) problems.push(`the request for "${text}" (${requests.length} requests) saw ${seen?.length ?? '?'} earlier turns, expected ${expectedHistory.length}`);
		expectedHistory.push({ role: 'user', content: text }, { role: 'assistant', content: reply });
	}
	if (state.turnCount !== 2 * arrivals.length && problems.length < 5) problems.push(`the session holds ${state.turnCount} turns`);
	return { turns: state.turnCount, inOrder, fullContext, problems };
}

function recordBurst(measure: string, check: BurstCheck, count: number, seconds: number, extra = ''): void {
	const ok = check.turns === 2 * count && check.inOrder === count && check.fullContext === count;
	recordFigure({
		area: 'Concurrency',
		measure,
		value: `${check.turns} turns stored; ${check.inOrder}/${count} in arrival order; ${check.fullContext}/${count} requests saw every earlier turn; ${seconds.toFixed(1)} s${extra}`,
		bar: `${2 * count} turns, ${count}/${count} in order, ${count}/${count} saw every earlier turn`,
		ok,
	});
}

// ---------------------------------------------------------------------------------------------
// Stores

interface StoreSetup {
	name: 'SQLite' | 'Redis' | 'Postgres';
	/** The AI Session node's store parameters and credentials for this store. */
	node: { parameters: IDataObject; credentials: Record<string, IDataObject> };
	/** A store instance of our own, as a second n8n process (or a reader) would open. */
	open(): SessionStore;
	crossProcess: boolean;
	cleanUp(): Promise<void>;
}

const sqliteFile = join(folder, 'sessions.sqlite');
const keyPrefix = 'clawgate:';
const setups: StoreSetup[] = [
	{
		name: 'SQLite',
		node: { parameters: { store: 'sqlite', options: { sqliteFile } }, credentials: {} },
		open: () => new SqliteSessionStore({ filename: sqliteFile }),
		crossProcess: false,
		cleanUp: async () => undefined,
	},
	{
		name: 'Redis',
		node: { parameters: { store: 'redis' }, credentials: { redis: { host: redisAddress.host, port: redisAddress.port, database: 0 } } },
		open: () => new RedisSessionStore({ ...redisAddress, keyPrefix }),
		crossProcess: true,
		cleanUp: () => removeRedisRunData(runId, keyPrefix),
	},
	{
		name: 'Postgres',
		node: { parameters: { store: 'postgres' }, credentials: { postgres: { ...postgresAddress, ssl: 'disable' } } },
		open: () => new PostgresSessionStore(postgresAddress),
		crossProcess: true,
		cleanUp: () => removePostgresRunData(runId),
	},
];

// ---------------------------------------------------------------------------------------------
// One n8n: the AI Session node, 50 executions at once

function aiSessionNode(setup: StoreSetup): INode {
	return {
		id: 'ai-session',
		name: 'AI Session',
		type: `${PACKAGE}.aiSession`,
		typeVersion: 1,
		position: [200, 0],
		parameters: { ...setup.node.parameters, systemPrompt: 'You are terse.' },
		credentials: {
			openAiApi: { id: '1', name: 'OpenAI' },
			...Object.fromEntries(Object.keys(setup.node.credentials).map((type) => [type, { id: '2', name: type }])),
		},
	};
}

describe.each(setups)('$name store', (setup) => {
	afterAll(() => setup.cleanUp());

	test(`${MESSAGES} messages sent at once into one session through the AI Session node: every turn stored, in arrival order, each answer seeing all earlier ones`, async () => {
		const chat = `burst-${setup.name}-${runId}`;
		const texts = Array.from({ length: MESSAGES }, (_, index) => `${setup.name} ${runId} message ${index + 1}`);
		// Arrival: the order in which the node hands messages to the session engine (and so to the store's lock).
		const arrivals: string[] = [];
		const handle = SessionEngine.prototype.handle;
		const spy = jest.spyOn(SessionEngine.prototype, 'handle').mockImplementation(function (this: SessionEngine, message: InboundMessage) {
			if (message.text.startsWith(`${setup.name} ${runId}`)) arrivals.push(message.text);
			return handle.call(this, message);
		});
		const node = aiSessionNode(setup);
		const started = Date.now();
		try {
			const runs = await Promise.all(
				texts.map((text) =>
					runWorkflow({
						nodes: [node],
						connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
						credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl }, ...setup.node.credentials },
						input: [envelope(chat, text)],
					}),
				),
			);
			const seconds = (Date.now() - started) / 1000;
			const failed = runs.filter((run) => run.error).map((run) => run.error!.message);
			expect(failed).toEqual([]);

			const reader = setup.open();
			const check = await checkBurst(reader, `telegram:777:dm:${chat}`, arrivals).finally(() => reader.close());
			// n8n-core starts the nodes of simultaneous executions in its own order; the store must keep whichever order reached it.
			const asIssued = arrivals.filter((text, index) => text === texts[index]).length;
			recordBurst(`${setup.name}: ${MESSAGES} messages at once into one session (AI Session node in n8n-core, ${MESSAGES} executions)`, check, MESSAGES, seconds, `; ${asIssued}/${MESSAGES} reached the node in the order issued`);
			expect(check.problems).toEqual([]);
			expect(arrivals).toHaveLength(MESSAGES);
			expect(check).toMatchObject({ turns: 2 * MESSAGES, inOrder: MESSAGES, fullContext: MESSAGES });
			// Each execution's output carries the answer to its own message.
			for (const [index, run] of runs.entries()) {
				expect((run.outputOf('AI Session')[0].json.reply as IDataObject).text).toMatch(new RegExp(`^reply to ${texts[index]} after \\d+ messages$`));
			}
		} finally {
			spy.mockRestore();
		}
	});

	(setup.crossProcess ? test : test.skip)(
		`two processes (separate store instances and connections) receiving ${MESSAGES} messages of one session in turns: every turn stored, in arrival order, each answer seeing all earlier ones`,
		async () => {
			const sessionId = `telegram:777:dm:cross-${setup.name}-${runId}`;
			const stores = [setup.open(), setup.open()];
			const config: SessionEngineConfig = {
				models: ['gpt-4o-mini'],
				systemPrompt: 'You are terse.',
				maxOutputTokens: 256,
				safetyMargin: 64,
				commands: { new: true, reset: true, usage: true, help: true },
				limits: { messagesPerMinute: 0, tokensPerDay: 0, limitReply: 'slow down' },
				compaction: { enabled: false, thresholdTokens: 0, keepRecentTokens: 0 },
				retries: 0,
				timeoutMs: 30_000,
				lock: { waitMs: 60_000, leaseMs: 30_000 },
			};
			const engines = stores.map((store) => new SessionEngine(store, new OpenAiChatModel({ apiKey: model.apiKey, baseUrl: model.baseUrl, timeoutMs: 30_000 }), config));
			try {
				// Both processes are connected, the tables exist and the tokenizer is loaded before the burst, as in running workers.
				await Promise.all(
					engines.map((engine, index) => engine.handle({ sessionId: `${sessionId}:warm-up:${index}`, text: 'hello', messageKey: null, senderKey: null, command: null })),
				);
				// Pairs in turn (A A B B A A …): a second message reaching a process while its first still waits
				// must not lose its place to a message that reached the other process in between.
				const texts = Array.from({ length: MESSAGES }, (_, index) => `${setup.name} ${runId} cross ${index + 1}`);
				const processOf = (index: number) => Math.floor(index / 2) % 2;
				// Across processes "arrival" is when a message has its place in the shared queue: two messages that
				// reach two workers in the same instant have no order. So each message is sent as soon as the one
				// before has arrived (its lock() call has queued it), not a fixed time later.
				const places: Promise<unknown>[] = [];
				const run = ArrivalQueue.prototype.run;
				const spy = jest.spyOn(ArrivalQueue.prototype, 'run').mockImplementation(function (this: ArrivalQueue, key: string, task: () => Promise<unknown>) {
					const place = run.call(this, key, task);
					places.push(place);
					return place;
				} as typeof run);
				const started = Date.now();
				const pending: Promise<SessionOutcome>[] = [];
				try {
					for (const [index, text] of texts.entries()) {
						pending.push(engines[processOf(index)].handle({ sessionId, text, messageKey: `telegram:777:${runId}:${index}`, senderKey: null, command: null }));
						await places[index];
					}
				} finally {
					spy.mockRestore();
				}
				const burstMs = Date.now() - started;
				const outcomes = await Promise.all(pending);
				const seconds = (Date.now() - started) / 1000;
				expect(outcomes.every((outcome) => outcome.kind === 'reply')).toBe(true);
				const check = await checkBurst(stores[0], sessionId, texts);
				recordBurst(
					`${setup.name}: ${MESSAGES} messages into one session across two processes (own connections, A A B B …)`,
					check,
					MESSAGES,
					seconds,
					`; all ${MESSAGES} arrived within ${burstMs} ms`,
				);
				expect(check.problems).toEqual([]);
				expect(check).toMatchObject({ turns: 2 * MESSAGES, inOrder: MESSAGES, fullContext: MESSAGES });
			} finally {
				await Promise.all(stores.map((store) => store.close()));
			}
		},
	);
});
