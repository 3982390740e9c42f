/**
 * Faults, in real n8n-core with the AI Session and Telegram Send nodes: a model that is rate
 * limited, failing or hung, a platform's flood control, and the Redis or Postgres store going
 * away for 10 s. Each time the user gets an answer or the workflow's error text within a bounded
 * time, and the stored history stays consistent: a message is stored together with its reply or
 * not at all (DESIGN.md "AI Session node", step 7), so a failed message can be sent again.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INode, INodeParameters, IConnections } from 'n8n-workflow';

import { closeSessionStores } from '../../nodes/shared/session-stores';
import { buildMessageKey } from '../../nodes/core/envelope';
import type { SessionStore } from '../../nodes/core/session/store';
import { PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../../nodes/core/stores/redis.store';
import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';
import { OpenAiEmulator, type ChatCompletionBody, type OpenAiFault } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow, telegramDmEnvelope as envelope, type WorkflowRun } from '../nodes/harness';
import { recordFigure } from './figures';
import { postgresAddress, redisAddress, removePostgresRunData, removeRedisRunData } from './services';
import { TcpProxy } from './tcp-proxy';

type OutputOf = WorkflowRun['outputOf'];

jest.setTimeout(120_000);

const runId = randomUUID().slice(0, 8);
const folder = mkdtempSync(join(tmpdir(), 'clawgate-faults-'));
const sqliteFile = join(folder, 'sessions.sqlite');
const ERROR_TEXT = 'Sorry, I cannot answer right now. Please try again in a minute.';
const ERROR_REPLY = 'The assistant is unavailable for a moment; please send that again shortly.';


const answer = (request: ChatCompletionBody) => `answer to: ${String(request.messages.at(-1)?.content)}`;
const model = new OpenAiEmulator({ responder: answer });
const telegram = new TelegramEmulator();
beforeAll(async () => {
	await Promise.all([model.start(), telegram.start()]);
	// The first execution loads n8n's expression engine and the tokenizer; times below are for a running n8n.
	await runGateway(envelope(`warm-up-${runId}`, 'hello'), {});
});
afterAll(async () => {
	await closeSessionStores();
	await Promise.all([model.stop(), telegram.stop()]);
	rmSync(folder, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);


/**
 * What a history must look like after any fault: user and assistant turns strictly alternating,
 * every message stored with its reply, nothing else.
 */
async function historyProblems(store: SessionStore, sessionId: string, expectedPairs: Array<[string, string]>): Promise<string[]> {
	const { state, turns } = await store.readWindow(sessionId, 1e9);
	const problems: string[] = [];
	const stored = turns.map((turn) => `${turn.role}: ${turn.content}`);
	const expected = expectedPairs.flatMap(([user, assistant]) => [`user: ${user}`, `assistant: ${assistant}`]);
	if (JSON.stringify(stored) !== JSON.stringify(expected)) problems.push(`history is ${JSON.stringify(stored)}, expected ${JSON.stringify(expected)}`);
	if (state.turnCount !== expected.length) problems.push(`the session counts ${state.turnCount} turns, expected ${expected.length}`);
	return problems;
}

// ---------------------------------------------------------------------------------------------
// The model fails

/** Trigger → AI Session → Telegram Send, and the AI Session's error output → Telegram Send with the error text. */
function gatewayWorkflow(aiOptions: IDataObject, fallbackModels: string) {
	const ai: INode = {
		id: 'ai-session',
		name: 'AI Session',
		type: `${PACKAGE}.aiSession`,
		typeVersion: 1,
		position: [200, 0],
		parameters: { fallbackModels, options: { sqliteFile, ...aiOptions } },
		credentials: { openAiApi: { id: '1', name: 'OpenAI' } },
		onError: 'continueErrorOutput',
	};
	const send = (name: string, parameters: INodeParameters): INode => ({
		id: name,
		name,
		type: `${PACKAGE}.telegramSend`,
		typeVersion: 1,
		position: [400, 0],
		parameters,
		credentials: { clawgateTelegramApi: { id: '2', name: 'Bot' } },
	});
	const nodes = [ai, send('Send Reply', {}), send('Send Error Text', { text: ERROR_TEXT })];
	const connections: IConnections = {
		[INPUT_NODE_NAME]: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
		// Outputs: 0 Reply, 1 Ignored, 2 the error output n8n adds for "Continue (using error output)".
		'AI Session': { main: [[{ node: 'Send Reply', type: 'main', index: 0 }], [], [{ node: 'Send Error Text', type: 'main', index: 0 }]] },
	};
	return { nodes, connections };
}

