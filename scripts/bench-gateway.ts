/**
 * `npm run bench` (not part of the test suite): what a Clawgate workflow costs in a real n8n,
 * next to the cheapest possible Telegram round trip in n8n and to n8n's own AI Agent wiring.
 *
 * One real n8n 2.40.7 (regular mode, SQLite, the e2e harness: package installed the community
 * way) runs three active workflows, each fed Telegram updates by webhook from its own Telegram
 * emulator (one bot, one webhook) and answering through it; the model is the OpenAI-compatible
 * emulator answering at once with a fixed text:
 *   1. floor     n8n Webhook → HTTP Request (sendMessage). No AI, no memory.
 *   2. clawgate  examples/telegram-ai-bot.json: Telegram Trigger → AI Session (SQLite) → Telegram Send.
 *   3. built-in  n8n's Telegram Trigger → AI Agent (OpenAI Chat Model, Simple Memory) → Telegram.
 * Throughput and latency at concurrency 1, 8 and 32 over 100 sessions, rounds interleaved; then
 * again on a second n8n tuned for throughput (EXECUTIONS_DATA_SAVE_ON_SUCCESS=none); then
 * Clawgate with 10 vs 2,000 stored turns per session and on the Redis and Postgres stores; and,
 * where Clawgate runs below 0.8× the floor, a CPU profile of n8n running it.
 *
 * Prints the method and Markdown tables on stdout (progress on stderr) and writes
 * bench-results/gateway.json. Sizes: BENCH_MESSAGES, BENCH_ROUNDS, BENCH_HISTORY_MESSAGES,
 * BENCH_PROFILE_MESSAGES. Redis and Postgres: BENCH_REDIS_HOST/PORT, BENCH_PG_HOST/PORT/DATABASE/
 * USER/PASSWORD (default 127.0.0.1, test database, user postgres); rows are skipped when unreachable.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PostgresSessionStore } from '../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../nodes/core/stores/redis.store';
import { SqliteSessionStore } from '../nodes/core/stores/sqlite.store';
import type { SessionStore } from '../nodes/core/session/store';
import { loadExampleWorkflow, N8nInstance, type CredentialFixture, type WorkflowFixture } from '../test/e2e/harness';
import { OpenAiEmulator } from '../test/emulators/openai';
import { TelegramEmulator } from '../test/emulators/telegram';
import { summarizeCpuProfile, type ProfileSummary } from './bench/cpu-profile';
import {
	postgresReachable,
	redisReachable,
	removePostgresData,
	removeRedisData,
	seedHistory,
	telegramSessionId,
	type PostgresTarget,
	type RedisTarget,
} from './bench/history';
import { median, percentile, rotated, runBatch, type BatchResult, type LoadTarget } from './bench/load';
import { findN8nPid, readMemory, type Memory } from './bench/n8n-process';
import { builtinWorkflow, clawgateWorkflow, exampleCredentialIds, floorWorkflow, MODEL, openAiCredential, REPLY_TEXT, type FlowName } from './bench/workflows';

const runtime = require('./n8n-runtime.js');
const { N8N_VERSION } = require('./n8n-install.js');

const CONCURRENCIES = [1, 8, 32];
const SESSIONS = 100;
const MESSAGES = numberFromEnv('BENCH_MESSAGES', 100);
const ROUNDS = numberFromEnv('BENCH_ROUNDS', 3);
const WARMUP_MESSAGES = 30;
const HISTORY_MESSAGES = numberFromEnv('BENCH_HISTORY_MESSAGES', 60);
const HISTORY_ROUNDS = numberFromEnv('BENCH_HISTORY_ROUNDS', 2);
const HISTORY_SIZES = [10, 2_000];
/** Seeded turns of about this many tokens, so that 10 of them already overfill the window below. */
const SEEDED_TURN_TOKENS = 80;
/** A small window for the history table, so that every size sends the model the same number of turns. */
const HISTORY_SESSION_OPTIONS = { contextWindow: 1_024, maxOutputTokens: 256, safetyMargin: 64 };
const PROFILE_MESSAGES = numberFromEnv('BENCH_PROFILE_MESSAGES', 300);
const RATIO_TARGET = 0.8;
const TUNED_ENV = { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' };
const FLOWS: FlowName[] = ['floor', 'clawgate', 'builtin'];
const FLOW_LABEL: Record<FlowName, string> = { floor: 'floor (Webhook → HTTP Request)', clawgate: 'Clawgate (example workflow)', builtin: 'n8n built-in (AI Agent + Simple Memory)' };

const REDIS: RedisTarget = { host: process.env.BENCH_REDIS_HOST ?? '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT ?? 6379) };
const POSTGRES: PostgresTarget = {
	host: process.env.BENCH_PG_HOST ?? '127.0.0.1',
	port: Number(process.env.BENCH_PG_PORT ?? 5432),
	database: process.env.BENCH_PG_DATABASE ?? 'test',
	user: process.env.BENCH_PG_USER ?? 'postgres',
	password: process.env.BENCH_PG_PASSWORD ?? '',
};

const RESULTS_DIR = path.join(runtime.REPO_ROOT, 'bench-results');
const CHAT_IDS = Array.from({ length: SESSIONS }, (_, index) => 5_000 + index);

function numberFromEnv(name: string, fallback: number): number {
	const value = Number(process.env[name]);
	return Number.isInteger(value) && value > 0 ? value : fallback;
}

function progress(line: string): void {
	process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Everything started is stopped once, in reverse order, at the end, on failure and on Ctrl-C

const cleanups: Array<{ name: string; run: () => Promise<unknown> }> = [];
let interrupted = false;

function onCleanup(name: string, run: () => Promise<unknown>): () => Promise<void> {
	const entry = { name, run };
	cleanups.push(entry);
	return async () => {
		const index = cleanups.indexOf(entry);
		if (index === -1) return;
		cleanups.splice(index, 1);
		await run();
	};
}

async function cleanUpEverything(): Promise<void> {
	while (cleanups.length > 0) {
		const { name, run } = cleanups.pop()!;
		try {
			await run();
		} catch (error) {
			progress(`cleaning up ${name} failed: ${(error as Error).message}`);
		}
	}
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (interrupted) return;
		interrupted = true;
		progress(`${signal}: stopping every n8n and emulator...`);
		void cleanUpEverything().finally(() => process.exit(130));
	});
}

/** User folders of the n8n instances running; their processes are ended if this one exits without cleaning up. */
const runningN8n = new Set<string>();
process.on('exit', () => {
	for (const userFolder of runningN8n) {
		const pid = findN8nPid(userFolder);
		if (pid !== null) process.kill(pid, 'SIGTERM');
	}
});

function checkInterrupted(): void {
	if (interrupted) throw new Error('Interrupted.');
}

// ---------------------------------------------------------------------------------------------
// n8n

interface RestWorkflow {
	versionId: string;
}

/** Publishes workflows the way the editor's Publish button does (one REST call each, no restart). */
async function publish(n8n: N8nInstance, workflowIds: string[]): Promise<void> {
	for (const id of workflowIds) {
		const { data } = await n8n.api<{ data: RestWorkflow }>(`/rest/workflows/${id}`);
		await n8n.api(`/rest/workflows/${id}/activate`, { method: 'POST', body: JSON.stringify({ versionId: data.versionId }) });
	}
}

async function startEmulators(...emulators: Array<TelegramEmulator | OpenAiEmulator>): Promise<void> {
	for (const emulator of emulators) {
		await emulator.start();
		onCleanup(`the ${emulator.server.name} emulator`, () => emulator.stop());
	}
}

async function startN8n(label: string, options: Parameters<typeof N8nInstance.start>[0]): Promise<{ n8n: N8nInstance; stop: () => Promise<void> }> {
	progress(`${label}: starting n8n ${N8N_VERSION} (install the package, import, boot)...`);
	const started = Date.now();
	const n8n = await N8nInstance.start(options);
	runningN8n.add(n8n.userFolder);
	const stop = onCleanup(`n8n (${label})`, async () => {
		await n8n.stop();
		runningN8n.delete(n8n.userFolder);
	});
	progress(`${label}: n8n ready at ${n8n.baseUrl} in ${Math.round((Date.now() - started) / 1000)} s`);
	return { n8n, stop };
}

function memoryOf(n8n: N8nInstance): Memory | null {
	return readMemory(findN8nPid(n8n.userFolder));
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface BatchRecord {
	round: number;
	concurrency: number;
	throughput: number;
	wallMs: number;
	p50: number;
	p95: number;
	p99: number;
	errors: string[];
	redeliveries: number;
	/** Median number of messages (system prompt, history, new message) in the batch's model requests. */
	promptMessages: number;
	latenciesMs: number[];
}

interface Cell {
	concurrency: number;
	/** Median of the rounds' throughputs, and its range. */
	throughput: number;
	throughputMin: number;
	throughputMax: number;
	/** Percentiles over every message of every round. */
	p50: number;
	p95: number;
	p99: number;
	messages: number;
	errors: number;
	redeliveries: number;
	promptMessages: number;
}

function cellOf(batches: BatchRecord[], concurrency: number): Cell {
	const mine = batches.filter((batch) => batch.concurrency === concurrency);
	const latencies = mine.flatMap((batch) => batch.latenciesMs);
	const throughputs = mine.map((batch) => batch.throughput);
	return {
		concurrency,
		throughput: median(throughputs),
		throughputMin: Math.min(...throughputs),
		throughputMax: Math.max(...throughputs),
		p50: percentile(latencies, 50),
		p95: percentile(latencies, 95),
		p99: percentile(latencies, 99),
		messages: latencies.length,
		errors: mine.reduce((sum, batch) => sum + batch.errors.length, 0),
		redeliveries: mine.reduce((sum, batch) => sum + batch.redeliveries, 0),
		promptMessages: median(mine.map((batch) => batch.promptMessages).filter(Number.isFinite)),
	};
}

/** The batch's model requests (one flow runs at a time), forgotten afterwards to keep the emulator small. */
function takePromptSizes(model: OpenAiEmulator): number {
	const sizes = model.bodies().map((body) => body.messages.length);
	model.server.requests.length = 0;
	return sizes.length > 0 ? median(sizes) : Number.NaN;
}

function record(round: number, result: BatchResult, promptMessages: number): BatchRecord {
	return {
		round,
		concurrency: result.concurrency,
		throughput: result.throughput,
		wallMs: result.wallMs,
		p50: percentile(result.latenciesMs, 50),
		p95: percentile(result.latenciesMs, 95),
		p99: percentile(result.latenciesMs, 99),
		errors: result.errors.slice(0, 5),
		redeliveries: result.redeliveries,
		promptMessages,
		latenciesMs: result.latenciesMs.map((ms) => Math.round(ms * 10) / 10),
	};
}

async function warmUp(name: string, target: LoadTarget, model: OpenAiEmulator): Promise<void> {
	const result = await runBatch(target, { messages: WARMUP_MESSAGES, concurrency: 4, stopped: () => interrupted });
	takePromptSizes(model);
	checkInterrupted();
	if (result.errors.length > 0) throw new Error(`Warm-up of ${name} failed: ${result.errors[0]}`);
}

/**
 * Rounds × concurrencies × targets, interleaved: within a round every concurrency runs each
 * target in turn, and the order of the targets rotates, so drift reaches all of them equally.
 */
async function interleavedRounds<Name extends string>(
	label: string,
	targets: Record<Name, LoadTarget>,
	model: OpenAiEmulator,
	rounds: number,
	messages: number,
): Promise<Record<Name, BatchRecord[]>> {
	const names = Object.keys(targets) as Name[];
	const batches = Object.fromEntries(names.map((name) => [name, [] as BatchRecord[]])) as Record<Name, BatchRecord[]>;
	for (let round = 1; round <= rounds; round++) {
		for (const [step, concurrency] of CONCURRENCIES.entries()) {
			for (const name of rotated(names, round + step)) {
				checkInterrupted();
				const result = await runBatch(targets[name], { messages, concurrency, stopped: () => interrupted });
				checkInterrupted();
				batches[name].push(record(round, result, takePromptSizes(model)));
				const errors = `${result.errors.length > 0 ? `, ${result.errors.length} errors (${result.errors[0]})` : ''}${result.redeliveries > 0 ? `, ${result.redeliveries} redeliveries` : ''}`;
				progress(`${label} round ${round}/${rounds} c=${concurrency} ${name}: ${result.throughput.toFixed(1)} msg/s, p50 ${percentile(result.latenciesMs, 50).toFixed(0)} ms${errors}`);
			}
		}
	}
	return batches;
}

// ---------------------------------------------------------------------------------------------
// Table 1: the three flows on one n8n

interface ComparisonResult {
	settings: string;
	env: Record<string, string>;
	memory: { afterBoot: Memory | null; afterWarmUp: Memory | null; afterRounds: Memory | null };
	flows: Record<FlowName, { cells: Cell[]; batches: BatchRecord[] }>;
	/** Throughput ratios per concurrency (medians of the rounds). */
	ratios: Array<{ concurrency: number; clawgateToFloor: number; clawgateToBuiltin: number }>;
}

interface HistoryVariant {
	key: string;
	label: string;
	store: 'sqlite' | 'redis' | 'postgres';
	storedTurns: number;
	bot: TelegramEmulator;
	suffix: string;
}

interface HistoryResult {
	variants: Array<{ key: string; label: string; store: string; storedTurns: number; cells: Cell[]; batches: BatchRecord[] }>;
	skipped: string[];
	seedSeconds: number;
}

async function runComparison(
	settings: string,
	env: Record<string, string>,
	model: OpenAiEmulator,
	example: WorkflowFixture,
	history: { variants: HistoryVariant[]; skipped: string[] } | null,
): Promise<{ comparison: ComparisonResult; history: HistoryResult | null }> {
	const ids = exampleCredentialIds(example);
	const bots = {
		floor: new TelegramEmulator({ username: 'bench_floor_bot' }),
		clawgate: new TelegramEmulator({ username: 'bench_clawgate_bot' }),
		builtin: new TelegramEmulator({ username: 'bench_builtin_bot' }),
	};
	await startEmulators(...Object.values(bots), ...(history?.variants.map((variant) => variant.bot) ?? []));

	const builtinCredential = { id: 'BenchTgBuiltin01', name: 'Bench built-in bot' };
	const floor = floorWorkflow(bots.floor, 'bench-floor');
	const clawgate = clawgateWorkflow(example);
	const builtin = builtinWorkflow(builtinCredential, ids.openAi);
	const credentials: CredentialFixture[] = [
		{ ...ids.telegram, type: 'clawgateTelegramApi', data: { accessToken: bots.clawgate.token, baseUrl: bots.clawgate.apiRoot } },
		{ ...builtinCredential, type: 'telegramApi', data: { accessToken: bots.builtin.token, baseUrl: bots.builtin.apiRoot } },
		openAiCredential(model, ids.openAi),
	];
	const historyWorkflows: WorkflowFixture[] = [];
	for (const variant of history?.variants ?? []) {
		const telegramCredentialId = `BenchTgHist${variant.suffix}`;
		credentials.push({ id: telegramCredentialId, name: `Bench bot ${variant.suffix}`, type: 'clawgateTelegramApi', data: { accessToken: variant.bot.token, baseUrl: variant.bot.apiRoot } });
		historyWorkflows.push(
			clawgateWorkflow(example, {
				suffix: variant.suffix,
				telegramCredentialId,
				store: variant.store,
				storeCredentialId: variant.store === 'sqlite' ? undefined : `BenchStore${variant.store}`,
				sessionOptions: HISTORY_SESSION_OPTIONS,
			}),
		);
	}
	if (history?.variants.some((variant) => variant.store === 'redis')) {
		credentials.push({ id: 'BenchStoreredis', name: 'Bench redis', type: 'redis', data: { host: REDIS.host, port: REDIS.port, database: 0, password: '' } });
	}
	if (history?.variants.some((variant) => variant.store === 'postgres')) {
		credentials.push({ id: 'BenchStorepostgres', name: 'Bench postgres', type: 'postgres', data: { ...POSTGRES, ssl: 'disable' } });
	}

	const { n8n, stop } = await startN8n(settings, { credentials, workflows: [floor, clawgate, builtin, ...historyWorkflows], activate: [], env });
	try {
		const afterBoot = memoryOf(n8n);
		await publish(n8n, [floor.id, clawgate.id, builtin.id]);
		await Promise.all([bots.clawgate, bots.builtin].map((bot) => bot.waitForCall('setWebhook', undefined, 60_000)));
		const targets: Record<FlowName, LoadTarget> = {
			floor: { bot: bots.floor, webhookUrl: `${n8n.baseUrl}/webhook/bench-floor`, chatIds: CHAT_IDS },
			clawgate: { bot: bots.clawgate, chatIds: CHAT_IDS },
			builtin: { bot: bots.builtin, chatIds: CHAT_IDS },
		};
		for (const flow of FLOWS) await warmUp(flow, targets[flow], model);
		const afterWarmUp = memoryOf(n8n);
		progress(`${settings}: warmed up; ${ROUNDS} rounds × ${CONCURRENCIES.length} concurrencies × ${FLOWS.length} flows × ${MESSAGES} messages`);
		const batches = await interleavedRounds(settings, targets, model, ROUNDS, MESSAGES);
		const afterRounds = memoryOf(n8n);

		const flows = Object.fromEntries(FLOWS.map((flow) => [flow, { cells: CONCURRENCIES.map((c) => cellOf(batches[flow], c)), batches: batches[flow] }])) as ComparisonResult['flows'];
		const ratios = CONCURRENCIES.map((concurrency, index) => ({
			concurrency,
			clawgateToFloor: flows.clawgate.cells[index].throughput / flows.floor.cells[index].throughput,
			clawgateToBuiltin: flows.clawgate.cells[index].throughput / flows.builtin.cells[index].throughput,
		}));
		const comparison: ComparisonResult = { settings, env, memory: { afterBoot, afterWarmUp, afterRounds }, flows, ratios };

		const historyResult = history ? await runHistory(n8n, model, history.variants, history.skipped, historyWorkflows) : null;
		return { comparison, history: historyResult };
	} finally {
		await stop();
	}
}

// ---------------------------------------------------------------------------------------------
// Table 2: stored history and stores (on the default n8n, after table 1)

async function runHistory(n8n: N8nInstance, model: OpenAiEmulator, variants: HistoryVariant[], skipped: string[], workflows: WorkflowFixture[]): Promise<HistoryResult> {
	// The SQLite store is seeded while n8n is stopped, in the file the AI Session node uses by default.
	progress('history: stopping n8n to seed the stores...');
	await n8n.halt();
	const seedStarted = Date.now();
	const sqliteFile = path.join(runtime.n8nDataDir(n8n.userFolder), 'clawgate', 'sessions.sqlite');
	for (const variant of variants) {
		checkInterrupted();
		const store: SessionStore =
			variant.store === 'sqlite'
				? new SqliteSessionStore({ filename: sqliteFile })
				: variant.store === 'redis'
					? new RedisSessionStore({ host: REDIS.host, port: REDIS.port, database: 0 })
					: new PostgresSessionStore({ ...POSTGRES, ssl: false });
		try {
			await seedHistory(store, CHAT_IDS.map((chatId) => telegramSessionId(variant.bot.bot.id, chatId)), variant.storedTurns, SEEDED_TURN_TOKENS);
		} finally {
			await store.close();
		}
		progress(`history: seeded ${SESSIONS} sessions × ${variant.storedTurns} turns for ${variant.label}`);
	}
	const seedSeconds = (Date.now() - seedStarted) / 1000;
	await n8n.restart();
	await publish(n8n, workflows.map((workflow) => workflow.id));
	await Promise.all(variants.map((variant) => variant.bot.waitForCall('setWebhook', undefined, 60_000)));
	const targets = Object.fromEntries(variants.map((variant) => [variant.key, { bot: variant.bot, chatIds: CHAT_IDS }])) as Record<string, LoadTarget>;
	for (const variant of variants) await warmUp(variant.label, targets[variant.key], model);
	progress(`history: ${HISTORY_ROUNDS} rounds × ${CONCURRENCIES.length} concurrencies × ${variants.length} variants × ${HISTORY_MESSAGES} messages`);
	const batches = await interleavedRounds('history', targets, model, HISTORY_ROUNDS, HISTORY_MESSAGES);
	return {
		variants: variants.map((variant) => ({
			key: variant.key,
			label: variant.label,
			store: variant.store,
			storedTurns: variant.storedTurns,
			cells: CONCURRENCIES.map((c) => cellOf(batches[variant.key], c)),
			batches: batches[variant.key],
		})),
		skipped,
		seedSeconds,
	};
}

// ---------------------------------------------------------------------------------------------
// Profile: n8n running only the Clawgate workflow, under --cpu-prof

interface ProfileResult {
	concurrency: number;
	messages: number;
	throughput: number;
	savedProfile: string;
	summary: ProfileSummary;
}

async function runProfile(model: OpenAiEmulator, example: WorkflowFixture, concurrency: number): Promise<ProfileResult> {
	const ids = exampleCredentialIds(example);
	const bot = new TelegramEmulator({ username: 'bench_profile_bot' });
	await startEmulators(bot);
	const profileDir = mkdtempSync(path.join(os.tmpdir(), 'clawgate-bench-cpuprof-'));
	onCleanup('the profile folder', async () => rmSync(profileDir, { recursive: true, force: true }));
	const { n8n, stop } = await startN8n('profile', {
		credentials: [{ ...ids.telegram, type: 'clawgateTelegramApi', data: { accessToken: bot.token, baseUrl: bot.apiRoot } }, openAiCredential(model, ids.openAi)],
		workflows: [clawgateWorkflow(example)],
		activate: [],
		env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` },
	});
	let pid: number | null = null;
	let window: { fromUs: number; toUs: number };
	let result: BatchResult;
	try {
		pid = findN8nPid(n8n.userFolder);
		await publish(n8n, [example.id]);
		await bot.waitForCall('setWebhook', undefined, 60_000);
		const target = { bot, chatIds: CHAT_IDS };
		await warmUp('clawgate (profiled)', target, model);
		const fromUs = Number(process.hrtime.bigint() / 1000n);
		result = await runBatch(target, { messages: PROFILE_MESSAGES, concurrency, stopped: () => interrupted });
		takePromptSizes(model);
		window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
		checkInterrupted();
		progress(`profile: ${result.throughput.toFixed(1)} msg/s under the profiler; stopping n8n to write the profile...`);
	} finally {
		// SIGTERM lets n8n exit normally, which is when Node writes the profile.
		await stop();
	}
	const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile') && pid !== null && name.includes(`.${pid}.`));
	if (!file) throw new Error(`n8n (pid ${pid}) wrote no CPU profile into ${profileDir}: ${readdirSync(profileDir).join(', ') || 'empty'}`);
	mkdirSync(RESULTS_DIR, { recursive: true });
	const savedProfile = path.join(RESULTS_DIR, 'gateway-clawgate.cpuprofile');
	copyFileSync(path.join(profileDir, file), savedProfile);
	return { concurrency, messages: PROFILE_MESSAGES, throughput: result.throughput, savedProfile, summary: summarizeCpuProfile(savedProfile, window) };
}

// ---------------------------------------------------------------------------------------------
// Report

const f1 = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
const f2 = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '–');
const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 1 : 0) : '–');
const mib = (memory: Memory | null | undefined) => (memory ? memory.rssMiB.toFixed(0) : '–');
const pct = (share: number) => `${(share * 100).toFixed(1)} %`;

function table(header: string[], rows: string[][]): string {
	return [`| ${header.join(' | ')} |`, `| ${header.map((cell) => (/^(msg|p\d|ms|RSS|ratio|share|time|errors|×)/.test(cell) ? '---:' : '---')).join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** 1-minute load averages sampled during the run: other work on the machine skews every number. */
const loadAverages: number[] = [];

function methodText(comparisons: ComparisonResult[], history: HistoryResult | null, totalMessages: number): string {
	const cpu = os.cpus();
	const load = loadAverages.length > 0 ? `; 1-minute load average during the run ${Math.min(...loadAverages).toFixed(1)}–${Math.max(...loadAverages).toFixed(1)} (the benchmark alone keeps about 2 busy)` : '';
	return [
		'## Method',
		'',
		`- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.versions.node}${load}.`,
		`- n8n ${N8N_VERSION}, regular mode, SQLite database, started by the e2e harness (test/e2e/harness.ts): this package packed and installed the community way, credentials and workflows imported with n8n's CLI, then published through n8n's REST API (the editor's Publish button). Default settings save every execution (EXECUTIONS_DATA_SAVE_ON_SUCCESS=all), as a fresh install does; "tuned" is a second n8n started with ${Object.entries(TUNED_ENV).map(([k, v]) => `${k}=${v}`).join(', ')}.`,
		'- Each workflow has its own Telegram emulator (one bot, one webhook) in the benchmark process. Updates are POSTed to the workflow\'s production webhook (with the secret token each trigger registered through setWebhook); a message is done when the emulator receives the bot\'s sendMessage for that chat. The model is the OpenAI-compatible emulator (Chat Completions, no latency, fixed answer "' + REPLY_TEXT + '").',
		'- Flows: (1) floor: n8n Webhook → HTTP Request POST sendMessage (token in the URL, no credential, no AI, no memory). (2) Clawgate: examples/telegram-ai-bot.json unchanged (Clawgate Telegram Trigger → AI Session, SQLite store, defaults → Clawgate Telegram Send). (3) n8n built-in: Telegram Trigger v1.5 (Trigger On: message) → AI Agent v3.1 (same system prompt) with OpenAI Chat Model v1.3 (`' + MODEL + '`, openAiApi credential Base URL → emulator) and Simple Memory v1.3 (window 5, key = chat id) → Telegram v1.2 sendMessage (telegramApi credential Base URL → emulator). Two settings differ from a new canvas: "Use Responses API" is off (the emulator, like most OpenAI-compatible servers, serves Chat Completions, which is what Clawgate calls) and "Append n8n Attribution" is off (so every flow sends the same text).',
		`- Load: closed loop. c concurrent users each post an update and wait for its reply before posting the next; ${SESSIONS} sessions (chat ids) taken in turn, never two messages in flight in one chat. Per (flow, concurrency, round) ${MESSAGES} messages; concurrency ${CONCURRENCIES.join(', ')}; ${ROUNDS} rounds. In every round each concurrency runs the three flows back to back, the flow order rotating, so drift hits all three alike. ${WARMUP_MESSAGES} warm-up messages per flow (concurrency 4) before the first round are not counted. ${totalMessages.toLocaleString('en-US')} measured messages in all.`,
		'- Throughput = answered messages ÷ (last sendMessage received − first update posted) of one batch; the table shows the median of the rounds and the range. Latency = update posted → sendMessage received, percentiles (nearest rank) over all messages of all rounds. Ratios divide median throughputs.',
		'- RSS = VmRSS of the n8n process (/proc/<pid>/status; the pid is found by its `n8n start` command line and working directory), after boot, after warm-up and after the last round; "peak" is VmHWM. With three flows in one process, memory growth cannot be split by flow.',
		...(history
			? [
					`- Stored history: the Clawgate example with AI Session options Context Window ${HISTORY_SESSION_OPTIONS.contextWindow}, Max Output Tokens ${HISTORY_SESSION_OPTIONS.maxOutputTokens}, Safety Margin ${HISTORY_SESSION_OPTIONS.safetyMargin}, so every variant sends the model the same ~8 turns and only the stored history differs. ${SESSIONS} sessions per variant seeded with ${HISTORY_SIZES.join(' or ')} turns of ~${SEEDED_TURN_TOKENS} tokens through the store classes the node uses (SQLite: SqliteSessionStore on <user folder>/.n8n/clawgate/sessions.sqlite while n8n was stopped; Redis and Postgres: n8n's own redis and postgres credentials, default key prefix/table names, rows removed afterwards); seeding took ${history.seedSeconds.toFixed(0)} s. Same n8n as the default table (restarted after seeding), ${HISTORY_ROUNDS} rounds × ${HISTORY_MESSAGES} messages per (variant, concurrency), interleaved the same way.`,
				]
			: []),
		`- Profile: when Clawgate's throughput is below ${RATIO_TARGET}× the floor's, a third n8n runs the Clawgate workflow alone with NODE_OPTIONS=--cpu-prof; after warm-up, ${PROFILE_MESSAGES} messages at the concurrency with the lowest ratio; only the samples taken during those messages are counted. Built-ins (JSON, RegExp, ...) are billed to the script that called them.`,
		`- Settings compared: ${comparisons.map((comparison) => comparison.settings).join(', ')}.`,
	].join('\n');
}

function report(comparisons: ComparisonResult[], history: HistoryResult | null, profile: ProfileResult | null, profileNote: string, totalMessages: number, totalSeconds: number): string {
	const out: string[] = [methodText(comparisons, history, totalMessages), ''];

	out.push('## Throughput and latency', '');
	const rows: string[][] = [];
	for (const comparison of comparisons) {
		for (const flow of FLOWS) {
			for (const cell of comparison.flows[flow].cells) {
				rows.push([
					comparison.settings,
					FLOW_LABEL[flow],
					String(cell.concurrency),
					f1(cell.throughput),
					`${f1(cell.throughputMin)}–${f1(cell.throughputMax)}`,
					ms(cell.p50),
					ms(cell.p95),
					ms(cell.p99),
					Number.isFinite(cell.promptMessages) ? String(cell.promptMessages) : '–',
					`${cell.errors} / ${cell.redeliveries}`,
				]);
			}
		}
	}
	out.push(table(['n8n settings', 'flow', 'c', 'msg/s (median)', 'msg/s range', 'p50 ms', 'p95 ms', 'p99 ms', 'messages per model request', 'errors / redeliveries'], rows), '');

	out.push('## Ratios (Clawgate throughput ÷ other)', '');
	out.push(
		table(
			['n8n settings', 'c', 'ratio Clawgate / floor', 'ratio Clawgate / built-in'],
			comparisons.flatMap((comparison) => comparison.ratios.map((ratio) => [comparison.settings, String(ratio.concurrency), `${f2(ratio.clawgateToFloor)}×`, `${f2(ratio.clawgateToBuiltin)}×`])),
		),
		'',
	);

	out.push('## n8n memory', '');
	out.push(
		table(
			['n8n settings', 'RSS after boot MiB', 'RSS after warm-up MiB', 'RSS after rounds MiB', 'RSS peak MiB'],
			comparisons.map((comparison) => [comparison.settings, mib(comparison.memory.afterBoot), mib(comparison.memory.afterWarmUp), mib(comparison.memory.afterRounds), comparison.memory.afterRounds ? comparison.memory.afterRounds.peakMiB.toFixed(0) : '–']),
		),
		'',
	);

	if (history) {
		out.push('## Clawgate: stored history and stores (default n8n settings)', '');
		const historyRows = history.variants.flatMap((variant) =>
			variant.cells.map((cell) => [
				variant.label,
				String(cell.concurrency),
				f1(cell.throughput),
				`${f1(cell.throughputMin)}–${f1(cell.throughputMax)}`,
				ms(cell.p50),
				ms(cell.p95),
				ms(cell.p99),
				String(cell.promptMessages),
				`${cell.errors} / ${cell.redeliveries}`,
			]),
		);
		out.push(table(['store, stored turns per session', 'c', 'msg/s (median)', 'msg/s range', 'p50 ms', 'p95 ms', 'p99 ms', 'messages per model request', 'errors / redeliveries'], historyRows));
		for (const note of history.skipped) out.push('', `Skipped: ${note}`);
		out.push('');
	}

	out.push('## Profile', '');
	if (!profile) {
		out.push(profileNote, '');
	} else {
		const { summary } = profile;
		out.push(
			`Clawgate workflow alone, ${profile.messages} messages at concurrency ${profile.concurrency} (${f1(profile.throughput)} msg/s under the profiler). Busy CPU in the window: ${f1(summary.busyMs / 1000)} s of ${f1(summary.windowMs / 1000)} s${summary.windowed ? '' : ' (whole profile: the load window could not be matched)'}. Functions of this package were on the stack for ${pct(summary.underClawgate.share)} of the busy time (everything they called included). Profile: ${path.relative(runtime.REPO_ROOT, profile.savedProfile)} (open in Chrome DevTools).`,
			'',
		);
		out.push(table(['owner', 'time s', 'share of busy'], summary.byOwner.map((entry) => [entry.owner, f2(entry.ms / 1000), entry.owner === 'idle' ? '–' : pct(entry.share)])), '');
		const costRows = (costs: ProfileSummary['topSelf']) => costs.map((cost) => [cost.owner, `\`${cost.where}\``, f2(cost.ms / 1000), pct(cost.share)]);
		out.push('Top functions by self time (all owners):', '', table(['owner', 'function', 'time s', 'share of busy'], costRows(summary.topSelf)), '');
		out.push('This package, by time on the stack (inclusive):', '', table(['owner', 'function', 'time s', 'share of busy'], costRows(summary.topInclusiveClawgate)), '');
		out.push('This package, by self time:', '', table(['owner', 'function', 'time s', 'share of busy'], costRows(summary.topSelfClawgate)), '');
		out.push(
			'Dependencies of this package, by self time:',
			'',
			table(['package', 'time s', 'share of busy'], summary.clawgateDependencies.slice(0, 8).map((entry) => [entry.name, f2(entry.ms / 1000), pct(entry.share)])),
			'',
		);
		out.push('n8n and its dependencies, by self time:', '', table(['owner', 'function', 'time s', 'share of busy'], costRows(summary.topSelfN8n)), '');
	}
	out.push(`Total runtime: ${(totalSeconds / 60).toFixed(1)} min.`);
	return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
	const started = Date.now();
	const loadSampler = setInterval(() => loadAverages.push(os.loadavg()[0]), 10_000);
	loadSampler.unref();
	const example = loadExampleWorkflow('telegram-ai-bot.json');
	const model = new OpenAiEmulator({ responder: () => REPLY_TEXT });
	await startEmulators(model);

	// Table 2's variants live on the default n8n; Redis and Postgres rows need those servers.
	const skipped: string[] = [];
	const variants: HistoryVariant[] = HISTORY_SIZES.map((turns) => ({
		key: `sqlite${turns}`,
		label: `SQLite, ${turns.toLocaleString('en-US')} turns`,
		store: 'sqlite' as const,
		storedTurns: turns,
		bot: new TelegramEmulator({ username: `bench_sqlite${turns}_bot` }),
		suffix: `Sq${turns}`,
	}));
	const redisProblem = await redisReachable(REDIS);
	if (redisProblem) skipped.push(`Redis at ${REDIS.host}:${REDIS.port} is not reachable (${redisProblem}).`);
	else variants.push({ key: 'redis', label: `Redis, ${HISTORY_SIZES[0]} turns`, store: 'redis', storedTurns: HISTORY_SIZES[0], bot: new TelegramEmulator({ username: 'bench_redis_bot' }), suffix: 'Rds1' });
	const postgresProblem = await postgresReachable(POSTGRES);
	if (postgresProblem) skipped.push(`Postgres at ${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database} is not reachable (${postgresProblem}).`);
	else variants.push({ key: 'postgres', label: `Postgres, ${HISTORY_SIZES[0]} turns`, store: 'postgres', storedTurns: HISTORY_SIZES[0], bot: new TelegramEmulator({ username: 'bench_postgres_bot' }), suffix: 'Pgs1' });
	const sharedStoreBots = variants.filter((variant) => variant.store !== 'sqlite').map((variant) => variant.bot.bot.id);
	if (!redisProblem) onCleanup('the Redis keys of this run', () => removeRedisData(REDIS, sharedStoreBots));
	if (!postgresProblem) onCleanup('the Postgres rows of this run', () => removePostgresData(POSTGRES, sharedStoreBots));

	const defaults = await runComparison('default', {}, model, example, { variants, skipped });
	const tuned = await runComparison('tuned', TUNED_ENV, model, example, null);
	const comparisons = [defaults.comparison, tuned.comparison];

	const worst = comparisons.flatMap((comparison) => comparison.ratios).reduce((low, ratio) => (ratio.clawgateToFloor < low.clawgateToFloor ? ratio : low));
	let profile: ProfileResult | null = null;
	let profileNote = `Clawgate reaches at least ${RATIO_TARGET}× the floor's throughput at every concurrency (lowest: ${f2(worst.clawgateToFloor)}× at c=${worst.concurrency}); no profile was taken.`;
	if (worst.clawgateToFloor < RATIO_TARGET) {
		progress(`Clawgate is at ${f2(worst.clawgateToFloor)}× the floor at c=${worst.concurrency}: profiling`);
		profile = await runProfile(model, example, worst.concurrency);
	}

	const totalMessages = [...comparisons.flatMap((comparison) => FLOWS.flatMap((flow) => comparison.flows[flow].cells)), ...(defaults.history?.variants.flatMap((variant) => variant.cells) ?? [])].reduce(
		(sum, cell) => sum + cell.messages,
		0,
	);
	await cleanUpEverything();
	const totalSeconds = (Date.now() - started) / 1000;
	const text = report(comparisons, defaults.history, profile, profileNote, totalMessages, totalSeconds);
	process.stdout.write(`${text}\n`);

	mkdirSync(RESULTS_DIR, { recursive: true });
	const file = path.join(RESULTS_DIR, 'gateway.json');
	writeFileSync(
		file,
		`${JSON.stringify(
			{
				generatedAt: new Date().toISOString(),
				n8nVersion: N8N_VERSION,
				node: process.versions.node,
				machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: os.totalmem() / 2 ** 30 },
				method: {
					concurrencies: CONCURRENCIES,
					sessions: SESSIONS,
					messagesPerBatch: MESSAGES,
					rounds: ROUNDS,
					warmUpMessages: WARMUP_MESSAGES,
					replyText: REPLY_TEXT,
					tunedEnv: TUNED_ENV,
					history: { sizes: HISTORY_SIZES, messagesPerBatch: HISTORY_MESSAGES, rounds: HISTORY_ROUNDS, seededTurnTokens: SEEDED_TURN_TOKENS, sessionOptions: HISTORY_SESSION_OPTIONS },
					profile: { messages: PROFILE_MESSAGES, ratioTarget: RATIO_TARGET },
				},
				comparisons,
				history: defaults.history,
				profile: profile ? { ...profile, savedProfile: path.relative(runtime.REPO_ROOT, profile.savedProfile) } : { skipped: profileNote },
				totalMessages,
				totalSeconds,
			},
			null,
			2,
		)}\n`,
	);
	progress(`wrote ${path.relative(runtime.REPO_ROOT, file)}; total ${(totalSeconds / 60).toFixed(1)} min`);
	return 0;
}

main()
	.catch(async (error: Error) => {
		if (!interrupted) process.stderr.write(`\nThe benchmark failed: ${error.stack ?? error.message}\n`);
		await cleanUpEverything();
		return 1;
	})
	.then((code) => process.exit(interrupted ? 130 : code));
