/**
 * Where conversations live. One small interface, four implementations (Memory, SQLite, Redis,
 * Postgres) that pass one shared behaviour suite. History is append-only: turns are never
 * rewritten, so concurrent writers cannot lose each other's messages.
 */

export type TurnRole = 'user' | 'assistant';

export interface NewTurn {
	role: TurnRole;
	content: string;
	/** Counted once, when the turn is stored, with the model's tokenizer and the per-message overhead. */
	tokens: number;
}

export interface StoredTurn extends NewTurn {
	/** Position in the session, increasing from 1; assigned by the store. */
	seq: number;
	/** Running total of `tokens` up to and including this turn: makes a window one range query. */
	cumulativeTokens: number;
	createdAt: number;
}

export interface SessionSummary {
	content: string;
	tokens: number;
	/** The last turn the summary covers; the window starts after it. */
	throughSeq: number;
}

export interface SessionUsage {
	promptTokens: number;
	completionTokens: number;
	totalTokens: number;
}

/**
 * Provider tokens per counted token, per model name: learned from the prompt tokens the provider
 * reported against what was counted, so a model whose tokenizer is not tiktoken still fits its window.
 */
export type TokenCalibration = Record<string, number>;

export interface SessionState {
	/** Turns stored in the session, including those before a reset. */
	turnCount: number;
	lastSeq: number;
	lastCumulativeTokens: number;
	/** Turns up to this seq are out of the context (/new or /reset); 0 when never reset. */
	contextStartSeq: number;
	summary: SessionSummary | null;
	usage: SessionUsage;
	/** Empty until a model outside OpenAI's tokenizers has answered in this session. */
	calibration: TokenCalibration;
}

export interface SessionWindow {
	state: SessionState;
	/** Oldest first: the newest turns after the context start and the summary whose tokens fit. */
	turns: StoredTurn[];
}

export interface AppendOptions {
	/** The idempotency key of the inbound message, recorded in the same transaction as the turns. */
	messageKey?: string | null;
	/** Added to the session's usage totals in the same transaction. */
	usage?: SessionUsage;
	/**
	 * The answer to the message (the reply, as JSON), kept with its key in the same transaction, so
	 * a message answered before a crash is sent again from here instead of asking the model twice.
	 */
	answer?: string;
	/** Replaces the session's token calibration in the same transaction; absent leaves it as it is. */
	calibration?: TokenCalibration;
}

export type AppendOutcome = 'appended' | 'duplicate';

export interface LockOptions {
	/** How long to wait for the session's earlier messages before giving up. */
	waitMs: number;
	/** How long the lock outlives a crashed holder. Held locks are renewed while in use. */
	leaseMs: number;
}

export interface SessionLock {
	release(): Promise<void>;
}

export class LockTimeoutError extends Error {
	constructor(sessionId: string, waitMs: number) {
		super(`Another message of this conversation (${sessionId}) was still being answered after ${Math.round(waitMs / 1000)} s. Try again, or raise "Wait For Earlier Messages" in the AI Session node.`);
		this.name = 'LockTimeoutError';
	}
}

export interface SessionStore {
	/** The session's state and the newest turns whose tokens add up to at most `maxTokens`. Costs O(window), not O(history). */
	readWindow(sessionId: string, maxTokens: number): Promise<SessionWindow>;

	/** Turns after `afterSeq` up to the running total `throughCumulativeTokens`, oldest first (what compaction summarises). */
	readTurns(sessionId: string, afterSeq: number, throughCumulativeTokens: number): Promise<StoredTurn[]>;

	/**
	 * Appends turns and records the message key atomically. 'duplicate' (nothing written) when the
	 * key was recorded before, so a redelivered message can never be stored twice.
	 */
	appendTurns(sessionId: string, turns: NewTurn[], options?: AppendOptions): Promise<AppendOutcome>;

	/** Whether a message key was recorded: a redelivery, to be ignored without a model call. */
	hasMessageKey(messageKey: string): Promise<boolean>;

	/** The answer stored with a message key (`AppendOptions.answer`), or null when none was. */
	readAnswer(messageKey: string): Promise<string | null>;

	/**
	 * Starts a fresh context (/new, /reset): later windows hold only turns appended after this call,
	 * and the summary is dropped, since it tells of turns before it. Old turns stay stored.
	 */
	resetContext(sessionId: string): Promise<void>;

	/**
	 * Erases the session's turns, summary and usage totals (/forget): the session reads as unknown
	 * afterwards. Message keys and counters stay: they belong to senders' messages and limits, and
	 * erasing them would let a sender escape a quota or get a redelivery answered twice.
	 */
	forgetSession(sessionId: string): Promise<void>;

	/** Replaces the summary; the window then starts after `summary.throughSeq`. */
	saveSummary(sessionId: string, summary: SessionSummary): Promise<void>;

	/** Adds to a counter that expires `ttlMs` after its first increment; returns the new value (rate limits, quotas). */
	incrementCounter(key: string, amount: number, ttlMs: number): Promise<number>;

	readCounter(key: string): Promise<number>;

	/**
	 * Deletes message keys older than the store's retention and counters that have expired. Stores
	 * run it themselves in the background, at most once per purge interval; call it to purge now.
	 */
	purgeExpired(): Promise<void>;

	/** Serialises the messages of one session in arrival order; throws LockTimeoutError after `waitMs`. */
	lock(sessionId: string, options: LockOptions): Promise<SessionLock>;

	close(): Promise<void>;
}

export const EMPTY_USAGE: SessionUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