function runGateway(item: IDataObject, aiOptions: IDataObject, fallbackModels = '') {
	return runWorkflow({
		...gatewayWorkflow(aiOptions, fallbackModels),
		credentials: {
			openAiApi: { apiKey: model.apiKey, url: model.baseUrl },
			clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot },
		},
		input: [item],
	});
}

interface ModelFault {
	name: string;
	/** One fault per attempt of the primary model (retries + 1). */
	faults: OpenAiFault[];
	/** The longest the user may wait for an answer or the error text. */
	boundMs: number;
}

const RETRIES = 1;
const TIMEOUT_SECONDS = 1;
const modelFaults: ModelFault[] = [
	{ name: '429 (retry-after 0.3 s) on every try', faults: Array(RETRIES + 1).fill({ status: 429, retryAfterMs: 300, model: 'gpt-4o-mini' }), boundMs: 5_000 },
	{ name: '500 on every try', faults: Array(RETRIES + 1).fill({ status: 500, model: 'gpt-4o-mini' }), boundMs: 5_000 },
	{ name: `hangs past the ${TIMEOUT_SECONDS} s timeout on every try`, faults: Array(RETRIES + 1).fill({ hang: true, model: 'gpt-4o-mini' }), boundMs: 2 * (RETRIES + 1) * TIMEOUT_SECONDS * 1000 + 3_000 },
];

