/**
 * Records what AI Session answered and what the send nodes delivered into the store's insights
 * (core/insights), for the Clawgate Insights node. The cost budget is the performance issue's
 * (≤ 3 ms of n8n busy time per message for all of Clawgate): events are folded in memory, written
 * once per execution (one transaction, script or statement), and not awaited, so no answer waits
 * for its figures. A failed write is a warning, never an item error.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { isTriggerEnvelope } from '../core/origin';
import { ModelCallError } from '../core/session/model';
import type { SessionStore } from '../core/session/store';
import { answerErrorClass, deliveryErrorClass } from '../core/insights/error-class';
import { foldEvents, type AnswerEvent, type DeliveryEvent, type InsightsEvent } from '../core/insights/events';
import { hasInsights } from '../core/insights/store';
import { openJournal } from './delivery-journal';
import { envelopeOriginKey } from './origin-key';

/** Where an item's events are counted: its signed envelope's channel, or "n8n" for any other item (so no item can invent label values). */
function placeOf(json: IDataObject): Pick<InsightsEvent, 'channel' | 'via' | 'accountId' | 'sessionId'> {
	if (!isTriggerEnvelope(json, envelopeOriginKey())) return { channel: 'n8n', via: 'n8n', accountId: '', sessionId: '' };
	return { channel: String(json.channel ?? ''), via: String(json.via ?? json.channel ?? ''), accountId: String(json.accountId ?? ''), sessionId: String(json.sessionId ?? '') };
}

const warned = new Set<string>();

function write(context: IExecuteFunctions, store: unknown, events: InsightsEvent[]): void {
	if (events.length === 0 || !hasInsights(store)) return;
	void store.insights.recordInsights(foldEvents(events)).catch((error: unknown) => {
		const message = `Clawgate Insights could not record ${events.length} event(s): ${(error as Error).message}`;
		if (warned.has(message)) return;
		warned.add(message);
		context.logger.warn(message);
	});
}

interface ItemTiming {
	startedAt: number;
	/** Set when the next item starts or the item failed; the record call ends the last one. */
	endedAt: number | null;
	modelMs: number | null;
	modelErrorClass: string;
}

/** AI Session's recorder: `timed` when an item starts, `failed` for an item error, `record` with the outputs. */
export class AnswerRecorder {
	private readonly timings = new Map<number, ItemTiming>();
	private current = -1;
	private readonly recorded = new Set<number>();

	constructor(
		private readonly context: IExecuteFunctions,
		private readonly store: SessionStore,
	) {}

	/** Starts item `itemIndex`'s clock, and returns the model with its calls timed for that item. */
	timed<M extends object>(itemIndex: number, model: M): M {
		this.startItem(itemIndex);
		return this.timedModel(model);
	}

	/** Starts item `itemIndex`'s clock: model calls from now on count for it. */
	startItem(itemIndex: number): void {
		const previous = this.timings.get(this.current);
		if (previous && previous.endedAt === null) previous.endedAt = Date.now();
		this.current = itemIndex;
		this.timings.set(itemIndex, { startedAt: Date.now(), endedAt: null, modelMs: null, modelErrorClass: '' });
	}

	/** The model with its calls timed for the item whose clock runs (`startItem`): one wrapper serves every item. */
	timedModel<M extends object>(model: M): M {
		// A Proxy, so whatever members the model has (names, a streaming call) stay as they are.
		return new Proxy(model, {
			get: (target, property, receiver) => {
				const value = Reflect.get(target, property, receiver) as unknown;
				if (typeof value !== 'function' || property === 'constructor') return value;
				return (...args: unknown[]) => {
					const result = (value as (...a: unknown[]) => unknown).apply(target, args);
					// Duck-typed: a promise from another realm (n8n's sandboxes) is no instance of this Promise.
					if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') return result;
					const timing = this.timings.get(this.current);
					const started = Date.now();
					const stop = () => {
						if (timing) timing.modelMs = (timing.modelMs ?? 0) + (Date.now() - started);
					};
					return Promise.resolve(result).then(
						(value: unknown) => {
							stop();
							return value;
						},
						(error: unknown) => {
							stop();
							if (timing && error instanceof ModelCallError) timing.modelErrorClass = `model_${error.kind}`;
							throw error;
						},
					);
				};
			},
		});
	}

	private event(itemIndex: number, json: IDataObject, fields: Partial<AnswerEvent>): AnswerEvent {
		const timing = this.timings.get(itemIndex);
		const now = timing?.endedAt ?? Date.now();
		return {
			kind: 'answer',
			at: now,
			...placeOf(json),
			model: '',
			promptTokens: 0,
			completionTokens: 0,
			modelMs: timing?.modelMs ?? null,
			turnMs: timing ? now - timing.startedAt : 0,
			outcome: 'answered',
			errorClass: '',
			...fields,
		};
	}

