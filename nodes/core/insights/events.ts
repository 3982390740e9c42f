/**
 * What Clawgate records for its operations view (issue 21): one event per answer of AI Session
 * and per delivery of a send node, folded into counters before they reach a store, so a batch of
 * any size is one write. Plain TypeScript: the stores and the Insights node read these shapes.
 */

/** How AI Session dealt with a message. */
export type AnswerOutcome = 'answered' | 'command' | 'limited' | 'duplicate' | 'replayed' | 'error';
export type DeliveryOutcome = 'sent' | 'failed';

interface EventPlace {
	/** When it happened (ms since the epoch). */
	at: number;
	channel: string;
	via: string;
	accountId: string;
	sessionId: string;
}

export interface AnswerEvent extends EventPlace {
	kind: 'answer';
	/** The model that answered, as the provider named it; empty when none did. */
	model: string;
	promptTokens: number;
	completionTokens: number;
	/** Time spent waiting for the model (all attempts and fallbacks); null when no model was asked. */
	modelMs: number | null;
	/** From the item reaching AI Session to its answer (locks, store, model). */
	turnMs: number;
	outcome: AnswerOutcome;
	/** Why it failed (`model_timeout`, `lock_timeout`, ...); empty unless the outcome is an error. */
	errorClass: string;
}

export interface DeliveryEvent extends EventPlace {
	kind: 'delivery';
	/** The platform call, including waits for its rate limits. */
	deliveryMs: number;
	outcome: DeliveryOutcome;
	errorClass: string;
}

export type InsightsEvent = AnswerEvent | DeliveryEvent;

/**
 * Upper bounds of the latency histograms, in ms. One set for model, turn and delivery latency,
 * the same for the dashboard's percentiles and Prometheus's buckets, so both tell the same story.
 */
export const LATENCY_BUCKETS_MS = [25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000] as const;

/** The bucket a latency falls in: the index of the first bound it does not exceed; LATENCY_BUCKETS_MS.length for +Inf. */
export function bucketOf(ms: number): number {
	const index = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
	return index === -1 ? LATENCY_BUCKETS_MS.length : index;
}

/**
 * The labels a counter is kept under. Session IDs are not among them (a label per session would
 * grow without bound); sessions have their own rows.
 */
export interface Series {
	kind: 'answer' | 'delivery';
	channel: string;
	via: string;
	accountId: string;
	model: string;
	outcome: string;
	errorClass: string;
}

/** A series as one string (stores use it as a key): JSON of the label values, in a fixed order. */
export function encodeSeries(series: Series): string {
	return JSON.stringify([series.kind, series.channel, series.via, series.accountId, series.model, series.outcome, series.errorClass]);
}

export function decodeSeries(encoded: string): Series | null {
	try {
		const [kind, channel, via, accountId, model, outcome, errorClass] = JSON.parse(encoded) as string[];
		if (kind !== 'answer' && kind !== 'delivery') return null;
		return { kind, channel, via, accountId, model, outcome, errorClass };
	} catch {
		return null;
	}
}

/**
 * Counter fields. `n` events; `pt`/`ct` prompt and completion tokens; `tms`, `mms`, `dms` summed
 * turn, model and delivery ms, `mn` answers with a model call; `tb<i>`, `mb<i>`, `db<i>` events in
 * latency bucket i (not cumulative: readers add them up).
 */
export type CounterField = string;

/** All-time totals (Prometheus counters) are kept under this day; retention never removes them. */
export const ALL_TIME = 'all';

export interface CounterDelta {
	/** UTC day `YYYY-MM-DD`, or ALL_TIME. */
	day: string;
	series: string;
	field: CounterField;
	value: number;
}

export interface SessionDelta {
	sessionId: string;
	channel: string;
	via: string;
	accountId: string;
	firstSeen: number;
	lastSeen: number;
	/** Answers (duplicates excluded: a redelivery is not a new message). */
	messages: number;
	tokens: number;
	errors: number;
}

/** One write's worth: what a store adds to its counters and session rows. */
export interface InsightsBatch {
	counters: CounterDelta[];
	sessions: SessionDelta[];
}

export function utcDay(at: number): string {
	return new Date(at).toISOString().slice(0, 10);
}

/** Folds events into counter deltas (summed per day, series and field) and one delta per session. */
export function foldEvents(events: InsightsEvent[]): InsightsBatch {
	const counters = new Map<string, CounterDelta>();
	const add = (day: string, series: string, field: string, value: number) => {
		if (!value) return;
		for (const scope of [day, ALL_TIME]) {
			const key = `${scope}\u0000${series}\u0000${field}`;
			const existing = counters.get(key);
			if (existing) existing.value += value;
			else counters.set(key, { day: scope, series, field, value });
		}
	};
	const sessions = new Map<string, SessionDelta>();
	for (const event of events) {
		const day = utcDay(event.at);
		const ms = (value: number) => Math.max(0, Math.round(value));
		if (event.kind === 'answer') {
			const series = encodeSeries({ kind: 'answer', channel: event.channel, via: event.via, accountId: event.accountId, model: event.model, outcome: event.outcome, errorClass: event.errorClass });
			add(day, series, 'n', 1);
			add(day, series, 'pt', ms(event.promptTokens));
			add(day, series, 'ct', ms(event.completionTokens));
			add(day, series, 'tms', ms(event.turnMs));
			add(day, series, `tb${bucketOf(event.turnMs)}`, 1);
			if (event.modelMs !== null) {
				add(day, series, 'mn', 1);
				add(day, series, 'mms', ms(event.modelMs));
				add(day, series, `mb${bucketOf(event.modelMs)}`, 1);
			}
		} else {
			const series = encodeSeries({ kind: 'delivery', channel: event.channel, via: event.via, accountId: event.accountId, model: '', outcome: event.outcome, errorClass: event.errorClass });
			add(day, series, 'n', 1);
			add(day, series, 'dms', ms(event.deliveryMs));
			add(day, series, `db${bucketOf(event.deliveryMs)}`, 1);
		}
		if (event.kind === 'answer' && event.outcome === 'duplicate') continue;
		if (!event.sessionId) continue;
		const session = sessions.get(event.sessionId) ?? {
			sessionId: event.sessionId,
			channel: event.channel,
			via: event.via,
			accountId: event.accountId,
			firstSeen: event.at,
			lastSeen: event.at,
			messages: 0,
			tokens: 0,
			errors: 0,
		};
		session.firstSeen = Math.min(session.firstSeen, event.at);
		session.lastSeen = Math.max(session.lastSeen, event.at);
		if (event.kind === 'answer') {
			session.messages += 1;
			session.tokens += ms(event.promptTokens) + ms(event.completionTokens);
		}
		if (event.outcome === 'error' || event.outcome === 'failed') session.errors += 1;
		sessions.set(event.sessionId, session);
	}
	return { counters: [...counters.values()], sessions: [...sessions.values()] };
}
