/**
 * Long polling with a cursor (Matrix `/sync` tokens, Zulip event queues), in batches: fetch the
 * events after the confirmed cursor, hand each one to n8n, wait until their executions end, and
 * only then confirm the batch's cursor (kept in the trigger node's static data). So:
 * - deactivation, n8n shutdown or restart: the long poll is aborted, running executions are
 *   waited for (bounded) and their batch confirmed; nothing is lost.
 * - n8n saves a trigger's static data when it next emits; the batch confirmed last before a
 *   restart may therefore be fetched once more after it, and AI Session's message ledger answers
 *   such a repeat once (its second execution ends at the "Ignored" output).
 * - a crash: unconfirmed batches are fetched again after the restart, never lost.
 * Batches run one after another: a message that arrives while an execution runs waits for it.
 *
 * A source whose fetch takes the events off the platform (`takes`: signal-cli-rest-api's receive
 * in normal/native mode) has no cursor to confirm: what makes a restart lose nothing is the
 * delivery journal, written as each event is handed over, before the next fetch. A stop lets the
 * running fetch end instead of aborting it, and hands its batch over too.
 */
import type { ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import type { AccessPolicy } from '../core/access-policy';
import type { AnyChannelPlugin, InboundEvent } from '../core/channel';
import { runListenerTrigger, type ListenerHandlers } from './listener-trigger';

export interface PollLog {
	debug(message: string): void;
	info(message: string): void;
	warn(message: string): void;
}

/** One platform's long poll, as the poller drives it. */
export interface PollSource<Event> {
	/** The cursor of "from now on", used when nothing is stored: a bot does not answer the history it finds. */
	begin(signal: AbortSignal): Promise<string>;
	/** The events after `cursor`, waiting up to the platform's long-poll time, and the cursor that follows them. */
	fetch(cursor: string, signal: AbortSignal): Promise<{ events: Event[]; cursor: string }>;
	/** The event as the trigger pipeline takes it, or null when it is nothing to emit (the source logs why). */
	inbound(event: Event): Promise<InboundEvent | null>;
	/** A failure no retry mends (a revoked token): reported to n8n, which retries activation. */
	isFatal(error: unknown): boolean;
	/** A failure in words a user can act on, never carrying a token. */
	describe(error: unknown, action: string): Error;
	/**
	 * Set when a fetch takes its events off the platform, which will not give them again: an aborted
	 * fetch would hand them to nobody, so a stop waits up to `finishFetchMs` for the running one to end.
	 */
	takes?: { finishFetchMs: number };
}

export interface CursorPollerOptions<Event> {
	name: string;
	source: PollSource<Event>;
	/** Where to start: the confirmed cursor of an earlier run, or the source's `begin`. */
	cursor: string;
	/** Stores a confirmed cursor (static data). */
	confirm(cursor: string): void;
	handlers: Pick<ListenerHandlers, 'admit' | 'execute' | 'onFatalError'>;
	log: PollLog;
	backoffMs?: { initial: number; max: number };
	/** An execution running longer than this no longer holds back its batch's confirmation. */
	maxHoldMs?: number;
	/** How long a stop waits for running executions before it gives up on confirming their batch. */
	stopTimeoutMs?: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (signal.aborted) return resolve();
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal.removeEventListener('abort', done);
			resolve();
		}
		signal.addEventListener('abort', done, { once: true });
	});
}

export class CursorPoller<Event> {
	private readonly stopping = new AbortController();
	/** Aborts the running fetch: at once on stop, or after `takes.finishFetchMs` for a source that takes its events. */
	private readonly fetching = new AbortController();
	private loop: Promise<void> | null = null;

	constructor(private readonly options: CursorPollerOptions<Event>) {}

	start(): void {
		this.loop ??= this.run().catch((error: unknown) => this.options.log.warn(`${this.options.name} polling stopped: ${(error as Error).message}`));
	}

	/** Aborts the long poll; waits (bounded) for running executions, whose batch is then confirmed. */
	async stop(): Promise<void> {
		this.stopping.abort();
		const takes = this.options.source.takes;
		const abortFetch = takes ? setTimeout(() => this.fetching.abort(), takes.finishFetchMs) : undefined;
		if (!takes) this.fetching.abort();
		const bound = new AbortController();
		await Promise.race([this.loop, sleep(this.options.stopTimeoutMs ?? 20_000, bound.signal)]);
		bound.abort();
		clearTimeout(abortFetch);
		this.fetching.abort();
	}

