import type { DatabaseSync, StatementSync } from 'node:sqlite';

import { ALL_TIME, type CounterDelta, type InsightsBatch } from '../insights/events';
import type { InsightsStore, SessionActivity, SessionQuery } from '../insights/store';

export const SQLITE_INSIGHTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS clawgate_insights_counters (
	day TEXT NOT NULL,
	series TEXT NOT NULL,
	field TEXT NOT NULL,
	value INTEGER NOT NULL,
	PRIMARY KEY (day, series, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clawgate_insights_sessions (
	session_id TEXT PRIMARY KEY,
	channel TEXT NOT NULL,
	via TEXT NOT NULL,
	account_id TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	messages INTEGER NOT NULL,
	tokens INTEGER NOT NULL,
	errors INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clawgate_insights_sessions_seen ON clawgate_insights_sessions (last_seen);
CREATE INDEX IF NOT EXISTS clawgate_insights_sessions_messages ON clawgate_insights_sessions (messages);
`;

interface SessionRow {
	session_id: string;
	channel: string;
	via: string;
	account_id: string;
	first_seen: number;
	last_seen: number;
	messages: number;
	tokens: number;
	errors: number;
}

export function sessionActivityOf(row: SessionRow): SessionActivity {
	return {
		sessionId: row.session_id,
		channel: row.channel,
		via: row.via,
		accountId: row.account_id,
		firstSeen: Number(row.first_seen),
		lastSeen: Number(row.last_seen),
		messages: Number(row.messages),
		tokens: Number(row.tokens),
		errors: Number(row.errors),
	};
}

/** Insights in the SQLite store's file: one transaction per batch, on the store's connection. */
export class SqliteInsights implements InsightsStore {
	private readonly statements: Record<string, StatementSync>;

	constructor(
		db: DatabaseSync,
		private readonly transaction: <T>(work: () => T) => T,
	) {
		db.exec(SQLITE_INSIGHTS_SCHEMA);
		const prepare = (sql: string) => db.prepare(sql);
		this.statements = {
			// Every counter of a batch in one statement (an answer is about 20): `[[day, series, field, value], …]` as JSON.
			addCounters: prepare(
				`INSERT INTO clawgate_insights_counters (day, series, field, value)
				 SELECT delta.value ->> 0, delta.value ->> 1, delta.value ->> 2, delta.value ->> 3 FROM json_each(?) AS delta WHERE true
				 ON CONFLICT (day, series, field) DO UPDATE SET value = clawgate_insights_counters.value + excluded.value`,
			),
			addSession: prepare(
				`INSERT INTO clawgate_insights_sessions (session_id, channel, via, account_id, first_seen, last_seen, messages, tokens, errors)
				 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				 ON CONFLICT (session_id) DO UPDATE SET channel = excluded.channel, via = excluded.via, account_id = excluded.account_id,
				   first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
				   messages = messages + excluded.messages, tokens = tokens + excluded.tokens, errors = errors + excluded.errors`,
			),
			counters: prepare('SELECT day, series, field, value FROM clawgate_insights_counters WHERE day >= ? AND day <= ? AND day <> ?'),
			totals: prepare('SELECT day, series, field, value FROM clawgate_insights_counters WHERE day = ?'),
			byLastSeen: prepare('SELECT * FROM clawgate_insights_sessions WHERE last_seen >= ? ORDER BY last_seen DESC LIMIT ?'),
			byMessages: prepare('SELECT * FROM clawgate_insights_sessions WHERE last_seen >= ? ORDER BY messages DESC, last_seen DESC LIMIT ?'),
			countSince: prepare('SELECT count(*) AS n FROM clawgate_insights_sessions WHERE last_seen >= ?'),
			purgeCounters: prepare(
				'DELETE FROM clawgate_insights_counters WHERE (day, series, field) IN (SELECT day, series, field FROM clawgate_insights_counters WHERE day < ? AND day <> ? LIMIT ?)',
			),
			purgeSessions: prepare('DELETE FROM clawgate_insights_sessions WHERE session_id IN (SELECT session_id FROM clawgate_insights_sessions WHERE last_seen < ? LIMIT ?)'),
		};
	}

	async recordInsights({ counters, sessions }: InsightsBatch): Promise<void> {
		if (counters.length === 0 && sessions.length === 0) return;
		this.transaction(() => {
			if (counters.length > 0) this.statements.addCounters.run(JSON.stringify(counters.map((delta) => [delta.day, delta.series, delta.field, delta.value])));
			for (const s of sessions) this.statements.addSession.run(s.sessionId, s.channel, s.via, s.accountId, s.firstSeen, s.lastSeen, s.messages, s.tokens, s.errors);
		});
	}

	async readCounters(fromDay: string, toDay: string): Promise<CounterDelta[]> {
		const rows = fromDay === ALL_TIME ? this.statements.totals.all(ALL_TIME) : this.statements.counters.all(fromDay, toDay, ALL_TIME);
		return (rows as unknown as CounterDelta[]).map((row) => ({ day: row.day, series: row.series, field: row.field, value: Number(row.value) }));
	}

	async readSessions({ since, limit, order }: SessionQuery): Promise<SessionActivity[]> {
		const statement = order === 'messages' ? this.statements.byMessages : this.statements.byLastSeen;
		return (statement.all(since, limit) as unknown as SessionRow[]).map(sessionActivityOf);
	}

	async countSessionsSince(times: number[]): Promise<number[]> {
		return times.map((time) => Number((this.statements.countSince.get(time) as { n: number }).n));
	}

	/** Day counters and sessions older than the retention, in batches; returns whether rows may remain. */
	purgeBatch(before: number, rows: number): boolean {
		const day = new Date(before).toISOString().slice(0, 10);
		const counters = Number(this.statements.purgeCounters.run(day, ALL_TIME, rows).changes);
		const sessions = Number(this.statements.purgeSessions.run(before, rows).changes);
		return counters === rows || sessions === rows;
	}
}
