/**
 * The delivery journal: what makes "acknowledged to the platform" mean "answered exactly once",
 * through crashes, restarts and lost queue-mode workers (DESIGN.md "Delivery guarantee").
 *
 * 1. A trigger records each inbound item here before it acknowledges the platform (webhook
 *    answer, polling offset); a key journaled before is a redelivery and starts nothing.
 * 2. AI Session stores the answer with the turns (the session store's message key) and marks the
 *    entry answered; a send node takes a claim, sends, and writes a receipt.
 * 3. Recovery (on the leader main) re-emits entries without a receipt once they are overdue;
 *    AI Session then re-emits the stored answer instead of calling the model again, and a send
 *    node skips what has a receipt. Re-emission is bounded: after `maxAttempts` or `maxAgeMs` the
 *    entry is abandoned and emitted one last time marked `gaveUp`, which the next Clawgate node
 *    turns into an item error with the reason.
 * 4. Order: AI Session answers a session's messages in journal order; a message waits (bounded)
 *    while an earlier one of its session is journaled and neither answered nor abandoned.
 */

export type JournalState = 'pending' | 'answered' | 'delivered' | 'abandoned';

export interface JournalEntry {
	/** The message key (`channel:accountId:chat.id:message.id`), as AI Session records it. */
	key: string;
	sessionId: string;
	/** Increasing across the whole journal: the order in which the platform delivered. */
	seq: number;
	/** The item the trigger emitted (the signed envelope, and what the trigger added). */
	item: Record<string, unknown>;
	receivedAt: number;
	/** Emissions so far, the first included. */
	attempts: number;
	state: JournalState;
	/** Why the last attempt failed, as the node that failed it recorded it. */
	lastError: string | null;
}

export interface NewJournalEntry {
	key: string;
	sessionId: string;
	owner: string;
	item: Record<string, unknown>;
	receivedAt: number;
}

/** A journal entry as the SQL stores keep it (numbers may come back as strings from Postgres). */
export interface JournalRow {
	seq: number | string;
	message_key: string;
	session_id: string;
	item: string;
	received_at: number | string;
	attempts: number | string;
	state: string;
	last_error: string | null;
}

export function journalEntryOf(row: JournalRow): JournalEntry {
	return {
		key: row.message_key,
		sessionId: row.session_id,
		seq: Number(row.seq),
		item: JSON.parse(row.item) as Record<string, unknown>,
		receivedAt: Number(row.received_at),
		attempts: Number(row.attempts),
		state: row.state as JournalState,
		lastError: row.last_error,
	};
}

export type RecordOutcome = { kind: 'journaled'; seq: number } | { kind: 'known'; state: JournalState };

/** What a send node may do with an answer: send it (the claim is its own), skip it (sent before), or leave it (another execution is sending it now). */
export type DeliveryClaim = 'claimed' | 'delivered' | 'busy';

/** A wait that ends when a session's lock is freed or one of its journaled messages is settled, in any process. */
export interface SessionWatch {
	changed: Promise<void>;
	/** Whether changes are announced now; when not, `changed` may never settle and the caller polls as before. */
	listening: boolean;
	stop(): void;
}

export interface DeliveryJournal {
	/**
	 * Records an inbound item before its platform is acknowledged; `known` when its key was journaled
	 * before. `owner` is the trigger that re-emits it (workflow and node).
	 */
	record(entry: NewJournalEntry): Promise<RecordOutcome>;
	/** AI Session answered it (the answer is in the session store, with the turns). */
	markAnswered(key: string): Promise<void>;
	/** Executions are working on these now (or are about to): not overdue before another grace period has passed. */
	touch(keys: readonly string[], now: number): Promise<void>;
	/**
	 * Takes the right to send the answer of `key` from node `sender` for `leaseMs`: `delivered` when
	 * that node's receipt exists, `busy` while another claim of it is live.
	 */
	claimDelivery(key: string, sender: string, claimant: string, leaseMs: number): Promise<DeliveryClaim>;
	/** The platform accepted the answer: the receipt, and the entry is done. */
	recordReceipt(key: string, sender: string, claimant: string, messageIds: string[]): Promise<void>;
	/** A send failed: the claim is freed for the next attempt and the reason kept. */
	releaseClaim(key: string, sender: string, claimant: string, reason: string): Promise<void>;
	/** Whether any node recorded a receipt for the answer of `key`. */
	isDelivered(key: string): Promise<boolean>;
	/** Keeps why an attempt failed (shown when the entry is abandoned). */
	recordFailure(key: string, reason: string): Promise<void>;
	/**
	 * Whether an earlier entry of `sessionId` (seq below `seq`), received at or after `since`, is
	 * neither answered, delivered nor abandoned: the later message waits for it.
	 */
	hasEarlierPending(sessionId: string, seq: number, since: number): Promise<boolean>;
	/** Where the store can announce changes (Postgres LISTEN/NOTIFY): a watch to take before `hasEarlierPending`. */
	watchSession?(sessionId: string): SessionWatch;
	/**
	 * Entries of `owner` without a receipt whose last emission was before `dueBefore`, oldest first, at
	 * most `limit`; each is taken atomically (attempts + 1, emitted now), so two mains never re-emit one.
	 * With `backoffMs`, an entry taken for its n-th time counts as emitted `backoffMs × (2ⁿ⁻¹ − 1)` in
	 * the future (capped at 63×), so each further attempt waits twice as long as the one before.
	 */
	takeOverdue(owner: string, dueBefore: number, now: number, limit: number, backoffMs?: number): Promise<JournalEntry[]>;
	/** No more attempts: the entry stays for the record, never emitted again. */
	abandon(key: string, reason: string): Promise<void>;
	/** Deletes entries received before `before` (after the retention). */
	purgeJournal(before: number): Promise<void>;
}

