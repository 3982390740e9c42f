import type { ConnectionOptions } from 'node:tls';

import type { Pool, PoolClient, QueryResultRow } from 'pg';

import {
	EMPTY_USAGE,
	LockTimeoutError,
	type AppendOptions,
	type AppendOutcome,
	type LockOptions,
	type NewTurn,
	type SessionLock,
	type SessionState,
	type SessionStore,
	type SessionSummary,
	type SessionWindow,
	type StoredTurn,
} from '../session/store';
import { parseCalibration } from '../token-calibration';
import {
	journalEntryOf,
	type DeliveryClaim,
	type DeliveryJournal,
	type JournalEntry,
	type JournalRow,
	type JournalState,
	type NewJournalEntry,
	type RecordOutcome,
	type SessionWatch,
} from '../journal';
import { ArrivalQueue, FifoMutex } from './fifo-mutex';
import { PgWakeups } from './pg-wakeups';
import { PostgresInsights, postgresInsightsDdl } from './postgres.insights';
import { PurgeSchedule, retentionSettings, type RetentionOptions } from './retention';

/**
 * SSL as n8n's `postgres` credential says it ('disable' … 'verify-full'), or as `pg` takes it.
 * 'allow', 'prefer' and 'require' encrypt without checking the certificate, as libpq does.
 */
export type PostgresSsl = boolean | 'disable' | 'allow' | 'prefer' | 'require' | 'verify' | 'verify-ca' | 'verify-full' | ConnectionOptions;

interface PostgresNaming extends RetentionOptions {
	/** Table names start with this (letters, digits, underscores), so several setups can share a database. */
	tablePrefix?: string;
	/** An existing schema for the tables; the connection's search_path (usually `public`) when unset. */
	schema?: string;
}

/** Connection settings, as n8n's built-in `postgres` credential holds them. */
export interface PostgresConnectionOptions extends PostgresNaming {
	host: string;
	port: number;
	database: string;
	user: string;
	password?: string;
	ssl?: PostgresSsl;
}

/** A pool the caller made and keeps: the store uses it but never ends it. */
export interface PostgresPoolOptions extends PostgresNaming {
	pool: Pool;
}

export type PostgresStoreOptions = PostgresConnectionOptions | PostgresPoolOptions;

export const DEFAULT_POSTGRES_TABLE_PREFIX = 'clawgate_';

/** How often a waiter asks whether its turn has come, when no notification can wake it. */
const LOCK_POLL_MS = 20;
/** How often it asks while notifications wake it (a holder that crashed frees the lock only when its lease runs out). */
const LOCK_POLL_LISTENING_MS = 500;
/** Rows deleted per statement by a purge, so a first purge of a large table never holds its locks for long. */
const PURGE_BATCH_ROWS = 5_000;
/** Any fixed number: the advisory lock that keeps two processes from creating the tables at once. */
const SCHEMA_LOCK_CLASS = 0x636c6177; // "claw"

interface SessionRow {
	last_seq: string;
	last_cumulative_tokens: string;
	context_start_seq: string;
	summary: string | null;
	summary_tokens: number | null;
	summary_through_seq: string | null;
	prompt_tokens: string;
	completion_tokens: string;
	total_tokens: string;
	calibration: string | null;
}

interface TurnRow {
	seq: string;
	role: StoredTurn['role'];
	content: string;
	tokens: number;
	cumulative_tokens: string;
	created_at_ms: number;
}

/** A failure already put in words a user can act on. */
class PostgresStoreError extends Error {
	constructor(message: string, options: { cause: unknown }) {
		super(message, options);
		this.name = 'PostgresStoreError';
	}
}

/** At most 40 characters, so the longest table or index name stays within Postgres's 63. */
const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

function checkName(name: string, what: string): string {
	if (!SAFE_NAME.test(name)) {
		throw new Error(`The Postgres ${what} "${name}" may only hold letters, digits and underscores (at most 40, not starting with a digit).`);
	}
	return name;
}

function isPoolOptions(options: PostgresStoreOptions): options is PostgresPoolOptions {
	return 'pool' in options && options.pool !== undefined;
}

function sslOption(ssl: PostgresSsl | undefined): boolean | ConnectionOptions {
	if (typeof ssl === 'object') return ssl;
	if (ssl === undefined || ssl === false || ssl === 'disable') return false;
	if (ssl === 'allow' || ssl === 'prefer' || ssl === 'require') return { rejectUnauthorized: false };
	return { rejectUnauthorized: true };
}

function stateFromRow(row: SessionRow | undefined): SessionState {
	if (!row) {
		return { turnCount: 0, lastSeq: 0, lastCumulativeTokens: 0, contextStartSeq: 0, summary: null, usage: { ...EMPTY_USAGE }, calibration: {} };
	}
	// bigint columns arrive as strings (pg keeps them exact); every count here fits a JS number.
	return {
		turnCount: Number(row.last_seq),
		lastSeq: Number(row.last_seq),
		lastCumulativeTokens: Number(row.last_cumulative_tokens),
		contextStartSeq: Number(row.context_start_seq),
		summary:
			row.summary === null
				? null
				: { content: row.summary, tokens: row.summary_tokens ?? 0, throughSeq: Number(row.summary_through_seq ?? 0) },
		usage: {
			promptTokens: Number(row.prompt_tokens),
			completionTokens: Number(row.completion_tokens),
			totalTokens: Number(row.total_tokens),
		},
		calibration: parseCalibration(row.calibration),
	};
}

