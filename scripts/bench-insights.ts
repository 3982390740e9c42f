/**
 * `npm run bench:insights` (not part of the test suite): what recording the operations view costs
 * n8n per answer (issue 21's budget: ≤ 3 ms of n8n busy time per message for all of Clawgate).
 *
 * For each store (SQLite, Redis, Postgres on 127.0.0.1), executions of 1 and of 10 answers are
 * recorded as AI Session records them (events folded, one write per execution), one after another.
 * Reported per answer: CPU time of this process (user + system: the time n8n's event loop is busy,
 * serialising and parsing included) and the wall time of the write. Data lives under names unique
 * to this run and is deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';
import { Pool } from 'pg';

import { foldEvents, type AnswerEvent } from '../nodes/core/insights/events';
import type { SessionStore } from '../nodes/core/session/store';
import type { InsightsStore } from '../nodes/core/insights/store';
import { PostgresSessionStore } from '../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../nodes/core/stores/redis.store';
import { SqliteSessionStore } from '../nodes/core/stores/sqlite.store';

const runId = randomBytes(4).toString('hex');
const EXECUTIONS = Number(process.env.BENCH_EXECUTIONS ?? 2_000);
const channels = ['telegram', 'slack', 'viber', 'discord'];

function answer(index: number): AnswerEvent {
	return {
		kind: 'answer',
		at: Date.now(),
		channel: channels[index % channels.length],
		via: channels[index % channels.length],
		accountId: 'bot',
		sessionId: `${channels[index % channels.length]}:bot:dm:${index % 500}`,
		model: 'gpt-4o-mini-2024-07-18',
		promptTokens: 300 + (index % 50),
		completionTokens: 40,
		modelMs: 400 + (index % 900),
		turnMs: 450 + (index % 900),
		outcome: 'answered',
		errorClass: '',
	};
}

async function measure(store: SessionStore & { insights: InsightsStore }, perExecution: number): Promise<{ cpuMs: number; wallMs: number }> {
	let index = 0;
	const run = async (count: number) => {
		for (let execution = 0; execution < count; execution++) {
			const events = Array.from({ length: perExecution }, () => answer(index++));
			await store.insights.recordInsights(foldEvents(events));
		}
	};
	await run(50); // warm-up: connections, prepared statements, script cache, JIT
	const executions = Math.max(100, Math.round(EXECUTIONS / perExecution));
	const cpu = process.cpuUsage();
	const started = process.hrtime.bigint();
	await run(executions);
	const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
	const used = process.cpuUsage(cpu);
	const answers = executions * perExecution;
	return { cpuMs: (used.user + used.system) / 1000 / answers, wallMs: wallMs / executions };
}

async function main(): Promise<void> {
	const folder = mkdtempSync(path.join(os.tmpdir(), 'clawgate-bench-insights-'));
	const redisPrefix = `clawgate-bench-insights:${runId}:`;
	const tablePrefix = `clawgate_bi_${runId}_`;
	const pg = { host: '127.0.0.1', port: 5432, database: process.env.PGDATABASE ?? 'test', user: process.env.PGUSER ?? 'postgres' };
	const stores: Array<[string, SessionStore & { insights: InsightsStore }]> = [
		['SQLite', new SqliteSessionStore({ filename: path.join(folder, 'sessions.sqlite') })],
		['Redis', new RedisSessionStore({ host: '127.0.0.1', port: 6379, keyPrefix: redisPrefix })],
		['Postgres', new PostgresSessionStore({ ...pg, tablePrefix })],
	];
	const rows: string[] = [];
	try {
		for (const [name, store] of stores) {
			for (const perExecution of [1, 10]) {
				const { cpuMs, wallMs } = await measure(store, perExecution);
				rows.push(`| ${name} | ${perExecution} | ${cpuMs.toFixed(3)} ms | ${wallMs.toFixed(3)} ms |`);
			}
		}
	} finally {
		await Promise.all(stores.map(([, store]) => store.close()));
		rmSync(folder, { recursive: true, force: true });
		const redis = new Redis({ host: '127.0.0.1', port: 6379 });
		const keys: string[] = [];
		for await (const batch of redis.scanStream({ match: `${redisPrefix}*`, count: 1000 })) keys.push(...(batch as string[]));
		if (keys.length) await redis.del(...keys);
		await redis.quit();
		const admin = new Pool(pg);
		const tables = ['sessions', 'turns', 'message_keys', 'counters', 'lock_queue', 'journal', 'receipts', 'insights_counters', 'insights_sessions'];
		await admin.query(`DROP TABLE IF EXISTS ${tables.map((table) => `"${tablePrefix}${table}"`).join(', ')}`);
		await admin.end();
	}
	console.log(`Recording insights, ${EXECUTIONS} answers per row, Node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}\n`);
	console.log('| Store | Answers per execution | n8n CPU per answer | Wall time per write |');
	console.log('| --- | --- | --- | --- |');
	for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
