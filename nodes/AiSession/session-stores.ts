/**
 * Builds the session store a node asked for, once per process and configuration: the store
 * keeps the in-process queue that orders a session's messages, so every execution in this n8n
 * must share the same instance.
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { SessionStore } from '../core/session/store';
import { MemorySessionStore } from '../core/stores/memory.store';
import { PostgresSessionStore } from '../core/stores/postgres.store';
import { RedisSessionStore } from '../core/stores/redis.store';
import { SqliteSessionStore } from '../core/stores/sqlite.store';

export type StoreKind = 'sqlite' | 'memory' | 'redis' | 'postgres';

/** Fields of n8n's built-in `redis` credential. */
export interface N8nRedisCredential {
	host: string;
	port: number;
	user?: string;
	password?: string;
	database?: number;
	ssl?: boolean;
}

/** Fields of n8n's built-in `postgres` credential (SSH tunnels are not supported here). */
export interface N8nPostgresCredential {
	host: string;
	port: number;
	database: string;
	user: string;
	password?: string;
	ssl?: 'disable' | 'allow' | 'require' | 'verify' | 'verify-full';
	allowUnauthorizedCerts?: boolean;
}

export interface StoreRequest {
	kind: StoreKind;
	sqliteFile?: string;
	redis?: N8nRedisCredential;
	postgres?: N8nPostgresCredential;
}

const stores = new Map<string, SessionStore>();

/** The n8n user folder, where n8n keeps its own database: the SQLite store lives beside it. */
export function defaultSqliteFile(): string {
	const userFolder = process.env.N8N_USER_FOLDER || homedir();
	return join(userFolder, '.n8n', 'clawgate', 'sessions.sqlite');
}

function cacheKey(request: StoreRequest): string {
	// Hashed, so connection secrets are never kept as map keys in plain text.
	return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

export function sessionStoreFor(request: StoreRequest): SessionStore {
	const key = cacheKey(request);
	let store = stores.get(key);
	if (!store) {
		store = createStore(request);
		stores.set(key, store);
	}
	return store;
}

function createStore(request: StoreRequest): SessionStore {
	switch (request.kind) {
		case 'memory':
			return new MemorySessionStore();
		case 'sqlite':
			return new SqliteSessionStore({ filename: request.sqliteFile || defaultSqliteFile() });
		case 'redis': {
			const credential = required(request.redis, 'Redis');
			return new RedisSessionStore({
				host: credential.host,
				port: Number(credential.port),
				username: credential.user || undefined,
				password: credential.password || undefined,
				database: Number(credential.database ?? 0),
				tls: Boolean(credential.ssl),
			});
		}
		case 'postgres': {
			const credential = required(request.postgres, 'Postgres');
			return new PostgresSessionStore({
				host: credential.host,
				port: Number(credential.port),
				database: credential.database,
				user: credential.user,
				password: credential.password || undefined,
				ssl:
					!credential.ssl || credential.ssl === 'disable'
						? false
						: { rejectUnauthorized: !credential.allowUnauthorizedCerts },
			});
		}
	}
}

function required<T>(value: T | undefined, name: string): T {
	if (!value) throw new Error(`The ${name} store needs a ${name} credential. Select one in the AI Session node.`);
	return value;
}

/** Closes every store (tests, and n8n shutting a worker down). */
export async function closeSessionStores(): Promise<void> {
	const all = [...stores.values()];
	stores.clear();
	await Promise.all(all.map((store) => store.close()));
}
