/**
 * The operations view's arithmetic (nodes/core/insights): events folded into counters, the
 * figures read back from them, the Prometheus text and the dashboard page. The stores are tested
 * in insights-stores.test.ts; the whole path in real n8n in test/e2e/insights.test.ts.
 */
import { dashboardPage, metricsText, priceTable, usageSummary } from '../../nodes/core/insights/operations';
import { deliveryErrorClass, answerErrorClass } from '../../nodes/core/insights/error-class';
import { ALL_TIME, foldEvents, LATENCY_BUCKETS_MS, type AnswerEvent, type DeliveryEvent } from '../../nodes/core/insights/events';
import { escapeHtml } from '../../nodes/core/insights/dashboard';
import { priceOf } from '../../nodes/core/insights/prices';
import { escapeLabelValue } from '../../nodes/core/insights/prometheus';
import { parseRows, quantileFromBuckets, usageTotals } from '../../nodes/core/insights/report';
import { ModelCallError } from '../../nodes/core/session/model';
import { MemorySessionStore } from '../../nodes/core/stores/memory.store';

const NOW = Date.parse('2026-12-04T12:00:00Z');

function answer(fields: Partial<AnswerEvent> = {}): AnswerEvent {
	return {
		kind: 'answer',
		at: NOW,
		channel: 'telegram',
		via: 'telegram',
		accountId: '7012345678',
		sessionId: 'telegram:7012345678:dm:42',
		model: 'gpt-4o-mini-2024-07-18',
		promptTokens: 100,
		completionTokens: 20,
		modelMs: 300,
		turnMs: 400,
		outcome: 'answered',
		errorClass: '',
		...fields,
	};
}

function delivery(fields: Partial<DeliveryEvent> = {}): DeliveryEvent {
	return { kind: 'delivery', at: NOW, channel: 'telegram', via: 'telegram', accountId: '7012345678', sessionId: 'telegram:7012345678:dm:42', deliveryMs: 80, outcome: 'sent', errorClass: '', ...fields };
}

describe('folding events into counters', () => {
	test('a batch adds up per day and all time, and one session delta per session', () => {
		const batch = foldEvents([answer(), answer({ promptTokens: 50, completionTokens: 5 }), answer({ sessionId: 'telegram:7012345678:dm:7', outcome: 'duplicate', promptTokens: 0, completionTokens: 0, modelMs: null })]);
		const value = (day: string, field: string) => batch.counters.filter((row) => row.day === day && row.field === field).reduce((sum, row) => sum + row.value, 0);
		for (const day of ['2026-12-04', ALL_TIME]) {
			expect(value(day, 'n')).toBe(3);
			expect(value(day, 'pt')).toBe(150);
			expect(value(day, 'ct')).toBe(25);
			expect(value(day, 'mn')).toBe(2);
		}
		// A duplicate is a redelivery: counted as a message handled, not as session activity.
		expect(batch.sessions).toEqual([expect.objectContaining({ sessionId: 'telegram:7012345678:dm:42', messages: 2, tokens: 175, errors: 0 })]);
	});

	test('every latency lands in exactly one bucket, +Inf past the last bound', () => {
		const latencies = [0, 25, 26, 999, 1000, 60_000, 60_001, 3_600_000];
		const batch = foldEvents(latencies.map((turnMs) => answer({ turnMs, at: NOW, sessionId: '' })));
		const buckets = batch.counters.filter((row) => row.day === ALL_TIME && row.field.startsWith('tb'));
		expect(buckets.reduce((sum, row) => sum + row.value, 0)).toBe(latencies.length);
		expect(buckets.find((row) => row.field === `tb${LATENCY_BUCKETS_MS.length}`)?.value).toBe(2);
		expect(buckets.find((row) => row.field === 'tb0')?.value).toBe(2);
	});
});

