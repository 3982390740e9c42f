/**
 * n8n in queue mode, as a scaled-out Clawgate runs: one main (`n8n start`: UI, webhooks, the
 * Discord gateway, activation) and workers (`n8n worker`) that run the executions, sharing a fresh
 * Postgres database and a Redis queue with a prefix of its own. The workers use the main's user
 * folder: every n8n process loads community packages from `<N8N_USER_FOLDER>/.n8n/nodes`, so the
 * package installed there once (the community way) is the one every worker runs.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { Client } from 'pg';

import { N8nInstance, type CredentialFixture, type WorkflowFixture } from '../e2e/harness';
import { ReadinessGate } from './readiness-gate';
import { postgresAddress, redisAddress } from './services';

const runtime = require('../../scripts/n8n-runtime.js');

export const REDIS = redisAddress;
/** The server and login; each deployment makes its own database there. */
export const POSTGRES = { host: postgresAddress.host, port: postgresAddress.port, user: postgresAddress.user, password: postgresAddress.password };

async function withPostgres<T>(database: string, work: (client: Client) => Promise<T>): Promise<T> {
	const client = new Client({ ...POSTGRES, database });
	await client.connect();
	try {
		return await work(client);
	} finally {
		await client.end();
	}
}

/** Deletes every Redis key that starts with one of the prefixes (the run's Bull queue and pub/sub keys). */
async function deleteRedisKeys(prefixes: string[]): Promise<void> {
	const redis = new Redis({ ...REDIS, lazyConnect: true });
	try {
		for (const prefix of prefixes) {
			let cursor = '0';
			do {
				const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
				if (keys.length > 0) await redis.del(...keys);
				cursor = next;
			} while (cursor !== '0');
		}
	} finally {
		redis.disconnect();
	}
}

export class WorkerProcess {
	private readonly output: string[] = [];
	child: ChildProcess | null = null;

	constructor(
		readonly name: string,
		private readonly env: NodeJS.ProcessEnv,
		readonly healthUrl: string,
	) {}

	get log(): string {
		return this.output.join('');
	}

	/** IDs of the executions this worker started / finished, from its log ("Worker started execution 12 (job 7)"). */
	executions(state: 'started' | 'finished'): Set<string> {
		const pattern = new RegExp(`Worker ${state} execution (\\d+)`, 'g');
		return new Set([...this.log.matchAll(pattern)].map((match) => match[1]));
	}

	async start(): Promise<void> {
		this.child = runtime.startN8nProcess(this.env, { command: 'worker', onOutput: (text: string) => this.output.push(text) });
		try {
			await runtime.waitForReadiness(this.healthUrl, this.child);
		} catch (error) {
			throw new Error(`${(error as Error).message}\n--- ${this.name} output (last lines) ---\n${this.log.split('\n').slice(-40).join('\n')}`);
		}
	}

	/** SIGTERM lets a worker finish its jobs first (n8n drains for up to 80% of 30 s); SIGKILL is a crash. */
	async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
		const child = this.child;
		this.child = null;
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill(signal);
		const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
		await exited;
		clearTimeout(timer);
	}
}

export interface QueueDeploymentOptions {
	/** Credentials to import; a function gets the name of the deployment's database (for a Postgres credential). */
	credentials: CredentialFixture[] | ((database: string) => CredentialFixture[]);
	workflows: WorkflowFixture[];
	workers?: number;
	/**
	 * Platforms reach the main through a front that forwards only while n8n is ready, as a load
	 * balancer with n8n's readiness probe does (readiness-gate.ts); n8n's WEBHOOK_URL is the front's.
	 */
	readinessGate?: boolean;
}

export class QueueDeployment {
	private constructor(
		readonly main: N8nInstance,
		readonly workers: WorkerProcess[],
		/** The Postgres database n8n keeps its data in, made for this deployment and dropped by stop(). */
		readonly database: string,
		private readonly redisPrefixes: string[],
		/** The front platforms deliver through, when the deployment has one. */
		readonly gate: ReadinessGate | null = null,
	) {}

	/** A production webhook's URL as the platforms are given it: the front's when there is one. */
	webhookUrl(webhookId: string): string {
		return this.gate ? `${this.gate.url}/webhook/${webhookId}/webhook` : this.main.webhookUrl(webhookId);
	}