export interface RecoveryPolicy {
	/** An entry is overdue this long after its last emission without a receipt. */
	graceMs: number;
	/** Emissions in all, the first included, before the entry is abandoned. */
	maxAttempts: number;
	/** Entries older than this are abandoned rather than emitted again. */
	maxAgeMs: number;
	/** How often the leader main looks for overdue entries. */
	intervalMs: number;
	/** Entries taken per look. */
	batch: number;
	/** Executions recovery started that may run at once (per trigger): more would only slow each other. */
	inFlight: number;
}

export const DEFAULT_RECOVERY: RecoveryPolicy = {
	graceMs: 60_000,
	maxAttempts: 5,
	maxAgeMs: 24 * 3_600_000,
	intervalMs: 10_000,
	batch: 100,
	inFlight: 16,
};

/** How long entries are kept: the idempotency window of redeliveries, like message keys. */
export const JOURNAL_RETENTION_MS = 7 * 24 * 3_600_000;

/** What a trigger adds to an item it journaled: where, and which emission this is. */
export interface DeliveryStamp {
	journal: JournalStoreKind;
	seq: number;
	attempt: number;
	/** Set on the last emission of an abandoned entry: why Clawgate gave up on it. */
	gaveUp?: string;
}

export type JournalStoreKind = 'sqlite' | 'redis' | 'postgres';

/** The stamp of an item, when a trigger journaled it; anything else (a Set node's field) reads as none. */
export function deliveryStampOf(json: Record<string, unknown>): DeliveryStamp | null {
	const stamp = json.delivery as Partial<DeliveryStamp> | undefined;
	if (typeof stamp !== 'object' || stamp === null) return null;
	if (!['sqlite', 'redis', 'postgres'].includes(String(stamp.journal))) return null;
	if (!Number.isSafeInteger(stamp.seq) || !Number.isSafeInteger(stamp.attempt)) return null;
	return {
		journal: stamp.journal as JournalStoreKind,
		seq: stamp.seq as number,
		attempt: stamp.attempt as number,
		...(typeof stamp.gaveUp === 'string' ? { gaveUp: stamp.gaveUp } : {}),
	};
}

/**
 * What recovery does with an overdue entry: emit it again, or give up (emitted once more, marked,
 * so the workflow's error output shows it; never again after that).
 */
export function recoveryStep(entry: JournalEntry, policy: RecoveryPolicy, now: number): { kind: 'emit' } | { kind: 'give-up'; reason: string } {
	// `attempts` already counts the emission takeOverdue just took.
	const tooOld = now - entry.receivedAt > policy.maxAgeMs;
	if (entry.attempts <= policy.maxAttempts && !tooOld) return { kind: 'emit' };
	const why = entry.lastError ? ` The last attempt failed: ${entry.lastError}` : ' No attempt reached a Clawgate send or Reply node that delivered it.';
	const limit = tooOld ? `for ${Math.round(policy.maxAgeMs / 3_600_000)} h` : `after ${policy.maxAttempts} attempts`;
	return { kind: 'give-up', reason: `Clawgate gave up on this message ${limit}.${why}` };
}

/** The item to emit for an entry: the journaled item with its delivery stamp. */
export function itemOfEntry(entry: JournalEntry, journal: JournalStoreKind, gaveUp?: string): Record<string, unknown> {
	const stamp: DeliveryStamp = { journal, seq: entry.seq, attempt: entry.attempts, ...(gaveUp ? { gaveUp } : {}) };
	return { ...entry.item, delivery: stamp };
}
