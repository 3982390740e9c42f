/**
 * The typing indicator while an answer is being worked out: one typing action now, the next one
 * before the platform's indicator runs out, none once stopped. A platform shows "typing…" for a
 * few seconds per action (Telegram 5 s, Discord 10 s), so a model that thinks for 30 s needs the
 * action repeated; a bot's own message clears it, so nothing has to be sent when the answer goes.
 */

/** Sends one typing action; aborting the signal abandons it (and any wait for a rate limit). */
export type SendTypingAction = (signal: AbortSignal) => Promise<void>;

export interface TypingOptions {
	/** How long one action shows on the platform (`capabilities.typingLastsMs`). */
	lastsMs: number;
	/** A failed action (429, network): typing is decoration, so it is reported here and never thrown. */
	onError?: (error: unknown) => void;
}

/** A typing indicator being kept up; `stop` is idempotent and never throws. */
export interface TypingIndicator {
	/** Sends nothing more and abandons the action in flight. */
	stop(): void;
	/** Actions started so far (sent or failed). */
	readonly actions: number;
}

/** Below this a refresh would hammer the platform's rate limits for little gain. */
const MIN_REFRESH_MS = 1_000;

/**
 * When the next action goes: early enough that the indicator never blinks out, allowing for a slow
 * request (a fifth of its life, at least a second), and not more often than once a second.
 */
export function typingRefreshMs(lastsMs: number): number {
	return Math.max(MIN_REFRESH_MS, lastsMs - Math.max(1_000, Math.round(lastsMs / 5)));
}

/**
 * Starts showing typing: the first action right away, then one every `typingRefreshMs` counted
 * from the start of the previous one. An action still in flight when the next is due is not
 * doubled: the next goes when it settles. Errors go to `onError` (an aborted action is no error).
 */
export function keepTyping(send: SendTypingAction, { lastsMs, onError }: TypingOptions): TypingIndicator {
	const refreshMs = typingRefreshMs(lastsMs);
	const abort = new AbortController();
	let timer: NodeJS.Timeout | null = null;
	let actions = 0;

	const act = (): void => {
		timer = null;
		if (abort.signal.aborted) return;
		const startedAt = Date.now();
		actions += 1;
		let sending: Promise<void>;
		try {
			sending = send(abort.signal);
		} catch (error) {
			sending = Promise.reject(error);
		}
		void sending
			.catch((error: unknown) => {
				if (!abort.signal.aborted) reportQuietly(onError, error);
			})
			.then(() => {
				if (abort.signal.aborted) return;
				timer = setTimeout(act, Math.max(0, startedAt + refreshMs - Date.now()));
				// A forgotten indicator must not keep n8n (or a test) alive.
				timer.unref();
			});
	};

	act();
	return {
		stop() {
			if (abort.signal.aborted) return;
			abort.abort();
			if (timer) clearTimeout(timer);
			timer = null;
		},
		get actions() {
			return actions;
		},
	};
}

function reportQuietly(onError: TypingOptions['onError'], error: unknown): void {
	try {
		onError?.(error);
	} catch {
		// A failing report must not fail the answer either.
	}
}
