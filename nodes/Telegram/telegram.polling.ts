/**
 * Long polling: the trigger holds a `getUpdates` request open and hands each update to n8n.
 *
 * Telegram keeps the offset, so nothing is stored in n8n: an update is confirmed (and never
 * sent again) once getUpdates is called with an offset above its `update_id`. This poller only
 * moves the offset past an update once n8n has finished the execution it started for it, and
 * fetches newer updates meanwhile by asking again from the oldest unfinished one (skipping those
 * it already handed over). So:
 * - clean stop (deactivation, n8n shutdown or restart): the in-flight long poll is aborted, the
 *   poller waits for running executions (bounded) and confirms what they finished. After a
 *   restart Telegram sends exactly what was not yet finished: no update is lost or repeated.
 * - crash (power loss, SIGKILL): updates whose executions had not finished are sent again after
 *   the restart. An answer that already went out may then be sent twice; the AI Session node's
 *   idempotency ledger recognises the repeated message and answers it once.
 */
import type { Api } from 'grammy';
import type { Update } from 'grammy/types';

import { describeTelegramError, grammySignal, isAbort, sleep, TelegramApiError } from './telegram.client';

export interface PollerLog {
	debug(message: string, meta?: object): void;
	info(message: string, meta?: object): void;
	warn(message: string, meta?: object): void;
}

/**
 * What became of an update: taken on (`done` settles when its work ends: preparing its item,
 * e.g. downloading files, and the execution) or skipped. The poller fetches and hands over
 * newer updates while `done` is pending, so slow work of one update holds back no other.
 */
export type HandledUpdate = { done: Promise<unknown> } | null;

/**
 * `done` rejects with this when the trigger stopped before the update reached n8n (its files were
 * still downloading): the update stays unconfirmed, so Telegram sends it again after the restart.
 */
export class UpdateAbandonedError extends Error {
	constructor(updateId: number) {
		super(`Telegram update ${updateId} was not handed to n8n before the trigger stopped; Telegram sends it again.`);
	}
}

export interface LongPollerOptions {
	api: Api;
	allowedUpdates: string[];
	/** Takes one update on; called once per update, in update order, and expected to return quickly. */
	handleUpdate(update: Update): Promise<HandledUpdate>;
	/** The bot cannot poll any more (token revoked): report it to n8n, which retries activation. */
	onFatalError(error: TelegramApiError): void;
	log: PollerLog;
	/** How long one getUpdates waits for a new update (Telegram allows up to 50). */
	longPollSeconds?: number;
	/** While executions run, how often to look for newer updates (Telegram answers at once then). */
	busyPollIntervalMs?: number;
	/** An execution running longer than this no longer holds back the offset. */
	maxHoldMs?: number;
	/** Waits after failed getUpdates calls: doubling from `initial` up to `max`. */
	backoffMs?: { initial: number; max: number };
	/** How long a clean stop waits for running executions before confirming. */
	stopTimeoutMs?: number;
}

interface InFlight {
	startedAt: number;
	done: Promise<unknown>;
	released: boolean;
}

function isFatal(error: TelegramApiError): boolean {
	return error.status === 401 || error.status === 404;
}

export class TelegramLongPoller {
	private readonly inFlight = new Map<number, InFlight>();
	private readonly seen = new Set<number>();
	/** One above the highest update_id handled so far; undefined until the first update. */
	private nextOffset: number | undefined;
	/** Telegram has confirmed every update below this (the offset of the last successful call). */
	private confirmedBelow: number | undefined;
	private request: AbortController | null = null;
	private readonly stopSignal = new AbortController();
	private pauses = 0;
	private resumed: (() => void) | null = null;
	private parked: (() => void) | null = null;
	private loop: Promise<void> | null = null;
	private settled: (() => void) | null = null;

	constructor(private readonly options: LongPollerOptions) {}

	private get config() {
		return {
			longPollSeconds: this.options.longPollSeconds ?? 25,
			busyPollIntervalMs: this.options.busyPollIntervalMs ?? 1_000,
			maxHoldMs: this.options.maxHoldMs ?? 10 * 60_000,
			backoff: this.options.backoffMs ?? { initial: 1_000, max: 60_000 },
			stopTimeoutMs: this.options.stopTimeoutMs ?? 20_000,
		};
	}

	get stopped(): boolean {
		return this.stopSignal.signal.aborted;
	}

	start(): void {
		this.loop ??= this.run();
	}

