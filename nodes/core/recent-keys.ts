/**
 * Keys seen lately, bounded in time and count, oldest forgotten first: the one "recently seen"
 * map every trigger uses to drop a platform's redeliveries (Slack retries an event within five
 * minutes, Twilio on a connection override, a resumed Discord gateway replays what it missed).
 * Process memory only: a redelivery that reaches another n8n process starts an execution
 * there, and AI Session's idempotency ledger still answers the message once.
 */
export class RecentKeys {
	private readonly seen = new Map<string, number>();

	constructor(
		private readonly ttlMs = 60 * 60_000,
		private readonly maxEntries = 10_000,
	) {}

	/** Records the key; false when it was already recorded within the TTL. */
	remember(key: string, now = Date.now()): boolean {
		const seenAt = this.seen.get(key);
		if (seenAt !== undefined && now - seenAt < this.ttlMs) return false;
		this.seen.delete(key);
		this.seen.set(key, now);
		this.forgetOld(now);
		return true;
	}

	get size(): number {
		return this.seen.size;
	}

	// Map keeps insertion order and `remember` re-inserts, so the oldest entries come first.
	private forgetOld(now: number): void {
		for (const [oldest, at] of this.seen) {
			if (this.seen.size <= this.maxEntries && now - at < this.ttlMs) break;
			this.seen.delete(oldest);
		}
	}
}
