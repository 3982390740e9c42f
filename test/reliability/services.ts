import { Redis } from 'ioredis';
import { Pool } from 'pg';

/** Where the reliability tests find Redis and PostgreSQL (the machine's own, unless the environment says otherwise). */
export const redisAddress = { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };

export const postgresAddress = {
	host: process.env.PGHOST ?? '127.0.0.1',
	port: Number(process.env.PGPORT ?? 5432),
	database: process.env.PGDATABASE ?? 'test',
	user: process.env.PGUSER ?? 'postgres',
	password: process.env.PGPASSWORD ?? '',
};

/** Deletes the Redis keys (under `keyPrefix`) and Postgres rows of the sessions a run created: their IDs hold `runId`. */
export async function removeRedisRunData(runId: string, keyPrefix = 'clawgate:'): Promise<void> {
	const redis = new Redis(redisAddress);
	const keys: string[] = [];
	for await (const batch of redis.scanStream({ match: `${keyPrefix}*${runId}*`, count: 1000 })) keys.push(...(batch as string[]));
	if (keys.length > 0) await redis.del(...keys);
	await redis.quit();
}

export async function removePostgresRunData(runId: string): Promise<void> {
	const pool = new Pool(postgresAddress);
	const pattern = `%${runId}%`;
	await pool.query('DELETE FROM clawgate_turns WHERE session_id LIKE $1', [pattern]).catch(() => undefined);
	await pool.query('DELETE FROM clawgate_sessions WHERE session_id LIKE $1', [pattern]).catch(() => undefined);
	await pool.query('DELETE FROM clawgate_message_keys WHERE message_key LIKE $1', [pattern]).catch(() => undefined);
	await pool.end();
}
