/**
 * A connection a listener trigger holds open (IRC, XMPP, IMAP): connect, and when the connection
 * drops, connect again after a growing wait (1 s doubling to 60 s, with jitter so many triggers
 * do not reconnect in step). The first attempt's failure is the activation's (n8n shows it and
 * retries activation); a failure the platform calls final (a refused password) ends the loop.
 */

/** One open connection: `ended` settles when it is gone (null: closed by us or cleanly by the server). */
export interface OpenConnection {
	ended: Promise<Error | null>;
	close(): Promise<void>;
}

/** A failure that reconnecting cannot fix (wrong password, banned): reported once, no retry. */
export class FatalConnectionError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'FatalConnectionError';
	}
}

export interface KeepConnectedOptions {
	/** Opens one connection; resolves once it is ready to receive (logged in, rooms joined). */
	connect(): Promise<OpenConnection>;
	onFatalError(error: Error): void;
	log: { info(message: string): void; warn(message: string): void };
	/** What the log calls the connection: "IRC irc.libera.chat:6697". */
	name: string;
	backoffMs?: { initial: number; max: number };
}

export interface KeptConnection {
	close(): Promise<void>;
}

/** The wait before reconnect attempt `attempt` (1-based): doubling from `initial` to `max`, ±20 %. */
export function reconnectDelayMs(attempt: number, { initial, max }: { initial: number; max: number }, random = Math.random): number {
	const base = Math.min(initial * 2 ** Math.max(0, attempt - 1), max);
	return Math.round(base * (0.8 + 0.4 * random()));
}

/** Connects once (rejecting when that fails), then keeps the connection up until `close()`. */
export async function keepConnected(options: KeepConnectedOptions): Promise<KeptConnection> {
	const backoff = options.backoffMs ?? { initial: 1_000, max: 60_000 };
	let current: OpenConnection | null = await options.connect();
	let closed = false;
	let wake: (() => void) | null = null;

	const loop = (async () => {
		let attempt = 0;
		while (!closed) {
			const ended: Error | null = current ? await current.ended : null;
			current = null;
			if (closed) return;
			if (ended instanceof FatalConnectionError) return options.onFatalError(ended);
			while (!closed && !current) {
				attempt++;
				const delay = reconnectDelayMs(attempt, backoff);
				if (attempt === 1 || attempt % 10 === 0) options.log.warn(`${options.name}: the connection dropped${ended ? ` (${ended.message})` : ''}; reconnecting in ${Math.round(delay / 1000)} s (attempt ${attempt}).`);
				await new Promise<void>((resolve) => {
					const timer = setTimeout(resolve, delay);
					wake = () => {
						clearTimeout(timer);
						resolve();
					};
				});
				wake = null;
				if (closed) return;
				try {
					const next = await options.connect();
					if (closed) {
						await next.close();
						return;
					}
					current = next;
					options.log.info(`${options.name}: connected again.`);
					attempt = 0;
				} catch (error) {
					if (error instanceof FatalConnectionError) return options.onFatalError(error);
					if (attempt === 1 || attempt % 10 === 0) options.log.warn(`${options.name}: could not reconnect: ${(error as Error).message}`);
				}
			}
		}
	})();

	return {
		async close() {
			if (closed) return;
			closed = true;
			(wake as (() => void) | null)?.();
			const open = current as OpenConnection | null;
			await open?.close();
			await loop;
		},
	};
}
