/**
 * One behaviour suite, run against every session store (DESIGN.md "Stores"). Redis and Postgres
 * are the real servers on 127.0.0.1 (REDIS_HOST/REDIS_PORT and PG* variables point elsewhere); each run uses
 * its own key prefix, table prefix or file, and removes them afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { Pool } from 'pg';

import { LockTimeoutError, type NewTurn, type SessionStore } from '../../nodes/core/session/store';
import { MemorySessionStore } from '../../nodes/core/stores/memory.store';
import { PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../../nodes/core/stores/redis.store';
import type { RetentionOptions } from '../../nodes/core/stores/retention';
import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';

jest.setTimeout(30_000);

const redisAddress = { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };
const postgresAddress = {
	host: process.env.PGHOST ?? '127.0.0.1',
	port: Number(process.env.PGPORT ?? 5432),
	database: process.env.PGDATABASE ?? 'test',
	user: process.env.PGUSER ?? 'postgres',
	password: process.env.PGPASSWORD,
};

/** Where one store kind keeps its data for this run. */
interface Backend {
	/** Another instance over the same data: for shared stores, what a second n8n process would open. */
	open(retention?: RetentionOptions): SessionStore;
	/** Whether a message key or counter is still physically stored (not merely reported absent). */
	holds(store: SessionStore, what: 'message key' | 'counter', key: string): Promise<boolean>;
	/** The store purges by itself (SQL, memory) rather than by TTLs (Redis). */
	purges: boolean;
	/** A store instance that also reports how many rows its queries returned (SQL stores only). */
	openCounting?(): { store: SessionStore; rowsReturned(): number };
	destroy(): Promise<void>;
}

interface StoreKind {
	name: string;
	/** Instances share sessions and locks, like n8n processes in queue mode. */
	shared: boolean;
	/** The lock keeps arrival order across instances, not only within one (a queue, not a polled lease). */
	fifoAcrossInstances: boolean;
	setUp(runId: string): Promise<Backend>;
}

const kinds: StoreKind[] = [
	{
		name: 'memory',
		shared: false,
		fifoAcrossInstances: false,
		async setUp() {
			return {
				open: (retention) => new MemorySessionStore(retention),
				holds: async (store, what, key) => {
					const maps = store as unknown as { messageKeys: Map<string, number>; counters: Map<string, unknown> };
					return (what === 'message key' ? maps.messageKeys : maps.counters).has(key);
				},
				purges: true,
				destroy: async () => undefined,
			};
		},
	},
	{
		// SQLite is for one n8n instance; its lease row only guards a second process on the same file.
		name: 'sqlite',
		shared: true,
		fifoAcrossInstances: false,
		async setUp(runId) {
			const folder = mkdtempSync(join(tmpdir(), `clawgate-stores-${runId}-`));
			const filename = join(folder, 'sessions.sqlite');
			return {
				open: (retention) => new SqliteSessionStore({ filename, ...retention }),
				holds: async (_store, what, key) => {
					const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite');
					const db = new DatabaseSync(filename);
					const sql = what === 'message key' ? 'SELECT 1 FROM clawgate_message_keys WHERE message_key = ?' : 'SELECT 1 FROM clawgate_counters WHERE counter_key = ?';
					const found = db.prepare(sql).get(key) !== undefined;
					db.close();
					return found;
				},
				purges: true,
				destroy: async () => rmSync(folder, { recursive: true, force: true }),
			};
		},
	},
	{
		name: 'redis',
		shared: true,
		fifoAcrossInstances: true,
		async setUp(runId) {
			const keyPrefix = `clawgate-test:${runId}:`;
			return {
				open: (retention) => new RedisSessionStore({ ...redisAddress, keyPrefix, retentionMs: retention?.retentionMs }),
				holds: async (_store, what, key) => {
					const redis = new Redis(redisAddress);
					const found = (await redis.exists(`${keyPrefix}${what === 'message key' ? 'message' : 'counter'}:${key}`)) === 1;
					await redis.quit();
					return found;
				},
				purges: false,
				destroy: async () => {
					const redis = new Redis(redisAddress);
					const keys: string[] = [];
					for await (const batch of redis.scanStream({ match: `${keyPrefix}*`, count: 1000 })) keys.push(...(batch as string[]));
					for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
					await redis.quit();
				},
			};
		},
	},
	{
		name: 'postgres',
		shared: true,
		fifoAcrossInstances: true,
		async setUp(runId) {
			const tablePrefix = `clawgate_test_${runId}_`;
			const pools: Pool[] = [];
			return {
				open: (retention) => new PostgresSessionStore({ ...postgresAddress, tablePrefix, ...retention }),
				holds: async (_store, what, key) => {
					const admin = new Pool(postgresAddress);
					const { rows } =
						what === 'message key'
							? await admin.query(`SELECT 1 FROM "${tablePrefix}message_keys" WHERE message_key = $1`, [key])
							: await admin.query(`SELECT 1 FROM "${tablePrefix}counters" WHERE counter_key = $1`, [key]);
					await admin.end();
					return rows.length > 0;
				},
				purges: true,
				openCounting: () => {
					const pool = new Pool(postgresAddress);
					pools.push(pool);
					let rows = 0;
					const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<{ rows: unknown[] }>;
					(pool as unknown as { query: unknown }).query = async (...args: unknown[]) => {
						const result = await query(...args);
						rows += result.rows.length;
						return result;
					};
					return { store: new PostgresSessionStore({ pool, tablePrefix }), rowsReturned: () => rows };
				},
				destroy: async () => {
					await Promise.all(pools.map((pool) => pool.end()));
					const admin = new Pool(postgresAddress);
					const tables = ['sessions', 'turns', 'message_keys', 'counters', 'lock_queue', 'journal', 'receipts', 'insights_counters', 'insights_sessions'].map((table) => `"${tablePrefix}${table}"`);
					await admin.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
					await admin.end();
				},
			};
		},
	},
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function turnsOf(...tokens: number[]): NewTurn[] {
	return tokens.map((count, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content: `turn with ${count} tokens`, tokens: count }));
}

