/**
 * Paces the posts and edits of a draft answer (Stream Preview) per chat, to the platform's edit
 * limit. One call at a time per lane, and the next one only `spacingMs` after the previous one
 * *settled*: counted from the answer rather than the request, the gaps the platform sees can only
 * be wider than `spacingMs`, however slow the network was, so "N edits per window" always holds.
 */

/** A platform's edit limit: at most `edits` in any `perMs` (Discord: 5 per 5 s per channel). */
export interface EditRate {
	edits: number;
	perMs: number;
}

/** Edits spread evenly over the window: a draft wants a steady pace, not a burst followed by silence. */
export function editSpacingMs(rate: EditRate): number {
	return Math.ceil(rate.perMs / Math.max(1, Math.floor(rate.edits)));
}

interface Lane {
	/** The last call queued on the lane; the next one starts after it. */
	tail: Promise<unknown>;
	/** When the next call may start. */
	readyAt: number;
	queued: number;
}

/** Waits `ms`, ending early when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			signal?.removeEventListener('abort', done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		signal?.addEventListener('abort', done, { once: true });
	});
}

/** What `run` rejects with when its signal aborted before the call's turn came: nothing was sent. */
export class EditSkippedError extends Error {
	constructor() {
		super('The edit was no longer wanted when its turn came.');
		this.name = 'EditSkippedError';
	}
}

export class EditPacer {
	private readonly lanes = new Map<string, Lane>();

	constructor(private readonly now: () => number = Date.now) {}

	/**
	 * Runs `call` on lane `key` once every call queued before it has settled and `spacingMs` has
	 * passed since the last of them did. Its result or error is the caller's; the lane goes on.
	 * Aborting `signal` before the turn comes skips the call (EditSkippedError) without using up a
	 * turn: a draft that is done no longer waits, nor makes the final edit wait.
	 */
	run<T>(key: string, spacingMs: number, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
		let lane = this.lanes.get(key);
		if (!lane) {
			lane = { tail: Promise.resolve(), readyAt: 0, queued: 0 };
			this.lanes.set(key, lane);
		}
		const current = lane;
		current.queued += 1;
		const result = current.tail.then(async () => {
			try {
				const wait = current.readyAt - this.now();
				if (wait > 0 && !signal?.aborted) await pause(wait, signal);
				if (signal?.aborted) throw new EditSkippedError();
				try {
					return await call();
				} finally {
					current.readyAt = this.now() + spacingMs;
				}
			} finally {
				current.queued -= 1;
				// An idle lane whose spacing has passed holds nothing worth keeping.
				if (current.queued === 0) setTimeout(() => this.forget(key, current), Math.max(0, current.readyAt - this.now())).unref?.();
			}
		});
		current.tail = result.catch(() => undefined);
		return result;
	}

	/** Lanes held (idle ones are dropped once their spacing has passed). */
	get size(): number {
		return this.lanes.size;
	}

	private forget(key: string, lane: Lane): void {
		if (lane.queued === 0 && this.lanes.get(key) === lane && lane.readyAt <= this.now()) this.lanes.delete(key);
	}
}
