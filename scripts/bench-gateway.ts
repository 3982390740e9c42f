/**
 * `npm run bench` (not part of the test suite): what a Clawgate workflow costs in a real n8n,
 * next to the cheapest possible Telegram round trip in n8n and to n8n's own AI Agent wiring.
 *
 * One real n8n 2.40.7 (regular mode, SQLite, started by the e2e harness: the package installed
 * the community way) runs three active workflows, each fed Telegram updates by webhook from its
 * own Telegram emulator (one bot, one webhook) and answering through it; the model is the
 * OpenAI-compatible emulator answering at once with a fixed text:
 *   1. floor     n8n Webhook → HTTP Request (sendMessage). No AI, no memory.
 *   2. clawgate  examples/telegram-ai-bot.json: Telegram Trigger (Webhook mode) → AI Session (SQLite) → Telegram Send.
 *   3. built-in  n8n's Telegram Trigger → AI Agent (OpenAI Chat Model, Simple Memory) → Telegram.
 * Phases, on the same n8n restarted between them:
 *   a. default settings: throughput and latency at concurrency 1, 8, 32 over 100 sessions, rounds interleaved;
 *   b. tuned for throughput (EXECUTIONS_DATA_SAVE_ON_SUCCESS=none): the same;
 *   c. lazy isolates (N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true, n8n's switch, default false): the same;
 *   d. Clawgate with 10 vs 2,000 stored turns per session (SQLite seeded while n8n is stopped), and on Redis and Postgres;
 *   e. where Clawgate runs below 0.8× the floor with default settings: a --cpu-prof profile of n8n running the floor and Clawgate.
 * It also reports the installed size of the package n8n runs, and the pack's memory share from the
 * last `npm run bench:memory` (bench-results/memory.json), which measures it.
 *
 * Prints the method and Markdown tables on stdout (progress on stderr), writes
 * bench-results/gateway.json, gateway.cpuprofile and gateway-n8n.log (n8n's output). Sizes: BENCH_MESSAGES,
 * BENCH_BATCH_SECONDS, BENCH_ROUNDS, BENCH_HISTORY_ROUNDS (0 skips the history phase), BENCH_PROFILE_MESSAGES; BENCH_SETTINGS
 * picks settings rows by name ("default,lazy isolates"). Redis and
 * Postgres: BENCH_REDIS_HOST/PORT, BENCH_PG_HOST/PORT/DATABASE/USER/PASSWORD (default 127.0.0.1,
 * database test, user postgres); their rows are skipped when the server is unreachable.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { SessionStore } from '../nodes/core/session/store';
import { PostgresSessionStore } from '../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../nodes/core/stores/redis.store';
import { SqliteSessionStore } from '../nodes/core/stores/sqlite.store';
import { loadExampleWorkflow, N8nInstance, type CredentialFixture, type WorkflowFixture } from '../test/e2e/harness';
import { OpenAiEmulator } from '../test/emulators/openai';
import { TelegramEmulator } from '../test/emulators/telegram';
import { readCpuProfile, summarizeWindow, type AreaCost, type FunctionCost, type WindowSummary } from './bench/cpu-profile';
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
import { checkInterrupted, cleanUpEverything, isInterrupted, markdownTable, numberFromEnv, onCleanup, progress, RESULTS_DIR, runMain, sampleLoadAverages, startEmulators, startRun, writeBenchResults } from './bench/run-control';
import { builtinWorkflow, clawgateWorkflow, exampleCredentialIds, floorWorkflow, MODEL, openAiCredential, REPLY_TEXT, type FlowName } from './bench/workflows';

const runtime = require('./n8n-runtime.js');
const { N8N_VERSION } = require('./n8n-install.js');
const { writeDocsSection } = require('./docs-section.js');

const CONCURRENCIES = [1, 8, 32];
const SESSIONS = 100;
/** Per (flow, concurrency, round): at most MESSAGES; no new message after BATCH_SECONDS once 2 × c went out. */
const MESSAGES = numberFromEnv('BENCH_MESSAGES', 200);
const BATCH_SECONDS = numberFromEnv('BENCH_BATCH_SECONDS', 4);
const ROUNDS = numberFromEnv('BENCH_ROUNDS', 3);
const WARMUP_MESSAGES = 12;
const HISTORY_CONCURRENCIES = [1, 8];
const HISTORY_ROUNDS = numberFromEnv('BENCH_HISTORY_ROUNDS', 2, 0);
const HISTORY_SIZES = [10, 2_000];
/** Seeded turns of about this many tokens, so that 10 of them already overfill the window below. */
const SEEDED_TURN_TOKENS = 80;
/** A small window for the history table, so that every variant sends the model the same number of turns. */
const HISTORY_SESSION_OPTIONS = { contextWindow: 1_024, maxOutputTokens: 256, safetyMargin: 64 };
const PROFILE_MESSAGES = numberFromEnv('BENCH_PROFILE_MESSAGES', 150);
const PROFILE_SECONDS = 10;
const RATIO_TARGET = 0.8;
const TUNED_ENV = { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' };
/** n8n's own switch (default false): an isolate is taken only when an expression is evaluated. */
const LAZY_ENV = { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' };
/** The settings rows, in the order they run; each restart removes the variables of the others. */
const ALL_SETTINGS: Array<{ name: string; env: Record<string, string>; floorTarget: number; builtinTarget: number }> = [
	{ name: 'default', env: {}, floorTarget: 0.8, builtinTarget: 2 },
	{ name: 'tuned', env: TUNED_ENV, floorTarget: 0.8, builtinTarget: 2 },
	{ name: 'lazy isolates', env: LAZY_ENV, floorTarget: 0.85, builtinTarget: 1 },
];
function meetsTargets(targets: { floorTarget: number; builtinTarget: number }, ratio: { clawgateToFloor: number; clawgateToBuiltin: number }): boolean {
	// A built-in target of 1 means "ahead of it", so it must be passed, not only reached.
	const builtinMet = targets.builtinTarget > 1 ? ratio.clawgateToBuiltin >= targets.builtinTarget : ratio.clawgateToBuiltin > targets.builtinTarget;
	return ratio.clawgateToFloor >= targets.floorTarget && builtinMet;
}
/** BENCH_SETTINGS="default,lazy isolates" runs some rows only (default always runs first: the profile is of it). */
const SETTINGS = ALL_SETTINGS.filter((settings) => settings.name === 'default' || !process.env.BENCH_SETTINGS || process.env.BENCH_SETTINGS.split(',').includes(settings.name));
const SETTINGS_VARIABLES = [...new Set(SETTINGS.flatMap((settings) => Object.keys(settings.env)))];
/** The environment for one settings row: its variables set, every other row's removed. */
function settingsEnv(env: Record<string, string>): Record<string, string | undefined> {
	return { ...Object.fromEntries(SETTINGS_VARIABLES.map((name) => [name, undefined])), ...env };
}
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

const CHAT_IDS = Array.from({ length: SESSIONS }, (_, index) => 5_000 + index);

// ---------------------------------------------------------------------------------------------
// n8n

/**
 * Restarts n8n (same user folder, database and webhooks) with some environment variables set or
 * removed. N8nInstance.restart() reuses the environment of start(), so that environment is
 * changed in place; a `restart({ env })` in the harness would make this unnecessary.
 */
async function restartWith(n8n: N8nInstance, changes: Record<string, string | undefined>): Promise<void> {
	const env = (n8n as unknown as { env: NodeJS.ProcessEnv }).env;
	for (const [name, value] of Object.entries(changes)) {
		if (value === undefined) delete env[name];
		else env[name] = value;
	}
	const started = Date.now();
	await n8n.restart();
	progress(`n8n restarted in ${Math.round((Date.now() - started) / 1000)} s`);
}

function memoryOf(n8n: N8nInstance): Memory | null {
	return readMemory(findN8nPid(n8n.userFolder));
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface BatchRecord {
	round: number;
	concurrency: number;
	messages: number;
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

/** The batch's model requests (one flow runs at a time), then forgotten to keep the emulator small. */
function takePromptSizes(model: OpenAiEmulator): number {
	const sizes = model.bodies().map((body) => body.messages.length);
	model.server.requests.length = 0;
	return sizes.length > 0 ? median(sizes) : Number.NaN;
}

function record(round: number, result: BatchResult, promptMessages: number): BatchRecord {
	return {
		round,
		concurrency: result.concurrency,
		messages: result.messages,
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

/** Stops the run with n8n's last words when its process is gone (every later number would be void). */
function assertN8nRunning(n8n: N8nInstance, during: string): void {
	if (findN8nPid(n8n.userFolder) !== null) return;
	const lastLines = n8n.log.trim().split('\n').slice(-30).join('\n');
	throw new Error(`n8n stopped running during ${during}. Its last output (all of it in bench-results/gateway-n8n.log):\n${lastLines}`);
}

/** One message first (a cold workflow loads its modules), then a short concurrent burst. */
async function warmUp(targets: Record<string, LoadTarget>, model: OpenAiEmulator): Promise<void> {
	for (const [name, target] of Object.entries(targets)) {
		const first = await runBatch(target, { messages: 1, concurrency: 1, stopped: isInterrupted });
		const burst = await runBatch(target, { messages: WARMUP_MESSAGES, concurrency: 4, stopped: isInterrupted });
		takePromptSizes(model);
		checkInterrupted();
		const errors = [...first.errors, ...burst.errors];
		if (errors.length > 0) throw new Error(`Warming up ${name} failed: ${errors[0]}`);
	}
}

/**
 * Rounds × concurrencies × targets, interleaved: within a round every concurrency runs each
 * target in turn, and the order of the targets rotates, so drift reaches all of them alike.
 */
async function interleavedRounds<Name extends string>(
	label: string,
	targets: Record<Name, LoadTarget>,
	model: OpenAiEmulator,
	{ rounds, concurrencies, n8n }: { rounds: number; concurrencies: number[]; n8n: N8nInstance },
): Promise<Record<Name, BatchRecord[]>> {
	const names = Object.keys(targets) as Name[];
	const batches = Object.fromEntries(names.map((name) => [name, [] as BatchRecord[]])) as Record<Name, BatchRecord[]>;
	for (let round = 1; round <= rounds; round++) {
		for (const [step, concurrency] of concurrencies.entries()) {
			for (const name of rotated(names, round + step)) {
				checkInterrupted();
				const result = await runBatch(targets[name], { messages: MESSAGES, concurrency, maxSeconds: BATCH_SECONDS, minMessages: 2 * concurrency, stopped: isInterrupted });
				checkInterrupted();
				batches[name].push(record(round, result, takePromptSizes(model)));
				if (result.latenciesMs.length === 0) assertN8nRunning(n8n, `${label}, ${name} at c=${concurrency}`);
				const problems = `${result.errors.length > 0 ? `, ${result.errors.length} errors (${result.errors[0]})` : ''}${result.redeliveries > 0 ? `, ${result.redeliveries} redeliveries` : ''}`;
				progress(`${label} round ${round}/${rounds} c=${concurrency} ${name}: ${result.messages} messages, ${result.throughput.toFixed(1)} msg/s, p50 ${percentile(result.latenciesMs, 50).toFixed(0)} ms${problems}`);
			}
		}
	}
	return batches;
}

// ---------------------------------------------------------------------------------------------
// Phases

interface ComparisonResult {
	settings: string;
	env: Record<string, string>;
	memory: { afterStart: Memory | null; afterWarmUp: Memory | null; afterRounds: Memory | null };
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
	workflow: WorkflowFixture;
}

interface HistoryResult {
	variants: Array<{ key: string; label: string; store: string; storedTurns: number; cells: Cell[]; batches: BatchRecord[] }>;
	skipped: string[];
	seedSeconds: number;
}

interface ProfileResult {
	settings: string;
	concurrency: number;
	savedProfile: string;
	/** Each load's summary, and its time span on the profile's clock (process.hrtime in µs). */
	windows: Record<'floor' | 'clawgate', WindowSummary & { fromUs: number; toUs: number; throughput: number }>;
}

async function comparisonPhase(settings: string, env: Record<string, string>, n8n: N8nInstance, targets: Record<FlowName, LoadTarget>, model: OpenAiEmulator, afterStart: Memory | null): Promise<ComparisonResult> {
	await warmUp(targets, model);
	const afterWarmUp = memoryOf(n8n);
	progress(`${settings}: warmed up; ${ROUNDS} rounds × concurrency ${CONCURRENCIES.join('/')} × ${FLOWS.length} flows`);
	const batches = await interleavedRounds(settings, targets, model, { rounds: ROUNDS, concurrencies: CONCURRENCIES, n8n });
	const afterRounds = memoryOf(n8n);
	const flows = Object.fromEntries(FLOWS.map((flow) => [flow, { cells: CONCURRENCIES.map((c) => cellOf(batches[flow], c)), batches: batches[flow] }])) as ComparisonResult['flows'];
	const ratios = CONCURRENCIES.map((concurrency, index) => ({
		concurrency,
		clawgateToFloor: flows.clawgate.cells[index].throughput / flows.floor.cells[index].throughput,
		clawgateToBuiltin: flows.clawgate.cells[index].throughput / flows.builtin.cells[index].throughput,
	}));
	return { settings, env, memory: { afterStart, afterWarmUp, afterRounds }, flows, ratios };
}

/** Seeds the stores while n8n is stopped (SQLite: the file the AI Session node uses by default), then measures. */
async function historyPhase(n8n: N8nInstance, variants: HistoryVariant[], skipped: string[], model: OpenAiEmulator): Promise<HistoryResult> {
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
	}
	const seedSeconds = (Date.now() - seedStarted) / 1000;
	progress(`history: seeded ${variants.map((variant) => `${SESSIONS} × ${variant.storedTurns} turns (${variant.store})`).join(', ')} in ${seedSeconds.toFixed(0)} s`);
	await restartWith(n8n, settingsEnv({}));
	await n8n.publish(variants.map((variant) => variant.workflow.id));
	await Promise.all(variants.map((variant) => variant.bot.waitForCall('setWebhook', undefined, 60_000)));
	const targets = Object.fromEntries(variants.map((variant) => [variant.key, { bot: variant.bot, chatIds: CHAT_IDS }])) as Record<string, LoadTarget>;
	await warmUp(targets, model);
	progress(`history: warmed up; ${HISTORY_ROUNDS} rounds × concurrency ${HISTORY_CONCURRENCIES.join('/')} × ${variants.length} variants`);
	const batches = await interleavedRounds('history', targets, model, { rounds: HISTORY_ROUNDS, concurrencies: HISTORY_CONCURRENCIES, n8n });
	return {
		variants: variants.map((variant) => ({
			key: variant.key,
			label: variant.label,
			store: variant.store,
			storedTurns: variant.storedTurns,
			cells: HISTORY_CONCURRENCIES.map((c) => cellOf(batches[variant.key], c)),
			batches: batches[variant.key],
		})),
		skipped,
		seedSeconds,
	};
}

/** Restarts n8n under --cpu-prof (in the given settings), loads the floor and then Clawgate, and reads the profile of each load window. */
async function profilePhase(n8n: N8nInstance, settingsEnv: Record<string, string | undefined>, settings: string, targets: Record<FlowName, LoadTarget>, model: OpenAiEmulator, concurrency: number): Promise<ProfileResult> {
	const profileDir = mkdtempSync(path.join(os.tmpdir(), 'clawgate-bench-cpuprof-'));
	onCleanup('the profile folder', async () => rmSync(profileDir, { recursive: true, force: true }));
	await restartWith(n8n, { ...settingsEnv, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` });
	const pid = findN8nPid(n8n.userFolder);
	const profiled = { floor: targets.floor, clawgate: targets.clawgate };
	await warmUp(profiled, model);
	const windows: Array<{ name: 'floor' | 'clawgate'; fromUs: number; toUs: number; messages: number; throughput: number }> = [];
	for (const name of ['floor', 'clawgate'] as const) {
		const fromUs = Number(process.hrtime.bigint() / 1000n);
		const result = await runBatch(profiled[name], { messages: PROFILE_MESSAGES, concurrency, maxSeconds: PROFILE_SECONDS, minMessages: 2 * concurrency, stopped: isInterrupted });
		windows.push({ name, fromUs, toUs: Number(process.hrtime.bigint() / 1000n), messages: result.latenciesMs.length, throughput: result.throughput });
		takePromptSizes(model);
		checkInterrupted();
		progress(`profile: ${name} ${result.latenciesMs.length} messages at c=${concurrency}, ${result.throughput.toFixed(1)} msg/s under the profiler`);
	}
	// A normal exit (SIGTERM) is when Node writes the profile.
	await n8n.halt();
	const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile') && name.includes(`.${pid}.`));
	if (!file) throw new Error(`n8n (pid ${pid}) wrote no CPU profile into ${profileDir}: ${readdirSync(profileDir).join(', ') || 'empty'}`);
	mkdirSync(RESULTS_DIR, { recursive: true });
	const savedProfile = path.join(RESULTS_DIR, 'gateway.cpuprofile');
	copyFileSync(path.join(profileDir, file), savedProfile);
	const profile = readCpuProfile(savedProfile);
	const summaries = Object.fromEntries(windows.map((window) => [window.name, { ...summarizeWindow(profile, window), fromUs: window.fromUs, toUs: window.toUs, throughput: window.throughput }])) as ProfileResult['windows'];
	return { settings, concurrency, savedProfile, windows: summaries };
}

// ---------------------------------------------------------------------------------------------
// Report

const f1 = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
const f2 = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '–');
const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 1 : 0) : '–');
const mib = (memory: Memory | null | undefined) => (memory ? memory.rssMiB.toFixed(0) : '–');
const pct = (share: number) => `${(share * 100).toFixed(1)} %`;

/** 1-minute load averages sampled during the run: other work on the machine slows every number. */
let loadAverages: number[] = [];

const envText = (env: Record<string, string>) => Object.entries(env).map(([name, value]) => `${name}=${value}`).join(', ');

function methodText(history: HistoryResult | null, profile: ProfileResult | null, totalMessages: number): string {
	const cpu = os.cpus();
	const load = loadAverages.length > 0 ? `; 1-minute load average during the run ${Math.min(...loadAverages).toFixed(1)}–${Math.max(...loadAverages).toFixed(1)} (the benchmark alone keeps about 2 busy)` : '';
	return [
		'## Method',
		'',
		`- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.versions.node}${load}.`,
		`- One n8n ${N8N_VERSION}: regular mode, SQLite database, started by the e2e harness (test/e2e/harness.ts): this package packed and installed the community way, credentials and workflows imported with n8n's CLI, workflows published through n8n's REST API (what the editor's Publish button calls). Phases run on the same n8n, restarted in between (same user folder and database): ${SETTINGS.map((settings) => (settings.name === 'default' ? 'default settings (every execution saved, EXECUTIONS_DATA_SAVE_ON_SUCCESS=all, as a fresh install)' : `${settings.name} (${envText(settings.env)}, nothing else changed)`)).join(', then ')}${history ? ', then stored history (default settings)' : ''}${profile ? ', then the profile' : ''}.`,
		`- Each workflow has its own Telegram emulator (one bot, one webhook), in the benchmark process. Updates are POSTed to the workflow's production webhook with the secret token each trigger registered through setWebhook; a message is done when the emulator receives the bot's sendMessage for that chat. The model is the OpenAI-compatible emulator (Chat Completions, no added latency, fixed answer "${REPLY_TEXT}").`,
		`- Flows: (1) floor: n8n Webhook → HTTP Request POST sendMessage (token in the URL, no credential, no AI, no memory). (2) Clawgate: examples/telegram-ai-bot.json (Clawgate Telegram Trigger → AI Session, SQLite store, defaults → Clawgate Telegram Send) with one change: the trigger's Mode is Webhook instead of the example's Long Polling. (3) n8n built-in: Telegram Trigger v1.5 (Trigger On: message) → AI Agent v3.1 (same system prompt) with OpenAI Chat Model v1.3 (${MODEL}; openAiApi credential Base URL → emulator) and Simple Memory v1.3 (window 5, key = chat id) → Telegram v1.2 sendMessage (telegramApi credential Base URL → emulator). Two settings differ from a new canvas: "Use Responses API" is off (the emulator, like most OpenAI-compatible servers, serves Chat Completions, which Clawgate calls too) and "Append n8n Attribution" is off (so all flows send the same text). Every built-in node could be pointed at the emulators; nothing was replaced.`,
		`- Load: closed loop. c users each post an update and wait for its reply before posting the next; ${SESSIONS} sessions (chat ids) used in turn, never two messages in flight in one chat. Per (flow, concurrency, round): up to ${MESSAGES} messages, no new one after ${BATCH_SECONDS} s once 2 × c were posted (the counts reached are in the tables). Concurrency ${CONCURRENCIES.join(', ')}; ${ROUNDS} rounds; in every round each concurrency runs the three flows back to back, the order rotating, so drift reaches all three alike. After each (re)start, 1 + ${WARMUP_MESSAGES} warm-up messages per flow are not counted. ${totalMessages.toLocaleString('en-US')} measured messages in all.`,
		'- Throughput = answered messages ÷ (last sendMessage received − first update posted) of a batch; the tables show the median of the rounds and the range. Latency = update posted → sendMessage received, percentiles (nearest rank) over all messages of all rounds (with fewer than 100 messages in a cell, p99 is its slowest message or next to it). Ratios divide median throughputs. Errors: messages not answered in 60 s; redeliveries: updates posted again after a 5xx answer, as Telegram would (n8n answers 503 "Database is not ready!" while its 5 s database ping is late).',
		'- RSS = VmRSS of the n8n process (/proc/<pid>/status; the process found by its `n8n start` command line and working directory) after the (re)start, after warm-up and after the last round; peak = VmHWM. Three flows share one process, so memory cannot be split by flow.',
		...(history
			? [
					`- Stored history: the Clawgate example with AI Session options Context Window ${HISTORY_SESSION_OPTIONS.contextWindow}, Max Output Tokens ${HISTORY_SESSION_OPTIONS.maxOutputTokens}, Safety Margin ${HISTORY_SESSION_OPTIONS.safetyMargin}, so every variant sends the model about the same number of turns and only the stored history differs. ${SESSIONS} sessions per variant seeded with ${HISTORY_SIZES.map((size) => size.toLocaleString('en-US')).join(' or ')} turns of ~${SEEDED_TURN_TOKENS} tokens through the store classes the node uses, while n8n was stopped (SQLite: SqliteSessionStore on <user folder>/.n8n/clawgate/sessions.sqlite; Redis and Postgres: the servers of n8n's redis and postgres credentials, default key prefix and table names; this run's keys and rows are deleted at the end); seeding took ${history.seedSeconds.toFixed(0)} s. ${HISTORY_ROUNDS} rounds at concurrency ${HISTORY_CONCURRENCIES.join(' and ')}, batches sized and interleaved as above.`,
				]
			: []),
		`- Profile: when Clawgate's throughput is below ${RATIO_TARGET}× the floor's at some concurrency, n8n is restarted with NODE_OPTIONS=--cpu-prof (1 ms sampling) and default settings, at the concurrency of the lowest default ratio; after warm-up, the floor and then Clawgate get up to ${PROFILE_MESSAGES} messages each (at most ${PROFILE_SECONDS} s) at that concurrency, and only the samples taken during each load are counted. A built-in's time (JSON, RegExp, ...) is billed to the script that called it. "Busy" is sampled time not idle; on a loaded machine it includes time waiting for a CPU.`,
	].join('\n');
}

function costRows(costs: FunctionCost[]): string[][] {
	return costs.map((cost) => [cost.owner, `\`${cost.where}\``, f2(cost.ms / 1000), pct(cost.share)]);
}

function report(comparisons: ComparisonResult[], history: HistoryResult | null, profile: ProfileResult | null, profileNote: string, totalMessages: number, totalSeconds: number, packageFigures: string[]): string {
	const out: string[] = [methodText(history, profile, totalMessages), ''];

	out.push('## Throughput and latency', '');
	const rows = comparisons.flatMap((comparison) =>
		FLOWS.flatMap((flow) =>
			comparison.flows[flow].cells.map((cell) => [
				comparison.settings,
				FLOW_LABEL[flow],
				String(cell.concurrency),
				f1(cell.throughput),
				`${f1(cell.throughputMin)}–${f1(cell.throughputMax)}`,
				ms(cell.p50),
				ms(cell.p95),
				ms(cell.p99),
				String(cell.messages),
				Number.isFinite(cell.promptMessages) ? String(cell.promptMessages) : '–',
				`${cell.errors} / ${cell.redeliveries}`,
			]),
		),
	);
	out.push(
		markdownTable(['n8n settings', 'flow', 'c', 'msg/s (median)', 'msg/s range', 'p50 ms', 'p95 ms', 'p99 ms', 'messages', 'messages per model request', 'errors / redeliveries'], rows, [2, 3, 5, 6, 7, 8, 9]),
		'',
	);

	out.push('## Ratios (Clawgate throughput ÷ other flow)', '');
	out.push(
		markdownTable(
			['n8n settings', 'c', 'Clawgate / floor', 'Clawgate / built-in', 'targets (floor / built-in)'],
			comparisons.flatMap((comparison) => {
				const targets = SETTINGS.find((settings) => settings.name === comparison.settings);
				return comparison.ratios.map((ratio) => [
					comparison.settings,
					String(ratio.concurrency),
					`${f2(ratio.clawgateToFloor)}×`,
					`${f2(ratio.clawgateToBuiltin)}×`,
					targets ? `≥ ${f2(targets.floorTarget)}× / ${targets.builtinTarget > 1 ? `≥ ${targets.builtinTarget}×` : 'ahead'}: ${meetsTargets(targets, ratio) ? 'met' : 'not met'}` : '–',
				]);
			}),
			[1, 2, 3],
		),
		'',
	);

	out.push('## n8n memory (RSS, MiB)', '');
	out.push(
		markdownTable(
			['n8n settings', 'after (re)start', 'after warm-up', 'after the rounds', 'peak'],
			comparisons.map((comparison) => [
				comparison.settings,
				mib(comparison.memory.afterStart),
				mib(comparison.memory.afterWarmUp),
				mib(comparison.memory.afterRounds),
				comparison.memory.afterRounds ? comparison.memory.afterRounds.peakMiB.toFixed(0) : '–',
			]),
			[1, 2, 3, 4],
		),
		'',
	);

	if (history) {
		out.push('## Clawgate: stored history and stores (default settings)', '');
		const historyRows = history.variants.flatMap((variant) =>
			variant.cells.map((cell) => [
				variant.label,
				String(cell.concurrency),
				f1(cell.throughput),
				`${f1(cell.throughputMin)}–${f1(cell.throughputMax)}`,
				ms(cell.p50),
				ms(cell.p95),
				ms(cell.p99),
				String(cell.messages),
				String(cell.promptMessages),
				`${cell.errors} / ${cell.redeliveries}`,
			]),
		);
		out.push(markdownTable(['store, stored turns per session', 'c', 'msg/s (median)', 'msg/s range', 'p50 ms', 'p95 ms', 'p99 ms', 'messages', 'messages per model request', 'errors / redeliveries'], historyRows, [1, 2, 4, 5, 6, 7, 8]));
		for (const note of history.skipped) out.push('', `Skipped: ${note}`);
		// What the delivery journal costs: the same SQLite workflow journaled and best effort, interleaved.
		const journaled = history.variants.find((variant) => variant.key === `sqlite${HISTORY_SIZES[0]}`);
		const bestEffort = history.variants.find((variant) => variant.key === `sqlite${HISTORY_SIZES[0]}NoJournal`);
		if (journaled && bestEffort) {
			const costs = HISTORY_CONCURRENCIES.map((c, index) => {
				const [on, off] = [journaled.cells[index], bestEffort.cells[index]];
				return `c=${c}: p50 ${ms(on.p50)} vs ${ms(off.p50)} ms (${on.p50 - off.p50 >= 0 ? '+' : ''}${ms(on.p50 - off.p50)} ms), ${f1(on.throughput)} vs ${f1(off.throughput)} msg/s`;
			});
			out.push('', `Delivery journal (Delivery Guarantee "At Least Once" vs "Best Effort", SQLite, same rounds): ${costs.join('; ')}. At c=1 the p50 difference is what the journal adds to each message's time in n8n (journal write before the webhook answer, answered mark, claim and receipt).`);
		}
		out.push('');
	}

	out.push('## Profile', '');
	if (!profile) {
		out.push(profileNote, '');
	} else {
		const { floor, clawgate } = profile.windows;
		out.push(
			`n8n under --cpu-prof (${profile.settings} settings), concurrency ${profile.concurrency}: floor ${floor.messages} messages (${f1(floor.throughput)} msg/s), Clawgate ${clawgate.messages} messages (${f1(clawgate.throughput)} msg/s). Busy time per message: floor ${f1(floor.busyMsPerMessage)} ms, Clawgate ${f1(clawgate.busyMsPerMessage)} ms. In the Clawgate load, functions of this package were on the stack for ${pct(clawgate.underClawgate.share)} of the busy time (${f1(clawgate.underClawgate.msPerMessage)} ms per message, everything they called included).${floor.windowed && clawgate.windowed ? '' : ' The load windows could not be matched to the samples: whole-profile numbers.'} Profile file: ${path.relative(runtime.REPO_ROOT, profile.savedProfile)} (Chrome DevTools → Performance → Load profile).`,
			'',
		);
		out.push('Busy time per message by owner:', '');
		const owners = [...new Set([...floor.byOwner, ...clawgate.byOwner].map((area) => area.area))];
		const perMessage = (summary: WindowSummary, owner: string) => summary.byOwner.find((area) => area.area === owner)?.msPerMessage ?? 0;
		out.push(
			markdownTable(
				['owner', 'floor ms/message', 'Clawgate ms/message', 'difference ms/message'],
				owners.map((owner) => [owner, f1(perMessage(floor, owner)), f1(perMessage(clawgate, owner)), f1(perMessage(clawgate, owner) - perMessage(floor, owner))]),
				[1, 2, 3],
			),
			'',
		);
		const packages = [...new Set([...floor.byArea, ...clawgate.byArea].map((area) => area.area))];
		const packageCost = (areas: AreaCost[], name: string) => areas.find((area) => area.area === name)?.msPerMessage ?? 0;
		out.push(
			'Busy time per message by package (n8n\'s packages by name; the last column is the part spent with this package\'s code on the stack):',
			'',
			markdownTable(
				['package', 'floor ms/message', 'Clawgate ms/message', 'difference ms/message', 'under Clawgate code ms/message'],
				packages
					.map((name) => [name, packageCost(floor.byArea, name), packageCost(clawgate.byArea, name), packageCost(clawgate.underClawgate.byArea, name)] as const)
					.filter(([, floorMs, clawgateMs]) => Math.max(floorMs, clawgateMs) >= 0.5)
					.sort((a, b) => b[2] - b[1] - (a[2] - a[1]))
					.map(([name, floorMs, clawgateMs, underMs]) => [name, f1(floorMs), f1(clawgateMs), f1(clawgateMs - floorMs), f1(underMs)]),
				[1, 2, 3, 4],
			),
			'',
		);
		const callers = [...new Set([...floor.expressionEngineByCaller, ...clawgate.expressionEngineByCaller].map((area) => area.area))];
		out.push(
			"Time in n8n's expression engine (@n8n/expression-runtime, isolated-vm) per message, by the nearest function on the stack outside the engine, n8n-workflow and n8n's node helpers (so a parameter read shows the node function that asked):",
			'',
			markdownTable(
				['asked for by', 'floor ms/message', 'Clawgate ms/message'],
				callers
					.map((caller) => [caller, packageCost(floor.expressionEngineByCaller, caller), packageCost(clawgate.expressionEngineByCaller, caller)] as const)
					.filter(([, floorMs, clawgateMs]) => Math.max(floorMs, clawgateMs) >= 0.5)
					.sort((a, b) => b[2] - a[2])
					.map(([caller, floorMs, clawgateMs]) => [`\`${caller}\``, f1(floorMs), f1(clawgateMs)]),
				[1, 2],
			),
			'',
		);
		out.push('Clawgate load, this package\'s functions by time on the stack (inclusive):', '', markdownTable(['owner', 'function', 'time s', 'share of busy'], costRows(clawgate.topInclusiveClawgate), [2, 3]), '');
		out.push('Clawgate load, this package\'s functions by self time:', '', markdownTable(['owner', 'function', 'time s', 'share of busy'], costRows(clawgate.topSelfClawgate), [2, 3]), '');
		out.push('Clawgate load, n8n\'s functions by self time:', '', markdownTable(['owner', 'function', 'time s', 'share of busy'], costRows(clawgate.topSelfN8n), [2, 3]), '');
		out.push('Floor load, n8n\'s functions by self time:', '', markdownTable(['owner', 'function', 'time s', 'share of busy'], costRows(floor.topSelfN8n), [2, 3]), '');
	}
	out.push('## The package: installed size and memory', '', ...packageFigures, '');
	out.push(`Total runtime: ${(totalSeconds / 60).toFixed(1)} min.`);
	return out.join('\n');
}

const MEMORY_TARGET_MIB = 50 / 1.048576;

/**
 * The installed size of the package this n8n runs (measured here), and the pack's memory share
 * from the last `npm run bench:memory`, which needs two n8n processes under the inspector and is
 * not repeated here: its date says which code it measured.
 */
function packageFigures(packageDir: string): string[] {
	const { installedSize } = require('./package-size.js') as { installedSize: (dir: string) => { total: { disk: number }; own: { disk: number }; rows: Array<{ name: string; bytes: { disk: number } }> } };
	const size = installedSize(packageDir);
	const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
	const largest = size.rows.slice(0, 5).map((row) => `${row.name} ${mb(row.bytes.disk)}`).join(', ');
	const lines = [`- Installed size (the package n8n ran in this benchmark, as the Community nodes screen installs it): ${mb(size.total.disk)} MB on disk; its own files ${mb(size.own.disk)} MB; largest dependencies (MB): ${largest}. Per dependency: \`npm run size\`.`];
	const memoryFile = path.join(RESULTS_DIR, 'memory.json');
	if (!existsSync(memoryFile)) return [...lines, '- Pack memory share: no `npm run bench:memory` result on this machine (bench-results/memory.json); run it for the figure.'];
	const memory = JSON.parse(readFileSync(memoryFile, 'utf8')) as { generatedAt: string; share: Array<{ part: string; rss: number; heapUsed: number }> };
	const figure = memory.share.at(-1)!;
	const verdict = figure.rss <= MEMORY_TARGET_MIB ? 'met' : 'not met';
	return [...lines, `- Pack memory share (from \`npm run bench:memory\` of ${memory.generatedAt}, bench-results/memory.json): ${figure.rss.toFixed(1)} MiB of RSS after GC ${figure.part} (target ≤ 50 MB = ${MEMORY_TARGET_MIB.toFixed(1)} MiB: ${verdict}), ${figure.heapUsed.toFixed(1)} MiB of heap.`];
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
	const started = Date.now();
	loadAverages = sampleLoadAverages();

	const example = loadExampleWorkflow('telegram-ai-bot.json');
	const ids = exampleCredentialIds(example);
	const model = new OpenAiEmulator({ responder: () => REPLY_TEXT });
	const bots: Record<FlowName, TelegramEmulator> = {
		floor: new TelegramEmulator({ username: 'bench_floor_bot' }),
		clawgate: new TelegramEmulator({ username: 'bench_clawgate_bot' }),
		builtin: new TelegramEmulator({ username: 'bench_builtin_bot' }),
	};

	// Stored-history variants: SQLite always; Redis and Postgres when their servers answer.
	const skipped: string[] = [];
	const stores: Array<{ store: HistoryVariant['store']; turns: number; suffix: string; journal?: boolean }> = HISTORY_SIZES.map((turns) => ({ store: 'sqlite' as const, turns, suffix: `Sq${turns}` }));
	// The delivery journal's cost: the same SQLite variant with the trigger's Delivery Guarantee set to Best Effort.
	stores.splice(1, 0, { store: 'sqlite', turns: HISTORY_SIZES[0], suffix: 'SqNoJ', journal: false });
	const redisProblem = await redisReachable(REDIS);
	if (redisProblem) skipped.push(`Redis at ${REDIS.host}:${REDIS.port} did not answer (${redisProblem}).`);
	else stores.push({ store: 'redis', turns: HISTORY_SIZES[0], suffix: 'Rds1' });
	const postgresProblem = await postgresReachable(POSTGRES);
	if (postgresProblem) skipped.push(`Postgres at ${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database} did not answer (${postgresProblem}).`);
	else stores.push({ store: 'postgres', turns: HISTORY_SIZES[0], suffix: 'Pgs1' });
	const historyBots = stores.map(({ store, turns, journal }) => new TelegramEmulator({ username: `bench_${store}${turns}${journal === false ? 'nojournal' : ''}_bot` }));
	const sharedStoreBots = stores.flatMap(({ store }, index) => (store === 'sqlite' ? [] : [historyBots[index].bot.id]));
	if (!redisProblem) onCleanup('the Redis keys of this run', () => removeRedisData(REDIS, sharedStoreBots));
	if (!postgresProblem) onCleanup('the Postgres rows of this run', () => removePostgresData(POSTGRES, sharedStoreBots));
	await startEmulators(model, ...Object.values(bots), ...historyBots);

	const builtinCredential = { id: 'BenchTgBuiltin01', name: 'Bench built-in bot' };
	const mainWorkflows: Record<FlowName, WorkflowFixture> = {
		floor: floorWorkflow(bots.floor, 'bench-floor'),
		clawgate: clawgateWorkflow(example),
		builtin: builtinWorkflow(builtinCredential, ids.openAi),
	};
	const credentials: CredentialFixture[] = [
		{ ...ids.telegram, type: 'clawgateTelegramApi', data: { accessToken: bots.clawgate.token, baseUrl: bots.clawgate.apiRoot } },
		{ ...builtinCredential, type: 'telegramApi', data: { accessToken: bots.builtin.token, baseUrl: bots.builtin.apiRoot } },
		openAiCredential(model, ids.openAi),
	];
	if (!redisProblem) credentials.push({ id: 'BenchStoreredis', name: 'Bench redis', type: 'redis', data: { host: REDIS.host, port: REDIS.port, database: 0, password: '' } });
	if (!postgresProblem) credentials.push({ id: 'BenchStorepostgres', name: 'Bench postgres', type: 'postgres', data: { ...POSTGRES, ssl: 'disable' } });
	const variants: HistoryVariant[] = stores.map(({ store, turns, suffix, journal = true }, index) => {
		const bot = historyBots[index];
		const telegramCredentialId = `BenchTgHist${suffix}`;
		credentials.push({ id: telegramCredentialId, name: `Bench bot ${suffix}`, type: 'clawgateTelegramApi', data: { accessToken: bot.token, baseUrl: bot.apiRoot } });
		const storeCredentialId = store === 'sqlite' ? undefined : `BenchStore${store}`;
		const workflow = clawgateWorkflow(example, { suffix, telegramCredentialId, store, storeCredentialId, sessionOptions: HISTORY_SESSION_OPTIONS, journal });
		const storeName = { sqlite: 'SQLite', redis: 'Redis', postgres: 'Postgres' }[store];
		const guarantee = journal ? 'journaled' : 'best effort, no journal';
		return { key: `${store}${turns}${journal ? '' : 'NoJournal'}`, label: `${storeName}, ${turns.toLocaleString('en-US')} turns, ${guarantee}`, store, storedTurns: turns, bot, workflow };
	});

	progress(`starting n8n ${N8N_VERSION} (pack and install this package, import, boot)...`);
	const starting = N8nInstance.start({ credentials, workflows: [...Object.values(mainWorkflows), ...variants.map((variant) => variant.workflow)], activate: [] });
	onCleanup('n8n', async () => {
		// On Ctrl-C during the start, the start is let finish (or fail and clean up after itself) first.
		const instance = await starting.catch(() => null);
		if (!instance) return;
		await instance.halt();
		// n8n's own output, for a look after the run (the user folder goes with stop()).
		mkdirSync(RESULTS_DIR, { recursive: true });
		writeFileSync(path.join(RESULTS_DIR, 'gateway-n8n.log'), instance.log);
		await instance.stop();
	});
	const n8n = await starting;
	progress(`n8n ready at ${n8n.baseUrl} after ${Math.round((Date.now() - started) / 1000)} s`);
	const afterStart = memoryOf(n8n);
	const figuresOfPackage = packageFigures(path.join(runtime.n8nDataDir(n8n.userFolder), 'nodes', 'node_modules', 'n8n-nodes-clawgate'));
	await n8n.publish(FLOWS.map((flow) => mainWorkflows[flow].id));
	await Promise.all([bots.clawgate, bots.builtin].map((bot) => bot.waitForCall('setWebhook', undefined, 60_000)));
	const targets: Record<FlowName, LoadTarget> = {
		floor: { bot: bots.floor, webhookUrl: `${n8n.baseUrl}/webhook/bench-floor`, chatIds: CHAT_IDS },
		clawgate: { bot: bots.clawgate, chatIds: CHAT_IDS },
		builtin: { bot: bots.builtin, chatIds: CHAT_IDS },
	};

	const comparisons: ComparisonResult[] = [];
	for (const [index, settings] of SETTINGS.entries()) {
		if (index > 0) await restartWith(n8n, settingsEnv(settings.env));
		comparisons.push(await comparisonPhase(settings.name, settings.env, n8n, targets, model, index === 0 ? afterStart : memoryOf(n8n)));
	}
	const history = HISTORY_ROUNDS > 0 ? await historyPhase(n8n, variants, skipped, model) : null;

	// The profile answers the default-settings target, so it is taken with default settings.
	const lowest = comparisons
		.filter((comparison) => comparison.settings === 'default')
		.flatMap((comparison) => comparison.ratios.map((ratio) => ({ ...ratio, comparison })))
		.filter((ratio) => Number.isFinite(ratio.clawgateToFloor))
		.reduce((low, ratio) => (ratio.clawgateToFloor < low.clawgateToFloor ? ratio : low));
	let profile: ProfileResult | null = null;
	const profileNote = `Clawgate reaches at least ${RATIO_TARGET}× the floor's throughput at every concurrency (lowest: ${f2(lowest.clawgateToFloor)}× at c=${lowest.concurrency}); no profile was taken.`;
	if (lowest.clawgateToFloor < RATIO_TARGET) {
		progress(`Clawgate runs at ${f2(lowest.clawgateToFloor)}× the floor (${lowest.comparison.settings}, c=${lowest.concurrency}): profiling`);
		profile = await profilePhase(n8n, settingsEnv(lowest.comparison.env), lowest.comparison.settings, targets, model, lowest.concurrency);
	}

	const totalMessages = [...comparisons.flatMap((comparison) => FLOWS.flatMap((flow) => comparison.flows[flow].cells)), ...(history?.variants.flatMap((variant) => variant.cells) ?? [])].reduce(
		(sum, cell) => sum + cell.messages,
		0,
	);
	await cleanUpEverything();
	const totalSeconds = (Date.now() - started) / 1000;

	writeBenchResults('gateway.json', loadAverages, {
		method: {
			concurrencies: CONCURRENCIES,
			sessions: SESSIONS,
			batch: { maxMessages: MESSAGES, seconds: BATCH_SECONDS, minMessages: '2 × concurrency' },
			rounds: ROUNDS,
			warmUpMessages: 1 + WARMUP_MESSAGES,
			replyText: REPLY_TEXT,
			settings: SETTINGS,
			history: { sizes: HISTORY_SIZES, concurrencies: HISTORY_CONCURRENCIES, rounds: HISTORY_ROUNDS, seededTurnTokens: SEEDED_TURN_TOKENS, sessionOptions: HISTORY_SESSION_OPTIONS },
			profile: { maxMessages: PROFILE_MESSAGES, seconds: PROFILE_SECONDS, ratioTarget: RATIO_TARGET },
		},
		comparisons,
		history,
		profile: profile ? { ...profile, savedProfile: path.relative(runtime.REPO_ROOT, profile.savedProfile) } : { skipped: profileNote },
		totalMessages,
		totalSeconds,
	});
	progress(`total ${(totalSeconds / 60).toFixed(1)} min`);
	const markdown = report(comparisons, history, profile, profileNote, totalMessages, totalSeconds, figuresOfPackage);
	process.stdout.write(`${markdown}\n`);
	progress(`wrote the tables to ${path.relative(runtime.REPO_ROOT, writeDocsSection('performance.md', 'bench-gateway', markdown))}`);
	return 0;
}

startRun('bench');
runMain(main);