	/**
	 * Stops asking Telegram for updates until the returned function is called (a test listener
	 * borrows the bot meanwhile). Resolves once no getUpdates of this poller is in flight.
	 */
	async pause(): Promise<() => void> {
		this.pauses++;
		const parked = new Promise<void>((resolve) => (this.parked = resolve));
		this.request?.abort();
		if (!this.loop || this.stopped) this.parked?.();
		await Promise.race([parked, sleep(5_000).catch(() => undefined)]);
		let done = false;
		return () => {
			if (done) return;
			done = true;
			this.pauses--;
			if (this.pauses === 0) this.resumed?.();
		};
	}

	/** Ends polling cleanly: abort the long poll, let running executions finish, confirm them. */
	async stop(): Promise<void> {
		if (this.stopped) return;
		this.stopSignal.abort();
		this.request?.abort();
		this.resumed?.();
		await this.loop;
		const pending = [...this.inFlight.values()].map((entry) => entry.done);
		if (pending.length > 0) {
			this.options.log.debug(`Telegram long polling stops after ${pending.length} running execution(s) finish`);
			const finished = new AbortController();
			await Promise.race([Promise.allSettled(pending), sleep(this.config.stopTimeoutMs, finished.signal).catch(() => undefined)]);
			// Without this the stop's timer would keep the process alive after everything finished.
			finished.abort();
		}
		await this.confirm();
	}

	/** The offset to ask for: the oldest update n8n is still working on, else past the newest one. */
	private requestOffset(): number | undefined {
		const now = Date.now();
		let oldest: number | undefined;
		for (const [updateId, entry] of this.inFlight) {
			if (!entry.released && now - entry.startedAt > this.config.maxHoldMs) {
				entry.released = true;
				this.options.log.warn(
					`The execution for Telegram update ${updateId} has run for over ${Math.round(this.config.maxHoldMs / 60_000)} minutes; ` +
						'newer messages are confirmed to Telegram meanwhile, so if n8n stops before it ends, that message is not sent again.',
				);
			}
			if (!entry.released && (oldest === undefined || updateId < oldest)) oldest = updateId;
		}
		return oldest ?? this.nextOffset;
	}

	private holdsAnything(): boolean {
		return [...this.inFlight.values()].some((entry) => !entry.released);
	}

	/** Tells Telegram that everything below the current offset is done (a call that waits for nothing). */
	private async confirm(): Promise<void> {
		const offset = this.requestOffset();
		if (offset === undefined || (this.confirmedBelow !== undefined && offset <= this.confirmedBelow)) return;
		try {
			await this.options.api.getUpdates({ offset, limit: 1, timeout: 0, allowed_updates: this.options.allowedUpdates as never });
			this.confirmedBelow = offset;
		} catch (error) {
			this.options.log.warn(
				`Could not confirm the handled Telegram updates (${describeTelegramError(error, 'confirm updates').message}); Telegram will send them again, and AI Session will recognise them as repeats.`,
			);
		}
	}

	private track(updateId: number, done: Promise<unknown>): void {
		const entry: InFlight = { startedAt: Date.now(), done, released: false };
		this.inFlight.set(updateId, entry);
		void done
			.then(
				() => true,
				(error: unknown) => !(error instanceof UpdateAbandonedError),
			)
			.then((finished) => {
				// An abandoned update keeps holding the offset, so the final confirmation leaves it to Telegram.
				if (finished) this.inFlight.delete(updateId);
				this.settled?.();
			});
	}

	private async waitWhilePaused(): Promise<void> {
		while (this.pauses > 0 && !this.stopped) {
			this.parked?.();
			await new Promise<void>((resolve) => (this.resumed = resolve));
			this.resumed = null;
		}
	}

