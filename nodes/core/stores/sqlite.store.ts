import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';

import { parseCalibration } from '../token-calibration';
import {
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
import { journalEntryOf, type DeliveryClaim, type DeliveryJournal, type JournalEntry, type JournalRow, type JournalState, type NewJournalEntry, type RecordOutcome } from '../journal';
import { FifoMutex } from './fifo-mutex';
import { SqliteInsights } from './sqlite.insights';
import { PurgeSchedule, retentionSettings, type RetentionOptions } from './retention';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS clawgate_sessions (
	session_id TEXT PRIMARY KEY,
	last_seq INTEGER NOT NULL DEFAULT 0,
	last_cumulative_tokens INTEGER NOT NULL DEFAULT 0,
	context_start_seq INTEGER NOT NULL DEFAULT 0,
	summary TEXT,
	summary_tokens INTEGER,
	summary_through_seq INTEGER,
	prompt_tokens INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	total_tokens INTEGER NOT NULL DEFAULT 0,
	calibration TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clawgate_turns (
	session_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	role TEXT NOT NULL,
	content TEXT NOT NULL,
	tokens INTEGER NOT NULL,
	cumulative_tokens INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clawgate_turns_window ON clawgate_turns (session_id, cumulative_tokens);
CREATE TABLE IF NOT EXISTS clawgate_message_keys (message_key TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clawgate_message_keys_age ON clawgate_message_keys (created_at);
CREATE TABLE IF NOT EXISTS clawgate_counters (counter_key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clawgate_counters_expiry ON clawgate_counters (expires_at);
CREATE TABLE IF NOT EXISTS clawgate_locks (session_id TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clawgate_journal (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	message_key TEXT NOT NULL UNIQUE,
	session_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	item TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	emitted_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 1,
	state TEXT NOT NULL DEFAULT 'pending',
	last_error TEXT
);
CREATE INDEX IF NOT EXISTS clawgate_journal_due ON clawgate_journal (owner, emitted_at) WHERE state IN ('pending', 'answered');
CREATE INDEX IF NOT EXISTS clawgate_journal_session ON clawgate_journal (session_id, seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS clawgate_journal_age ON clawgate_journal (received_at);
CREATE TABLE IF NOT EXISTS clawgate_receipts (
	message_key TEXT NOT NULL,
	sender TEXT NOT NULL,
	claimant TEXT,
	claim_expires INTEGER NOT NULL DEFAULT 0,
	message_ids TEXT,
	delivered_at INTEGER,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (message_key, sender)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clawgate_receipts_age ON clawgate_receipts (created_at);
`;

interface SessionRow {
	last_seq: number;
	last_cumulative_tokens: number;
	context_start_seq: number;
	summary: string | null;
	summary_tokens: number | null;
	summary_through_seq: number | null;
	prompt_tokens: number;
	completion_tokens: number;
	total_tokens: number;
	calibration: string | null;
}

interface TurnRow {
	seq: number;
	role: string;
	content: string;
	tokens: number;
	cumulative_tokens: number;
	created_at: number;
}

const LOCK_POLL_MS = 15;
/** Rows deleted per statement by a purge: node:sqlite is synchronous, so a long delete would block n8n. */
const PURGE_BATCH_ROWS = 5_000;

export interface SqliteStoreOptions extends RetentionOptions {
	/** The database file (created with mode 0600 in a folder created with 0700), or ':memory:'. */
	filename: string;
}

/** Creates the file readable by its owner only, and takes group and other access from an existing one. */
function createPrivateFile(filename: string): void {
	mkdirSync(dirname(filename), { recursive: true, mode: 0o700 });
	closeSync(openSync(filename, 'a', 0o600));
	try {
		const { mode } = statSync(filename);
		if (mode & 0o077) chmodSync(filename, mode & 0o700);
	} catch {
		// Not the file's owner: its permissions are whoever owns it to choose.
	}
}

function toTurn(row: TurnRow): StoredTurn {
	return {
		seq: row.seq,
		role: row.role as StoredTurn['role'],
		content: row.content,
		tokens: row.tokens,
		cumulativeTokens: row.cumulative_tokens,
		createdAt: row.created_at,
	};
}

/**
 * The default store: one SQLite file (WAL) in the n8n user folder, through Node's built-in
 * `node:sqlite` (no native addon to install). Survives restarts; for one n8n instance.
 */
export class SqliteSessionStore implements SessionStore, DeliveryJournal {
	private readonly db: DatabaseSync;
	private readonly mutex = new FifoMutex();
	private readonly statements: Record<string, StatementSync>;
	private readonly renewals = new Set<NodeJS.Timeout>();
	private readonly retentionMs: number;
	private readonly purges: PurgeSchedule;
	/** The operations view's counters and session activity, in the same file (core/insights). */
	readonly insights: SqliteInsights;

	constructor({ filename, ...retention }: SqliteStoreOptions, private readonly now: () => number = Date.now) {
		const { retentionMs, purgeIntervalMs } = retentionSettings(retention);
		this.retentionMs = retentionMs;
		this.purges = new PurgeSchedule(purgeIntervalMs, () => this.purgeNow(), now);
		// SQLite's WAL and shared-memory files take the database file's permissions.
		if (filename !== ':memory:') createPrivateFile(filename);
		// Loaded on first use: node:sqlite prints an experimental warning when imported.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { DatabaseSync: Database } = require('node:sqlite') as typeof import('node:sqlite');
		this.db = new Database(filename);
		this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
		this.db.exec(SCHEMA);
		// Files made before answers were kept with message keys.
		const keyColumns = this.db.prepare('PRAGMA table_info(clawgate_message_keys)').all() as Array<{ name: string }>;
		if (!keyColumns.some((column) => column.name === 'answer')) this.db.exec('ALTER TABLE clawgate_message_keys ADD COLUMN answer TEXT');
		// Files made before token calibration was kept with the session.
		const sessionColumns = this.db.prepare('PRAGMA table_info(clawgate_sessions)').all() as Array<{ name: string }>;
		if (!sessionColumns.some((column) => column.name === 'calibration')) this.db.exec('ALTER TABLE clawgate_sessions ADD COLUMN calibration TEXT');
		this.insights = new SqliteInsights(this.db, (work) => this.transaction(work));
		const prepare = (sql: string) => this.db.prepare(sql);
		this.statements = {
			session: prepare('SELECT * FROM clawgate_sessions WHERE session_id = ?'),
			ensureSession: prepare('INSERT OR IGNORE INTO clawgate_sessions (session_id) VALUES (?)'),
			window: prepare(
				// `+seq` and ordering by the running total keep the planner on the (session_id, cumulative_tokens)
				// index, a range scan of the window only; by the primary key it would scan the whole history.
				// Every turn has tokens > 0, so the running total orders turns like seq.
				'SELECT * FROM clawgate_turns WHERE session_id = ? AND +seq > ? AND cumulative_tokens > ? ORDER BY cumulative_tokens',
			),
			turnsThrough: prepare(
				'SELECT * FROM clawgate_turns WHERE session_id = ? AND seq > ? AND cumulative_tokens <= ? ORDER BY seq',
			),
			insertKey: prepare('INSERT OR IGNORE INTO clawgate_message_keys (message_key, created_at, answer) VALUES (?, ?, ?)'),
			hasKey: prepare('SELECT 1 FROM clawgate_message_keys WHERE message_key = ?'),
			readAnswer: prepare('SELECT answer FROM clawgate_message_keys WHERE message_key = ?'),
			journal: prepare(
				`INSERT INTO clawgate_journal (message_key, session_id, owner, item, received_at, emitted_at) VALUES (?, ?, ?, ?, ?, ?)
				 ON CONFLICT (message_key) DO NOTHING RETURNING seq`,
			),
			journalState: prepare('SELECT state FROM clawgate_journal WHERE message_key = ?'),
			markAnswered: prepare("UPDATE clawgate_journal SET state = 'answered' WHERE message_key = ? AND state = 'pending'"),
			touch: prepare("UPDATE clawgate_journal SET emitted_at = max(emitted_at, ?) WHERE message_key = ? AND state IN ('pending', 'answered')"),
			receipt: prepare('SELECT claimant, claim_expires, delivered_at FROM clawgate_receipts WHERE message_key = ? AND sender = ?'),
			claim: prepare(
				`INSERT INTO clawgate_receipts (message_key, sender, claimant, claim_expires, created_at) VALUES (?, ?, ?, ?, ?)
				 ON CONFLICT (message_key, sender) DO UPDATE SET claimant = excluded.claimant, claim_expires = excluded.claim_expires`,
			),
			// The platform accepted the answer: a receipt whoever holds the claim now.
			deliver: prepare(
				`INSERT INTO clawgate_receipts (message_key, sender, message_ids, delivered_at, created_at) VALUES (?, ?, ?, ?, ?)
				 ON CONFLICT (message_key, sender) DO UPDATE SET message_ids = excluded.message_ids, delivered_at = excluded.delivered_at, claim_expires = 0`,
			),
			journalDelivered: prepare("UPDATE clawgate_journal SET state = 'delivered' WHERE message_key = ?"),
			releaseClaim: prepare('UPDATE clawgate_receipts SET claim_expires = 0 WHERE message_key = ? AND sender = ? AND claimant = ? AND delivered_at IS NULL'),
			delivered: prepare('SELECT 1 FROM clawgate_receipts WHERE message_key = ? AND delivered_at IS NOT NULL LIMIT 1'),
			journalFailure: prepare('UPDATE clawgate_journal SET last_error = ? WHERE message_key = ?'),
			earlierPending: prepare(
				"SELECT 1 FROM clawgate_journal WHERE session_id = ? AND seq < ? AND state = 'pending' AND received_at >= ? LIMIT 1",
			),
			takeOverdue: prepare(
				`UPDATE clawgate_journal SET attempts = attempts + 1, emitted_at = ? + ? * ((1 << min(attempts, 6)) - 1) WHERE seq IN (
					SELECT seq FROM clawgate_journal WHERE owner = ? AND state IN ('pending', 'answered') AND emitted_at < ? ORDER BY seq LIMIT ?
				 ) RETURNING *`,
			),
			abandon: prepare("UPDATE clawgate_journal SET state = 'abandoned', last_error = ? WHERE message_key = ? AND state <> 'delivered'"),
			purgeJournal: prepare('DELETE FROM clawgate_journal WHERE seq IN (SELECT seq FROM clawgate_journal WHERE received_at < ? LIMIT ?)'),
			purgeReceipts: prepare(
				'DELETE FROM clawgate_receipts WHERE (message_key, sender) IN (SELECT message_key, sender FROM clawgate_receipts WHERE created_at < ? LIMIT ?)',
			),
			insertTurn: prepare(
				'INSERT INTO clawgate_turns (session_id, seq, role, content, tokens, cumulative_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
			),
			advanceSession: prepare(
				`UPDATE clawgate_sessions SET last_seq = ?, last_cumulative_tokens = ?, prompt_tokens = prompt_tokens + ?,
				 completion_tokens = completion_tokens + ?, total_tokens = total_tokens + ?, calibration = coalesce(?, calibration) WHERE session_id = ?`,
			),
			reset: prepare(
				'UPDATE clawgate_sessions SET context_start_seq = last_seq, summary = NULL, summary_tokens = NULL, summary_through_seq = NULL WHERE session_id = ?',
			),
			forgetTurns: prepare('DELETE FROM clawgate_turns WHERE session_id = ?'),
			forgetSession: prepare('DELETE FROM clawgate_sessions WHERE session_id = ?'),
			purgeKeys: prepare(
				'DELETE FROM clawgate_message_keys WHERE message_key IN (SELECT message_key FROM clawgate_message_keys WHERE created_at < ? LIMIT ?)',
			),
			purgeCounters: prepare(
				'DELETE FROM clawgate_counters WHERE counter_key IN (SELECT counter_key FROM clawgate_counters WHERE expires_at <= ? LIMIT ?)',
			),
			summary: prepare('UPDATE clawgate_sessions SET summary = ?, summary_tokens = ?, summary_through_seq = ? WHERE session_id = ?'),
			bumpCounter: prepare(
				`INSERT INTO clawgate_counters (counter_key, value, expires_at) VALUES (?, ?, ?)
				 ON CONFLICT (counter_key) DO UPDATE SET
				   value = CASE WHEN expires_at <= ? THEN excluded.value ELSE value + excluded.value END,
				   expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END
				 RETURNING value`,
			),
			readCounter: prepare('SELECT value FROM clawgate_counters WHERE counter_key = ? AND expires_at > ?'),
			takeLock: prepare(
				`INSERT INTO clawgate_locks (session_id, token, expires_at) VALUES (?, ?, ?)
				 ON CONFLICT (session_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
				 WHERE clawgate_locks.expires_at <= ?`,
			),
			renewLock: prepare('UPDATE clawgate_locks SET expires_at = ? WHERE session_id = ? AND token = ?'),
			releaseLock: prepare('DELETE FROM clawgate_locks WHERE session_id = ? AND token = ?'),
		};
	}

	private readState(sessionId: string): SessionState {
		const row = this.statements.session.get(sessionId) as SessionRow | undefined;
		if (!row) {
			return {
				turnCount: 0,
				lastSeq: 0,
				lastCumulativeTokens: 0,
				contextStartSeq: 0,
				summary: null,
				usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
				calibration: {},
			};
		}
		return {
			turnCount: row.last_seq,
			lastSeq: row.last_seq,
			lastCumulativeTokens: row.last_cumulative_tokens,
			contextStartSeq: row.context_start_seq,
			summary:
				row.summary === null
					? null
					: { content: row.summary, tokens: row.summary_tokens ?? 0, throughSeq: row.summary_through_seq ?? 0 },
			usage: { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens, totalTokens: row.total_tokens },
			calibration: parseCalibration(row.calibration),
		};
	}

	private transaction<T>(work: () => T): T {
		// IMMEDIATE takes the write lock up front, so two writers never interleave a read and a write.
		this.db.exec('BEGIN IMMEDIATE');
		try {
			const result = work();
			this.db.exec('COMMIT');
			return result;
		} catch (error) {
			this.db.exec('ROLLBACK');
			throw error;
		}
	}

	async readWindow(sessionId: string, maxTokens: number): Promise<SessionWindow> {
		const state = this.readState(sessionId);
		const floorSeq = Math.max(state.contextStartSeq, state.summary?.throughSeq ?? 0);
		const minStart = state.lastCumulativeTokens - maxTokens;
		// The index range may include one turn that starts before the budget; it is dropped here.
		const rows = this.statements.window.all(sessionId, floorSeq, minStart) as unknown as TurnRow[];
		const turns = rows.map(toTurn).filter((turn) => turn.cumulativeTokens - turn.tokens >= minStart);
		return { state, turns };
	}

	async readTurns(sessionId: string, afterSeq: number, throughCumulativeTokens: number): Promise<StoredTurn[]> {
		return (this.statements.turnsThrough.all(sessionId, afterSeq, throughCumulativeTokens) as unknown as TurnRow[]).map(toTurn);
	}

	async appendTurns(sessionId: string, turns: NewTurn[], options: AppendOptions = {}): Promise<AppendOutcome> {
		this.purges.poke();
		const createdAt = this.now();
		return this.transaction(() => {
			if (options.messageKey && this.statements.insertKey.run(options.messageKey, createdAt, options.answer ?? null).changes === 0) return 'duplicate';
			this.statements.ensureSession.run(sessionId);
			const state = this.readState(sessionId);
			let seq = state.lastSeq;
			let cumulative = state.lastCumulativeTokens;
			for (const turn of turns) {
				seq += 1;
				cumulative += turn.tokens;
				this.statements.insertTurn.run(sessionId, seq, turn.role, turn.content, turn.tokens, cumulative, createdAt);
			}
			const usage = options.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
			const calibration = options.calibration ? JSON.stringify(options.calibration) : null;
			this.statements.advanceSession.run(seq, cumulative, usage.promptTokens, usage.completionTokens, usage.totalTokens, calibration, sessionId);
			return 'appended';
		});
	}

	async hasMessageKey(messageKey: string): Promise<boolean> {
		return this.statements.hasKey.get(messageKey) !== undefined;
	}

	async readAnswer(messageKey: string): Promise<string | null> {
		const row = this.statements.readAnswer.get(messageKey) as { answer: string | null } | undefined;
		return row?.answer ?? null;
	}

	async record(entry: NewJournalEntry): Promise<RecordOutcome> {
		this.purges.poke();
		const row = this.statements.journal.get(entry.key, entry.sessionId, entry.owner, JSON.stringify(entry.item), entry.receivedAt, entry.receivedAt) as { seq: number } | undefined;
		if (row) return { kind: 'journaled', seq: Number(row.seq) };
		const known = this.statements.journalState.get(entry.key) as { state: JournalState } | undefined;
		return { kind: 'known', state: known?.state ?? 'pending' };
	}

	async markAnswered(key: string): Promise<void> {
		this.statements.markAnswered.run(key);
	}

	async touch(keys: readonly string[], now: number): Promise<void> {
		this.transaction(() => {
			for (const key of keys) this.statements.touch.run(now, key);
		});
	}

	async claimDelivery(key: string, sender: string, claimant: string, leaseMs: number): Promise<DeliveryClaim> {
		const now = this.now();
		return this.transaction(() => {
			const row = this.statements.receipt.get(key, sender) as { claimant: string | null; claim_expires: number; delivered_at: number | null } | undefined;
			if (row?.delivered_at) return 'delivered';
			if (row && row.claimant !== claimant && Number(row.claim_expires) > now) return 'busy';
			this.statements.claim.run(key, sender, claimant, now + leaseMs, now);
			return 'claimed';
		});
	}

	async recordReceipt(key: string, sender: string, _claimant: string, messageIds: string[]): Promise<void> {
		this.transaction(() => {
			this.statements.deliver.run(key, sender, JSON.stringify(messageIds), this.now(), this.now());
			this.statements.journalDelivered.run(key);
		});
	}

	async releaseClaim(key: string, sender: string, claimant: string, reason: string): Promise<void> {
		this.transaction(() => {
			this.statements.releaseClaim.run(key, sender, claimant);
			this.statements.journalFailure.run(reason, key);
		});
	}

	async isDelivered(key: string): Promise<boolean> {
		return this.statements.delivered.get(key) !== undefined;
	}

	async recordFailure(key: string, reason: string): Promise<void> {
		this.statements.journalFailure.run(reason, key);
	}

	async hasEarlierPending(sessionId: string, seq: number, since: number): Promise<boolean> {
		return this.statements.earlierPending.get(sessionId, seq, since) !== undefined;
	}

	async takeOverdue(owner: string, dueBefore: number, now: number, limit: number, backoffMs = 0): Promise<JournalEntry[]> {
		const rows = this.statements.takeOverdue.all(now, backoffMs, owner, dueBefore, limit) as unknown as JournalRow[];
		return rows.map(journalEntryOf).sort((a, b) => a.seq - b.seq);
	}

	async abandon(key: string, reason: string): Promise<void> {
		this.statements.abandon.run(reason, key);
	}

	async purgeJournal(before: number): Promise<void> {
		for (const statement of [this.statements.purgeJournal, this.statements.purgeReceipts]) {
			while (this.db.isOpen && Number(statement.run(before, PURGE_BATCH_ROWS).changes) === PURGE_BATCH_ROWS) {
				await new Promise((resolve) => setImmediate(resolve));
			}
		}
	}

	async resetContext(sessionId: string): Promise<void> {
		this.transaction(() => {
			this.statements.ensureSession.run(sessionId);
			this.statements.reset.run(sessionId);
		});
	}

	async forgetSession(sessionId: string): Promise<void> {
		this.transaction(() => {
			this.statements.forgetTurns.run(sessionId);
			this.statements.forgetSession.run(sessionId);
		});
	}

	async saveSummary(sessionId: string, summary: SessionSummary): Promise<void> {
		this.transaction(() => {
			this.statements.ensureSession.run(sessionId);
			this.statements.summary.run(summary.content, summary.tokens, summary.throughSeq, sessionId);
		});
	}

	async incrementCounter(key: string, amount: number, ttlMs: number): Promise<number> {
		const now = this.now();
		const row = this.statements.bumpCounter.get(key, amount, now + ttlMs, now, now) as { value: number };
		return row.value;
	}

	async readCounter(key: string): Promise<number> {
		const row = this.statements.readCounter.get(key, this.now()) as { value: number } | undefined;
		return row?.value ?? 0;
	}

	purgeExpired(): Promise<void> {
		return this.purges.runNow();
	}

	private async purgeNow(): Promise<void> {
		for (const [statement, before] of [
			[this.statements.purgeKeys, () => this.now() - this.retentionMs],
			[this.statements.purgeCounters, () => this.now()],
		] as const) {
			while (this.db.isOpen && Number(statement.run(before(), PURGE_BATCH_ROWS).changes) === PURGE_BATCH_ROWS) {
				// Let messages in between batches.
				await new Promise((resolve) => setImmediate(resolve));
			}
		}
		await this.purgeJournal(this.now() - this.retentionMs);
		while (this.db.isOpen && this.insights.purgeBatch(this.now() - this.retentionMs, PURGE_BATCH_ROWS)) {
			await new Promise((resolve) => setImmediate(resolve));
		}
	}

	async lock(sessionId: string, { waitMs, leaseMs }: LockOptions): Promise<SessionLock> {
		const deadline = Date.now() + waitMs;
		const local = await this.mutex.acquire(sessionId, waitMs);
		// A lease row guards against a second n8n process using the same file; it expires if that process dies.
		const token = randomUUID();
		while (this.statements.takeLock.run(sessionId, token, this.now() + leaseMs, this.now()).changes === 0) {
			if (Date.now() >= deadline) {
				await local.release();
				throw new LockTimeoutError(sessionId, waitMs);
			}
			await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
		}
		const renewal = setInterval(() => {
			// A timer must never throw: in n8n an uncaught error here would stop the whole process.
			try {
				this.statements.renewLock.run(this.now() + leaseMs, sessionId, token);
			} catch {
				clearInterval(renewal);
			}
		}, Math.max(leaseMs / 3, 50));
		renewal.unref();
		this.renewals.add(renewal);
		let released = false;
		return {
			release: async () => {
				if (released) return;
				released = true;
				clearInterval(renewal);
				this.renewals.delete(renewal);
				if (this.db.isOpen) this.statements.releaseLock.run(sessionId, token);
				await local.release();
			},
		};
	}

	async close(): Promise<void> {
		await this.purges.settle();
		for (const renewal of this.renewals) clearInterval(renewal);
		this.renewals.clear();
		if (this.db.isOpen) this.db.close();
	}
}