function turnFromRow(row: TurnRow): StoredTurn {
	return {
		seq: Number(row.seq),
		role: row.role,
		content: row.content,
		tokens: row.tokens,
		cumulativeTokens: Number(row.cumulative_tokens),
		createdAt: row.created_at_ms,
	};
}

/**
 * PostgreSQL, for n8n queue mode when history should be durable and queryable: every worker sees
 * the same sessions, and the per-session lock works across processes. Tables are created on first
 * use. Turns are kept until /forget erases them; message keys for the retention, counters until they expire.
 */
export class PostgresSessionStore implements SessionStore, DeliveryJournal {
	private readonly pool: Pool;
	private readonly ownsPool: boolean;
	private readonly where: string;
	private readonly user: string;
	private readonly tables: { sessions: string; turns: string; messageKeys: string; counters: string; lockQueue: string; journal: string; receipts: string; insightsCounters: string; insightsSessions: string };
	/** The operations view's counters and session activity, in the same database (core/insights). */
	readonly insights: PostgresInsights;
	private readonly tablePrefix: string;
	/** `"schema".` when a schema is set, so names are qualified; empty to follow the search_path. */
	private readonly schemaPrefix: string;
	private readonly mutex = new FifoMutex();
	private readonly arrivals = new ArrivalQueue();
	private readonly heldLocks = new Set<() => void>();
	private readonly pendingSleeps = new Set<() => void>();
	/** Wakes this process's waiters when another process frees a session (null with a pool the caller made). */
	private readonly wakeups: PgWakeups | null;
	private readonly wakeChannel: string;
	private schemaReady: Promise<void> | null = null;
	private closed = false;
	private readonly retentionMs: number;
	private readonly purges: PurgeSchedule;

	constructor(options: PostgresStoreOptions) {
		const { retentionMs, purgeIntervalMs } = retentionSettings(options);
		this.retentionMs = retentionMs;
		this.purges = new PurgeSchedule(purgeIntervalMs, () => this.purgeNow());
		const prefix = checkName(options.tablePrefix ?? DEFAULT_POSTGRES_TABLE_PREFIX, 'table prefix');
		this.schemaPrefix = options.schema ? `"${checkName(options.schema, 'schema')}".` : '';
		const qualify = (table: string) => `${this.schemaPrefix}"${prefix}${table}"`;
		this.tables = {
			sessions: qualify('sessions'),
			turns: qualify('turns'),
			messageKeys: qualify('message_keys'),
			counters: qualify('counters'),
			lockQueue: qualify('lock_queue'),
			journal: qualify('journal'),
			receipts: qualify('receipts'),
			insightsCounters: qualify('insights_counters'),
			insightsSessions: qualify('insights_sessions'),
		};
		this.insights = new PostgresInsights({
			query: (text, values) => this.query(text, values),
			counters: this.tables.insightsCounters,
			sessions: this.tables.insightsSessions,
		});
		this.tablePrefix = prefix;
		this.wakeChannel = `${prefix}wake`;
		if (isPoolOptions(options)) {
			this.pool = options.pool;
			this.ownsPool = false;
			this.wakeups = null;
			this.where = `${options.pool.options.host ?? 'localhost'}:${options.pool.options.port ?? 5432}`;
			this.user = options.pool.options.user ?? '';
		} else {
			// pg is loaded on first use, not on import: a node file can be loaded without running (n8n loads them all right after an install), Postgres used or not.
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const { Pool } = require('pg') as typeof import('pg');
			this.pool = new Pool({
				host: options.host,
				port: options.port,
				database: options.database,
				user: options.user,
				password: options.password || undefined,
				ssl: sslOption(options.ssl),
				// How long a query waits for a pooled connection: after a crash, recovery and the queue send
				// many messages at once, and a message that waits is better than one that fails and is run
				// again (measured: a 10 s wait failed 51 of 1,000 messages in the queue-mode kill run).
				connectionTimeoutMillis: 30_000,
				// Idle connections close, so a quiet workflow holds no connections open.
				idleTimeoutMillis: 30_000,
				application_name: 'n8n-nodes-clawgate',
			});
			this.ownsPool = true;
			this.wakeups = new PgWakeups(
				{ host: options.host, port: options.port, database: options.database, user: options.user, password: options.password || undefined, ssl: sslOption(options.ssl), application_name: 'n8n-nodes-clawgate' },
				this.wakeChannel,
			);
			this.where = `${options.host}:${options.port}`;
			this.user = options.user;
		}
		// An idle connection that the server drops must not crash n8n; the next query reconnects.
		if (this.ownsPool) this.pool.on('error', () => undefined);
	}