	private async run(): Promise<void> {
		let failures = 0;
		while (!this.stopped) {
			await this.waitWhilePaused();
			if (this.stopped) break;
			const offset = this.requestOffset();
			const busy = this.holdsAnything();
			this.request = new AbortController();
			let updates: Update[];
			try {
				updates = await this.options.api.getUpdates(
					{ offset, limit: 100, timeout: busy ? 0 : this.config.longPollSeconds, allowed_updates: this.options.allowedUpdates as never },
					grammySignal(this.request.signal),
				);
				if (offset !== undefined) this.confirmedBelow = offset;
				if (failures > 0) this.options.log.info('Telegram long polling works again');
				failures = 0;
			} catch (error) {
				if (this.stopped || this.pauses > 0 || isAbort(error, this.request.signal)) continue;
				const described = describeTelegramError(error, 'fetch new messages (getUpdates)');
				if (isFatal(described)) {
					this.options.onFatalError(described);
					return;
				}
				failures++;
				const delay = Math.min(this.config.backoff.initial * 2 ** (failures - 1), this.config.backoff.max);
				if (failures === 1 || failures % 10 === 0) {
					const conflict = described.status === 409 ? ' Another program, workflow or webhook is receiving this bot\'s messages; Telegram allows only one.' : '';
					this.options.log.warn(`${described.message}${conflict} Retrying in ${Math.round(delay / 1000)} s (attempt ${failures}).`);
				}
				await sleep(delay, this.stopSignal.signal).catch(() => undefined);
				continue;
			} finally {
				this.request = null;
			}

			let sawNew = false;
			for (const update of [...updates].sort((a, b) => a.update_id - b.update_id)) {
				if (this.seen.has(update.update_id) || (offset !== undefined && update.update_id < offset)) continue;
				this.seen.add(update.update_id);
				sawNew = true;
				this.nextOffset = Math.max(this.nextOffset ?? 0, update.update_id + 1);
				let handled: HandledUpdate = null;
				try {
					handled = await this.options.handleUpdate(update);
				} catch (error) {
					// One broken update must not stop the bot; it is skipped like an ignored one.
					this.options.log.warn(`Skipped Telegram update ${update.update_id}: ${(error as Error).message}`);
				}
				if (handled) this.track(update.update_id, handled.done);
			}
			for (const updateId of this.seen) if (this.confirmedBelow !== undefined && updateId < this.confirmedBelow) this.seen.delete(updateId);

			if (!sawNew && this.holdsAnything()) {
				// Executions still run: look again shortly, or as soon as one finishes.
				const settled = new Promise<void>((resolve) => (this.settled = resolve));
				await Promise.race([settled, sleep(this.config.busyPollIntervalMs, this.stopSignal.signal).catch(() => undefined)]);
				this.settled = null;
			}
		}
	}
}

/**
 * Test listener ("Listen for test event"): waits for the first update the trigger emits, hands
 * it over and confirms it (and the skipped ones before it) so the production trigger does not
 * answer it a second time. Returns when an update was handed over or the signal aborted.
 */
export async function pollForFirstUpdate({
	api,
	allowedUpdates,
	handleUpdate,
	signal,
	log,
	longPollSeconds = 20,
}: {
	api: Api;
	allowedUpdates: string[];
	handleUpdate(update: Update): Promise<boolean>;
	signal: AbortSignal;
	log: PollerLog;
	longPollSeconds?: number;
}): Promise<void> {
	let offset: number | undefined;
	let failures = 0;
	while (!signal.aborted) {
		let updates: Update[];
		try {
			updates = await api.getUpdates({ offset, limit: 100, timeout: longPollSeconds, allowed_updates: allowedUpdates as never }, grammySignal(signal));
			failures = 0;
		} catch (error) {
			if (isAbort(error, signal)) return;
			const described = describeTelegramError(error, 'fetch new messages (getUpdates)');
			if (isFatal(described)) throw described;
			failures++;
			if (failures === 1) log.warn(`${described.message} Retrying.`);
			await sleep(Math.min(500 * failures, 5_000), signal).catch(() => undefined);
			continue;
		}
		for (const update of [...updates].sort((a, b) => a.update_id - b.update_id)) {
			offset = update.update_id + 1;
			const handed = await handleUpdate(update).catch((error: Error) => {
				log.warn(`Skipped Telegram update ${update.update_id}: ${error.message}`);
				return false;
			});
			if (handed) {
				try {
					await api.getUpdates({ offset, limit: 1, timeout: 0, allowed_updates: allowedUpdates as never });
				} catch (error) {
					log.warn(`Could not confirm the test update to Telegram: ${describeTelegramError(error, 'confirm updates').message}`);
				}
				return;
			}
		}
	}
}

export interface PollerOwner {
	workflowId: string;
	workflowName: string;
	nodeId: string;
}

interface RegisteredPoller {
	owner: PollerOwner;
	poller: TelegramLongPoller;
}

// Which trigger polls which bot in this process: Telegram allows one getUpdates per bot, so a
// second poller would only steal updates. Process-local on purpose: pollers run on one main.
const pollersByBot = new Map<string, RegisteredPoller>();

export function findPoller(botKey: string): RegisteredPoller | undefined {
	return pollersByBot.get(botKey);
}

/** Records that `owner` polls the bot; returns the function that removes the record. */
export function registerPoller(botKey: string, owner: PollerOwner, poller: TelegramLongPoller): () => void {
	const entry = { owner, poller };
	pollersByBot.set(botKey, entry);
	return () => {
		if (pollersByBot.get(botKey) === entry) pollersByBot.delete(botKey);
	};
}

export function isSameTrigger(a: PollerOwner, b: Pick<PollerOwner, 'workflowId' | 'nodeId'>): boolean {
	return a.workflowId === b.workflowId && a.nodeId === b.nodeId;
}
