/**
 * Turns stored counters into what people read: totals, groups by channel, model and day, latency
 * percentiles (estimated from the histogram buckets, as Prometheus's histogram_quantile does) and
 * estimated cost. One place, so the node's items, the dashboard and the metrics agree.
 */
import { decodeSeries, LATENCY_BUCKETS_MS, type CounterDelta, type Series } from './events';
import { costOf, priceOf, type ModelPrice } from './prices';

export interface LatencyFigures {
	count: number;
	/** Mean, p50 and p95 in ms; null without observations. */
	meanMs: number | null;
	p50Ms: number | null;
	p95Ms: number | null;
}

export interface UsageFigures {
	/** Messages AI Session handled (every outcome, duplicates included). */
	messages: number;
	answered: number;
	commands: number;
	limited: number;
	duplicates: number;
	replayed: number;
	errors: number;
	promptTokens: number;
	completionTokens: number;
	totalTokens: number;
	estimatedCostUsd: number;
	turnLatency: LatencyFigures;
	modelLatency: LatencyFigures;
	deliveries: number;
	deliveryFailures: number;
	deliveryLatency: LatencyFigures;
}

export type GroupKey = 'channel' | 'model' | 'day' | 'via' | 'accountId';

export interface UsageGroup extends UsageFigures {
	day?: string;
	channel?: string;
	via?: string;
	accountId?: string;
	model?: string;
}

/** Accumulates counter rows of one group. */
class Tally {
	readonly fields = new Map<string, number>();
	cost = 0;
	add(field: string, value: number): void {
		this.fields.set(field, (this.fields.get(field) ?? 0) + value);
	}
	get(field: string): number {
		return this.fields.get(field) ?? 0;
	}
}

export interface ParsedRow {
	day: string;
	series: Series;
	field: string;
	value: number;
}

export function parseRows(rows: CounterDelta[]): ParsedRow[] {
	const parsed: ParsedRow[] = [];
	for (const row of rows) {
		const series = decodeSeries(row.series);
		if (series) parsed.push({ day: row.day, series, field: row.field, value: row.value });
	}
	return parsed;
}

/** Percentile from non-cumulative bucket counts, interpolating inside the bucket (0 as the lower edge of the first). */
export function quantileFromBuckets(counts: number[], quantile: number): number | null {
	const total = counts.reduce((sum, count) => sum + count, 0);
	if (total === 0) return null;
	const rank = quantile * total;
	let below = 0;
	for (let index = 0; index < counts.length; index++) {
		const count = counts[index];
		if (count > 0 && below + count >= rank) {
			// The +Inf bucket has no upper edge: report its lower edge, the largest finite bound.
			if (index >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1];
			const lower = index === 0 ? 0 : LATENCY_BUCKETS_MS[index - 1];
			const upper = LATENCY_BUCKETS_MS[index];
			return Math.round(lower + ((upper - lower) * (rank - below)) / count);
		}
		below += count;
	}
	return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1];
}

function latency(tally: Tally, prefix: 't' | 'm' | 'd', count: number): LatencyFigures {
	const buckets = Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, index) => tally.get(`${prefix}b${index}`));
	return {
		count,
		meanMs: count ? Math.round(tally.get(`${prefix}ms`) / count) : null,
		p50Ms: quantileFromBuckets(buckets, 0.5),
		p95Ms: quantileFromBuckets(buckets, 0.95),
	};
}

function figuresOf(tally: Tally): UsageFigures {
	const promptTokens = tally.get('pt');
	const completionTokens = tally.get('ct');
	const deliveries = tally.get('delivery:n');
	return {
		messages: tally.get('n'),
		answered: tally.get('o:answered'),
		commands: tally.get('o:command'),
		limited: tally.get('o:limited'),
		duplicates: tally.get('o:duplicate'),
		replayed: tally.get('o:replayed'),
		errors: tally.get('o:error'),
		promptTokens,
		completionTokens,
		totalTokens: promptTokens + completionTokens,
		estimatedCostUsd: Math.round(tally.cost * 1e6) / 1e6,
		turnLatency: latency(tally, 't', tally.get('n')),
		modelLatency: latency(tally, 'm', tally.get('mn')),
		deliveries,
		deliveryFailures: tally.get('delivery:failed'),
		deliveryLatency: latencyOfDeliveries(tally, deliveries),
	};
}

function latencyOfDeliveries(tally: Tally, count: number): LatencyFigures {
	return latency(tally, 'd', count);
}

function tallyRow(tally: Tally, row: ParsedRow, prices: Record<string, ModelPrice>): void {
	if (row.series.kind === 'delivery') {
		if (row.field === 'n') {
			tally.add('delivery:n', row.value);
			if (row.series.outcome === 'failed') tally.add('delivery:failed', row.value);
		} else tally.add(row.field, row.value);
		return;
	}
	tally.add(row.field, row.value);
	if (row.field === 'n') tally.add(`o:${row.series.outcome}`, row.value);
	if (row.field === 'pt') tally.cost += costOf(row.value, 0, priceOf(row.series.model, prices));
	if (row.field === 'ct') tally.cost += costOf(0, row.value, priceOf(row.series.model, prices));
}

/** Totals over all rows. */
export function usageTotals(rows: ParsedRow[], prices: Record<string, ModelPrice>): UsageFigures {
	const tally = new Tally();
	for (const row of rows) tallyRow(tally, row, prices);
	return figuresOf(tally);
}

/**
 * Figures per group (e.g. channel and model), ordered by the group's values. Deliveries carry no
 * model: grouped by model they fall under "".
 */
export function usageBy(rows: ParsedRow[], keys: GroupKey[], prices: Record<string, ModelPrice>): UsageGroup[] {
	const groups = new Map<string, { labels: Partial<Record<GroupKey, string>>; tally: Tally }>();
	for (const row of rows) {
		const labels: Partial<Record<GroupKey, string>> = {};
		for (const key of keys) labels[key] = key === 'day' ? row.day : row.series[key];
		const id = JSON.stringify(keys.map((key) => labels[key]));
		let group = groups.get(id);
		if (!group) groups.set(id, (group = { labels, tally: new Tally() }));
		tallyRow(group.tally, row, prices);
	}
	return [...groups.entries()]
		.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
		.map(([, { labels, tally }]) => ({ ...labels, ...figuresOf(tally) }));
}

/** Errors by where and why: answer errors by class, failed deliveries by class. */
export function errorsByClass(rows: ParsedRow[]): Array<{ stage: 'answer' | 'delivery'; channel: string; errorClass: string; count: number }> {
	const counts = new Map<string, { stage: 'answer' | 'delivery'; channel: string; errorClass: string; count: number }>();
	for (const row of rows) {
		if (row.field !== 'n') continue;
		const failed = row.series.kind === 'answer' ? row.series.outcome === 'error' : row.series.outcome === 'failed';
		if (!failed) continue;
		const stage = row.series.kind;
		const key = JSON.stringify([stage, row.series.channel, row.series.errorClass]);
		const entry = counts.get(key) ?? { stage, channel: row.series.channel, errorClass: row.series.errorClass || 'unknown', count: 0 };
		entry.count += row.value;
		counts.set(key, entry);
	}
	return [...counts.values()].sort((a, b) => b.count - a.count);
}