	/** An item that failed; written at once when the node is about to stop the execution (no Continue On Fail). */
	failed(itemIndex: number, json: IDataObject, error: unknown): void {
		this.recorded.add(itemIndex);
		// The item that failed, or the one before it when this one failed before its clock started.
		for (const timing of [this.timings.get(itemIndex), this.timings.get(this.current)]) if (timing && timing.endedAt === null) timing.endedAt = Date.now();
		const event = this.event(itemIndex, json, { outcome: 'error', errorClass: answerErrorClass(error) });
		this.pending.push(event);
		if (!this.context.continueOnFail()) this.flush();
	}

	private pending: AnswerEvent[] = [];

	private flush(): void {
		write(this.context, this.store, this.pending);
		this.pending = [];
	}

	/** The node's outputs: one event per answer (Reply output) and per duplicate (Ignored output). */
	record(replies: INodeExecutionData[], ignored: INodeExecutionData[]): void {
		const last = this.timings.get(this.current);
		if (last && last.endedAt === null) last.endedAt = Date.now();
		const itemOf = (output: INodeExecutionData) => (Array.isArray(output.pairedItem) ? output.pairedItem[0]?.item : typeof output.pairedItem === 'object' ? output.pairedItem.item : output.pairedItem) ?? -1;
		for (const output of replies) {
			const itemIndex = itemOf(output);
			const reply = output.json.reply as IDataObject | undefined;
			if (this.recorded.has(itemIndex) || !reply) continue;
			const usage = (reply.usage ?? {}) as IDataObject;
			const outcome: AnswerEvent['outcome'] = reply.replayed ? 'replayed' : reply.command ? 'command' : reply.limited ? 'limited' : reply.error ? 'error' : 'answered';
			this.pending.push(
				this.event(itemIndex, output.json, {
					outcome,
					model: outcome === 'answered' ? String(reply.model ?? '') : '',
					promptTokens: outcome === 'answered' ? Number(usage.promptTokens ?? 0) : 0,
					completionTokens: outcome === 'answered' ? Number(usage.completionTokens ?? 0) : 0,
					modelMs: outcome === 'answered' || outcome === 'error' ? (this.timings.get(itemIndex)?.modelMs ?? null) : null,
					errorClass: outcome === 'error' ? this.timings.get(itemIndex)?.modelErrorClass || 'model' : '',
				}),
			);
		}
		for (const output of ignored) {
			if (output.json.ignored !== 'duplicate') continue;
			this.pending.push(this.event(itemOf(output), output.json, { outcome: 'duplicate', modelMs: null }));
		}
		this.flush();
	}
}

/** A send or Reply node's recorder: `timed` around each platform call, `record` once at the end. */
export class DeliveryRecorder {
	private readonly events: DeliveryEvent[] = [];

	constructor(private readonly context: IExecuteFunctions) {}

	/**
	 * The send, timed and recorded as delivered or failed. Only answers to a conversation a Clawgate
	 * trigger started count (a notification to a Chat ID of your choice is not one), and a skipped
	 * send never calls it, so records nothing.
	 */
	timed<T>(json: IDataObject, send: () => Promise<T>): () => Promise<T> {
		if (!isTriggerEnvelope(json, envelopeOriginKey())) return send;
		return async () => {
			const started = Date.now();
			const event = (outcome: DeliveryEvent['outcome'], errorClass: string): DeliveryEvent => ({ kind: 'delivery', at: Date.now(), ...placeOf(json), deliveryMs: Date.now() - started, outcome, errorClass });
			try {
				const sent = await send();
				this.events.push(event('sent', ''));
				return sent;
			} catch (error) {
				this.events.push(event('failed', deliveryErrorClass(error)));
				// The node may stop here (no Continue On Fail): what was recorded so far is written now.
				if (!this.context.continueOnFail()) await this.record();
				// Passed on unchanged: deliverOnce releases its claim with it, and itemFailure turns it into the node's error.
				// eslint-disable-next-line @n8n/community-nodes/require-node-api-error
				throw error;
			}
		};
	}

	/** Writes the execution's deliveries into the "Delivery Receipts" store (the trigger's journal store). */
	async record(): Promise<void> {
		const events = this.events.splice(0);
		if (events.length === 0) return;
		try {
			const kind = this.context.getNodeParameter('receiptStore', 0, 'sqlite') as 'sqlite' | 'redis' | 'postgres';
			// Queue-mode workers cannot share a SQLite file: figures there would be each worker's own.
			if (kind === 'sqlite' && process.env.EXECUTIONS_MODE === 'queue') return;
			// The receipts' store, which deliverOnce opened already for journaled messages (one credential read per run).
			write(this.context, (await openJournal(this.context, kind)) as unknown as SessionStore, events);
		} catch (error) {
			this.context.logger.warn(`Clawgate Insights could not record deliveries: ${(error as Error).message}`);
		}
	}
}
