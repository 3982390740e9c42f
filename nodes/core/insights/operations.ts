/**
 * What the Insights node's operations compute, over any store: plain functions of the store and
 * the options, so each is tested without n8n and reads only the store (never process memory), the
 * same from any n8n main or queue-mode worker.
 */
import type { SessionStore, StoredTurn } from '../session/store';
import { ALL_TIME } from './events';
import { renderDashboard } from './dashboard';
import { lastDays } from './period';
import { DEFAULT_MODEL_PRICES, priceOf, type ModelPrice } from './prices';
import { ACTIVE_WINDOWS, prometheusExposition } from './prometheus';
import { errorsByClass, parseRows, usageBy, usageTotals, type GroupKey, type UsageFigures, type UsageGroup } from './report';
import type { InsightsStore, SessionActivity } from './store';

export interface PeriodOptions {
	/** The last this many UTC days, today included. */
	days: number;
	now?: number;
}

/** The built-in prices with the user's overrides and additions. */
export function priceTable(overrides: Record<string, ModelPrice> = {}): Record<string, ModelPrice> {
	return { ...DEFAULT_MODEL_PRICES, ...overrides };
}

export async function usageSummary(
	store: InsightsStore,
	options: PeriodOptions & { groupBy: GroupKey[]; prices: Record<string, ModelPrice> },
): Promise<Array<UsageGroup & { fromDay: string; toDay: string }>> {
	const { fromDay, toDay } = lastDays(options.days, options.now ?? Date.now());
	const rows = parseRows(await store.readCounters(fromDay, toDay));
	const groups: UsageGroup[] = options.groupBy.length ? usageBy(rows, options.groupBy, options.prices) : [usageTotals(rows, options.prices)];
	return groups.map((group) => ({ fromDay, toDay, ...group }));
}

export async function sessionActivity(store: InsightsStore, options: PeriodOptions & { order: 'lastSeen' | 'messages'; limit: number }): Promise<SessionActivity[]> {
	const now = options.now ?? Date.now();
	const since = Date.parse(`${lastDays(options.days, now).fromDay}T00:00:00Z`);
	return await store.readSessions({ since, limit: Math.max(1, Math.floor(options.limit)), order: options.order });
}

/** The newest `limit` turns of a session, oldest first (all turns, also those before a /reset). */
export async function sessionTranscript(store: SessionStore, sessionId: string, limit: number): Promise<StoredTurn[]> {
	const turns = await store.readTurns(sessionId, 0, Number.MAX_SAFE_INTEGER);
	return limit > 0 ? turns.slice(-limit) : turns;
}

export async function metricsText(store: InsightsStore, prices: Record<string, ModelPrice>, now = Date.now()): Promise<string> {
	const [rows, active] = await Promise.all([store.readCounters(ALL_TIME, ALL_TIME), store.countSessionsSince(ACTIVE_WINDOWS.map(([, length]) => now - length))]);
	return prometheusExposition(parseRows(rows), active, prices);
}

export interface DashboardOptions extends PeriodOptions {
	title: string;
	prices: Record<string, ModelPrice>;
	busiestSessions: number;
	refreshSeconds: number;
}

export async function dashboardPage(store: InsightsStore, options: DashboardOptions): Promise<{ html: string; totals: UsageFigures }> {
	const now = options.now ?? Date.now();
	const { fromDay, toDay } = lastDays(options.days, now);
	const since = Date.parse(`${fromDay}T00:00:00Z`);
	const [counterRows, busiest, active] = await Promise.all([
		store.readCounters(fromDay, toDay),
		store.readSessions({ since, limit: options.busiestSessions, order: 'messages' }),
		store.countSessionsSince(ACTIVE_WINDOWS.map(([, length]) => now - length)),
	]);
	const rows = parseRows(counterRows);
	const totals = usageTotals(rows, options.prices);
	const byModel = usageBy(rows, ['model'], options.prices);
	const html = renderDashboard({
		title: options.title,
		generatedAt: now,
		fromDay,
		toDay,
		totals,
		byDayAndChannel: usageBy(rows, ['day', 'channel'], options.prices),
		byChannel: usageBy(rows, ['channel'], options.prices),
		byModel,
		errors: errorsByClass(rows),
		busiestSessions: busiest,
		activeSessions: ACTIVE_WINDOWS.map(([window], index) => [window, active[index] ?? 0]),
		unpricedModels: byModel.filter((group) => group.model && group.totalTokens > 0 && !priceOf(group.model, options.prices)).map((group) => group.model!),
		refreshSeconds: options.refreshSeconds,
	});
	return { html, totals };
}