describe.each(modelFaults)('the model $name', (fault) => {
	const aiOptions = { retries: RETRIES, timeoutSeconds: TIMEOUT_SECONDS };

	afterEach(() => {
		model.reset();
		model.responder = answer;
	});

	test('with a fallback model: the fallback answers, the user gets its answer, and the history holds the message with that answer', async () => {
		const chatId = `fallback-${runId}-${fault.faults.length}-${modelFaults.indexOf(fault)}`;
		const sessionId = `telegram:777:dm:${chatId}`;
		const before = telegram.calls('sendMessage').length;
		model.fail(...fault.faults);
		const started = Date.now();
		const { error, outputOf } = await runGateway(envelope(chatId, 'first question'), aiOptions, 'gpt-4o');
		const elapsed = Date.now() - started;
		expect(error).toBeUndefined();
		const reply = outputOf('AI Session', 0)[0]?.json.reply as IDataObject | undefined;
		const sent = telegram.calls('sendMessage').slice(before).map((call) => call.body.text);

		// The conversation goes on normally afterwards, seeing the fallback's answer.
		const next = await runGateway(envelope(chatId, 'second question'), aiOptions, 'gpt-4o');
		expect(next.error).toBeUndefined();
		const store = new SqliteSessionStore({ filename: sqliteFile });
		const problems = await historyProblems(store, sessionId, [
			['first question', 'answer to: first question'],
			['second question', 'answer to: second question'],
		]).finally(() => store.close());

		const ok = reply?.model === 'gpt-4o' && sent.length === 1 && sent[0] === 'answer to: first question' && problems.length === 0 && elapsed <= fault.boundMs;
		recordFigure({
			area: 'Faults',
			measure: `Model ${fault.name}, fallback gpt-4o set (AI Session → Telegram Send in n8n-core)`,
			value: `${reply?.model === 'gpt-4o' ? 'answered by gpt-4o' : `answered by ${String(reply?.model)}`} in ${seconds(elapsed)}; user got ${sent.length} message(s); history ${problems.length === 0 ? 'consistent (message + reply stored, next answer saw them)' : problems.join('; ')}`,
			bar: `answered by the fallback within ${seconds(fault.boundMs)}; history consistent`,
			ok,
		});
		expect(problems).toEqual([]);
		expect(reply).toMatchObject({ model: 'gpt-4o', text: 'answer to: first question' });
		expect(sent).toEqual(['answer to: first question']);
		expect(elapsed).toBeLessThanOrEqual(fault.boundMs);
		expect(model.prompts().at(-1)!.map((message) => message.content)).toEqual([expect.any(String), 'first question', 'answer to: first question', 'second question']);
	});

	// Two ways to tell the user: the node's error output wired to a send node, or the Error Reply option.
	const errorPaths = [
		{ via: 'error output → Telegram Send with the error text', extra: {}, text: ERROR_TEXT, failure: (outputOf: OutputOf) => outputOf('AI Session', 2)[0]?.json.error },
		{ via: 'AI Session "Error Reply" option → the usual Telegram Send', extra: { errorReply: ERROR_REPLY }, text: ERROR_REPLY, failure: (outputOf: OutputOf) => (outputOf('AI Session', 0)[0]?.json.reply as IDataObject | undefined)?.error },
	];

	test.each(errorPaths)('without a fallback ($via): the user gets the error text, nothing is stored, and the same message sent again is answered', async (path) => {
		const chatId = `nofallback-${runId}-${modelFaults.indexOf(fault)}-${errorPaths.indexOf(path)}`;
		const sessionId = `telegram:777:dm:${chatId}`;
		const item = envelope(chatId, 'a question');
		const before = telegram.calls('sendMessage').length;
		model.fail(...fault.faults);
		const started = Date.now();
		const { error, outputOf } = await runGateway(item, { ...aiOptions, ...path.extra });
		const elapsed = Date.now() - started;
		expect(error).toBeUndefined();
		const failure = path.failure(outputOf);
		const sent = telegram.calls('sendMessage').slice(before).map((call) => call.body);

		const store = new SqliteSessionStore({ filename: sqliteFile });
		const afterFailure = await historyProblems(store, sessionId, []);
		const keyRecorded = await store.hasMessageKey(buildMessageKey(item as never));
		// The platform redelivers, or the user sends it again: it is answered, not ignored as a duplicate.
		const again = await runGateway(item, { ...aiOptions, ...path.extra });
		const answeredAgain = (again.outputOf('AI Session', 0)[0]?.json.reply as IDataObject | undefined)?.text;
		const afterRetry = await historyProblems(store, sessionId, [['a question', 'answer to: a question']]).finally(() => store.close());

		const problems = [...afterFailure, ...afterRetry, ...(keyRecorded ? ['the failed message was recorded as answered'] : [])];
		const ok = sent.length === 1 && sent[0].text === path.text && problems.length === 0 && answeredAgain === 'answer to: a question' && elapsed <= fault.boundMs;
		recordFigure({
			area: 'Faults',
			measure: `Model ${fault.name}, no fallback (${path.via})`,
			value: `user got ${sent.length === 1 && sent[0].text === path.text ? 'the error text' : JSON.stringify(sent.map((body) => body.text))} after ${seconds(elapsed)}; 0 turns stored; sent again → ${answeredAgain ? 'answered' : 'not answered'}; history ${problems.length === 0 ? 'consistent' : problems.join('; ')}`,
			bar: `error text within ${seconds(fault.boundMs)}; no orphan turn; a resend is answered`,
			ok,
		});
		expect(problems).toEqual([]);
		expect(failure).toEqual(expect.stringMatching(/model/i));
		expect(sent).toEqual([expect.objectContaining({ chat_id: chatId, text: path.text })]);
		expect(answeredAgain).toBe('answer to: a question');
		expect(elapsed).toBeLessThanOrEqual(fault.boundMs);
	});
});

// ---------------------------------------------------------------------------------------------
// The platform rate-limits