describe('figures', () => {
	test('percentiles interpolate inside the bucket, as Prometheus histogram_quantile does', () => {
		// 100 observations in (100, 250] ms: the median is half-way, p95 near the top.
		const counts = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
		counts[3] = 100;
		expect(quantileFromBuckets(counts, 0.5)).toBe(175);
		expect(quantileFromBuckets(counts, 0.95)).toBe(243);
		expect(quantileFromBuckets(new Array(12).fill(0), 0.5)).toBeNull();
	});

	test('cost uses the dated model name\'s base price, and a user\'s price overrides it', () => {
		const rows = parseRows(foldEvents([answer({ promptTokens: 1_000_000, completionTokens: 1_000_000 })]).counters.filter((row) => row.day === ALL_TIME));
		expect(usageTotals(rows, priceTable()).estimatedCostUsd).toBeCloseTo(0.15 + 0.6, 6);
		expect(usageTotals(rows, priceTable({ 'gpt-4o-mini': { input: 1, output: 2 } })).estimatedCostUsd).toBeCloseTo(3, 6);
		// gpt-4o's price must not be taken for gpt-4o-mini, nor a prefix inside a word.
		expect(priceOf('gpt-4o-mini-2024-07-18', priceTable())).toEqual({ input: 0.15, output: 0.6 });
		expect(priceOf('gpt-4ox', priceTable())).toBeNull();
		expect(priceOf('my-own-model', priceTable())).toBeNull();
	});

	test('usage summary by channel counts outcomes, tokens and deliveries of the period', async () => {
		const store = new MemorySessionStore({}, () => NOW);
		await store.insights.recordInsights(
			foldEvents([
				answer(),
				answer({ channel: 'slack', via: 'slack', sessionId: 'slack:T1:dm:D1' }),
				answer({ outcome: 'command', model: '', promptTokens: 0, completionTokens: 0, modelMs: null }),
				answer({ outcome: 'error', errorClass: 'model_timeout', model: '', promptTokens: 0, completionTokens: 0 }),
				answer({ at: NOW - 10 * 86_400_000 }),
				delivery(),
				delivery({ outcome: 'failed', errorClass: 'rate_limited' }),
			]),
		);
		const byChannel = await usageSummary(store.insights, { days: 7, groupBy: ['channel'], prices: priceTable(), now: NOW });
		expect(byChannel.map((group) => [group.channel, group.messages, group.answered, group.commands, group.errors, group.promptTokens, group.deliveries, group.deliveryFailures])).toEqual([
			['slack', 1, 1, 0, 0, 100, 0, 0],
			['telegram', 3, 1, 1, 1, 100, 2, 1],
		]);
	});
});

describe('Prometheus text', () => {
	test('label values are escaped as the exposition format says', () => {
		expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
	});

	test('counters, a histogram whose buckets are cumulative and end at _count, and the active-session gauge', async () => {
		const store = new MemorySessionStore({}, () => NOW);
		await store.insights.recordInsights(foldEvents([answer({ modelMs: 30 }), answer({ modelMs: 700 }), answer({ model: 'weird"model', modelMs: 70_000 })]));
		const text = await metricsText(store.insights, priceTable(), NOW);
		expect(text).toContain('clawgate_messages_total{channel="telegram",via="telegram",account="7012345678",outcome="answered"} 3');
		expect(text).toContain('clawgate_tokens_total{channel="telegram",model="weird\\"model",type="prompt"} 100');
		const buckets = text
			.split('\n')
			.filter((line) => line.startsWith('clawgate_model_latency_seconds_bucket{channel="telegram",model="gpt-4o-mini-2024-07-18"'))
			.map((line) => Number(line.split(' ').at(-1)));
		expect(buckets).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
		expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
		expect(buckets.at(-1)).toBe(2);
		expect(text).toContain('clawgate_model_latency_seconds_sum{channel="telegram",model="gpt-4o-mini-2024-07-18"} 0.73');
		expect(text).toContain('clawgate_active_sessions{window="5m"} 1');
	});
});

describe('dashboard page', () => {
	test('session IDs, model names and channels from outside are escaped, and the page loads nothing from elsewhere', async () => {
		const store = new MemorySessionStore({}, () => NOW);
		const hostile = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>';
		await store.insights.recordInsights(foldEvents([answer({ sessionId: hostile, model: hostile, channel: hostile, errorClass: hostile, outcome: 'error' })]));
		const { html } = await dashboardPage(store.insights, { days: 7, title: 'Ops <b>', prices: priceTable(), busiestSessions: 10, refreshSeconds: 0, now: NOW });
		expect(html).not.toContain('<script');
		expect(html).not.toContain('<img');
		expect(html).toContain(escapeHtml(hostile));
		expect(html).toContain('Ops &lt;b&gt;');
		expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
		expect(html).toContain("default-src 'none'");
	});
});

describe('error classes', () => {
	test('a model failure keeps its kind; a platform failure is classed by status, never by its message text', () => {
		expect(answerErrorClass(new ModelCallError('slow', 'timeout'))).toBe('model_timeout');
		expect(answerErrorClass(Object.assign(new Error('waited'), { name: 'LockTimeoutError' }))).toBe('lock_timeout');
		expect(deliveryErrorClass(Object.assign(new Error('Telegram refused the message: chat 42 not found'), { cause: { status: 403 } }))).toBe('auth');
		expect(deliveryErrorClass(Object.assign(new Error('x'), { name: 'RateLimitedError' }))).toBe('rate_limited');
		expect(deliveryErrorClass(new Error('fetch failed'))).toBe('network');
		expect(deliveryErrorClass(new Error('something else'))).toBe('other');
	});
});
