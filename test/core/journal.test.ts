/**
 * The delivery journal's behaviour (core/journal.ts), one suite over every store that can hold it:
 * SQLite (one n8n), Redis and Postgres (queue mode, two instances = two n8n processes). Real
 * servers on 127.0.0.1, each run in its own file, key prefix or table prefix.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { Pool } from 'pg';

import { DEFAULT_RECOVERY, itemOfEntry, recoveryStep, type DeliveryJournal, type JournalEntry } from '../../nodes/core/journal';
import type { SessionStore } from '../../nodes/core/session/store';
import { PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../../nodes/core/stores/redis.store';
import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';

jest.setTimeout(30_000);

type JournalStore = SessionStore & DeliveryJournal;

const redisAddress = { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };
const postgresAddress = {
	host: process.env.PGHOST ?? '127.0.0.1',
	port: Number(process.env.PGPORT ?? 5432),
	database: process.env.PGDATABASE ?? 'test',
	user: process.env.PGUSER ?? 'postgres',
	password: process.env.PGPASSWORD,
};

interface Backend {
	open(): JournalStore;
	destroy(): Promise<void>;
}

const kinds: Array<{ name: string; setUp(runId: string): Backend }> = [
	{
		name: 'sqlite',
		setUp(runId) {
			const folder = mkdtempSync(join(tmpdir(), `clawgate-journal-${runId}-`));
			return { open: () => new SqliteSessionStore({ filename: join(folder, 'sessions.sqlite') }), destroy: async () => rmSync(folder, { recursive: true, force: true }) };
		},
	},
	{
		name: 'redis',
		setUp(runId) {
			const keyPrefix = `clawgate-journal-test:${runId}:`;
			return {
				open: () => new RedisSessionStore({ ...redisAddress, keyPrefix }),
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
		setUp(runId) {
			const tablePrefix = `clawgate_journal_${runId}_`;
			return {
				open: () => new PostgresSessionStore({ ...postgresAddress, tablePrefix }),
				destroy: async () => {
					const admin = new Pool(postgresAddress);
					const tables = ['sessions', 'turns', 'message_keys', 'counters', 'lock_queue', 'journal', 'receipts'].map((table) => `"${tablePrefix}${table}"`);
					await admin.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
					await admin.end();
				},
			};
		},
	},
];

const item = (text: string) => ({ channel: 'telegram', message: { id: text, text } });

describe.each(kinds)('$name delivery journal', (kind) => {
	const runId = randomUUID().slice(0, 8);
	let backend: Backend;
	const open: JournalStore[] = [];
	const store = () => {
		const opened = backend.open();
		open.push(opened);
		return opened;
	};

	beforeAll(() => {
		backend = kind.setUp(runId);
	});
	afterAll(async () => {
		await Promise.all(open.map((opened) => opened.close()));
		await backend.destroy();
	});

	test('journals a key once, in delivery order; a redelivery is known with its state', async () => {
		const journal = store();
		const first = await journal.record({ key: 'k:a1', sessionId: 's:a', owner: 'wf:node', item: item('a1'), receivedAt: 1_000 });
		const second = await journal.record({ key: 'k:a2', sessionId: 's:a', owner: 'wf:node', item: item('a2'), receivedAt: 1_001 });
		expect(first.kind).toBe('journaled');
		expect(second.kind).toBe('journaled');
		if (first.kind !== 'journaled' || second.kind !== 'journaled') return;
		expect(second.seq).toBeGreaterThan(first.seq);
		expect(await journal.record({ key: 'k:a1', sessionId: 's:a', owner: 'wf:node', item: item('a1'), receivedAt: 1_002 })).toEqual({ kind: 'known', state: 'pending' });
		await journal.markAnswered('k:a1');
		expect(await journal.record({ key: 'k:a1', sessionId: 's:a', owner: 'wf:node', item: item('a1'), receivedAt: 1_003 })).toEqual({ kind: 'known', state: 'answered' });
	});

	test('a later message waits only for an earlier, recent, unanswered one of its own session', async () => {
		const journal = store();
		const now = Date.now();
		const one = await journal.record({ key: 'k:b1', sessionId: 's:b', owner: 'wf:node', item: item('b1'), receivedAt: now });
		const two = await journal.record({ key: 'k:b2', sessionId: 's:b', owner: 'wf:node', item: item('b2'), receivedAt: now + 1 });
		await journal.record({ key: 'k:c1', sessionId: 's:c', owner: 'wf:node', item: item('c1'), receivedAt: now });
		if (one.kind !== 'journaled' || two.kind !== 'journaled') throw new Error('not journaled');
		expect(await journal.hasEarlierPending('s:b', two.seq, now - 60_000)).toBe(true);
		expect(await journal.hasEarlierPending('s:b', one.seq, now - 60_000)).toBe(false);
		// Too old to wait for (beyond "Wait For Earlier Messages").
		expect(await journal.hasEarlierPending('s:b', two.seq, now + 1)).toBe(false);
		await journal.markAnswered('k:b1');
		expect(await journal.hasEarlierPending('s:b', two.seq, now - 60_000)).toBe(false);
	});

	test('one claim at a time per sender; a receipt ends the entry, and a failed send frees the claim with its reason', async () => {
		const [a, b] = [store(), store()];
		await a.record({ key: 'k:d1', sessionId: 's:d', owner: 'wf:node', item: item('d1'), receivedAt: 1 });
		expect(await a.claimDelivery('k:d1', 'Send', 'run-1', 60_000)).toBe('claimed');
		expect(await b.claimDelivery('k:d1', 'Send', 'run-2', 60_000)).toBe('busy');
		// Another node of the workflow sends its own message of the same answer.
		expect(await b.claimDelivery('k:d1', 'Notify', 'run-2', 60_000)).toBe('claimed');
		await a.releaseClaim('k:d1', 'Send', 'run-1', 'Telegram said 502');
		expect(await b.claimDelivery('k:d1', 'Send', 'run-2', 60_000)).toBe('claimed');
		expect(await a.isDelivered('k:d1')).toBe(false);
		await b.recordReceipt('k:d1', 'Send', 'run-2', ['77']);
		expect(await a.isDelivered('k:d1')).toBe(true);
		expect(await a.claimDelivery('k:d1', 'Send', 'run-3', 60_000)).toBe('delivered');
		expect(await a.takeOverdue('wf:node', Number.MAX_SAFE_INTEGER, Date.now(), 100).then((due) => due.map((entry) => entry.key))).not.toContain('k:d1');
	});

	test('a claim whose holder died expires after its lease', async () => {
		const journal = store();
		await journal.record({ key: 'k:e1', sessionId: 's:e', owner: 'wf:node', item: item('e1'), receivedAt: 1 });
		expect(await journal.claimDelivery('k:e1', 'Send', 'crashed-run', 50)).toBe('claimed');
		await new Promise((resolve) => setTimeout(resolve, 120));
		expect(await journal.claimDelivery('k:e1', 'Send', 'recovery-run', 60_000)).toBe('claimed');
	});

	test('overdue entries are taken once, by one of two processes, with their item and attempt count; abandoned ones never again', async () => {
		const [a, b] = [store(), store()];
		const base = 5_000_000;
		for (let i = 0; i < 30; i++) await a.record({ key: `k:f${i}`, sessionId: `s:f${i % 3}`, owner: 'wf:node', item: item(`f${i}`), receivedAt: base + i });
		await a.recordFailure('k:f0', 'the model timed out');
		const [fromA, fromB] = await Promise.all([a.takeOverdue('wf:node', base + 100, base + 200, 100), b.takeOverdue('wf:node', base + 100, base + 200, 100)]);
		const taken = [...fromA, ...fromB].filter((entry) => entry.key.startsWith('k:f'));
		// Another trigger's entries are its own to re-emit.
		expect(await a.takeOverdue('other-wf:node', base + 1_000, base + 200, 100)).toEqual([]);
		expect(taken.map((entry) => entry.key).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `k:f${i}`).sort());
		const first = taken.find((entry) => entry.key === 'k:f0') as JournalEntry;
		expect(first).toMatchObject({ sessionId: 's:f0', attempts: 2, item: item('f0'), lastError: 'the model timed out', receivedAt: base });
		// Just emitted again: not due until the grace period has passed once more.
		expect((await a.takeOverdue('wf:node', base + 150, base + 300, 100)).filter((entry) => entry.key.startsWith('k:f'))).toEqual([]);
		await a.abandon('k:f1', 'gave up');
		const again = (await a.takeOverdue('wf:node', base + 1_000, base + 1_100, 100)).filter((entry) => entry.key.startsWith('k:f')).map((entry) => entry.key);
		expect(again).toHaveLength(29);
		expect(again).not.toContain('k:f1');
	});

	test('an entry an execution is working on (touched) is not overdue until a grace period after the touch', async () => {
		const journal = store();
		const base = 9_000_000;
		await journal.record({ key: 'k:t1', sessionId: 's:t', owner: 'wf:touch', item: item('t1'), receivedAt: base });
		await journal.touch(['k:t1'], base + 500);
		expect(await journal.takeOverdue('wf:touch', base + 400, base + 600, 10)).toEqual([]);
		expect((await journal.takeOverdue('wf:touch', base + 501, base + 600, 10)).map((entry) => entry.key)).toEqual(['k:t1']);
		// A touch never moves an entry back in time.
		await journal.touch(['k:t1'], base + 100);
		expect(await journal.takeOverdue('wf:touch', base + 550, base + 700, 10)).toEqual([]);
	});

	test('each further attempt of one message waits twice as long as the one before', async () => {
		const journal = store();
		const base = 12_000_000;
		const grace = 1_000;
		await journal.record({ key: 'k:bo1', sessionId: 's:bo', owner: 'wf:backoff', item: item('bo1'), receivedAt: base });
		const take = (now: number) => journal.takeOverdue('wf:backoff', now - grace, now, 10, grace).then((due) => due.map((entry) => entry.attempts));
		expect(await take(base + 1_001)).toEqual([2]);
		// Attempt 2 went out at +1,001: attempt 3 is due 2 × grace later, not 1 ×.
		expect(await take(base + 2_500)).toEqual([]);
		expect(await take(base + 3_002)).toEqual([3]);
		expect(await take(base + 6_000)).toEqual([]);
		expect(await take(base + 7_003)).toEqual([4]);
	});

	test('AI Session keeps the answer with the message key, in the same write as the turns', async () => {
		const sessions = store();
		await sessions.appendTurns('s:g', [{ role: 'user', content: 'hi', tokens: 3 }, { role: 'assistant', content: 'hello', tokens: 3 }], { messageKey: 'k:g1', answer: '{"text":"hello"}' });
		await sessions.appendTurns('s:g', [], { messageKey: 'k:g2' });
		expect(await store().readAnswer('k:g1')).toBe('{"text":"hello"}');
		expect(await sessions.readAnswer('k:g2')).toBeNull();
		expect(await sessions.readAnswer('k:unknown')).toBeNull();
	});
});

describe('recovery policy', () => {
	const entry = (attempts: number, receivedAt: number, lastError: string | null = null): JournalEntry => ({ key: 'k', sessionId: 's', seq: 7, item: { a: 1 }, receivedAt, attempts, state: 'pending', lastError });

	test('emits again up to the attempt limit, then gives up with the last reason', () => {
		const now = Date.now();
		expect(recoveryStep(entry(DEFAULT_RECOVERY.maxAttempts, now - 1_000), DEFAULT_RECOVERY, now)).toEqual({ kind: 'emit' });
		const gaveUp = recoveryStep(entry(DEFAULT_RECOVERY.maxAttempts + 1, now - 1_000, 'Telegram said 403: bot was blocked by the user'), DEFAULT_RECOVERY, now);
		expect(gaveUp).toMatchObject({ kind: 'give-up' });
		expect(gaveUp.kind === 'give-up' && gaveUp.reason).toMatch(/after 5 attempts.*bot was blocked by the user/);
	});

	test('gives up on entries older than the age limit, whatever the attempts', () => {
		const now = Date.now();
		expect(recoveryStep(entry(2, now - DEFAULT_RECOVERY.maxAgeMs - 1), DEFAULT_RECOVERY, now)).toMatchObject({ kind: 'give-up' });
	});

	test('the re-emitted item is the journaled one with its delivery stamp', () => {
		expect(itemOfEntry(entry(3, 0), 'redis')).toEqual({ a: 1, delivery: { journal: 'redis', seq: 7, attempt: 3 } });
	});
});
