/**
 * Retention of the data that grows with traffic rather than with conversations: message keys
 * (the idempotency ledger) and counters (rate limits, daily quotas). Conversations themselves are
 * kept until /forget erases them.
 */

const DAY_MS = 86_400_000;

/** A platform redelivers within minutes or hours; 30 days is far beyond any retry. */
export const DEFAULT_RETENTION_MS = 30 * DAY_MS;
/** Purging is a table scan on an index: once per ten minutes per process keeps it off the message path. */
export const DEFAULT_PURGE_INTERVAL_MS = 10 * 60_000;

export interface RetentionOptions {
	/** How long a message key is kept; a redelivery older than this is answered again. */
	retentionMs?: number;
	/** At most one purge of old message keys and expired counters per this many ms per store instance. */
	purgeIntervalMs?: number;
}

export function retentionSettings({ retentionMs = DEFAULT_RETENTION_MS, purgeIntervalMs = DEFAULT_PURGE_INTERVAL_MS }: RetentionOptions = {}): {
	retentionMs: number;
	purgeIntervalMs: number;
} {
	if (!Number.isFinite(retentionMs) || retentionMs <= 0) {
		throw new Error(`Data Retention must be a positive number of days (got ${retentionMs / DAY_MS}).`);
	}
	if (!Number.isFinite(purgeIntervalMs) || purgeIntervalMs < 0) {
		throw new Error(`The purge interval must be 0 ms or more (got ${purgeIntervalMs}).`);
	}
	return { retentionMs, purgeIntervalMs };
}

/**
 * Runs a store's purge in the background at most once per interval. A failed purge is not an
 * error of the message that triggered it: it is tried again after the next interval.
 */
export class PurgeSchedule {
	private lastStartedAt = Number.NEGATIVE_INFINITY;
	private running: Promise<void> | null = null;

	constructor(
		private readonly intervalMs: number,
		private readonly purge: () => Promise<void>,
		private readonly now: () => number = Date.now,
	) {}

	/** Starts a purge unless one ran within the interval or is still running. Never throws. */
	poke(): void {
		if (this.running || this.now() - this.lastStartedAt < this.intervalMs) return;
		this.lastStartedAt = this.now();
		this.running = this.purge()
			.catch(() => undefined)
			.finally(() => {
				this.running = null;
			});
	}

	/** Purges now (after any purge in progress), reporting failures. */
	async runNow(): Promise<void> {
		await this.running;
		this.lastStartedAt = this.now();
		await this.purge();
	}

	/** Resolves once no purge is running, so a store closes only after it. */
	async settle(): Promise<void> {
		await this.running;
	}
}
