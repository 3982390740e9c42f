import type { Client, ClientConfig, Notification } from 'pg';

import type { SessionWatch } from '../journal';

/** After a failed connection, the next try waits this long (watches meanwhile just never fire). */
const RECONNECT_AFTER_MS = 5_000;

/**
 * Session wake-ups across processes through PostgreSQL's LISTEN/NOTIFY: a process that frees a
 * session's lock or settles one of its journaled messages sends `pg_notify(channel, sessionId)`,
 * and the waiters of that session in every process ask again at once instead of polling the
 * database every few milliseconds (which starved the connection pool of a busy queue-mode worker).
 * One dedicated connection listens; while it is down, watches never fire and the callers' slower
 * polls carry on, so a lost notification only costs time.
 */
export class PgWakeups {
	private readonly watchers = new Map<string, Set<() => void>>();
	private client: Client | null = null;
	private connecting: Promise<void> | null = null;
	private retryAt = 0;
	private closed = false;

	constructor(
		private readonly config: ClientConfig,
		/** The channel: the table prefix's, so stores sharing a database under other prefixes wake nobody. */
		readonly channel: string,
	) {}

	/**
	 * Watches `sessionId` from now on: take the watch before checking the database, so a change
	 * between the check and the wait is not missed. Starts the listening connection on first use.
	 */
	watch(sessionId: string): SessionWatch {
		this.connect();
		let wake!: () => void;
		const changed = new Promise<void>((resolve) => (wake = resolve));
		const set = this.watchers.get(sessionId) ?? new Set<() => void>();
		this.watchers.set(sessionId, set);
		set.add(wake);
		return {
			changed,
			listening: this.client !== null,
			stop: () => {
				set.delete(wake);
				if (set.size === 0 && this.watchers.get(sessionId) === set) this.watchers.delete(sessionId);
			},
		};
	}

	async close(): Promise<void> {
		this.closed = true;
		for (const set of this.watchers.values()) for (const wake of set) wake();
		this.watchers.clear();
		await this.connecting?.catch(() => undefined);
		const client = this.client;
		this.client = null;
		await client?.end().catch(() => undefined);
	}

	private connect(): void {
		if (this.closed || this.client || this.connecting || Date.now() < this.retryAt) return;
		// pg is loaded on first use, not on import: a node file can be loaded without running (n8n loads them all right after an install), Postgres used or not.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { Client } = require('pg') as typeof import('pg');
		const client = new Client(this.config);
		// A dropped connection: forget it, and the next watch connects again.
		const drop = () => {
			if (this.client === client) this.client = null;
			this.retryAt = Date.now() + RECONNECT_AFTER_MS;
			void client.end().catch(() => undefined);
		};
		client.on('error', drop);
		client.on('end', drop);
		client.on('notification', (message: Notification) => this.notified(message));
		this.connecting = client
			.connect()
			.then(() => client.query(`LISTEN "${this.channel}"`))
			.then(() => {
				if (this.closed) return void client.end().catch(() => undefined);
				this.client = client;
			})
			.catch(() => drop())
			.finally(() => (this.connecting = null));
	}

	private notified(message: Notification): void {
		if (message.channel !== this.channel || message.payload === undefined) return;
		const set = this.watchers.get(message.payload);
		if (!set) return;
		for (const wake of set) wake();
	}
}
