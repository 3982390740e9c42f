import { ALL_TIME, type CounterDelta, type InsightsBatch } from '../insights/events';
import type { InsightsStore, SessionActivity, SessionQuery } from '../insights/store';

/** Insights in process memory, beside the Memory session store: lost on restart, one per worker. */
export class MemoryInsights implements InsightsStore {
	private readonly counters = new Map<string, CounterDelta>();
	private readonly sessions = new Map<string, SessionActivity>();

	constructor(
		private readonly retentionMs: number,
		private readonly now: () => number = Date.now,
	) {}

	async recordInsights({ counters, sessions }: InsightsBatch): Promise<void> {
		for (const delta of counters) {
			const key = `${delta.day}\u0000${delta.series}\u0000${delta.field}`;
			const existing = this.counters.get(key);
			if (existing) existing.value += delta.value;
			else this.counters.set(key, { ...delta });
		}
		for (const delta of sessions) {
			const existing = this.sessions.get(delta.sessionId);
			if (!existing) this.sessions.set(delta.sessionId, { ...delta });
			else {
				existing.firstSeen = Math.min(existing.firstSeen, delta.firstSeen);
				existing.lastSeen = Math.max(existing.lastSeen, delta.lastSeen);
				existing.messages += delta.messages;
				existing.tokens += delta.tokens;
				existing.errors += delta.errors;
			}
		}
		this.purge();
	}

	async readCounters(fromDay: string, toDay: string): Promise<CounterDelta[]> {
		const allTime = fromDay === ALL_TIME;
		return [...this.counters.values()].filter((row) => (allTime ? row.day === ALL_TIME : row.day !== ALL_TIME && row.day >= fromDay && row.day <= toDay)).map((row) => ({ ...row }));
	}

	async readSessions({ since, limit, order }: SessionQuery): Promise<SessionActivity[]> {
		const seen = [...this.sessions.values()].filter((session) => session.lastSeen >= since);
		seen.sort((a, b) => (order === 'messages' ? b.messages - a.messages || b.lastSeen - a.lastSeen : b.lastSeen - a.lastSeen));
		return seen.slice(0, limit).map((session) => ({ ...session }));
	}

	async countSessionsSince(times: number[]): Promise<number[]> {
		return times.map((time) => [...this.sessions.values()].filter((session) => session.lastSeen >= time).length);
	}

	private purge(): void {
		const oldestDay = new Date(this.now() - this.retentionMs).toISOString().slice(0, 10);
		for (const [key, row] of this.counters) if (row.day !== ALL_TIME && row.day < oldestDay) this.counters.delete(key);
		for (const [id, session] of this.sessions) if (session.lastSeen < this.now() - this.retentionMs) this.sessions.delete(id);
	}
}
