/**
 * Where the operations view's figures live: the session store the conversations are in (SQLite,
 * Redis, Postgres, Memory), so every n8n process and queue-mode worker adds to and reads the same
 * figures. Counters by day are kept for the store's retention; all-time totals (what Prometheus
 * scrapes) for good, since they are a few rows per channel and model.
 */
import type { CounterDelta, InsightsBatch } from './events';

export interface SessionActivity {
	sessionId: string;
	channel: string;
	via: string;
	accountId: string;
	firstSeen: number;
	lastSeen: number;
	messages: number;
	tokens: number;
	errors: number;
}

export interface SessionQuery {
	/** Only sessions seen at or after this time (ms). */
	since: number;
	limit: number;
	/** Most recently seen first, or most messages first. */
	order: 'lastSeen' | 'messages';
}

export interface InsightsStore {
	/** Adds a batch of counters and session activity in one write (one transaction, script or statement). */
	recordInsights(batch: InsightsBatch): Promise<void>;

	/** Counter rows of the UTC days from `fromDay` to `toDay` (inclusive, `YYYY-MM-DD`), or of ALL_TIME when both are ALL_TIME. */
	readCounters(fromDay: string, toDay: string): Promise<CounterDelta[]>;

	readSessions(query: SessionQuery): Promise<SessionActivity[]>;

	/** How many sessions were seen at or after each of these times (the active-sessions gauges). */
	countSessionsSince(times: number[]): Promise<number[]>;
}

/** Whether a session store keeps insights (every built-in store does). */
export function hasInsights(store: unknown): store is { insights: InsightsStore } {
	return typeof store === 'object' && store !== null && typeof (store as { insights?: InsightsStore }).insights?.recordInsights === 'function';
}