	/** Runs `call` until it succeeds, waiting longer after each failure; null once stopped or after a fatal failure. */
	private async retrying<T>(action: string, call: () => Promise<T>): Promise<T | null> {
		const { initial, max } = this.options.backoffMs ?? { initial: 1_000, max: 60_000 };
		for (let failures = 0; !this.stopping.signal.aborted; ) {
			try {
				const value = await call();
				if (failures > 0) this.options.log.info(`${this.options.name}: polling works again`);
				return value;
			} catch (error) {
				if (this.stopping.signal.aborted) return null;
				const described = this.options.source.describe(error, action);
				if (this.options.source.isFatal(error)) {
					this.options.handlers.onFatalError(described);
					return null;
				}
				failures++;
				const delay = Math.min(initial * 2 ** (failures - 1), max);
				if (failures === 1 || failures % 10 === 0) this.options.log.warn(`${described.message} Retrying in ${Math.round(delay / 1000)} s (attempt ${failures}).`);
				await sleep(delay, this.stopping.signal);
			}
		}
		return null;
	}

	private async run(): Promise<void> {
		const { source, handlers, log } = this.options;
		const signal = this.stopping.signal;
		let cursor = this.options.cursor;
		while (!signal.aborted) {
			const from: string = cursor;
			const batch = await this.retrying('fetch new messages', () => source.fetch(from, this.fetching.signal));
			if (batch === null) return;
			const executions: Promise<void>[] = [];
			let complete = true;
			for (const event of batch.events) {
				// Stopped mid-batch: the rest stays unconfirmed and is fetched again after a restart
				// (a source that takes its events hands the whole batch over: nothing would fetch it again).
				if (signal.aborted && !source.takes) complete = false;
				if (!complete) break;
				const inbound = await source.inbound(event).catch((error: unknown) => {
					log.warn(`${this.options.name}: skipped an event: ${(error as Error).message}`);
					return null;
				});
				if (!inbound?.envelope) continue;
				if (!(await handlers.admit(inbound.envelope, inbound.facts))) continue;
				executions.push(handlers.execute(inbound.envelope));
			}
			const held = new AbortController();
			const finished = await Promise.race([Promise.allSettled(executions).then(() => true), sleep(this.options.maxHoldMs ?? 10 * 60_000, held.signal).then(() => false)]);
			held.abort();
			if (!finished) log.warn(`${this.options.name}: an execution has run for over ${Math.round((this.options.maxHoldMs ?? 600_000) / 60_000)} minutes; newer messages are fetched meanwhile.`);
			if (!complete) return;
			cursor = batch.cursor;
			this.options.confirm(cursor);
		}
	}
}

/** The key under the trigger node's static data; one name, so whoever reads the workflow JSON sees what it is. */
const CURSOR_KEY = 'clawgateCursor';

/**
 * A cursor-polling trigger in n8n's terms: the shared listener pipeline (access policy, pairing,
 * "Listen for test event"), the confirmed cursor in the node's static data. A test listener starts
 * from now and stores nothing, so it never takes the production trigger's unconfirmed messages.
 * A source that takes its events stores no cursor; its test listener fetches no more once it has
 * handed a message over (n8n is about to close it, and a further fetch would take messages it drops).
 */
export async function runCursorTrigger<Event>(
	context: ITriggerFunctions,
	plugin: AnyChannelPlugin,
	setup: { credential: unknown; policy: AccessPolicy },
	source: (log: PollLog) => PollSource<Event> | Promise<PollSource<Event>>,
): Promise<ITriggerResponse> {
	const manual = context.getMode() === 'manual';
	const staticData = context.getWorkflowStaticData('node');
	const stored = typeof staticData[CURSOR_KEY] === 'string' && !manual ? (staticData[CURSOR_KEY] as string) : null;
	return await runListenerTrigger(context, plugin, setup, async (handlers) => {
		const platformSource = await source(context.logger);
		const takes = platformSource.takes !== undefined;
		const keepsCursor = !manual && !takes;
		// Begun before activation ends, so n8n saves the cursor with the activation: a message sent
		// before the first restart is not skipped as history.
		const cursor = (takes ? null : stored) ?? (await platformSource.begin(new AbortController().signal).catch((error: unknown) => {
			throw platformSource.describe(error, 'start receiving messages');
		}));
		if (keepsCursor) staticData[CURSOR_KEY] = cursor;
		const closing = new AbortController();
		let handedOver = false;
		const pollSource: PollSource<Event> =
			manual && takes
				? {
						...platformSource,
						fetch: async (from, signal) => {
							if (!handedOver) return await platformSource.fetch(from, signal);
							await sleep(2 ** 31 - 1, closing.signal);
							return { events: [], cursor: from };
						},
					}
				: platformSource;
		const poller = new CursorPoller<Event>({
			name: plugin.name,
			source: pollSource,
			cursor,
			confirm: (cursor) => {
				if (keepsCursor) staticData[CURSOR_KEY] = cursor;
			},
			handlers: {
				...handlers,
				execute: async (envelope) => {
					handedOver = true;
					await (takes ? handlers.executeTaken(envelope) : handlers.execute(envelope));
				},
			},
			log: context.logger,
		});
		poller.start();
		return {
			close: async () => {
				closing.abort();
				await poller.stop();
			},
		};
	});
}
