/**
 * Builds the session store a node asked for, once per process and configuration: the store
 * keeps the in-process queue that orders a session's messages, so every execution in this n8n
 * must share the same instance.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

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
	/** The "SQLite File" option as typed: `~` is the home folder; empty is the default file. */
	sqliteFile?: string;
	/** How long message keys are kept (the "Data Retention (Days)" option). */
	retentionDays?: number;
	redis?: N8nRedisCredential;
	postgres?: N8nPostgresCredential;
}

const stores = new Map<string, SessionStore>();

export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

/** The n8n user folder, where n8n keeps its own database: the SQLite store lives beside it. */
export function defaultSqliteFile(): string {
	const userFolder = process.env.N8N_USER_FOLDER || homedir();
	return join(userFolder, '.n8n', 'clawgate', 'sessions.sqlite');
}

/** n8n's setting that confines file access of workflows to these folders (semicolon-separated). */
const RESTRICT_FILE_ACCESS_ENV = 'N8N_RESTRICT_FILE_ACCESS_TO';

/**
 * The SQLite file a node may use: the default beside n8n's own database when the option is empty;
 * otherwise the typed path with a leading `~` expanded, which must lie inside a folder of
 * N8N_RESTRICT_FILE_ACCESS_TO when that is set, as for n8n's own file nodes. The default is not
 * checked: the package chooses it, not the workflow, and it lies in n8n's own folder.
 */
export function resolveSqliteFile(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
	const typed = (option ?? '').trim();
	if (!typed) return defaultSqliteFile();
	if (typed === ':memory:') return typed;
	const file = resolve(expandHome(typed));
	const allowedFolders = (env[RESTRICT_FILE_ACCESS_ENV] ?? '')
		.split(';')
		.map((folder) => folder.trim())
		.filter(Boolean);
	if (allowedFolders.length === 0) return file;
	// Real paths on both sides, so a symbolic link cannot lead out of an allowed folder.
	const real = realPathOfPossiblyMissing(file);
	if (allowedFolders.some((folder) => isInside(realPathOfPossiblyMissing(resolve(expandHome(folder))), real))) return file;
	throw new Error(
		`The SQLite file "${file}" is outside the folders this n8n may use (${RESTRICT_FILE_ACCESS_ENV}=${allowedFolders.join(';')}). Choose a file inside one of them in the AI Session option "SQLite File", or leave it empty to use the n8n user folder.`,
	);
}

function expandHome(path: string): string {
	if (path === '~') return homedir();
	if (path.startsWith('~/') || path.startsWith(`~${sep}`)) return join(homedir(), path.slice(2));
	return path;
}

/** The real path of the nearest existing folder above `path`, followed by the part that does not exist yet. */
function realPathOfPossiblyMissing(path: string): string {
	const missing: string[] = [];
	let existing = path;
	for (;;) {
		try {
			return join(realpathSync(existing), ...missing.reverse());
		} catch {
			const parent = dirname(existing);
			if (parent === existing) return path;
			missing.push(basename(existing));
			existing = parent;
		}
	}
}

function isInside(folder: string, path: string): boolean {
	const fromFolder = relative(folder, path);
	return fromFolder === '' || (fromFolder.split(sep)[0] !== '..' && !isAbsolute(fromFolder));
}

function cacheKey(request: StoreRequest): string {
	// Hashed, so connection secrets are never kept as map keys in plain text.
	return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

export function sessionStoreFor(requested: StoreRequest): SessionStore {
	// Resolved before the lookup, so "~/x" and the same file spelled out share one store (and its queue).
	const request = requested.kind === 'sqlite' ? { ...requested, sqliteFile: resolveSqliteFile(requested.sqliteFile) } : requested;
	const key = cacheKey(request);
	let store = stores.get(key);
	if (!store) {
		store = createStore(request);
		stores.set(key, store);
	}
	return store;
}

function createStore(request: StoreRequest): SessionStore {
	const retentionMs = (request.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
	switch (request.kind) {
		case 'memory':
			return new MemorySessionStore({ retentionMs });
		case 'sqlite':
			return new SqliteSessionStore({ filename: request.sqliteFile ?? defaultSqliteFile(), retentionMs });
		case 'redis': {
			const credential = required(request.redis, 'Redis');
			return new RedisSessionStore({
				host: credential.host,
				port: Number(credential.port),
				username: credential.user || undefined,
				password: credential.password || undefined,
				database: Number(credential.database ?? 0),
				tls: Boolean(credential.ssl),
				retentionMs,
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
				retentionMs,
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
