/**
 * Postgres wakes waiters in other processes (two store instances = two queue-mode workers) with
 * LISTEN/NOTIFY instead of polling every 20 ms: a freed session lock and an answered earlier
 * message wake the next waiter at once, while its own poll runs only every 500 ms (lock) or
 * 1,000 ms (ordering wait). Real PostgreSQL on 127.0.0.1, tables under a prefix of this run.
 */
import { randomUUID } from 'node:crypto';

import { Pool } from 'pg';

import type { DeliveryJournal } from '../../nodes/core/journal';
import { PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { waitForEarlierMessages } from '../../nodes/shared/delivery-journal';

jest.setTimeout(60_000);

const postgresAddress = {
	host: process.env.PGHOST ?? '127.0.0.1',
	port: Number(process.env.PGPORT ?? 5432),
	database: process.env.PGDATABASE ?? 'test',
	user: process.env.PGUSER ?? 'postgres',
	password: process.env.PGPASSWORD,
};
const tablePrefix = `clawgate_wake_${randomUUID().slice(0, 8)}_`;
const stores: PostgresSessionStore[] = [];
const open = () => {
	const store = new PostgresSessionStore({ ...postgresAddress, tablePrefix });
	stores.push(store);
	return store;
};

afterAll(async () => {
	await Promise.all(stores.map((store) => store.close()));
	const admin = new Pool(postgresAddress);
	const { rows } = await admin.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE tablename LIKE $1', [`${tablePrefix}%`]);
	for (const { tablename } of rows) await admin.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
	await admin.end();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Until the store's listening connection is up (the first watch starts it). */
async function listening(store: PostgresSessionStore): Promise<void> {
	for (let i = 0; i < 100; i++) {
		const watch = store.watchSession('warm-up');
		watch.stop();
		if (watch.listening) return;
		await sleep(50);
	}
	throw new Error('the store never started listening');
}

test('a lock freed in one process wakes its waiter in another at once, not at its next 500 ms poll', async () => {
	const [holderStore, waiterStore] = [open(), open()];
	await listening(waiterStore);
	const latencies: number[] = [];
	for (let round = 0; round < 6; round++) {
		const session = `wake-lock-${round}`;
		const holder = await holderStore.lock(session, { waitMs: 5_000, leaseMs: 10_000 });
		const waiting = waiterStore.lock(session, { waitMs: 10_000, leaseMs: 10_000 }).then((lock) => ({ lock, at: Date.now() }));
		// The waiter has asked and gone to sleep by now; released at a point unrelated to its poll.
		await sleep(300 + round * 37);
		const releasedAt = Date.now();
		await holder.release();
		const { lock, at } = await waiting;
		latencies.push(at - releasedAt);
		await lock.release();
	}
	// Polling alone would wake within 150 ms in 30 % of rounds; a notification does in (nearly) all.
	expect(latencies.filter((ms) => ms < 150).length).toBeGreaterThanOrEqual(5);
});

test('a later message waiting for an earlier one goes on as soon as another process answers the earlier one', async () => {
	const [answering, waitingStore] = [open(), open()];
	await listening(waitingStore);
	const latencies: number[] = [];
	for (let round = 0; round < 5; round++) {
		const sessionId = `wake-order-${round}`;
		const record = async (store: PostgresSessionStore, id: string) => {
			const outcome = await store.record({ key: `k:${sessionId}:${id}`, sessionId, owner: 'wf:wake', item: { id }, receivedAt: Date.now() });
			if (outcome.kind !== 'journaled') throw new Error('not journaled');
			return outcome.seq;
		};
		await record(answering, 'first');
		const later = await record(waitingStore, 'second');
		const waited = waitForEarlierMessages({ journal: waitingStore as unknown as DeliveryJournal, stamp: { journal: 'postgres', seq: later, attempt: 1 } }, sessionId, 20_000).then(() => Date.now());
		await sleep(400 + round * 53);
		const answeredAt = Date.now();
		await answering.markAnswered(`k:${sessionId}:first`);
		latencies.push((await waited) - answeredAt);
	}
	// Its own poll runs once a second here: without the notification most rounds would take hundreds of ms.
	expect(latencies.filter((ms) => ms < 150).length).toBeGreaterThanOrEqual(4);
});