describe.each(kinds)('$name session store', (kind) => {
	const runId = randomUUID().slice(0, 8);
	let backend: Backend;
	const opened: SessionStore[] = [];
	let sessionCounter = 0;

	/** A store instance that is closed after the test. */
	const open = (retention?: RetentionOptions) => {
		const store = backend.open(retention);
		opened.push(store);
		return store;
	};
	/** A session id no other test or run uses. */
	const newSession = () => `telegram:${runId}:dm:${++sessionCounter}`;
	const whenShared = kind.shared ? test : test.skip;
	const whenFifoAcrossInstances = kind.fifoAcrossInstances ? test : test.skip;

	beforeAll(async () => {
		backend = await kind.setUp(runId);
	});

	afterEach(async () => {
		await Promise.all(opened.splice(0).map((store) => store.close()));
	});

	afterAll(async () => {
		await backend.destroy();
	});

	describe('history window', () => {
		test('an unknown session reads as empty', async () => {
			const store = open();
			const window = await store.readWindow(newSession(), 1000);
			expect(window.turns).toEqual([]);
			expect(window.state).toEqual({
				turnCount: 0,
				lastSeq: 0,
				lastCumulativeTokens: 0,
				contextStartSeq: 0,
				summary: null,
				usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
				calibration: {},
			});
		});

		test('the window holds the newest turns that fit the token budget and nothing older', async () => {
			const store = open();
			const session = newSession();
			const before = Date.now();
			await store.appendTurns(session, turnsOf(10, 20, 30, 40, 50)); // running totals 10, 30, 60, 100, 150

			const window = await store.readWindow(session, 95);
			expect(window.turns).toEqual([
				{ seq: 4, role: 'assistant', content: 'turn with 40 tokens', tokens: 40, cumulativeTokens: 100, createdAt: expect.any(Number) },
				{ seq: 5, role: 'user', content: 'turn with 50 tokens', tokens: 50, cumulativeTokens: 150, createdAt: expect.any(Number) },
			]);
			expect(window.turns[0].createdAt).toBeGreaterThanOrEqual(before - 1000);
			expect(window.state).toMatchObject({ turnCount: 5, lastSeq: 5, lastCumulativeTokens: 150 });

			// A budget that exactly fits turns 4 and 5 still takes both; one token less leaves only turn 5.
			expect((await store.readWindow(session, 90)).turns.map((turn) => turn.seq)).toEqual([4, 5]);
			expect((await store.readWindow(session, 89)).turns.map((turn) => turn.seq)).toEqual([5]);
			expect((await store.readWindow(session, 49)).turns).toEqual([]);
			expect((await store.readWindow(session, 10_000)).turns.map((turn) => turn.seq)).toEqual([1, 2, 3, 4, 5]);
		});

		test('the window excludes turns before a reset, which stay stored and counted', async () => {
			const store = open();
			const session = newSession();
			await store.appendTurns(session, turnsOf(10, 10, 10));
			await store.resetContext(session);

			const empty = await store.readWindow(session, 1000);
			expect(empty.turns).toEqual([]);
			expect(empty.state).toMatchObject({ turnCount: 3, contextStartSeq: 3 });

			await store.appendTurns(session, turnsOf(5, 5));
			const window = await store.readWindow(session, 1000);
			expect(window.turns.map((turn) => turn.seq)).toEqual([4, 5]);
			expect(window.state).toMatchObject({ turnCount: 5, contextStartSeq: 3, lastCumulativeTokens: 40 });
			expect((await store.readTurns(session, 0, 40)).map((turn) => turn.seq)).toEqual([1, 2, 3, 4, 5]);
		});

		test('a reset drops the summary: neither it nor any earlier turn is in a later window', async () => {
			const store = open();
			const session = newSession();
			await store.appendTurns(session, turnsOf(10, 10, 10, 10));
			await store.saveSummary(session, { content: 'The secret is 7.', tokens: 7, throughSeq: 2 });
			await store.resetContext(session);
			await store.appendTurns(session, turnsOf(5, 5));

			const window = await store.readWindow(session, 1000);
			expect(window.state.summary).toBeNull();
			expect(window.turns.map((turn) => turn.seq)).toEqual([5, 6]);
			// The turns stay stored.
			expect((await store.readTurns(session, 0, 1000)).map((turn) => turn.seq)).toEqual([1, 2, 3, 4, 5, 6]);
		});

		test('forgetting a session erases its turns, summary and totals; other sessions and message keys stay', async () => {
			const store = open();
			const [session, other] = [newSession(), newSession()];
			const messageKey = `telegram:${runId}:${session}:forget`;
			await store.appendTurns(session, turnsOf(10, 10, 10), { messageKey, usage: { promptTokens: 9, completionTokens: 1, totalTokens: 10 } });
			await store.saveSummary(session, { content: 'The secret is 7.', tokens: 7, throughSeq: 2 });
			await store.resetContext(session);
			await store.appendTurns(other, turnsOf(4, 4));

			await store.forgetSession(session);
			const window = await store.readWindow(session, 1000);
			expect(window).toEqual({
				state: { turnCount: 0, lastSeq: 0, lastCumulativeTokens: 0, contextStartSeq: 0, summary: null, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, calibration: {} },
				turns: [],
			});
			expect(await store.readTurns(session, 0, Number.MAX_SAFE_INTEGER)).toEqual([]);
			expect(await store.hasMessageKey(messageKey)).toBe(true);
			expect((await store.readWindow(other, 1000)).turns).toHaveLength(2);

			// The session starts again from seq 1.
			await store.appendTurns(session, turnsOf(3));
			expect((await store.readWindow(session, 1000)).turns.map((turn) => [turn.seq, turn.cumulativeTokens])).toEqual([[1, 3]]);
		});

		test("the window starts after the summary's throughSeq, and the summary is returned with the state", async () => {
			const store = open();
			const session = newSession();
			await store.appendTurns(session, turnsOf(10, 10, 10, 10));
			const summary = { content: 'They talked about the weather.', tokens: 7, throughSeq: 2 };
			await store.saveSummary(session, summary);

			const window = await store.readWindow(session, 1000);
			expect(window.turns.map((turn) => turn.seq)).toEqual([3, 4]);
			expect(window.state.summary).toEqual(summary);

			// A newer summary replaces the old one.
			await store.saveSummary(session, { content: 'Weather, then travel.', tokens: 5, throughSeq: 3 });
			expect((await store.readWindow(session, 1000)).turns.map((turn) => turn.seq)).toEqual([4]);
		});

		test('readTurns returns the turns after a seq up to a running total, oldest first (what compaction summarises)', async () => {
			const store = open();
			const session = newSession();
			await store.appendTurns(session, turnsOf(10, 20, 30, 40)); // running totals 10, 30, 60, 100
			expect((await store.readTurns(session, 1, 60)).map((turn) => turn.seq)).toEqual([2, 3]);
			expect((await store.readTurns(session, 0, 9)).map((turn) => turn.seq)).toEqual([]);
			expect((await store.readTurns(session, 3, 1000)).map((turn) => [turn.seq, turn.cumulativeTokens])).toEqual([[4, 100]]);
		});

		test('text is stored as sent: Unicode, quotes, newlines and JSON-looking content come back unchanged', async () => {
			const store = open();
			const session = newSession();
			const content = 'Grüße 👋🏽 "quoted" \\ back\\slash\n{"role":"system"} </script> \u2028 ☃';
			await store.appendTurns(session, [{ role: 'user', content, tokens: 12 }]);
			expect((await store.readWindow(session, 100)).turns[0].content).toBe(content);
		});

		test('readWindow of a 10,000-turn session returns only the turns that fit', async () => {
			const counting = backend.openCounting?.();
			const store = counting?.store ?? open();
			if (counting) opened.push(store);
			const session = newSession();
			for (let batch = 0; batch < 100; batch++) {
				await store.appendTurns(session, turnsOf(...Array.from({ length: 100 }, () => 7)));
			}
			const rowsBefore = counting?.rowsReturned() ?? 0;
			const window = await store.readWindow(session, 7 * 12 + 3);
			expect(window.state).toMatchObject({ turnCount: 10_000, lastCumulativeTokens: 70_000 });
			expect(window.turns.map((turn) => turn.seq)).toEqual(Array.from({ length: 12 }, (_, index) => 9_989 + index));
			// SQL stores: the state row, the 12 turns and at most one boundary turn; never the whole history.
			if (counting) expect(counting.rowsReturned() - rowsBefore).toBeLessThanOrEqual(1 + 12 + 1);
		});
	});

	describe('appending', () => {
		test("a duplicate message key appends nothing and returns 'duplicate'", async () => {
			const store = open();
			const session = newSession();
			const messageKey = `telegram:${runId}:${session}:1001`;
			const usage = { promptTokens: 100, completionTokens: 20, totalTokens: 120 };
			expect(await store.hasMessageKey(messageKey)).toBe(false);
			expect(await store.appendTurns(session, turnsOf(10, 20), { messageKey, usage })).toBe('appended');
			expect(await store.hasMessageKey(messageKey)).toBe(true);

			expect(await store.appendTurns(session, turnsOf(10, 20), { messageKey, usage })).toBe('duplicate');
			const window = await store.readWindow(session, 1000);
			expect(window.turns).toHaveLength(2);
			expect(window.state).toMatchObject({ turnCount: 2, lastCumulativeTokens: 30, usage });
		});

		test("two concurrent appends with the same message key: exactly one is 'appended'", async () => {
			const [first, second] = kind.shared ? [open(), open()] : [open(), undefined];
			const session = newSession();
			const messageKey = `telegram:${runId}:${session}:1002`;
			const outcomes = await Promise.all([
				first.appendTurns(session, turnsOf(10), { messageKey }),
				(second ?? first).appendTurns(session, turnsOf(10), { messageKey }),
			]);
			expect(outcomes.sort()).toEqual(['appended', 'duplicate']);
			expect((await first.readWindow(session, 1000)).turns).toHaveLength(1);
		});

		test('50 concurrent appends to one session are all stored, with contiguous seqs and correct running totals', async () => {
			const stores = kind.shared ? [open(), open()] : [open()];
			const session = newSession();
			await Promise.all(
				Array.from({ length: 50 }, (_, index) =>
					stores[index % stores.length].appendTurns(session, [{ role: 'user', content: `message ${index}`, tokens: index + 1 }], {
						messageKey: `${session}:${index}`,
					}),
				),
			);
			const turns = await stores[0].readTurns(session, 0, Number.MAX_SAFE_INTEGER);
			expect(turns.map((turn) => turn.seq)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
			expect(turns.map((turn) => turn.content).sort()).toEqual(Array.from({ length: 50 }, (_, index) => `message ${index}`).sort());
			let running = 0;
			for (const turn of turns) {
				running += turn.tokens;
				expect(turn.cumulativeTokens).toBe(running);
			}
			expect(running).toBe((50 * 51) / 2);
			expect((await stores[0].readWindow(session, 0)).state).toMatchObject({ turnCount: 50, lastCumulativeTokens: running });
		});

		test('usage totals add up across appends and are untouched by a reset', async () => {
			const store = open();
			const session = newSession();
			await store.appendTurns(session, turnsOf(5, 6), { usage: { promptTokens: 100, completionTokens: 20, totalTokens: 120 } });
			await store.appendTurns(session, turnsOf(5, 6), { usage: { promptTokens: 130, completionTokens: 25, totalTokens: 155 } });
			await store.appendTurns(session, turnsOf(5));
			await store.resetContext(session);
			expect((await store.readWindow(session, 1000)).state.usage).toEqual({ promptTokens: 230, completionTokens: 45, totalTokens: 275 });
		});

		test('the token calibration is kept with the session: replaced by an append that carries one, kept by one that does not, and seen by another instance', async () => {
			const store = open();
			const session = newSession();
			expect((await store.readWindow(session, 1000)).state.calibration).toEqual({});
			await store.appendTurns(session, turnsOf(5, 6), { calibration: { 'claude-sonnet-4-5': 1.1667 } });
			await store.appendTurns(session, turnsOf(5, 6));
			expect((await store.readWindow(session, 1000)).state.calibration).toEqual({ 'claude-sonnet-4-5': 1.1667 });
			await store.appendTurns(session, turnsOf(5, 6), { calibration: { 'claude-sonnet-4-5': 1.2, 'llama3.1:8b': 0.95 } });
			await store.resetContext(session);
			const reader = kind.shared ? open() : store;
			expect((await reader.readWindow(session, 1000)).state.calibration).toEqual({ 'claude-sonnet-4-5': 1.2, 'llama3.1:8b': 0.95 });
			expect((await reader.readWindow(newSession(), 1000)).state.calibration).toEqual({});
		});
	});

	describe('counters (rate limits and quotas)', () => {
		test('a counter adds up and reads 0 once it has expired', async () => {
			const store = open();
			const key = `rate:${runId}:${newSession()}`;
			expect(await store.readCounter(key)).toBe(0);
			// TTLs of seconds, not milliseconds: on a loaded machine a step can take longer than a short TTL.
			expect(await store.incrementCounter(key, 1, 2_000)).toBe(1);
			expect(await store.incrementCounter(key, 250, 2_000)).toBe(251);
			expect(await store.readCounter(key)).toBe(251);
			expect(await store.readCounter(`${key}:other`)).toBe(0);
			await sleep(2_200);
			expect(await store.readCounter(key)).toBe(0);
			expect(await store.incrementCounter(key, 3, 2_000)).toBe(3);
		});

		test('a counter expires ttl after its first increment, not its last', async () => {
			const store = open();
			const key = `quota:${runId}:${newSession()}`;
			await store.incrementCounter(key, 1, 3_000);
			await sleep(1_500);
			expect(await store.incrementCounter(key, 1, 3_000)).toBe(2);
			await sleep(1_800);
			expect(await store.readCounter(key)).toBe(0);
		});
	});

	describe('retention (data that grows with traffic is not kept forever)', () => {
		test('message keys older than the retention and expired counters are deleted; newer ones stay', async () => {
			const store = open({ retentionMs: 1_000 });
			const session = newSession();
			const [oldKey, newKey] = [`${session}:old`, `${session}:new`];
			const [expiring, live] = [`rate:${session}:expiring`, `quota:${session}:live`];
			await store.appendTurns(session, turnsOf(1), { messageKey: oldKey });
			await store.incrementCounter(expiring, 1, 300);
			await store.incrementCounter(live, 1, 60_000);
			await sleep(1_200);
			await store.appendTurns(session, turnsOf(1), { messageKey: newKey });

			await store.purgeExpired();
			expect(await backend.holds(store, 'message key', oldKey)).toBe(false);
			expect(await store.hasMessageKey(oldKey)).toBe(false);
			expect(await backend.holds(store, 'counter', expiring)).toBe(false);
			expect(await backend.holds(store, 'message key', newKey)).toBe(true);
			expect(await store.hasMessageKey(newKey)).toBe(true);
			expect(await backend.holds(store, 'counter', live)).toBe(true);
			expect(await store.readCounter(live)).toBe(1);
			// Conversations are not part of the retention.
			expect((await store.readWindow(session, 1000)).turns).toHaveLength(2);
		});

		test('an append purges by itself once the purge interval has passed', async () => {
			const store = open({ retentionMs: 500, purgeIntervalMs: 0 });
			const session = newSession();
			const oldKey = `${session}:old`;
			await store.appendTurns(session, turnsOf(1), { messageKey: oldKey });
			await sleep(700);
			await store.appendTurns(session, turnsOf(1), { messageKey: `${session}:new` });
			// The purge runs in the background; closing waits for it.
			await store.close();
			expect(await backend.holds(store, 'message key', oldKey)).toBe(false);
		});

		test('purging runs at most once per interval per process, not on every message', async () => {
			if (!backend.purges) return; // Redis expires keys by TTL and never purges.
			const store = open({ retentionMs: 500 });
			const session = newSession();
			const oldKey = `${session}:old`;
			await store.appendTurns(session, turnsOf(1), { messageKey: oldKey }); // the first append purges (nothing yet)
			await sleep(700);
			await store.appendTurns(session, turnsOf(1), { messageKey: `${session}:new` });
			await store.close();
			expect(await backend.holds(store, 'message key', oldKey)).toBe(true);
		});
	});

	describe('per-session lock', () => {
		const lockOptions = { waitMs: 10_000, leaseMs: 5_000 };

		/** Starts one acquirer per store, in this order, `gapMs` apart; each records when it holds the lock. */
		async function runAcquirers(stores: SessionStore[], session: string, gapMs: number) {
			const events: string[] = [];
			await Promise.all(
				stores.map(async (store, index) => {
					await sleep(index * gapMs);
					const lock = await store.lock(session, lockOptions);
					events.push(`enter ${index}`);
					await sleep(25);
					events.push(`exit ${index}`);
					await lock.release();
				}),
			);
			return events;
		}

		const expectedOrder = (count: number) => Array.from({ length: count }, (_, index) => [`enter ${index}`, `exit ${index}`]).flat();

		test('the lock admits holders one at a time, in arrival order', async () => {
			const store = open();
			const events = await runAcquirers(Array.from({ length: 6 }, () => store), newSession(), 5);
			expect(events).toEqual(expectedOrder(6));
		});

		whenFifoAcrossInstances('the lock admits holders in arrival order across processes (store instances)', async () => {
			const [a, b] = [open(), open()];
			// Connected first: arrival is when lock() is called, not when a new connection comes up.
			await Promise.all([a, b].map((store) => store.lock(newSession(), lockOptions).then((lock) => lock.release())));
			// Far enough apart that each process has queued its waiter before the next arrives, even on a busy CI machine.
			const events = await runAcquirers([a, b, a, b, a, b], newSession(), 120);
			expect(events).toEqual(expectedOrder(6));
		});

		test('locks of different sessions do not wait for each other', async () => {
			const store = open();
			const held = await store.lock(newSession(), lockOptions);
			const other = await store.lock(newSession(), { waitMs: 200, leaseMs: 5_000 });
			await other.release();
			await held.release();
		});

		test('a lock wait times out with LockTimeoutError, and a later acquirer still gets the lock', async () => {
			const holderStore = open();
			// Shared stores wait from a second instance, as a second n8n worker would.
			const waiterStore = kind.shared ? open() : holderStore;
			const session = newSession();
			const holder = await holderStore.lock(session, lockOptions);
			await expect(waiterStore.lock(session, { waitMs: 150, leaseMs: 5_000 })).rejects.toBeInstanceOf(LockTimeoutError);
			await holder.release();
			// The timed-out waiter left the queue: the next one is admitted at once, not after a lease.
			const next = await waiterStore.lock(session, { waitMs: 1_000, leaseMs: 5_000 });
			await next.release();
		});

		test('releasing twice is harmless and does not free a later holder', async () => {
			const store = open();
			const session = newSession();
			const first = await store.lock(session, lockOptions);
			await first.release();
			const second = await store.lock(session, lockOptions);
			await first.release();
			await expect(store.lock(session, { waitMs: 100, leaseMs: 5_000 })).rejects.toBeInstanceOf(LockTimeoutError);
			await second.release();
		});

		whenShared('a crashed holder blocks others no longer than its lease', async () => {
			const session = newSession();
			const crashing = open();
			await crashing.lock(session, { waitMs: 1_000, leaseMs: 400 });
			// Closing without release() is what a killed n8n worker looks like: no release, no renewals.
			await crashing.close();
			// The wait is bounded well above the 400 ms lease: a lock that never freed itself would time out.
			const lock = await open().lock(session, { waitMs: 3_000, leaseMs: 5_000 });
			await lock.release();
		});

		whenShared('a crashed waiter does not hold up the waiters behind it', async () => {
			const session = newSession();
			const [holderStore, crashing, patient] = [open(), open(), open()];
			const holder = await holderStore.lock(session, lockOptions);
			const crashedWait = crashing.lock(session, { waitMs: 10_000, leaseMs: 400 });
			crashedWait.catch(() => undefined); // asserted below; this only keeps an early rejection from going unhandled
			await sleep(50);
			const patientWait = patient.lock(session, { waitMs: 5_000, leaseMs: 5_000 });
			await sleep(50);
			await crashing.close();
			await holder.release();
			const lock = await patientWait;
			await lock.release();
			// A closed store never hands out the lock it was waiting for.
			await expect(crashedWait).rejects.toThrow();
		});
	});
});

describe('Postgres tables made by an earlier Clawgate', () => {
	test('get the columns added since (calibration, answer) on first use, so an upgrade keeps working', async () => {
		const tablePrefix = `clawgate_test_${randomUUID().replace(/-/g, '').slice(0, 12)}_`;
		const admin = new Pool(postgresAddress);
		try {
			const first = new PostgresSessionStore({ ...postgresAddress, tablePrefix });
			await first.appendTurns('s1', [{ role: 'user', content: 'hi', tokens: 3 }]);
			await first.close();
			// The tables as an earlier version created them.
			await admin.query(`ALTER TABLE "${tablePrefix}sessions" DROP COLUMN calibration`);
			await admin.query(`ALTER TABLE "${tablePrefix}message_keys" DROP COLUMN answer`);

			const upgraded = new PostgresSessionStore({ ...postgresAddress, tablePrefix });
			try {
				await upgraded.appendTurns('s1', [{ role: 'assistant', content: 'hello', tokens: 3 }], { messageKey: 'k1', answer: '{"text":"hello"}', calibration: { 'claude-x': 1.4 } });
				expect((await upgraded.readWindow('s1', 100)).state.calibration).toEqual({ 'claude-x': 1.4 });
				expect(await upgraded.readAnswer('k1')).toBe('{"text":"hello"}');
			} finally {
				await upgraded.close();
			}
		} finally {
			const { rows } = await admin.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE tablename LIKE $1', [`${tablePrefix}%`]);
			for (const { tablename } of rows) await admin.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
			await admin.end();
		}
	});
});
