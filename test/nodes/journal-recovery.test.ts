/**
 * Journal recovery's pace (shared/delivery-journal.ts `startRecovery`) over a real SQLite journal:
 * a message whose execution this process is still running is renewed, never run a second time
 * (on a busy n8n an execution can start later than the grace period; a second run only adds load);
 * and recovery runs at most `inFlight` executions at once, taking the next overdue message the
 * moment one of them ends. The trigger context is the part of n8n's ITriggerFunctions recovery
 * uses: emit (with the done promise n8n settles when the execution ends), the logger and helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INodeExecutionData, IRun, ITriggerFunctions } from 'n8n-workflow';

/** n8n's deferred promise (its type lives in @n8n/utils, not a dependency of the package). */
interface IDeferredPromise<T> {
	promise: Promise<T>;
	resolve: (value: T) => void;
	reject: (error: Error) => void;
}

import { buildMessageKey, type Envelope } from '../../nodes/core/envelope';
import { DEFAULT_RECOVERY, type DeliveryJournal } from '../../nodes/core/journal';
import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';
import { holdWhileRunning, holdsOf, startRecovery, type TriggerJournal } from '../../nodes/shared/delivery-journal';
import { telegramDmEnvelope } from './harness';

const folder = mkdtempSync(join(tmpdir(), 'clawgate-recovery-'));
const store = new SqliteSessionStore({ filename: join(folder, 'journal.sqlite') });
afterAll(async () => {
	await store.close();
	rmSync(folder, { recursive: true, force: true });
});

/** A promise with its settlers, as n8n's helpers make them for a trigger's emit. */
function createDeferredPromise<T>(): IDeferredPromise<T> {
	let resolve!: (value: T) => void;
	let reject!: (error: Error) => void;
	const promise = new Promise<T>((ok, fail) => {
		resolve = ok;
		reject = fail;
	});
	return { promise, resolve, reject };
}

interface Emission {
	key: string;
	attempt: number;
	done: IDeferredPromise<IRun>;
}

/** What recovery needs of n8n's trigger context, recording each emission and its done promise. */
function triggerContext(emissions: Emission[]): ITriggerFunctions {
	return {
		emit: (data: INodeExecutionData[][], _response?: unknown, done?: IDeferredPromise<IRun>) => {
			const json = data[0][0].json;
			if (!done) throw new Error('recovery emitted without a done promise');
			emissions.push({ key: buildMessageKey(json as unknown as Envelope), attempt: Number((json.delivery as IDataObject).attempt), done });
		},
		getWorkflowSettings: () => ({}),
		logger: { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined },
		helpers: {
			createDeferredPromise,
			returnJsonArray: (items: IDataObject[]) => items.map((json) => ({ json })),
		},
	} as unknown as ITriggerFunctions;
}

let owners = 0;
/** A trigger journal with its own owner, and `count` journaled messages received a minute ago (overdue). */
async function overdueMessages(count: number, policy: Partial<TriggerJournal['recovery']> = {}): Promise<{ journal: TriggerJournal; items: IDataObject[] }> {
	const owner = `wf:recovery-${++owners}`;
	const items: IDataObject[] = [];
	for (let i = 0; i < count; i++) {
		const envelope = telegramDmEnvelope(`${owners}0${i}`, `message ${i}`) as IDataObject;
		const key = buildMessageKey(envelope as unknown as Envelope);
		await store.record({ key, sessionId: String(envelope.sessionId), owner, item: envelope, receivedAt: Date.now() - 60_000 });
		items.push(envelope);
	}
	const journal: TriggerJournal = {
		journal: store as unknown as DeliveryJournal,
		kind: 'sqlite',
		owner,
		recovery: { ...DEFAULT_RECOVERY, graceMs: 300, intervalMs: 50, ...policy },
	};
	return { journal, items };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const settle = (emission: Emission) => emission.done.resolve({} as IRun);

test('a message whose execution this process still runs is renewed, not run again, however long it waits; once it ends without a receipt it is', async () => {
	const { journal, items } = await overdueMessages(2);
	const running = createDeferredPromise<IRun>();
	// The first message's execution was handed to n8n here and has not ended (n8n is busy).
	holdWhileRunning(journal, { ...items[0], delivery: { journal: 'sqlite', seq: 1, attempt: 1 } }, running.promise);
	const emissions: Emission[] = [];
	const stop = startRecovery(triggerContext(emissions), journal);
	try {
		// Many looks and several grace periods later: only the message nobody runs was run again.
		await sleep(1_500);
		expect(emissions.map((emission) => emission.key)).toEqual([buildMessageKey(items[1] as unknown as Envelope)]);
		running.resolve({} as IRun);
		// Its execution ended without a receipt: overdue a grace period after the last renewal.
		await sleep(1_200);
		expect(emissions.map((emission) => emission.key)).toContain(buildMessageKey(items[0] as unknown as Envelope));
		// What recovery started and is still running is held, each message once.
		expect(holdsOf(journal.owner).keys.sort()).toEqual(emissions.map((emission) => emission.key).sort());
	} finally {
		for (const emission of emissions) settle(emission);
		await stop();
	}
});

test("a webhook's hold (n8n names no end of its execution) keeps recovery off for 3 minutes, until AI Session could have taken it; a held execution n8n reports on, for up to 10", async () => {
	const { journal, items } = await overdueMessages(2);
	const [webhook, emitted] = items.map((item) => buildMessageKey(item as unknown as Envelope));
	const running = createDeferredPromise<IRun>();
	holdWhileRunning(journal, { ...items[0], delivery: { journal: 'sqlite', seq: 1, attempt: 1 } }, null);
	holdWhileRunning(journal, { ...items[1], delivery: { journal: 'sqlite', seq: 2, attempt: 1 } }, running.promise);
	const minutesFromNow = (minutes: number) => holdsOf(journal.owner, Date.now() + minutes * 60_000).keys.sort();
	try {
		expect(minutesFromNow(2.9)).toEqual([webhook, emitted].sort());
		// n8n failed to create or start the webhook's execution: its message is recovery's again.
		expect(minutesFromNow(3.1)).toEqual([emitted]);
		expect(minutesFromNow(10.1)).toEqual([]);
	} finally {
		running.resolve({} as IRun);
	}
});

test('recovery runs at most inFlight executions at once and takes the next overdue message as soon as one ends', async () => {
	const { journal } = await overdueMessages(40, { inFlight: 16, graceMs: 60_000, intervalMs: 60_000 });
	const emissions: Emission[] = [];
	const stop = startRecovery(triggerContext(emissions), journal);
	try {
		await sleep(500);
		expect(emissions).toHaveLength(16);
		// Three executions end: three more messages are run, without waiting for the next interval.
		for (const emission of emissions.slice(0, 3)) settle(emission);
		await sleep(500);
		expect(emissions).toHaveLength(19);
		// Each message was run again once: nothing still held was taken a second time.
		expect(new Set(emissions.map((emission) => emission.key)).size).toBe(19);
		expect(emissions.every((emission) => emission.attempt === 2)).toBe(true);
		for (const emission of emissions) settle(emission);
		await sleep(500);
		expect(emissions.length).toBe(35);
	} finally {
		for (const emission of emissions) settle(emission);
		await stop();
	}
});
