/**
 * Insights in every durable store (SQLite, Redis, Postgres on 127.0.0.1, as the session store
 * suite uses them): what one process records, another reads (queue mode: figures come from the
 * store, never from a worker's memory); concurrent writers lose nothing; one write per batch;
 * retention removes old days and sessions but never the all-time totals Prometheus reads.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { Pool } from 'pg';

import { ALL_TIME, foldEvents, type AnswerEvent, type DeliveryEvent } from '../../nodes/core/insights/events';
import { dashboardPage, metricsText, priceTable, sessionActivity, usageSummary } from '../../nodes/core/insights/operations';
import type { InsightsStore } from '../../nodes/core/insights/store';
import type { SessionStore } from '../../nodes/core/session/store';
import { PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../../nodes/core/stores/redis.store';
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

type WithInsights = SessionStore & { insights: InsightsStore };

interface Backend {
	/** A new instance over the same data: what another n8n process or queue-mode worker opens. */
	open(retentionMs?: number): WithInsights;
	/** An instance that counts the round trips it makes to its server. */
	openCounting(): { store: WithInsights; roundTrips(): number };
	destroy(): Promise<void>;
}

const DAY_MS = 86_400_000;

const kinds: Array<{ name: string; setUp(runId: string): Promise<Backend> }> = [
	{
		name: 'sqlite',
		async setUp(runId) {
			const folder = mkdtempSync(join(tmpdir(), `clawgate-insights-${runId}-`));
			const filename = join(folder, 'sessions.sqlite');
			return {
				open: (retentionMs) => new SqliteSessionStore({ filename, retentionMs }),
				// In-process, so no round trips: transactions are counted instead (each is a write to the file's WAL).
				openCounting: () => {
					const store = new SqliteSessionStore({ filename });
					const db = (store as unknown as { db: { exec(sql: string): void } }).db;
					const exec = db.exec.bind(db);
					let transactions = 0;
					db.exec = (sql: string) => {
						if (/^\s*BEGIN/i.test(sql)) transactions += 1;
						exec(sql);
					};
					return { store, roundTrips: () => transactions };
				},
				destroy: async () => rmSync(folder, { recursive: true, force: true }),
			};
		},
	},
	{
		name: 'redis',
		async setUp(runId) {
			const keyPrefix = `clawgate-insights-test:${runId}:`;
			const clients: Redis[] = [];
			return {
				open: (retentionMs) => new RedisSessionStore({ ...redisAddress, keyPrefix, retentionMs }),
				openCounting: () => {
					const client = new Redis(redisAddress);
					clients.push(client);
					let commands = 0;
					const send = client.sendCommand.bind(client);
					(client as unknown as { sendCommand: unknown }).sendCommand = (...args: Parameters<typeof send>) => {
						commands += 1;
						return send(...args);
					};
					return { store: new RedisSessionStore({ client, keyPrefix }), roundTrips: () => commands };
				},
				destroy: async () => {
					await Promise.all(clients.map((client) => client.quit()));
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
		async setUp(runId) {
			const tablePrefix = `clawgate_it_${runId}_`;
			const pools: Pool[] = [];
			return {
				open: (retentionMs) => new PostgresSessionStore({ ...postgresAddress, tablePrefix, retentionMs }),
				openCounting: () => {
					const pool = new Pool(postgresAddress);
					pools.push(pool);
					let queries = 0;
					const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
					(pool as unknown as { query: unknown }).query = (...args: unknown[]) => {
						queries += 1;
						return query(...args);
					};
					return { store: new PostgresSessionStore({ pool, tablePrefix }), roundTrips: () => queries };
				},
				destroy: async () => {
					await Promise.all(pools.map((pool) => pool.end()));
					const admin = new Pool(postgresAddress);
					const tables = ['sessions', 'turns', 'message_keys', 'counters', 'lock_queue', 'journal', 'receipts', 'insights_counters', 'insights_sessions'];
					await admin.query(`DROP TABLE IF EXISTS ${tables.map((table) => `"${tablePrefix}${table}"`).join(', ')}`);
					await admin.end();
				},
			};
		},
	},
];

describe.each(kinds)('insights in the $name store', (kind) => {
	const runId = randomUUID().slice(0, 8);
	let backend: Backend;
	const opened: SessionStore[] = [];
	const open = (retentionMs?: number) => {
		const store = backend.open(retentionMs);
		opened.push(store);
		return store;
	};
	let sessionCounter = 0;
	const newSession = (channel = 'telegram') => `${channel}:${runId}:dm:${++sessionCounter}`;
	const now = Date.now();

	const answer = (fields: Partial<AnswerEvent>): AnswerEvent => ({
		kind: 'answer',
		at: now,
		channel: 'telegram',
		via: 'telegram',
		accountId: 'bot1',
		sessionId: '',
		model: `model-${runId}`,
		promptTokens: 10,
		completionTokens: 3,
		modelMs: 120,
		turnMs: 150,
		outcome: 'answered',
		errorClass: '',
		...fields,
	});
	const delivery = (fields: Partial<DeliveryEvent>): DeliveryEvent => ({ kind: 'delivery', at: now, channel: 'telegram', via: 'telegram', accountId: 'bot1', sessionId: '', deliveryMs: 40, outcome: 'sent', errorClass: '', ...fields });

	beforeAll(async () => {
		backend = await kind.setUp(runId);
	});
	afterEach(async () => {
		await Promise.all(opened.splice(0).map((store) => store.close()));
	});
	afterAll(async () => {
		await backend.destroy();
	});

	test('what one process records, another process reads: totals, sessions, metrics and the dashboard agree', async () => {
		const writer = open();
		const reader = open();
		const [ada, bob] = [newSession(), newSession('slack')];
		await writer.insights.recordInsights(
			foldEvents([
				answer({ sessionId: ada }),
				answer({ sessionId: ada, promptTokens: 20, completionTokens: 7 }),
				answer({ sessionId: bob, channel: 'slack', via: 'slack' }),
				answer({ sessionId: ada, outcome: 'error', errorClass: 'model_timeout', model: '', promptTokens: 0, completionTokens: 0 }),
				delivery({ sessionId: ada }),
				delivery({ sessionId: bob, channel: 'slack', via: 'slack', outcome: 'failed', errorClass: 'rate_limited' }),
			]),
		);
		const [totals] = await usageSummary(reader.insights, { days: 1, groupBy: [], prices: priceTable({ [`model-${runId}`]: { input: 1_000_000, output: 2_000_000 } }), now });
		expect(totals).toMatchObject({ messages: 4, answered: 3, errors: 1, promptTokens: 40, completionTokens: 13, deliveries: 2, deliveryFailures: 1 });
		// 40 prompt tokens at $1 each, 13 completion tokens at $2.
		expect(totals.estimatedCostUsd).toBeCloseTo(66, 6);

		const sessions = await sessionActivity(reader.insights, { days: 1, order: 'messages', limit: 10, now });
		const ours = sessions.filter((session) => [ada, bob].includes(session.sessionId));
		expect(ours.map((session) => [session.sessionId, session.messages, session.tokens, session.errors])).toEqual([
			[ada, 3, 40, 1],
			[bob, 1, 13, 1],
		]);

		const metrics = await metricsText(reader.insights, priceTable(), now);
		expect(metrics).toContain(`clawgate_tokens_total{channel="slack",model="model-${runId}",type="prompt"} `);
		const { totals: pageTotals } = await dashboardPage(reader.insights, { days: 1, title: 't', prices: priceTable(), busiestSessions: 5, refreshSeconds: 0, now });
		expect(pageTotals.messages).toBe(totals.messages);
	});

	test('two processes writing at once lose no count (atomic increments in the store)', async () => {
		const [first, second] = [open(), open()];
		const session = newSession('line');
		const before = (await usageSummary(first.insights, { days: 1, groupBy: ['channel'], prices: priceTable(), now })).find((group) => group.channel === `line-${runId}`);
		expect(before).toBeUndefined();
		const batch = () => foldEvents([answer({ channel: `line-${runId}`, via: 'line', sessionId: session })]);
		await Promise.all(Array.from({ length: 40 }, (_, index) => (index % 2 ? first : second).insights.recordInsights(batch())));
		const after = (await usageSummary(open().insights, { days: 1, groupBy: ['channel'], prices: priceTable(), now })).find((group) => group.channel === `line-${runId}`);
		expect(after).toMatchObject({ messages: 40, promptTokens: 400 });
		const [activity] = (await sessionActivity(first.insights, { days: 1, order: 'lastSeen', limit: 50, now })).filter((entry) => entry.sessionId === session);
		expect(activity.messages).toBe(40);
	});

	test('a batch of many answers is one round trip to the store (SQLite: one transaction)', async () => {
		const { store, roundTrips } = backend.openCounting();
		opened.push(store);
		await store.insights.readCounters(ALL_TIME, ALL_TIME); // connects and creates tables first
		const before = roundTrips();
		await store.insights.recordInsights(foldEvents(Array.from({ length: 25 }, (_, index) => answer({ sessionId: newSession(), channel: index % 2 ? 'telegram' : 'viber' }))));
		expect(roundTrips() - before).toBe(1);
	});

	test('sessions: most recent first, only those seen in the period, and the active-session counts', async () => {
		const store = open();
		const [old, recent, latest] = [newSession(), newSession(), newSession()];
		await store.insights.recordInsights(
			foldEvents([answer({ sessionId: old, at: now - 3 * DAY_MS }), answer({ sessionId: recent, at: now - 30 * 60_000 }), answer({ sessionId: latest, at: now - 60_000 })]),
		);
		// Two UTC days (yesterday and today), so the half-hour-old session is in the period at any time of day; three days ago never is.
		const listed = (await sessionActivity(store.insights, { days: 2, order: 'lastSeen', limit: 500, now })).map((session) => session.sessionId).filter((id) => [old, recent, latest].includes(id));
		expect(listed).toEqual([latest, recent]);
		const [fiveMinutes, oneHour, week] = await store.insights.countSessionsSince([now - 5 * 60_000, now - 60 * 60_000, now - 7 * DAY_MS]);
		expect(oneHour - fiveMinutes).toBeGreaterThanOrEqual(1);
		expect(week).toBeGreaterThanOrEqual(oneHour + 1);
	});

	test('retention removes days and sessions past it, never the all-time totals', async () => {
		const retentionMs = 2 * DAY_MS;
		const store = open(retentionMs);
		const channel = `old-${runId}`;
		const session = newSession(channel);
		await store.insights.recordInsights(foldEvents([answer({ channel, sessionId: session, at: now - 5 * DAY_MS })]));
		const oldDay = new Date(now - 5 * DAY_MS).toISOString().slice(0, 10);
		await store.purgeExpired();
		if (kind.name === 'redis') {
			// Redis expires by itself: the old day's hash carries a TTL of the retention (plus a day) from its write.
			const redis = new Redis(redisAddress);
			const ttl = await redis.pttl(`clawgate-insights-test:${runId}:insights:counters:${oldDay}`);
			const totalTtl = await redis.pttl(`clawgate-insights-test:${runId}:insights:counters:${ALL_TIME}`);
			await redis.quit();
			expect(ttl).toBeGreaterThan(0);
			expect(ttl).toBeLessThanOrEqual(retentionMs + DAY_MS);
			expect(totalTtl).toBe(-1);
			// Another write trims the session index past the retention.
			await store.insights.recordInsights(foldEvents([answer({ sessionId: newSession() })]));
		} else {
			expect((await store.insights.readCounters(oldDay, oldDay)).filter((row) => row.series.includes(channel))).toEqual([]);
		}
		expect((await store.insights.readSessions({ since: 0, limit: 10_000, order: 'lastSeen' })).map((entry) => entry.sessionId)).not.toContain(session);
		const totals = await store.insights.readCounters(ALL_TIME, ALL_TIME);
		expect(totals.filter((row) => row.series.includes(channel) && row.field === 'n').reduce((sum, row) => sum + row.value, 0)).toBe(1);
	});
});
