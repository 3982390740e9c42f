import {
	EMPTY_USAGE,
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
import { FifoMutex } from './fifo-mutex';
import { MemoryInsights } from './memory.insights';
import { PurgeSchedule, retentionSettings, type RetentionOptions } from './retention';

interface MemorySession {
	turns: StoredTurn[];
	contextStartSeq: number;
	summary: SessionSummary | null;
	usage: SessionState['usage'];
	calibration: SessionState['calibration'];
}

/**
 * Process memory. For trying things out: a restart forgets every conversation, and in queue
 * mode each worker has its own memory, so sessions split between workers.
 */
export class MemorySessionStore implements SessionStore {
	private sessions = new Map<string, MemorySession>();
	/** Message key → when it was recorded. Insertion order is time order, so a purge stops at the first young key. */
	private messageKeys = new Map<string, number>();
	private answers = new Map<string, string>();
	private counters = new Map<string, { value: number; expiresAt: number }>();
	private mutex = new FifoMutex();
	private readonly retentionMs: number;
	private readonly purges: PurgeSchedule;

	constructor(options: RetentionOptions = {}, private readonly now: () => number = Date.now) {
		const { retentionMs, purgeIntervalMs } = retentionSettings(options);
		this.retentionMs = retentionMs;
		this.purges = new PurgeSchedule(purgeIntervalMs, async () => this.purgeNow(), now);
		this.insights = new MemoryInsights(retentionMs, now);
	}

	/** The operations view's figures, in this process only (like the conversations). */
	readonly insights: MemoryInsights;

	private session(sessionId: string): MemorySession {
		let session = this.sessions.get(sessionId);
		if (!session) {
			session = { turns: [], contextStartSeq: 0, summary: null, usage: { ...EMPTY_USAGE }, calibration: {} };
			this.sessions.set(sessionId, session);
		}
		return session;
	}

	private state(session: MemorySession): SessionState {
		const last = session.turns.at(-1);
		return {
			turnCount: session.turns.length,
			lastSeq: last?.seq ?? 0,
			lastCumulativeTokens: last?.cumulativeTokens ?? 0,
			contextStartSeq: session.contextStartSeq,
			summary: session.summary ? { ...session.summary } : null,
			usage: { ...session.usage },
			calibration: { ...session.calibration },
		};
	}

	async readWindow(sessionId: string, maxTokens: number): Promise<SessionWindow> {
		const session = this.session(sessionId);
		const state = this.state(session);
		const floorSeq = Math.max(state.contextStartSeq, state.summary?.throughSeq ?? 0);
		const minCumulative = state.lastCumulativeTokens - maxTokens;
		const turns: StoredTurn[] = [];
		// Newest first, stopping at the first turn that no longer fits: O(window).
		for (let index = session.turns.length - 1; index >= 0; index--) {
			const turn = session.turns[index];
			if (turn.seq <= floorSeq || turn.cumulativeTokens - turn.tokens < minCumulative) break;
			turns.push({ ...turn });
		}
		return { state, turns: turns.reverse() };
	}

	async readTurns(sessionId: string, afterSeq: number, throughCumulativeTokens: number): Promise<StoredTurn[]> {
		return this.session(sessionId)
			.turns.filter((turn) => turn.seq > afterSeq && turn.cumulativeTokens <= throughCumulativeTokens)
			.map((turn) => ({ ...turn }));
	}

	async appendTurns(sessionId: string, turns: NewTurn[], options: AppendOptions = {}): Promise<AppendOutcome> {
		this.purges.poke();
		const createdAt = this.now();
		if (options.messageKey) {
			if (this.messageKeys.has(options.messageKey)) return 'duplicate';
			this.messageKeys.set(options.messageKey, createdAt);
			if (options.answer !== undefined) this.answers.set(options.messageKey, options.answer);
		}
		const session = this.session(sessionId);
		for (const turn of turns) {
			const last = session.turns.at(-1);
			session.turns.push({
				...turn,
				seq: (last?.seq ?? 0) + 1,
				cumulativeTokens: (last?.cumulativeTokens ?? 0) + turn.tokens,
				createdAt,
			});
		}
		if (options.usage) {
			session.usage.promptTokens += options.usage.promptTokens;
			session.usage.completionTokens += options.usage.completionTokens;
			session.usage.totalTokens += options.usage.totalTokens;
		}
		if (options.calibration) session.calibration = { ...options.calibration };
		return 'appended';
	}

	async hasMessageKey(messageKey: string): Promise<boolean> {
		return this.messageKeys.has(messageKey);
	}

	async readAnswer(messageKey: string): Promise<string | null> {
		return this.answers.get(messageKey) ?? null;
	}

	async resetContext(sessionId: string): Promise<void> {
		const session = this.session(sessionId);
		session.contextStartSeq = session.turns.at(-1)?.seq ?? 0;
		session.summary = null;
	}

	async forgetSession(sessionId: string): Promise<void> {
		this.sessions.delete(sessionId);
	}

	async saveSummary(sessionId: string, summary: SessionSummary): Promise<void> {
		this.session(sessionId).summary = { ...summary };
	}

	async incrementCounter(key: string, amount: number, ttlMs: number): Promise<number> {
		const now = this.now();
		const current = this.counters.get(key);
		const counter = current && current.expiresAt > now ? current : { value: 0, expiresAt: now + ttlMs };
		counter.value += amount;
		this.counters.set(key, counter);
		return counter.value;
	}

	async readCounter(key: string): Promise<number> {
		const counter = this.counters.get(key);
		return counter && counter.expiresAt > this.now() ? counter.value : 0;
	}

	purgeExpired(): Promise<void> {
		return this.purges.runNow();
	}

	private purgeNow(): void {
		const oldest = this.now() - this.retentionMs;
		for (const [key, createdAt] of this.messageKeys) {
			if (createdAt >= oldest) break;
			this.messageKeys.delete(key);
			this.answers.delete(key);
		}
		const now = this.now();
		for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
	}

	lock(sessionId: string, options: LockOptions): Promise<SessionLock> {
		return this.mutex.acquire(sessionId, options.waitMs);
	}

	async close(): Promise<void> {
		await this.purges.settle();
		this.sessions.clear();
	}
}
