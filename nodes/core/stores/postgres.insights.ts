import { ALL_TIME, type CounterDelta, type InsightsBatch } from '../insights/events';
import type { InsightsStore, SessionActivity, SessionQuery } from '../insights/store';
import { sessionActivityOf } from './sqlite.insights';

/** The Postgres store's own plumbing: its query (schema ensured, errors explained) and its table names. */
export interface PostgresPlumbing {
	query<Row extends Record<string, unknown>>(text: string, values: unknown[]): Promise<Row[]>;
	counters: string;
	sessions: string;
}

/** Tables and indexes, created with the store's other tables (`CREATE ... IF NOT EXISTS`). */
export function postgresInsightsDdl(counters: string, sessions: string, index: (name: string) => string): string {
	return `
		CREATE TABLE IF NOT EXISTS ${counters} (
			day text NOT NULL,
			series text NOT NULL,
			field text NOT NULL,
			value bigint NOT NULL,
			PRIMARY KEY (day, series, field)
		);
		CREATE TABLE IF NOT EXISTS ${sessions} (
			session_id text PRIMARY KEY,
			channel text NOT NULL,
			via text NOT NULL,
			account_id text NOT NULL,
			first_seen bigint NOT NULL,
			last_seen bigint NOT NULL,
			messages bigint NOT NULL,
			tokens bigint NOT NULL,
			errors bigint NOT NULL
		);
		CREATE INDEX IF NOT EXISTS ${index('insights_seen')} ON ${sessions} (last_seen);
	`;
}

/** Insights in the Postgres store: one statement (one round trip) per batch. */
export class PostgresInsights implements InsightsStore {
	constructor(private readonly pg: PostgresPlumbing) {}

	async recordInsights({ counters, sessions }: InsightsBatch): Promise<void> {
		if (counters.length === 0 && sessions.length === 0) return;
		// Sorted, so two workers writing the same rows lock them in the same order and never deadlock.
		const sortedCounters = [...counters].sort((a, b) => compare(a.day, b.day) || compare(a.series, b.series) || compare(a.field, b.field));
		const sortedSessions = [...sessions].sort((a, b) => compare(a.sessionId, b.sessionId));
		const { counters: counterTable, sessions: sessionTable } = this.pg;
		await this.pg.query(
			`WITH added_counters AS (
				INSERT INTO ${counterTable} AS c (day, series, field, value)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
				ON CONFLICT (day, series, field) DO UPDATE SET value = c.value + EXCLUDED.value
				RETURNING 1
			)
			INSERT INTO ${sessionTable} AS s (session_id, channel, via, account_id, first_seen, last_seen, messages, tokens, errors)
			SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])
			ON CONFLICT (session_id) DO UPDATE SET channel = EXCLUDED.channel, via = EXCLUDED.via, account_id = EXCLUDED.account_id,
				first_seen = LEAST(s.first_seen, EXCLUDED.first_seen), last_seen = GREATEST(s.last_seen, EXCLUDED.last_seen),
				messages = s.messages + EXCLUDED.messages, tokens = s.tokens + EXCLUDED.tokens, errors = s.errors + EXCLUDED.errors`,
			[
				sortedCounters.map((delta) => delta.day),
				sortedCounters.map((delta) => delta.series),
				sortedCounters.map((delta) => delta.field),
				sortedCounters.map((delta) => delta.value),
				sortedSessions.map((s) => s.sessionId),
				sortedSessions.map((s) => s.channel),
				sortedSessions.map((s) => s.via),
				sortedSessions.map((s) => s.accountId),
				sortedSessions.map((s) => s.firstSeen),
				sortedSessions.map((s) => s.lastSeen),
				sortedSessions.map((s) => s.messages),
				sortedSessions.map((s) => s.tokens),
				sortedSessions.map((s) => s.errors),
			],
		);
	}

	async readCounters(fromDay: string, toDay: string): Promise<CounterDelta[]> {
		const rows =
			fromDay === ALL_TIME
				? await this.pg.query<{ day: string; series: string; field: string; value: string }>(`SELECT day, series, field, value FROM ${this.pg.counters} WHERE day = $1`, [ALL_TIME])
				: await this.pg.query<{ day: string; series: string; field: string; value: string }>(
						`SELECT day, series, field, value FROM ${this.pg.counters} WHERE day >= $1 AND day <= $2 AND day <> $3`,
						[fromDay, toDay, ALL_TIME],
					);
		return rows.map((row) => ({ day: row.day, series: row.series, field: row.field, value: Number(row.value) }));
	}

	async readSessions({ since, limit, order }: SessionQuery): Promise<SessionActivity[]> {
		const rows = await this.pg.query<Parameters<typeof sessionActivityOf>[0] & Record<string, unknown>>(
			`SELECT * FROM ${this.pg.sessions} WHERE last_seen >= $1 ORDER BY ${order === 'messages' ? 'messages DESC, last_seen DESC' : 'last_seen DESC'} LIMIT $2`,
			[since, limit],
		);
		return rows.map(sessionActivityOf);
	}

	async countSessionsSince(times: number[]): Promise<number[]> {
		const rows = await this.pg.query<{ n: string }>(
			`SELECT (SELECT count(*) FROM ${this.pg.sessions} WHERE last_seen >= t) AS n FROM unnest($1::bigint[]) WITH ORDINALITY AS x(t, i) ORDER BY i`,
			[times],
		);
		return rows.map((row) => Number(row.n));
	}
}

function compare(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}
