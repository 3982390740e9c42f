/**
 * Stored history for the "long conversations" table: turns written straight into a session store
 * (the same store classes the AI Session node uses, at the same place), and the removal of every
 * key and row of the benchmark's bots from the shared Redis and Postgres afterwards.
 */
import { Redis } from 'ioredis';
import { Client } from 'pg';

import type { NewTurn, SessionStore, TurnRole } from '../../nodes/core/session/store';
import { createTokenCounter } from '../../nodes/core/tokens';
import { MODEL } from './workflows';

/** The Telegram session id of a private chat, as the Clawgate Telegram Trigger builds it (DESIGN.md "The envelope"). */
export function telegramSessionId(botId: number, chatId: number): string {
	return `telegram:${botId}:dm:${chatId}`;
}

const WORDS =
	'the quick brown fox jumps over a lazy dog while we plan dinner for friends tonight with fresh pasta tomatoes basil garlic olive oil and a crisp green salad then maybe a lemon tart for dessert if there is time left after the market closes'.split(' ');

/** Eight different texts of about `tokens` tokens each, with their counts for both roles. */
function seedTexts(tokens: number): Array<{ content: string; tokens: Record<TurnRole, number> }> {
	const counter = createTokenCounter(MODEL);
	return Array.from({ length: 8 }, (_, variant) => {
		const words: string[] = [];
		for (let i = 0; counter.countText(words.join(' ')) < tokens; i++) words.push(WORDS[(i * (variant + 3)) % WORDS.length]);
		const content = words.join(' ');
		return { content, tokens: { user: counter.countMessage({ role: 'user', content }), assistant: counter.countMessage({ role: 'assistant', content }) } };
	});
}

/** Appends `turns` alternating user/assistant turns of about `turnTokens` tokens to every session. */
export async function seedHistory(store: SessionStore, sessionIds: string[], turns: number, turnTokens: number): Promise<void> {
	const texts = seedTexts(turnTokens);
	const batch = 500;
	for (const sessionId of sessionIds) {
		for (let start = 0; start < turns; start += batch) {
			const chunk: NewTurn[] = [];
			for (let index = start; index < Math.min(turns, start + batch); index++) {
				const role: TurnRole = index % 2 === 0 ? 'user' : 'assistant';
				const text = texts[index % texts.length];
				chunk.push({ role, content: text.content, tokens: text.tokens[role] });
			}
			await store.appendTurns(sessionId, chunk);
		}
	}
}

export interface RedisTarget {
	host: string;
	port: number;
}

export interface PostgresTarget {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
}

export async function redisReachable({ host, port }: RedisTarget): Promise<string | null> {
	const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2_000 });
	try {
		await client.connect();
		await client.ping();
		return null;
	} catch (error) {
		return (error as Error).message;
	} finally {
		client.disconnect();
	}
}

export async function postgresReachable(target: PostgresTarget): Promise<string | null> {
	const client = new Client({ ...target, connectionTimeoutMillis: 2_000 });
	try {
		await client.connect();
		await client.query('SELECT 1');
		return null;
	} catch (error) {
		return (error as Error).message;
	} finally {
		await client.end().catch(() => undefined);
	}
}

/** Deletes every key the store wrote for these bots (default key prefix `clawgate:`; ids contain `telegram:<botId>:`). */
export async function removeRedisData({ host, port }: RedisTarget, botIds: number[]): Promise<number> {
	const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
	let removed = 0;
	try {
		await client.connect();
		for (const botId of botIds) {
			let cursor = '0';
			do {
				const [next, keys] = await client.scan(cursor, 'MATCH', `clawgate:*telegram:${botId}:*`, 'COUNT', 1000);
				if (keys.length > 0) removed += await client.unlink(...keys);
				cursor = next;
			} while (cursor !== '0');
		}
	} finally {
		client.disconnect();
	}
	return removed;
}

/** Deletes the rows of these bots from the store's tables (default prefix `clawgate_`), leaving other data alone. */
export async function removePostgresData(target: PostgresTarget, botIds: number[]): Promise<number> {
	const client = new Client(target);
	let removed = 0;
	const statements = [
		['clawgate_turns', 'session_id'],
		['clawgate_sessions', 'session_id'],
		['clawgate_lock_queue', 'session_id'],
		['clawgate_message_keys', 'message_key'],
		['clawgate_counters', 'counter_key'],
	];
	try {
		await client.connect();
		for (const botId of botIds) {
			for (const [table, column] of statements) {
				const exists = await client.query('SELECT to_regclass($1) AS name', [table]);
				if (!exists.rows[0].name) continue;
				const result = await client.query(`DELETE FROM "${table}" WHERE strpos(${column}, $1) > 0`, [`telegram:${botId}:`]);
				removed += result.rowCount ?? 0;
			}
		}
	} finally {
		await client.end().catch(() => undefined);
	}
	return removed;
}