	/** Environment shared by the main and the workers (besides ports and the user folder). */
	static queueEnvironment(tag: string, database: string, encryptionKey: string): Record<string, string> {
		return {
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: REDIS.host,
			QUEUE_BULL_REDIS_PORT: String(REDIS.port),
			// Other deployments may share this Redis: a queue and pub/sub channels of its own.
			QUEUE_BULL_PREFIX: `clawgate-bull-${tag}`,
			N8N_REDIS_KEY_PREFIX: `clawgate-n8n-${tag}`,
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: POSTGRES.host,
			DB_POSTGRESDB_PORT: String(POSTGRES.port),
			DB_POSTGRESDB_DATABASE: database,
			DB_POSTGRESDB_USER: POSTGRES.user,
			DB_POSTGRESDB_PASSWORD: POSTGRES.password,
			// n8n's default of 2 connections per process starves under load: queries queue, the health
			// ping times out after 5 s, and the main answers every webhook 503 "Database is not ready!".
			DB_POSTGRESDB_POOL_SIZE: '10',
			N8N_ENCRYPTION_KEY: encryptionKey,
			N8N_LOG_LEVEL: 'info',
		};
	}

	static async start({ credentials, workflows, workers = 2, readinessGate = false }: QueueDeploymentOptions): Promise<QueueDeployment> {
		const tag = randomBytes(4).toString('hex');
		const database = `clawgate_queue_${tag}`;
		const encryptionKey = runtime.newEncryptionKey();
		const env = QueueDeployment.queueEnvironment(tag, database, encryptionKey);
		const redisPrefixes = [env.QUEUE_BULL_PREFIX, env.N8N_REDIS_KEY_PREFIX];
		await withPostgres('postgres', (client) => client.query(`CREATE DATABASE ${database}`));
		let main: N8nInstance | null = null;
		let gate: ReadinessGate | null = null;
		const started: WorkerProcess[] = [];
		try {
			if (readinessGate) {
				gate = await ReadinessGate.open();
				Object.assign(env, gate.env);
			}
			// Imports (which also migrate the database) and publishes before the main boots, as in every e2e test.
			main = await N8nInstance.start({ credentials: typeof credentials === 'function' ? credentials(database) : credentials, workflows, env });
			if (gate) gate.target = main.baseUrl;
			const userFolder = main.userFolder;
			for (let index = 1; index <= workers; index++) {
				const [port, brokerPort, healthPort] = [await runtime.freePort(), await runtime.freePort(), await runtime.freePort()];
				const workerEnv = runtime.n8nEnvironment({
					userFolder,
					port,
					brokerPort,
					encryptionKey,
					extra: {
						...env,
						QUEUE_HEALTH_CHECK_ACTIVE: 'true',
						QUEUE_HEALTH_CHECK_PORT: String(healthPort),
						N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
						// Workers sharing a user folder would otherwise append to one n8nEventLog-worker.log.
						N8N_EVENTBUS_LOGWRITER_LOGFULLPATH: join(userFolder, '.n8n', `worker-${index}`, 'n8nEventLog.log'),
					},
				});
				started.push(new WorkerProcess(`worker ${index}`, workerEnv, `http://127.0.0.1:${healthPort}`));
			}
			await Promise.all(started.map((worker) => worker.start()));
			return new QueueDeployment(main, started, database, redisPrefixes, gate);
		} catch (error) {
			await new QueueDeployment(main as N8nInstance, started, database, redisPrefixes, gate).stop();
			throw error;
		}
	}

	/** All worker logs, for secret and error checks. */
	get workerLogs(): string {
		return this.workers.map((worker) => worker.log).join('\n');
	}

	async stop(): Promise<void> {
		await Promise.all(this.workers.map((worker) => worker.stop()));
		// CLAWGATE_E2E_LOG_DIR keeps the workers' output beside the main's (which N8nInstance keeps).
		if (process.env.CLAWGATE_E2E_LOG_DIR) {
			mkdirSync(process.env.CLAWGATE_E2E_LOG_DIR, { recursive: true });
			for (const [index, worker] of this.workers.entries()) writeFileSync(join(process.env.CLAWGATE_E2E_LOG_DIR, `${this.database}-worker-${index + 1}.log`), worker.log);
		}
		await this.gate?.stop();
		await this.main?.stop();
		await withPostgres('postgres', (client) => client.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`));
		await deleteRedisKeys(this.redisPrefixes);
	}
}