	async readWindow(sessionId: string, maxTokens: number): Promise<SessionWindow> {
		const [row] = await this.query<SessionRow>(`SELECT * FROM ${this.tables.sessions} WHERE session_id = $1`, [sessionId]);
		const state = stateFromRow(row);
		if (state.lastSeq === 0) return { state, turns: [] };
		const floorSeq = Math.max(state.contextStartSeq, state.summary?.throughSeq ?? 0);
		const minStart = state.lastCumulativeTokens - maxTokens;
		// One range of the (session_id, cumulative_tokens) index: the turns that fit plus at most one boundary
		// turn. Conditions on seq stay out of SQL, or a planner without statistics scans the whole session by key.
		const rows = await this.query<TurnRow>(
			`SELECT ${this.turnColumns()} FROM ${this.tables.turns}
			 WHERE session_id = $1 AND cumulative_tokens >= $2 ORDER BY cumulative_tokens, seq`,
			[sessionId, minStart],
		);
		const turns = rows
			.map(turnFromRow)
			// Before the reset or summary, the boundary turn, and turns appended since the state was read.
			.filter((turn) => turn.seq > floorSeq && turn.seq <= state.lastSeq && turn.cumulativeTokens - turn.tokens >= minStart);
		return { state, turns };
	}

	async readTurns(sessionId: string, afterSeq: number, throughCumulativeTokens: number): Promise<StoredTurn[]> {
		const rows = await this.query<TurnRow>(
			`SELECT ${this.turnColumns()} FROM ${this.tables.turns}
			 WHERE session_id = $1 AND seq > $2 AND cumulative_tokens <= $3 ORDER BY seq`,
			[sessionId, afterSeq, throughCumulativeTokens],
		);
		return rows.map(turnFromRow);
	}

