/**
 * Prometheus text exposition (format 0.0.4) of the all-time counters: what a Prometheus server
 * scrapes from the dashboard workflow's `/metrics` webhook. Counters never go down while the store
 * is kept (all-time rows are never purged); the histograms use LATENCY_BUCKETS_MS.
 */
import { LATENCY_BUCKETS_MS } from './events';
import { costOf, priceOf, type ModelPrice } from './prices';
import type { ParsedRow } from './report';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The active-sessions gauge's windows: label value and length. */
export const ACTIVE_WINDOWS: Array<[string, number]> = [
	['5m', 5 * 60_000],
	['1h', 60 * 60_000],
	['24h', 24 * 60 * 60_000],
];

type Labels = Record<string, string>;

/** Label values escape backslash, double quote and line feed (the exposition format's rules). */
export function escapeLabelValue(value: string): string {
	return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
	const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
	return pairs.length ? `{${pairs.join(',')}}` : '';
}

function numberText(value: number): string {
	if (Number.isNaN(value)) return 'NaN';
	if (value === Infinity) return '+Inf';
	return Number.isInteger(value) ? String(value) : String(Math.round(value * 1e9) / 1e9);
}

class Family {
	readonly samples = new Map<string, { labels: Labels; value: number }>();
	constructor(
		readonly name: string,
		readonly type: 'counter' | 'gauge' | 'histogram',
		readonly help: string,
	) {}
	add(labels: Labels, value: number, suffix = ''): void {
		const key = suffix + labelText(labels);
		const sample = this.samples.get(key);
		if (sample) sample.value += value;
		else this.samples.set(key, { labels, value });
	}
}

class Histogram {
	/** Per label set: non-cumulative bucket counts, sum (ms) and count. */
	readonly series = new Map<string, { labels: Labels; buckets: number[]; sumMs: number; count: number }>();
	constructor(
		readonly name: string,
		readonly help: string,
	) {}
	private of(labels: Labels) {
		const key = labelText(labels);
		let entry = this.series.get(key);
		if (!entry) this.series.set(key, (entry = { labels, buckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 }));
		return entry;
	}
	bucket(labels: Labels, index: number, value: number): void {
		this.of(labels).buckets[index] += value;
	}
	sum(labels: Labels, ms: number): void {
		this.of(labels).sumMs += ms;
	}
	count(labels: Labels, value: number): void {
		this.of(labels).count += value;
	}
	lines(): string[] {
		const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
		for (const { labels, buckets, sumMs, count } of [...this.series.values()].sort(byLabels)) {
			if (count === 0) continue;
			let cumulative = 0;
			LATENCY_BUCKETS_MS.forEach((bound, index) => {
				cumulative += buckets[index];
				lines.push(`${this.name}_bucket${labelText({ ...labels, le: numberText(bound / 1000) })} ${cumulative}`);
			});
			lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
			lines.push(`${this.name}_sum${labelText(labels)} ${numberText(sumMs / 1000)}`);
			lines.push(`${this.name}_count${labelText(labels)} ${count}`);
		}
		return lines;
	}
}

function byLabels(a: { labels: Labels }, b: { labels: Labels }): number {
	const x = labelText(a.labels);
	const y = labelText(b.labels);
	return x < y ? -1 : x > y ? 1 : 0;
}

/** The exposition of all-time rows and the active-session counts (one per ACTIVE_WINDOWS entry). */
export function prometheusExposition(allTime: ParsedRow[], activeSessions: number[], prices: Record<string, ModelPrice>): string {
	const messages = new Family('clawgate_messages_total', 'counter', 'Messages AI Session handled, by outcome (answered, command, limited, duplicate, replayed, error).');
	const tokens = new Family('clawgate_tokens_total', 'counter', 'Tokens the models reported, by type (prompt, completion).');
	const cost = new Family('clawgate_estimated_cost_usd_total', 'counter', 'Estimated model cost in US dollars, from the Insights node price table.');
	const errors = new Family('clawgate_errors_total', 'counter', 'Failed answers (stage="answer") and failed deliveries (stage="delivery"), by error class.');
	const deliveries = new Family('clawgate_deliveries_total', 'counter', 'Answers the send and Reply nodes delivered (outcome="sent") or failed to deliver (outcome="failed").');
	const active = new Family('clawgate_active_sessions', 'gauge', 'Sessions with a message within the window.');
	const modelLatency = new Histogram('clawgate_model_latency_seconds', 'Time AI Session waited for the model per answer, retries and fallbacks included.');
	const turnLatency = new Histogram('clawgate_turn_latency_seconds', 'Time from a message reaching AI Session to its answer.');
	const deliveryLatency = new Histogram('clawgate_delivery_latency_seconds', 'Time the platform took to accept an answer, rate-limit waits included.');

	for (const { series, field, value } of allTime) {
		const place = { channel: series.channel, via: series.via };
		if (series.kind === 'delivery') {
			if (field === 'n') {
				deliveries.add({ ...place, account: series.accountId, outcome: series.outcome }, value);
				if (series.outcome === 'failed') errors.add({ stage: 'delivery', ...place, class: series.errorClass || 'unknown' }, value);
				deliveryLatency.count(place, value);
			} else if (field === 'dms') deliveryLatency.sum(place, value);
			else if (field.startsWith('db')) deliveryLatency.bucket(place, Number(field.slice(2)), value);
			continue;
		}
		const byModel = { channel: series.channel, model: series.model };
		if (field === 'n') {
			messages.add({ ...place, account: series.accountId, outcome: series.outcome }, value);
			if (series.outcome === 'error') errors.add({ stage: 'answer', ...place, class: series.errorClass || 'unknown' }, value);
			turnLatency.count({ channel: series.channel }, value);
		} else if (field === 'pt' || field === 'ct') {
			tokens.add({ ...byModel, type: field === 'pt' ? 'prompt' : 'completion' }, value);
			const price = priceOf(series.model, prices);
			cost.add(byModel, field === 'pt' ? costOf(value, 0, price) : costOf(0, value, price));
		} else if (field === 'tms') turnLatency.sum({ channel: series.channel }, value);
		else if (field.startsWith('tb')) turnLatency.bucket({ channel: series.channel }, Number(field.slice(2)), value);
		else if (field === 'mn') modelLatency.count(byModel, value);
		else if (field === 'mms') modelLatency.sum(byModel, value);
		else if (field.startsWith('mb')) modelLatency.bucket(byModel, Number(field.slice(2)), value);
	}
	ACTIVE_WINDOWS.forEach(([window], index) => active.add({ window }, activeSessions[index] ?? 0));

	const lines: string[] = [];
	for (const family of [messages, tokens, cost, errors, deliveries, active]) {
		lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
		for (const sample of [...family.samples.values()].sort(byLabels)) lines.push(`${family.name}${labelText(sample.labels)} ${numberText(sample.value)}`);
	}
	for (const histogram of [modelLatency, turnLatency, deliveryLatency]) lines.push(...histogram.lines());
	return `${lines.join('\n')}\n`;
}