test('Telegram answers 429 with retry_after 2: the Telegram Send node waits it out and the message is sent', async () => {
	const retryAfter = 2;
	const before = telegram.calls('sendMessage').length;
	telegram.rateLimitNext('sendMessage', retryAfter);
	const node: INode = {
		id: 'send',
		name: 'Send Reply',
		type: `${PACKAGE}.telegramSend`,
		typeVersion: 1,
		position: [200, 0],
		parameters: {},
		credentials: { clawgateTelegramApi: { id: '2', name: 'Bot' } },
	};
	const item = { ...envelope(`flood-${runId}`, 'hi'), reply: { text: 'a reply under flood control' } };
	const { error, outputOf } = await runWorkflow({
		nodes: [node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		credentials: { clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
		input: [item],
	});
	const calls = telegram.calls('sendMessage').slice(before);
	const waitMs = calls.length >= 2 ? calls[1].receivedAt - calls[0].receivedAt : NaN;
	const sentIds = (outputOf('Send Reply')[0]?.json.sent as IDataObject | undefined)?.messageIds as string[] | undefined;
	const ok = error === undefined && calls.length === 2 && sentIds?.length === 1 && waitMs >= retryAfter * 1000 && waitMs <= retryAfter * 1000 + 1_500;
	recordFigure({
		area: 'Faults',
		measure: `Telegram sendMessage answered 429 (retry_after ${retryAfter}) → Telegram Send node`,
		value: `${error ? `failed: ${error.message}` : 'sent'} after waiting ${seconds(waitMs)} (${calls.length} calls)`,
		bar: `sent; wait ≥ ${retryAfter} s and ≤ ${retryAfter + 1.5} s`,
		ok,
	});
	expect(error).toBeUndefined();
	expect(calls).toHaveLength(2);
	expect(sentIds).toHaveLength(1);
	expect(waitMs).toBeGreaterThanOrEqual(retryAfter * 1000);
	expect(waitMs).toBeLessThanOrEqual(retryAfter * 1000 + 1_500);
});

// ---------------------------------------------------------------------------------------------
// The store goes away for 10 s

interface StoreOutage {
	name: 'Redis' | 'Postgres';
	target: { host: string; port: number };
	/** The AI Session node's parameters and credentials, pointed at the proxy. */
	node(proxyPort: number): { parameters: INodeParameters; credentials: Record<string, IDataObject> };
	open(): SessionStore;
	clearMessage: RegExp;
	cleanUp(): Promise<void>;
}

const OUTAGE_MS = 10_000;
const MESSAGES_DURING = 5;
/** The longest a message may wait for its error while the store is down. */
const ERROR_BOUND_MS = 3_000;

const outages: StoreOutage[] = [
	{
		name: 'Redis',
		target: redisAddress,
		node: (port) => ({ parameters: { store: 'redis' }, credentials: { redis: { host: '127.0.0.1', port, database: 0 } } }),
		open: () => new RedisSessionStore(redisAddress),
		clearMessage: /^Could not connect to Redis at 127\.0\.0\.1:\d+.*Check the Redis credential/,
		cleanUp: () => removeRedisRunData(runId),
	},
	{
		name: 'Postgres',
		target: { host: postgresAddress.host, port: postgresAddress.port },
		node: (port) => ({ parameters: { store: 'postgres' }, credentials: { postgres: { ...postgresAddress, host: '127.0.0.1', port, ssl: 'disable' } } }),
		open: () => new PostgresSessionStore(postgresAddress),
		clearMessage: /^Could not connect to PostgreSQL at 127\.0\.0\.1:\d+.*Check the Postgres credential/,
		cleanUp: () => removePostgresRunData(runId),
	},
];

describe.each(outages)('the $name store', (outage) => {
	const proxy = new TcpProxy(outage.target);
	beforeAll(() => proxy.start());
	afterAll(async () => {
		await closeSessionStores();
		// The store's last connection closes on its own (QUIT) before the proxy goes away.
		await sleep(200);
		await proxy.stop();
		await outage.cleanUp();
	});

	test(`unreachable for ${OUTAGE_MS / 1000} s: messages meanwhile get a clear error within ${ERROR_BOUND_MS / 1000} s, and service resumes afterwards with the history intact`, async () => {
		const chatId = `outage-${outage.name}-${runId}`;
		const sessionId = `telegram:777:dm:${chatId}`;
		const { parameters, credentials } = outage.node(proxy.port);
		const node: INode = {
			id: 'ai-session',
			name: 'AI Session',
			type: `${PACKAGE}.aiSession`,
			typeVersion: 1,
			position: [200, 0],
			parameters,
			credentials: { openAiApi: { id: '1', name: 'OpenAI' }, [Object.keys(credentials)[0]]: { id: '3', name: outage.name } },
			onError: 'continueRegularOutput',
		};
		const send = async (item: IDataObject) => {
			const started = Date.now();
			const { error, outputOf } = await runWorkflow({
				nodes: [node],
				connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
				credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl }, ...credentials },
				input: [item],
			});
			const json = outputOf('AI Session', 0)[0]?.json;
			return { ms: Date.now() - started, error: (json?.error as string | undefined) ?? error?.message, reply: (json?.reply as IDataObject | undefined)?.text as string | undefined };
		};

		const before = await send(envelope(chatId, 'before the outage'));
		expect(before).toMatchObject({ error: undefined, reply: 'answer to: before the outage' });

		await proxy.cut();
		const outageStarted = Date.now();
		const during: Array<{ ms: number; error?: string; reply?: string; item: IDataObject }> = [];
		for (let index = 0; index < MESSAGES_DURING; index++) {
			await sleep(Math.max(0, outageStarted + (index * OUTAGE_MS) / MESSAGES_DURING - Date.now()));
			const item = envelope(chatId, `during the outage ${index + 1}`);
			during.push({ ...(await send(item)), item });
		}
		await sleep(Math.max(0, outageStarted + OUTAGE_MS - Date.now()));
		await proxy.restore();
		const restoredAt = Date.now();
		const after = await send(envelope(chatId, 'after the outage'));
		const resumeMs = Date.now() - restoredAt;

		const store = outage.open();
		const problems = await historyProblems(store, sessionId, [
			['before the outage', 'answer to: before the outage'],
			['after the outage', 'answer to: after the outage'],
		]);
		const recorded = await Promise.all(during.map(({ item }) => store.hasMessageKey(buildMessageKey(item as never))));
		await store.close();
		if (recorded.some(Boolean)) problems.push('a message that failed was recorded as answered');

		const clear = during.filter((message) => message.reply === undefined && outage.clearMessage.test(message.error ?? '')).length;
		const maxMs = Math.max(...during.map((message) => message.ms));
		const ok = clear === MESSAGES_DURING && maxMs <= ERROR_BOUND_MS && after.reply === 'answer to: after the outage' && problems.length === 0;
		recordFigure({
			area: 'Faults',
			measure: `${outage.name} unreachable for ${OUTAGE_MS / 1000} s (TCP proxy cut, connections refused), AI Session node`,
			value: `${MESSAGES_DURING} messages during → ${clear} clear errors, max ${seconds(maxMs)} to error; after → ${after.reply ? `answered in ${seconds(resumeMs)}` : `not answered (${after.error})`}; history ${problems.length === 0 ? 'consistent' : problems.join('; ')}`,
			bar: `${MESSAGES_DURING} clear errors, each within ${ERROR_BOUND_MS / 1000} s; answered after; history consistent`,
			ok,
		});
		expect(during.map((message) => message.error)).toEqual(Array(MESSAGES_DURING).fill(expect.stringMatching(outage.clearMessage)));
		expect(maxMs).toBeLessThanOrEqual(ERROR_BOUND_MS);
		expect(after).toMatchObject({ error: undefined, reply: 'answer to: after the outage' });
		expect(problems).toEqual([]);
		// The answer after the outage saw the conversation from before it.
		expect(model.prompts().at(-1)!.map((message) => message.content)).toEqual([expect.any(String), 'before the outage', 'answer to: before the outage', 'after the outage']);
	});
});
