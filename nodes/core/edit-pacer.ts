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

export class EditPacer {
	private readonly lanes = new Map<string, Lane>();

	constructor(
		private readonly now: () => number = Date.now,
		private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
	) {}

	/**
	 * Runs `call` on lane `key` once every call queued before it has settled and `spacingMs` has
	 * passed since the last of them did. Its result or error is the caller's; the lane goes on.
	 */
	run<T>(key: string, spacingMs: number, call: () => Promise<T>): Promise<T> {
		let lane = this.lanes.get(key);
		if (!lane) {
			lane = { tail: Promise.resolve(), readyAt: 0, queued: 0 };
			this.lanes.set(key, lane);
		}
		const current = lane;
		current.queued += 1;
		const result = current.tail.then(async () => {
			const wait = current.readyAt - this.now();
			if (wait > 0) await this.sleep(wait);
			try {
				return await call();
			} finally {
				current.readyAt = this.now() + spacingMs;
				current.queued -= 1;
				// An idle lane whose spacing has passed holds nothing worth keeping.
				if (current.queued === 0) setTimeout(() => this.forget(key, current), spacingMs).unref?.();
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