	async appendTurns(sessionId: string, turns: NewTurn[], options: AppendOptions = {}): Promise<AppendOutcome> {
		const usage = options.usage ?? EMPTY_USAGE;
		const createdAt = Date.now();
		this.purges.poke();
		const outcome = await this.transaction(async (client) => {
			if (options.messageKey) {
				// A concurrent insert of the same key waits here for the other transaction, then finds it.
				const inserted = await client.query(
					`INSERT INTO ${this.tables.messageKeys} (message_key, answer) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
					[options.messageKey, options.answer ?? null],
				);
				if (inserted.rowCount === 0) return 'rollback';
			}
			// Upsert and lock the session row: concurrent appends to one session queue here.
			const {
				rows: [session],
			} = await client.query<{ last_seq: string; last_cumulative_tokens: string }>(
				`INSERT INTO ${this.tables.sessions} (session_id) VALUES ($1)
				 ON CONFLICT (session_id) DO UPDATE SET session_id = EXCLUDED.session_id
				 RETURNING last_seq, last_cumulative_tokens`,
				[sessionId],
			);
			let seq = Number(session.last_seq);
			let cumulative = Number(session.last_cumulative_tokens);
			const columns = { seq: [] as number[], role: [] as string[], content: [] as string[], tokens: [] as number[], cumulative: [] as number[] };
			for (const turn of turns) {
				seq += 1;
				cumulative += turn.tokens;
				columns.seq.push(seq);
				columns.role.push(turn.role);
				columns.content.push(turn.content);
				columns.tokens.push(turn.tokens);
				columns.cumulative.push(cumulative);
			}
			await client.query(
				`WITH inserted AS (
					INSERT INTO ${this.tables.turns} (session_id, seq, role, content, tokens, cumulative_tokens, created_at)
					SELECT $1, t.seq, t.role, t.content, t.tokens, t.cumulative, to_timestamp($7::float8 / 1000)
					FROM unnest($2::bigint[], $3::text[], $4::text[], $5::int[], $6::bigint[]) AS t (seq, role, content, tokens, cumulative)
				)
				UPDATE ${this.tables.sessions} SET last_seq = $8, last_cumulative_tokens = $9,
					prompt_tokens = prompt_tokens + $10, completion_tokens = completion_tokens + $11, total_tokens = total_tokens + $12,
					calibration = coalesce($13, calibration)
				WHERE session_id = $1`,
				[
					sessionId,
					columns.seq,
					columns.role,
					columns.content,
					columns.tokens,
					columns.cumulative,
					createdAt,
					seq,
					cumulative,
					usage.promptTokens,
					usage.completionTokens,
					usage.totalTokens,
					options.calibration ? JSON.stringify(options.calibration) : null,
				],
			);
			return 'commit';
		});
		return outcome === 'commit' ? 'appended' : 'duplicate';
	}

	async hasMessageKey(messageKey: string): Promise<boolean> {
		const rows = await this.query(`SELECT 1 FROM ${this.tables.messageKeys} WHERE message_key = $1`, [messageKey]);
		return rows.length > 0;
	}

	async readAnswer(messageKey: string): Promise<string | null> {
		const [row] = await this.query<{ answer: string | null }>(`SELECT answer FROM ${this.tables.messageKeys} WHERE message_key = $1`, [messageKey]);
		return row?.answer ?? null;
	}

	async record(entry: NewJournalEntry): Promise<RecordOutcome> {
		this.purges.poke();
		const [row] = await this.query<{ seq: string }>(
			`INSERT INTO ${this.tables.journal} (message_key, session_id, owner, item, received_at, emitted_at) VALUES ($1, $2, $3, $4, $5, $5)
			 ON CONFLICT (message_key) DO NOTHING RETURNING seq`,
			[entry.key, entry.sessionId, entry.owner, JSON.stringify(entry.item), entry.receivedAt],
		);
		if (row) return { kind: 'journaled', seq: Number(row.seq) };
		const [known] = await this.query<{ state: JournalState }>(`SELECT state FROM ${this.tables.journal} WHERE message_key = $1`, [entry.key]);
		return { kind: 'known', state: known?.state ?? 'pending' };
	}

	async markAnswered(key: string): Promise<void> {
		await this.query(
			`WITH settled AS (UPDATE ${this.tables.journal} SET state = 'answered' WHERE message_key = $1 AND state = 'pending' RETURNING session_id)
			 SELECT pg_notify($2, session_id) FROM settled`,
			[key, this.wakeChannel],
		);
	}

	async touch(keys: readonly string[], now: number): Promise<void> {
		if (keys.length === 0) return;
		await this.query(`UPDATE ${this.tables.journal} SET emitted_at = GREATEST(emitted_at, $1) WHERE message_key = ANY($2::text[]) AND state IN ('pending', 'answered')`, [now, keys]);
	}

	async claimDelivery(key: string, sender: string, claimant: string, leaseMs: number): Promise<DeliveryClaim> {
		// One statement: the claim is taken unless delivered or held by a live claim of someone else.
		const [row] = await this.query<{ claimant: string; delivered: boolean }>(
			`INSERT INTO ${this.tables.receipts} AS r (message_key, sender, claimant, claim_expires, created_at)
			 VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (message_key, sender) DO UPDATE SET claimant = EXCLUDED.claimant, claim_expires = EXCLUDED.claim_expires
			   WHERE r.delivered_at IS NULL AND (r.claimant = EXCLUDED.claimant OR r.claim_expires <= $5)
			 RETURNING claimant, delivered_at IS NOT NULL AS delivered`,
			[key, sender, claimant, Date.now() + leaseMs, Date.now()],
		);
		if (row) return 'claimed';
		const [existing] = await this.query<{ delivered_at: string | null }>(
			`SELECT delivered_at FROM ${this.tables.receipts} WHERE message_key = $1 AND sender = $2`,
			[key, sender],
		);
		return existing?.delivered_at ? 'delivered' : 'busy';
	}

	async recordReceipt(key: string, sender: string, _claimant: string, messageIds: string[]): Promise<void> {
		await this.transaction(async (client) => {
			// The platform accepted the answer: a receipt whoever holds the claim now.
			await client.query(
				`INSERT INTO ${this.tables.receipts} (message_key, sender, message_ids, delivered_at, created_at) VALUES ($1, $2, $3, $4, $4)
				 ON CONFLICT (message_key, sender) DO UPDATE SET message_ids = EXCLUDED.message_ids, delivered_at = EXCLUDED.delivered_at, claim_expires = 0`,
				[key, sender, JSON.stringify(messageIds), Date.now()],
			);
			await client.query(
				`WITH settled AS (UPDATE ${this.tables.journal} SET state = 'delivered' WHERE message_key = $1 RETURNING session_id)
				 SELECT pg_notify($2, session_id) FROM settled`,
				[key, this.wakeChannel],
			);
			return 'commit';
		});
	}

	async releaseClaim(key: string, sender: string, claimant: string, reason: string): Promise<void> {
		await this.query(
			`UPDATE ${this.tables.receipts} SET claim_expires = 0 WHERE message_key = $1 AND sender = $2 AND claimant = $3 AND delivered_at IS NULL`,
			[key, sender, claimant],
		);
		await this.recordFailure(key, reason);
	}

	async isDelivered(key: string): Promise<boolean> {
		const rows = await this.query(`SELECT 1 FROM ${this.tables.receipts} WHERE message_key = $1 AND delivered_at IS NOT NULL LIMIT 1`, [key]);
		return rows.length > 0;
	}

	async recordFailure(key: string, reason: string): Promise<void> {
		await this.query(`UPDATE ${this.tables.journal} SET last_error = $1 WHERE message_key = $2`, [reason, key]);
	}

	watchSession(sessionId: string): SessionWatch {
		return this.wakeups?.watch(sessionId) ?? { changed: new Promise<void>(() => undefined), listening: false, stop: () => undefined };
	}

	async hasEarlierPending(sessionId: string, seq: number, since: number): Promise<boolean> {
		const rows = await this.query(
			`SELECT 1 FROM ${this.tables.journal} WHERE session_id = $1 AND seq < $2 AND state = 'pending' AND received_at >= $3 LIMIT 1`,
			[sessionId, seq, since],
		);
		return rows.length > 0;
	}

	async takeOverdue(owner: string, dueBefore: number, now: number, limit: number, backoffMs = 0): Promise<JournalEntry[]> {
		// SKIP LOCKED: two mains looking at once take different entries, never one twice.
		const rows = await this.query<JournalRow>(
			`UPDATE ${this.tables.journal} SET attempts = attempts + 1, emitted_at = $1 + $5::bigint * ((1 << LEAST(attempts, 6)) - 1) WHERE seq IN (
				SELECT seq FROM ${this.tables.journal} WHERE owner = $4 AND state IN ('pending', 'answered') AND emitted_at < $2
				ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED
			 ) RETURNING seq, message_key, session_id, item, received_at, attempts, state, last_error`,
			[now, dueBefore, limit, owner, backoffMs],
		);
		return rows.map(journalEntryOf).sort((a, b) => a.seq - b.seq);
	}

	async abandon(key: string, reason: string): Promise<void> {
		await this.query(
			`WITH settled AS (UPDATE ${this.tables.journal} SET state = 'abandoned', last_error = $1 WHERE message_key = $2 AND state <> 'delivered' RETURNING session_id)
			 SELECT pg_notify($3, session_id) FROM settled`,
			[reason, key, this.wakeChannel],
		);
	}

	async purgeJournal(before: number): Promise<void> {
		for (const text of this.journalPurges()) {
			while (!this.closed && (await this.query(text, [before, PURGE_BATCH_ROWS])).length === PURGE_BATCH_ROWS) {
				// Other queries run in between batches.
			}
		}
	}

	/** Deletes of entries and receipts older than $1, $2 rows at a time (each returns one row per deletion). */
	private journalPurges(): string[] {
		const { journal, receipts } = this.tables;
		return [
			`DELETE FROM ${journal} WHERE seq IN (SELECT seq FROM ${journal} WHERE received_at < $1 LIMIT $2) RETURNING 1`,
			`DELETE FROM ${receipts} WHERE (message_key, sender) IN (SELECT message_key, sender FROM ${receipts} WHERE created_at < $1 LIMIT $2) RETURNING 1`,
		];
	}

	async resetContext(sessionId: string): Promise<void> {
		await this.query(
			`INSERT INTO ${this.tables.sessions} (session_id) VALUES ($1)
			 ON CONFLICT (session_id) DO UPDATE SET context_start_seq = ${this.tables.sessions}.last_seq,
			   summary = NULL, summary_tokens = NULL, summary_through_seq = NULL`,
			[sessionId],
		);
	}

	async forgetSession(sessionId: string): Promise<void> {
		await this.transaction(async (client) => {
			await client.query(`DELETE FROM ${this.tables.turns} WHERE session_id = $1`, [sessionId]);
			await client.query(`DELETE FROM ${this.tables.sessions} WHERE session_id = $1`, [sessionId]);
			return 'commit';
		});
	}

	async saveSummary(sessionId: string, summary: SessionSummary): Promise<void> {
		await this.query(
			`INSERT INTO ${this.tables.sessions} (session_id, summary, summary_tokens, summary_through_seq) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (session_id) DO UPDATE SET summary = $2, summary_tokens = $3, summary_through_seq = $4`,
			[sessionId, summary.content, summary.tokens, summary.throughSeq],
		);
	}

	async incrementCounter(key: string, amount: number, ttlMs: number): Promise<number> {
		// One statement: an expired counter starts again from `amount`; a live one keeps its first expiry.
		const [row] = await this.query<{ value: string }>(
			`INSERT INTO ${this.tables.counters} AS c (counter_key, value, expires_at)
			 VALUES ($1, $2, clock_timestamp() + $3::float8 * interval '1 millisecond')
			 ON CONFLICT (counter_key) DO UPDATE SET
			   value = CASE WHEN c.expires_at <= clock_timestamp() THEN EXCLUDED.value ELSE c.value + EXCLUDED.value END,
			   expires_at = CASE WHEN c.expires_at <= clock_timestamp() THEN EXCLUDED.expires_at ELSE c.expires_at END
			 RETURNING value`,
			[key, amount, ttlMs],
		);
		return Number(row.value);
	}

	async readCounter(key: string): Promise<number> {
		const [row] = await this.query<{ value: string }>(
			`SELECT value FROM ${this.tables.counters} WHERE counter_key = $1 AND expires_at > clock_timestamp()`,
			[key],
		);
		return Number(row?.value ?? 0);
	}

	purgeExpired(): Promise<void> {
		return this.purges.runNow();
	}

	private async purgeNow(): Promise<void> {
		const { messageKeys, counters, lockQueue } = this.tables;
		const batches: Array<[string, unknown[]]> = [
			[
				`DELETE FROM ${messageKeys} WHERE message_key IN (
					SELECT message_key FROM ${messageKeys} WHERE created_at < now() - $1::float8 * interval '1 millisecond' LIMIT $2)`,
				[this.retentionMs, PURGE_BATCH_ROWS],
			],
			[
				`DELETE FROM ${counters} WHERE counter_key IN (SELECT counter_key FROM ${counters} WHERE expires_at <= clock_timestamp() LIMIT $1)`,
				[PURGE_BATCH_ROWS],
			],
			...this.journalPurges().map((text): [string, unknown[]] => [text, [Date.now() - this.retentionMs, PURGE_BATCH_ROWS]]),
			[
				`DELETE FROM ${this.tables.insightsCounters} WHERE (day, series, field) IN (
					SELECT day, series, field FROM ${this.tables.insightsCounters} WHERE day < $1 AND day <> 'all' LIMIT $2)`,
				[new Date(Date.now() - this.retentionMs).toISOString().slice(0, 10), PURGE_BATCH_ROWS],
			],
			[
				`DELETE FROM ${this.tables.insightsSessions} WHERE session_id IN (SELECT session_id FROM ${this.tables.insightsSessions} WHERE last_seen < $1 LIMIT $2)`,
				[Date.now() - this.retentionMs, PURGE_BATCH_ROWS],
			],
			// Queue rows of crashed processes are otherwise only deleted when their session locks again.
			[`DELETE FROM ${lockQueue} WHERE ticket IN (SELECT ticket FROM ${lockQueue} WHERE expires_at < now() - interval '1 hour' LIMIT $1)`, [PURGE_BATCH_ROWS]],
		];
		for (const [text, values] of batches) {
			await this.ensureSchema();
			while (!this.closed) {
				let deleted: number;
				try {
					deleted = (await this.pool.query(text, values)).rowCount ?? 0;
				} catch (error) {
					throw this.explain(error);
				}
				if (deleted < PURGE_BATCH_ROWS) break;
			}
		}
	}

	/**
	 * A queue table: each waiter inserts a row the moment lock() is called (in call order within
	 * this process, whatever any other process does meanwhile), whose bigserial ticket gives its
	 * place, and holds the lock while its row is the session's lowest live ticket. Rows carry a lease
	 * (`expires_at`) that a heartbeat renews while waiting and holding; a crashed process stops
	 * renewing, and its row is skipped and deleted once the lease has run out. Only the first waiter
	 * of this process polls (the in-process FIFO admits the others one at a time, in ticket order).
	 */
	async lock(sessionId: string, { waitMs, leaseMs }: LockOptions): Promise<SessionLock> {
		const deadline = Date.now() + waitMs;
		let local: SessionLock | undefined;
		let heartbeat: NodeJS.Timeout | undefined;
		let abandoned = false;
		let ticket: string | null = null;
		const abandon = () => {
			abandoned = true;
			clearInterval(heartbeat);
			this.heldLocks.delete(abandon);
			void local?.release();
		};
		this.heldLocks.add(abandon);
		const leaveQueue = async () => {
			if (ticket === null) return;
			// The next waiter, in whichever process, is woken at once.
			await this.query(
				`WITH gone AS (DELETE FROM ${this.tables.lockQueue} WHERE ticket = $1 RETURNING session_id) SELECT pg_notify($2, session_id) FROM gone`,
				[ticket, this.wakeChannel],
			);
		};

		// The place in the queue is taken now, at arrival, not when earlier messages of this process are done.
		const joined = this.arrivals.run(sessionId, () => this.enqueue(sessionId, leaseMs)).then((taken) => {
			ticket = taken;
			if (abandoned) return;
			heartbeat = setInterval(() => {
				// A failed heartbeat is not fatal: the next one, or the lease, settles it.
				this.query(
					`UPDATE ${this.tables.lockQueue} SET expires_at = clock_timestamp() + $2::float8 * interval '1 millisecond'
					 WHERE ticket = $1`,
					[ticket, leaseMs],
				).catch(() => undefined);
			}, Math.max(10, Math.floor(leaseMs / 3)));
		});
		joined.catch(() => undefined);

		let acquired = false;
		try {
			local = await this.mutex.acquire(sessionId, waitMs);
			await joined;
			for (;;) {
				// Watched before asking, so a release between the question and the wait still wakes it.
				const watch = this.watchSession(sessionId);
				let queue: { head: string | null; queued: boolean };
				try {
					[queue] = await this.query<{ head: string | null; queued: boolean }>(
						`WITH expired AS (
							DELETE FROM ${this.tables.lockQueue} WHERE session_id = $1 AND expires_at <= now() RETURNING ticket
						)
						SELECT min(ticket) FILTER (WHERE expires_at > now()) AS head,
							coalesce(bool_or(ticket = $2 AND expires_at > now()), false) AS queued
						FROM ${this.tables.lockQueue} WHERE session_id = $1`,
						[sessionId, ticket],
					);
				} catch (error) {
					watch.stop();
					throw error;
				}
				if (queue.head === ticket || !queue.queued || Date.now() >= deadline) watch.stop();
				if (queue.head === ticket) break;
				if (!queue.queued) {
					// Our row was taken for crashed (this process stalled for longer than the lease): queue again.
					ticket = await this.enqueue(sessionId, leaseMs);
					continue;
				}
				if (Date.now() >= deadline) throw new LockTimeoutError(sessionId, waitMs);
				await this.sleep(Math.max(0, Math.min(watch.listening ? LOCK_POLL_LISTENING_MS : LOCK_POLL_MS, deadline - Date.now())), watch.changed);
				watch.stop();
			}
			acquired = true;
		} finally {
			if (!acquired) {
				abandon();
				// Leaving the queue lets the next waiter in now rather than after our lease; if it fails, the lease does it.
				await joined.catch(() => undefined);
				if (ticket !== null && !this.closed) await leaveQueue().catch(() => undefined);
			}
		}

		let released = false;
		return {
			release: async () => {
				if (released) return;
				released = true;
				const wasHeld = this.heldLocks.has(abandon);
				abandon();
				// After close() the pool is gone; the lease frees the lock.
				if (wasHeld && !this.closed) await leaveQueue();
			},
		};
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		// Locks still held are not released here: like a crashed process, their leases run out.
		for (const abandon of [...this.heldLocks]) abandon();
		for (const wake of [...this.pendingSleeps]) wake();
		await this.wakeups?.close();
		await this.purges.settle();
		if (this.ownsPool) await this.pool.end();
	}

	/**
	 * Takes a ticket. The advisory lock, held until the insert commits, makes tickets of one session
	 * commit in ticket order, so no waiter can see a later ticket before an earlier one.
	 */
	private async enqueue(sessionId: string, leaseMs: number): Promise<string> {
		const [row] = await this.query<{ ticket: string }>(
			`WITH locked AS (SELECT pg_advisory_xact_lock(hashtext($3), hashtext($1)))
			 INSERT INTO ${this.tables.lockQueue} (session_id, expires_at)
			 SELECT $1, clock_timestamp() + $2::float8 * interval '1 millisecond' FROM locked
			 RETURNING ticket`,
			[sessionId, leaseMs, this.tables.lockQueue],
		);
		return row.ticket;
	}

	private turnColumns(): string {
		return `seq, role, content, tokens, cumulative_tokens, round(extract(epoch FROM created_at) * 1000)::float8 AS created_at_ms`;
	}

	/** Waits `ms`, or less when `changed` settles first (or the store closes). */
	private sleep(ms: number, changed?: Promise<void>): Promise<void> {
		return new Promise((resolve) => {
			const wake = () => {
				clearTimeout(timer);
				this.pendingSleeps.delete(wake);
				resolve();
			};
			const timer = setTimeout(wake, ms);
			this.pendingSleeps.add(wake);
			void changed?.then(wake);
		});
	}

	private async query<Row extends QueryResultRow = QueryResultRow>(text: string, values: unknown[]): Promise<Row[]> {
		await this.ensureSchema();
		try {
			return (await this.pool.query<Row>(text, values)).rows;
		} catch (error) {
			throw this.explain(error);
		}
	}

	/** Runs `work` in one transaction; it answers 'rollback' to undo everything it did. */
	private async transaction(work: (client: PoolClient) => Promise<'commit' | 'rollback'>): Promise<'commit' | 'rollback'> {
		await this.ensureSchema();
		let client: PoolClient;
		try {
			client = await this.pool.connect();
		} catch (error) {
			throw this.explain(error);
		}
		let broken: Error | undefined;
		try {
			await client.query('BEGIN');
			const outcome = await work(client);
			await client.query(outcome === 'rollback' ? 'ROLLBACK' : 'COMMIT');
			return outcome;
		} catch (error) {
			await client.query('ROLLBACK').catch((rollbackError: Error) => {
				broken = rollbackError;
			});
			throw this.explain(error);
		} finally {
			// A connection that could not roll back is discarded rather than reused mid-transaction.
			client.release(broken);
		}
	}

	/** Creates the tables once per store; concurrent first uses in other processes wait on an advisory lock. */
	private ensureSchema(): Promise<void> {
		if (this.closed) return Promise.reject(new Error('The Postgres session store was closed; the AI Session node opens a new one on its next run.'));
		this.schemaReady ??= this.createSchema().catch((error: unknown) => {
			this.schemaReady = null;
			throw this.explain(error);
		});
		return this.schemaReady;
	}

	private async createSchema(): Promise<void> {
		const { sessions, turns, messageKeys, counters, lockQueue, journal, receipts, insightsCounters, insightsSessions } = this.tables;
		const indexes = ['turns_window', 'lock_queue_session', 'message_keys_age', 'counters_expiry', 'journal_due', 'journal_session', 'insights_seen'].map((name) => `${this.schemaPrefix}"${this.tablePrefix}${name}"`);
		// Usually the tables exist: check without DDL, which would lock tables that other workers are writing.
		const { rows } = await this.pool.query<{ missing: number }>(
			'SELECT count(*)::int AS missing FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL',
			[[sessions, turns, messageKeys, counters, lockQueue, journal, receipts, insightsCounters, insightsSessions, ...indexes]],
		);
		// Columns added since a table's first version: tables made by an earlier Clawgate lack them until createTables adds them.
		const columns = rows[0].missing > 0 ? null : await this.pool.query<{ missing: number }>(
			`SELECT count(*)::int AS missing FROM (VALUES ($1::regclass, 'answer'), ($2::regclass, 'calibration')) AS wanted(owner, name)
			 WHERE NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = wanted.owner AND attname = wanted.name AND NOT attisdropped)`,
			[messageKeys, sessions],
		);
		if (rows[0].missing > 0 || (columns?.rows[0].missing ?? 0) > 0) await this.createTables();
		// Expired counters are only overwritten when their key comes back (and quota keys often carry a date);
		// queue rows of crashed processes are only deleted when their session locks again.
		await this.pool.query(`DELETE FROM ${counters} WHERE expires_at < now()`);
		await this.pool.query(`DELETE FROM ${lockQueue} WHERE expires_at < now() - interval '1 hour'`);
	}

	private async createTables(): Promise<void> {
		const { sessions, turns, messageKeys, counters, lockQueue, journal, receipts, insightsCounters, insightsSessions } = this.tables;
		// An index lives in its table's schema, so its name is never qualified.
		const index = (name: string) => `"${this.tablePrefix}${name}"`;
		const client = await this.pool.connect();
		let committed = false;
		try {
			await client.query('BEGIN');
			// CREATE TABLE IF NOT EXISTS is not safe against itself: two first uses at once can collide.
			await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SCHEMA_LOCK_CLASS, sessions]);
			await client.query(`
				CREATE TABLE IF NOT EXISTS ${sessions} (
					session_id text PRIMARY KEY,
					last_seq bigint NOT NULL DEFAULT 0,
					last_cumulative_tokens bigint NOT NULL DEFAULT 0,
					context_start_seq bigint NOT NULL DEFAULT 0,
					summary text,
					summary_tokens integer,
					summary_through_seq bigint,
					prompt_tokens bigint NOT NULL DEFAULT 0,
					completion_tokens bigint NOT NULL DEFAULT 0,
					total_tokens bigint NOT NULL DEFAULT 0
				);
				CREATE TABLE IF NOT EXISTS ${turns} (
					session_id text NOT NULL,
					seq bigint NOT NULL,
					role text NOT NULL,
					content text NOT NULL,
					tokens integer NOT NULL,
					cumulative_tokens bigint NOT NULL,
					created_at timestamptz NOT NULL,
					PRIMARY KEY (session_id, seq)
				);
				CREATE INDEX IF NOT EXISTS ${index('turns_window')} ON ${turns} (session_id, cumulative_tokens, seq);
				CREATE TABLE IF NOT EXISTS ${messageKeys} (
					message_key text PRIMARY KEY,
					created_at timestamptz NOT NULL DEFAULT now()
				);
				CREATE INDEX IF NOT EXISTS ${index('message_keys_age')} ON ${messageKeys} (created_at);
				CREATE TABLE IF NOT EXISTS ${counters} (
					counter_key text PRIMARY KEY,
					value bigint NOT NULL,
					expires_at timestamptz NOT NULL
				);
				CREATE INDEX IF NOT EXISTS ${index('counters_expiry')} ON ${counters} (expires_at);
				CREATE TABLE IF NOT EXISTS ${lockQueue} (
					ticket bigserial PRIMARY KEY,
					session_id text NOT NULL,
					expires_at timestamptz NOT NULL
				);
				CREATE INDEX IF NOT EXISTS ${index('lock_queue_session')} ON ${lockQueue} (session_id, ticket);
				ALTER TABLE ${messageKeys} ADD COLUMN IF NOT EXISTS answer text;
				ALTER TABLE ${sessions} ADD COLUMN IF NOT EXISTS calibration text;
				CREATE TABLE IF NOT EXISTS ${journal} (
					seq bigserial PRIMARY KEY,
					message_key text NOT NULL UNIQUE,
					session_id text NOT NULL,
					owner text NOT NULL,
					item text NOT NULL,
					received_at bigint NOT NULL,
					emitted_at bigint NOT NULL,
					attempts integer NOT NULL DEFAULT 1,
					state text NOT NULL DEFAULT 'pending',
					last_error text
				);
				CREATE INDEX IF NOT EXISTS ${index('journal_due')} ON ${journal} (owner, emitted_at) WHERE state IN ('pending', 'answered');
				CREATE INDEX IF NOT EXISTS ${index('journal_session')} ON ${journal} (session_id, seq) WHERE state = 'pending';
				CREATE TABLE IF NOT EXISTS ${receipts} (
					message_key text NOT NULL,
					sender text NOT NULL,
					claimant text,
					claim_expires bigint NOT NULL DEFAULT 0,
					message_ids text,
					delivered_at bigint,
					created_at bigint NOT NULL,
					PRIMARY KEY (message_key, sender)
				);
				${postgresInsightsDdl(insightsCounters, insightsSessions, index)}
			`);
			await client.query('COMMIT');
			committed = true;
		} finally {
			if (!committed) await client.query('ROLLBACK').catch(() => undefined);
			client.release();
		}
	}

	private explain(error: unknown): Error {
		if (error instanceof LockTimeoutError || error instanceof PostgresStoreError) return error;
		// Duck-typed: socket errors come from Node's own realm, where `instanceof Error` can fail (jest, vm).
		const { code, message: detail = String(error) } = (typeof error === 'object' && error !== null ? error : {}) as { code?: string; message?: string };
		if (code === '28P01' || code === '28000') {
			return new PostgresStoreError(`PostgreSQL at ${this.where} did not accept user "${this.user}" (${detail}). Check the Postgres credential's user and password.`, { cause: error });
		}
		if (code === '3D000') return new PostgresStoreError(`PostgreSQL at ${this.where}: ${detail}. Check the Postgres credential's database.`, { cause: error });
		if (code === '3F000') return new PostgresStoreError(`PostgreSQL at ${this.where}: ${detail}. Create the schema, or leave the schema option empty.`, { cause: error });
		if (code === '42501') {
			return new PostgresStoreError(`PostgreSQL user "${this.user}" may not create or use the Clawgate tables (${detail}). Grant it CREATE and USAGE on the schema, or create the tables as an administrator.`, { cause: error });
		}
		if (/SSL/i.test(detail) || /certificate/i.test(detail)) {
			return new PostgresStoreError(`Could not open a secure connection to PostgreSQL at ${this.where} (${detail}). Check the Postgres credential's SSL setting (and "Ignore SSL Issues" for self-signed certificates).`, { cause: error });
		}
		const network = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET)$/.test(code ?? '');
		if (network || /timeout expired|Connection terminated/i.test(detail)) {
			return new PostgresStoreError(`Could not connect to PostgreSQL at ${this.where}${network ? ` (${code})` : ''}. Check the Postgres credential's host and port, and that the server is running.`, { cause: error });
		}
		return new PostgresStoreError(`PostgreSQL session store: ${detail}`, { cause: error });
	}
}
