/**
 * `npm run bench:memory` (not part of the test suite): how much of n8n's memory is this package's,
 * with 1,000 live sessions across five channels.
 *
 * Real n8n 2.40.7 processes, one after the other (A, B, A, B, … BENCH_MEMORY_PAIRS pairs, 3 by
 * default; the figure is the median pair's), with the same settings (regular mode,
 * SQLite, started by the e2e harness, each with its own user folder and ports, and NODE_OPTIONS
 * --inspect=127.0.0.1:<free port>):
 *   A. floor  without this package: n8n's Webhook → HTTP Request (sendMessage), fed Telegram
 *             updates from 1,000 chats, one message each;
 *   B. pack   with this package installed the community way: five Clawgate workflows (Telegram,
 *             Slack, Twilio SMS, LINE: webhooks; Discord: the gateway), each Trigger → AI Session
 *             (SQLite store) → Send, 200 chats per channel writing one message each (BENCH_MEMORY_*).
 * At each moment (after start, after warm-up, after the traffic; B also before its workflows are
 * published) the script reads n8n's RSS (/proc) and process.memoryUsage() through the Chrome
 * DevTools Protocol, forces two full GCs (HeapProfiler.collectGarbage) and reads them again. The
 * pack's share is B − A after GC. It also lists what the package loaded (n8n's require cache).
 *
 * Prints the method and Markdown tables on stdout (progress on stderr), writes
 * bench-results/memory.json, memory-n8n-<run>.log, and the tables into docs/performance.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { N8nInstance, type N8nOptions } from '../test/e2e/harness';
import { OpenAiEmulator } from '../test/emulators/openai';
import { TelegramEmulator } from '../test/emulators/telegram';
import { converse, fiveChannels, floorChat, OPENAI_CREDENTIAL, type BenchChat, type BenchChannel, type ConversationResult } from './bench/channels';
import { HeapSnapshotSummer, type HeapGroup } from './bench/heap-summary';
import { InspectorSession, type ProcessMemoryUsage } from './bench/inspector';
import { isolatedCost, packagePieces, type IsolatedCost } from './bench/isolated-cost';
import { findN8nPid, readMemory } from './bench/n8n-process';
import { checkInterrupted, isInterrupted, markdownTable, numberFromEnv, onCleanup, progress, RESULTS_DIR, runMain, sampleLoadAverages, startEmulators, startRun, writeBenchResults } from './bench/run-control';
import { floorWorkflow, openAiCredential, REPLY_TEXT } from './bench/workflows';

const runtime = require('./n8n-runtime.js');
const { N8N_VERSION } = require('./n8n-install.js');
const { writeDocsSection } = require('./docs-section.js');

const SESSIONS_PER_CHANNEL = numberFromEnv('BENCH_MEMORY_SESSIONS_PER_CHANNEL', 200);
const MESSAGES_PER_SESSION = numberFromEnv('BENCH_MEMORY_MESSAGES_PER_SESSION', 1);
const CONCURRENCY = numberFromEnv('BENCH_MEMORY_CONCURRENCY', 8);
/** Quiet time before each reading: executions finish saving, timers n8n starts after boot have run. */
const SETTLE_SECONDS = numberFromEnv('BENCH_MEMORY_SETTLE_SECONDS', 10);
/**
 * A and B run this many times, alternating (A B A B …): the RSS of two n8n processes differs by
 * 10–20 MiB from run to run with nothing changed, so the figure is the median pair's.
 */
const PAIRS = numberFromEnv('BENCH_MEMORY_PAIRS', 3);
/** After the forced GCs, before reading RSS again: freed pages are returned to the system lazily. */
const AFTER_GC_MS = 3_000;
const TARGET_MB = 50;
const MIB = 1024 ** 2;
const TARGET_MIB = (TARGET_MB * 1e6) / MIB;
const FLOOR_PATH = 'bench-memory-floor';
const HEAP_GROUPS_KEPT = 400;

/** Memory of the n8n process at one moment, in MiB. */
interface Snapshot {
	/** VmRSS from /proc. */
	rss: number;
	heapUsed: number;
	heapTotal: number;
	/** C++ objects bound to JavaScript ones, ArrayBuffers and WebAssembly memories included. */
	external: number;
	arrayBuffers: number;
}

interface Reading {
	moment: string;
	beforeGc: Snapshot;
	afterGc: Snapshot;
	/** Modules of this package and its dependencies in n8n's require cache. */
	packModules: number;
}

/** Modules in n8n's require cache, by the package that owns them. */
interface LoadedModules {
	moment: string;
	total: { modules: number; sourceKiB: number };
	/** This package's own files and each of its dependencies (installed inside it). */
	pack: Array<{ name: string; modules: number; sourceKiB: number }>;
}

interface RunResult {
	name: 'floor' | 'pack';
	readings: Reading[];
	traffic: ConversationResult;
	warmUp: ConversationResult;
	/** What was loaded after the first reading and after the traffic. */
	modules: LoadedModules[];
	/** The heap after the traffic by constructor (the largest HEAP_GROUPS_KEPT), or why there is none. */
	heap: HeapGroup[] | { failed: string };
	peakRssMiB: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// n8n under the inspector

/** What the require cache of n8n holds, grouped for this package (run inside n8n through the inspector). */
const LOADED_MODULES_EXPRESSION = `(() => {
	const fs = require('node:fs');
	const marker = '/node_modules/${runtime.PACKAGE_NAME}/';
	const total = { modules: 0, bytes: 0 };
	const pack = {};
	for (const file of Object.keys(require.cache)) {
		let bytes = 0;
		try { bytes = fs.statSync(file).size; } catch {}
		total.modules += 1;
		total.bytes += bytes;
		const at = file.indexOf(marker);
		if (at < 0) continue;
		const inside = file.slice(at + marker.length);
		const dependency = /^node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(inside);
		const name = dependency ? dependency[1] : '${runtime.PACKAGE_NAME} (its own code)';
		pack[name] ??= { modules: 0, bytes: 0 };
		pack[name].modules += 1;
		pack[name].bytes += bytes;
	}
	return { total, pack };
})()`;

class MeasuredN8n {
	private stopped: Promise<void> | null = null;

	private constructor(
		readonly name: RunResult['name'],
		readonly n8n: N8nInstance,
		readonly pid: number,
		private readonly inspector: InspectorSession,
	) {}

	/** Starts n8n with the inspector on a free loopback port; it is stopped by stop() or at the end of the run. */
	static async start(name: RunResult['name'], options: N8nOptions): Promise<MeasuredN8n> {
		const inspectPort = await runtime.freePort();
		const starting = N8nInstance.start({ ...options, env: { ...options.env, NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` } });
		let measured: MeasuredN8n | null = null;
		onCleanup(`n8n (${name})`, async () => {
			// On Ctrl-C during the start, the start is let finish (or fail and clean up after itself) first.
			const instance = await starting.catch(() => null);
			if (measured) await measured.stop();
			else await instance?.stop();
		});
		const n8n = await starting;
		const pid = findN8nPid(n8n.userFolder);
		if (pid === null) throw new Error(`n8n (${name}) is ready but its process was not found.`);
		const inspector = await InspectorSession.connect(inspectPort);
		const inspected = await inspector.pid();
		// The n8n CLI commands run before the start use the same port; only n8n itself may answer now.
		if (inspected !== pid) throw new Error(`The inspector on port ${inspectPort} belongs to process ${inspected}, not to n8n (${pid}).`);
		measured = new MeasuredN8n(name, n8n, pid, inspector);
		return measured;
	}

	private async snapshot(): Promise<Snapshot> {
		const usage: ProcessMemoryUsage = await this.inspector.memoryUsage();
		const rss = readMemory(this.pid)?.rssMiB;
		if (rss === undefined) throw new Error(`n8n (${this.name}) stopped running. Its last output:\n${this.n8n.log.trim().split('\n').slice(-30).join('\n')}`);
		return { rss, heapUsed: usage.heapUsed / MIB, heapTotal: usage.heapTotal / MIB, external: usage.external / MIB, arrayBuffers: usage.arrayBuffers / MIB };
	}

	/** After a quiet time: a reading, two forced full GCs, and a reading again. */
	async read(moment: string): Promise<Reading> {
		await sleep(SETTLE_SECONDS * 1000);
		checkInterrupted();
		const beforeGc = await this.snapshot();
		await this.inspector.collectGarbage();
		await sleep(AFTER_GC_MS);
		const afterGc = await this.snapshot();
		const packModules = await this.inspector.evaluate<number>(`Object.keys(require.cache).filter((file) => file.includes('/node_modules/${runtime.PACKAGE_NAME}/')).length`);
		progress(`${this.name}, ${moment}: RSS ${beforeGc.rss.toFixed(0)} → ${afterGc.rss.toFixed(0)} MiB after GC, heap used ${beforeGc.heapUsed.toFixed(0)} → ${afterGc.heapUsed.toFixed(0)} MiB`);
		return { moment, beforeGc, afterGc, packModules };
	}

	async loadedModules(moment: string): Promise<LoadedModules> {
		type Counted = { modules: number; bytes: number };
		const { total, pack } = await this.inspector.evaluate<{ total: Counted; pack: Record<string, Counted> }>(LOADED_MODULES_EXPRESSION);
		return {
			moment,
			total: { modules: total.modules, sourceKiB: total.bytes / 1024 },
			pack: Object.entries(pack)
				.map(([name, counted]) => ({ name, modules: counted.modules, sourceKiB: counted.bytes / 1024 }))
				.sort((a, b) => b.sourceKiB - a.sourceKiB),
		};
	}

	/** A heap snapshot summed up by constructor; a failure leaves the readings standing. */
	async heapByConstructor(): Promise<RunResult['heap']> {
		const started = Date.now();
		try {
			const summer = new HeapSnapshotSummer();
			await this.inspector.takeHeapSnapshot((chunk) => summer.write(chunk));
			const groups = summer.finish();
			progress(`${this.name}: heap snapshot summed up in ${Math.round((Date.now() - started) / 1000)} s`);
			return groups.slice(0, HEAP_GROUPS_KEPT);
		} catch (error) {
			progress(`${this.name}: the heap snapshot failed: ${(error as Error).message}`);
			return { failed: (error as Error).message };
		}
	}

	peakRssMiB(): number {
		return readMemory(this.pid)?.peakMiB ?? Number.NaN;
	}

	/** Closes the inspector, keeps n8n's output in bench-results/ and removes the user folder. Once. */
	stop(): Promise<void> {
		this.stopped ??= (async () => {
			this.inspector.close();
			await this.n8n.halt();
			mkdirSync(RESULTS_DIR, { recursive: true });
			writeFileSync(path.join(RESULTS_DIR, `memory-n8n-${this.name}.log`), this.n8n.log);
			await this.n8n.stop();
		})();
		return this.stopped;
	}
}

/** Sends a warm-up or the traffic, and stops the run when messages went unanswered (the readings would not be of 1,000 sessions). */
async function talk(chats: BenchChat[], what: string, concurrency: number, messagesPerChat = 1): Promise<ConversationResult> {
	const result = await converse(chats, { concurrency, messagesPerChat, stopped: isInterrupted });
	checkInterrupted();
	progress(`${what}: ${result.answered}/${result.messages} messages answered in ${result.seconds.toFixed(0)} s (${(result.answered / result.seconds).toFixed(1)} msg/s)`);
	if (result.errors.length > 0) throw new Error(`${what}: ${result.errors.length} messages failed, the first: ${result.errors[0]}`);
	return result;
}

// ---------------------------------------------------------------------------------------------
// The runs

const totalSessions = () => SESSIONS_PER_CHANNEL * 5;

async function floorRun(): Promise<RunResult> {
	const bot = new TelegramEmulator({ username: 'bench_memory_floor_bot' });
	await startEmulators(bot);
	progress(`A (floor): starting n8n ${N8N_VERSION} without this package...`);
	const measured = await MeasuredN8n.start('floor', { workflows: [floorWorkflow(bot, FLOOR_PATH)], installPackage: false });
	const url = `${measured.n8n.baseUrl}/webhook/${FLOOR_PATH}`;
	const readings = [await measured.read('after start')];
	const warmUp = await firstMessage(floorChat(bot, url, 0));
	readings.push(await measured.read('after warm-up'));
	const chats = Array.from({ length: totalSessions() }, (_, index) => floorChat(bot, url, 1 + index));
	return await trafficAndEnd(measured, chats, readings, warmUp, []);
}

/** The traffic, the last reading, what is loaded and what the heap holds; then n8n is stopped. */
async function trafficAndEnd(measured: MeasuredN8n, chats: BenchChat[], readings: Reading[], warmUp: ConversationResult, loadedAtStart: LoadedModules[]): Promise<RunResult> {
	const traffic = await talk(chats, `${measured.name}: ${chats.length} chats`, CONCURRENCY, MESSAGES_PER_SESSION);
	readings.push(await measured.read(`after ${chats.length.toLocaleString('en-US')} chats`));
	const modules = [...loadedAtStart, await measured.loadedModules('after the traffic')];
	const peakRssMiB = measured.peakRssMiB();
	const heap = await measured.heapByConstructor();
	await measured.stop();
	return { name: measured.name, readings, traffic, warmUp, modules, heap, peakRssMiB };
}

/** The warm-up message of A: n8n is ready before its workflows are active, so it is sent until n8n takes it. */
async function firstMessage(chat: BenchChat): Promise<ConversationResult> {
	const deadline = Date.now() + 60_000;
	for (;;) {
		try {
			return await talk([chat], 'A warm-up', 1);
		} catch (error) {
			if (Date.now() > deadline || isInterrupted()) throw error;
			await sleep(1_000);
		}
	}
}

async function packRun(channels: BenchChannel[], model: OpenAiEmulator): Promise<RunResult> {
	progress(`B (pack): starting n8n ${N8N_VERSION} with this package (pack, install, import, boot)...`);
	const measured = await MeasuredN8n.start('pack', {
		credentials: [...channels.map((channel) => channel.credential), openAiCredential(model, OPENAI_CREDENTIAL)],
		workflows: channels.map((channel) => channel.workflow),
		activate: [],
	});
	const { n8n } = measured;
	const readings = [await measured.read('installed, no workflow active')];
	const loadedAtStart = await measured.loadedModules('installed, no workflow active');
	await n8n.publish(channels.map((channel) => channel.workflow.id));
	await Promise.all(channels.map((channel) => channel.ready(n8n)));
	readings.push(await measured.read('after start (workflows active)'));
	const warmUp = await talk(
		channels.map((channel) => channel.newChat(n8n, 0)),
		'B warm-up (one chat per channel)',
		channels.length,
	);
	readings.push(await measured.read('after warm-up'));
	// Interleaved, so every channel is busy through the whole traffic.
	const chats = Array.from({ length: SESSIONS_PER_CHANNEL }, (_, index) => channels.map((channel) => channel.newChat(n8n, 1 + index))).flat();
	return await trafficAndEnd(measured, chats, readings, warmUp, [loadedAtStart]);
}

// ---------------------------------------------------------------------------------------------
// Report

const f1 = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
const signed = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(1)}` : '–');

interface Share {
	part: string;
	pack: string;
	floor: string;
	rss: number;
	heapUsed: number;
	external: number;
}

function shares(floor: RunResult, pack: RunResult): Share[] {
	const at = (run: RunResult, index: number) => run.readings[index].afterGc;
	const [floorStart, floorWarm, floorAfter] = [0, 1, 2].map((index) => at(floor, index));
	const [packInstalled, packStart, packWarm, packAfter] = [0, 1, 2, 3].map((index) => at(pack, index));
	const difference = (part: string, packSide: string, floorSide: string, b: Snapshot, a: Snapshot): Share => ({
		part,
		pack: packSide,
		floor: floorSide,
		rss: b.rss - a.rss,
		heapUsed: b.heapUsed - a.heapUsed,
		external: b.external - a.external,
	});
	const sessions = totalSessions().toLocaleString('en-US');
	return [
		difference('installed, nothing active', 'B installed, no workflow active', 'A after start', packInstalled, floorStart),
		difference('loaded code: five workflows active, no traffic', 'B after start', 'A after start', packStart, floorStart),
		difference('after the first message per channel', 'B after warm-up', 'A after warm-up', packWarm, floorWarm),
		difference(`with ${sessions} live sessions (the figure)`, `B after ${sessions} chats`, `A after ${sessions} chats`, packAfter, floorAfter),
	];
}

/** What the sessions themselves add: B's growth over the traffic minus A's, per session. */
function perSession(floor: RunResult, pack: RunResult): { rssKiB: number; heapKiB: number } {
	const growth = (run: RunResult, key: keyof Snapshot) => run.readings.at(-1)!.afterGc[key] - run.readings.at(-2)!.afterGc[key];
	return {
		rssKiB: ((growth(pack, 'rss') - growth(floor, 'rss')) * 1024) / totalSessions(),
		heapKiB: ((growth(pack, 'heapUsed') - growth(floor, 'heapUsed')) * 1024) / totalSessions(),
	};
}

function methodText(loadAverages: number[], floor: RunResult, pack: RunResult): string {
	const cpu = os.cpus();
	const load = `1-minute load average during the run ${Math.min(...loadAverages).toFixed(1)}–${Math.max(...loadAverages).toFixed(1)} (other work on the machine included)`;
	const sessions = totalSessions().toLocaleString('en-US');
	return [
		'Method:',
		`- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.versions.node} (the benchmark); ${load}.`,
		`- ${PAIRS} pairs of n8n ${N8N_VERSION} processes (A then B, one process at a time, alternating A B A B …; the RSS of two identical runs differs by 10–20 MiB, so the figure is the median pair's), each started by the e2e harness (test/e2e/harness.ts) with its own user folder and ports: regular mode, SQLite database, default settings (every execution saved), NODE_OPTIONS=--inspect=127.0.0.1:<free port>, and nothing else different. A: without this package. B: this package packed and installed the community way; its workflows imported with n8n's CLI and published through n8n's REST API after the first reading.`,
		`- A (floor): n8n's Webhook → HTTP Request (sendMessage to a Telegram emulator), the floor of \`npm run bench\`. 1 warm-up message, then ${sessions} chats (Telegram updates, distinct chat ids) × ${MESSAGES_PER_SESSION} message.`,
		`- B (pack): five workflows, each Clawgate Trigger → AI Session (SQLite store, model gpt-4o-mini, the example's system prompt) → Clawgate Send, version 1 of each node with its defaults: Telegram, Slack, Twilio SMS and LINE by webhook (signed as the platforms sign), Discord through its gateway (a WebSocket n8n holds), each platform played by its emulator in the benchmark process; the model is the OpenAI-compatible emulator answering at once ("${REPLY_TEXT}"). 1 warm-up message per channel (its own chat), then ${SESSIONS_PER_CHANNEL} chats per channel (${sessions} sessions, channels interleaved) × ${MESSAGES_PER_SESSION} message.`,
		`- Traffic: closed loop, ${CONCURRENCY} chats at a time, the next message of a chat only after its answer reached the emulator. A: ${floor.traffic.answered}/${floor.traffic.messages} answered in ${floor.traffic.seconds.toFixed(0)} s; B: ${pack.traffic.answered}/${pack.traffic.messages} in ${pack.traffic.seconds.toFixed(0)} s.`,
		`- Each reading: ${SETTLE_SECONDS} s with no traffic, then n8n's RSS (VmRSS, /proc/<pid>/status) and process.memoryUsage() evaluated inside n8n over the Chrome DevTools Protocol ("before GC"); then HeapProfiler.collectGarbage twice (full, compacting GCs, as DevTools' "Collect garbage"), ${AFTER_GC_MS / 1000} s, and the same again ("after GC"). The inspector was chosen over --expose-gc because n8n has no place to call gc() from. The pack's share = B − A after GC, moment by moment. The JS task runner (a separate process, for Code nodes; none here) is not counted.`,
		`- Loaded modules: n8n's require cache read through the inspector at each reading (the count of this package's modules), and by package at B's first reading and after the traffic (a module's size is its file's size on disk, which the compiled code and the source V8 keeps grow with, not its memory). The large pieces are then measured alone: a fresh Node ${process.versions.node} process with --expose-gc loads one piece from this repository's node_modules and dist/ (\`npm run bench:memory\` builds dist/ first) between two readings after full GCs.`,
		'- Heap by constructor: after the last reading of each run, a heap snapshot (HeapProfiler.takeHeapSnapshot, which collects garbage first) streamed from n8n and summed up by constructor as it arrives (self sizes, not retained sizes; scripts/bench/heap-summary.ts).',
		`- Target: the pack's share with ${sessions} live sessions ≤ ${TARGET_MB} MB (${TARGET_MIB.toFixed(1)} MiB) of RSS after GC.`,
	].join('\n');
}

/** The constructors whose objects grew most from A to B, after the traffic (self sizes from the two heap snapshots). */
function heapGrowthText(floor: RunResult, pack: RunResult): string {
	if (!Array.isArray(floor.heap) || !Array.isArray(pack.heap)) {
		return `No heap snapshot summary: ${[floor.heap, pack.heap].map((heap) => (Array.isArray(heap) ? '' : heap.failed)).filter(Boolean).join('; ')}.`;
	}
	const inFloor = new Map(floor.heap.map((group) => [group.name, group]));
	const rows = pack.heap
		.map((group) => ({ group, before: inFloor.get(group.name) }))
		.map(({ group, before }) => ({ group, before, growth: group.selfBytes - (before?.selfBytes ?? 0) }))
		.sort((a, b) => b.growth - a.growth)
		.slice(0, 15)
		.map(({ group, before, growth }) => [
			group.name.length > 60 ? `${group.name.slice(0, 57)}...` : group.name,
			String(before?.count ?? 0),
			f1((before?.selfBytes ?? 0) / MIB),
			String(group.count),
			f1(group.selfBytes / MIB),
			signed(growth / MIB),
		]);
	return [
		'The heap after the traffic by constructor, from a heap snapshot of each n8n (self sizes, as DevTools\' Summary groups them; the 15 that grew most from A to B):',
		'',
		markdownTable(['constructor or kind', 'A objects', 'A MiB', 'B objects', 'B MiB', 'B − A MiB'], rows, [1, 2, 3, 4, 5]),
	].join('\n');
}

function report(loadAverages: number[], floor: RunResult, pack: RunResult, pieces: IsolatedCost[], totalSeconds: number, pairs: string): string {
	const out: string[] = [methodText(loadAverages, floor, pack), ''];
	const rows = [floor, pack].flatMap((run) =>
		run.readings.map((reading) => [
			run.name === 'floor' ? 'A floor' : 'B pack',
			reading.moment,
			f1(reading.beforeGc.rss),
			f1(reading.afterGc.rss),
			f1(reading.beforeGc.heapUsed),
			f1(reading.afterGc.heapUsed),
			f1(reading.afterGc.heapTotal),
			f1(reading.afterGc.external),
			String(reading.packModules),
		]),
	);
	out.push(
		'n8n\'s memory (MiB):',
		'',
		markdownTable(['run', 'moment', 'RSS', 'RSS after GC', 'heap used', 'heap used after GC', 'heap total after GC', 'external after GC', "package's modules loaded"], rows, [2, 3, 4, 5, 6, 7, 8]),
		'',
		`Peak RSS (VmHWM): A ${f1(floor.peakRssMiB)} MiB, B ${f1(pack.peakRssMiB)} MiB.`,
		'',
	);
	const parts = shares(floor, pack);
	out.push(
		'The pack\'s share (B − A, after GC, MiB):',
		'',
		markdownTable(
			['part', 'B', 'A', 'RSS', 'heap used', 'external'],
			parts.map((share) => [share.part, share.pack, share.floor, signed(share.rss), signed(share.heapUsed), signed(share.external)]),
			[3, 4, 5],
		),
		'',
		pairs,
		'',
	);
	const figure = parts.at(-1)!;
	const each = perSession(floor, pack);
	out.push(
		`With ${totalSessions().toLocaleString('en-US')} live sessions the pack adds ${f1(figure.rss)} MiB of RSS after GC (the median pair) (target ≤ ${TARGET_MB} MB = ${TARGET_MIB.toFixed(1)} MiB: ${figure.rss <= TARGET_MIB ? 'met' : 'not met'}) and ${f1(figure.heapUsed)} MiB of V8 heap. Per session (B's growth over its traffic minus A's): ${f1(each.rssKiB)} KiB of RSS, ${f1(each.heapKiB)} KiB of heap.`,
		'',
	);
	const [packAtStart, packAtEnd] = [pack.modules[0], pack.modules.at(-1)!];
	const floorAtEnd = floor.modules.at(-1)!;
	const atStart = new Map(packAtStart.pack.map((row) => [row.name, row]));
	out.push(
		`What the package loaded into n8n (require cache): ${packAtEnd.pack.reduce((sum, row) => sum + row.modules, 0)} of n8n's ${packAtEnd.total.modules} modules after the traffic (A: ${floorAtEnd.total.modules}), ${f1(packAtEnd.pack.reduce((sum, row) => sum + row.sourceKiB, 0) / 1024)} MiB of source; ${packAtStart.pack.reduce((sum, row) => sum + row.modules, 0)} of them were loaded at start, before any workflow was active. By package, largest first:`,
		'',
		markdownTable(
			['package', 'modules at start', 'modules after the traffic', 'source KiB'],
			packAtEnd.pack.slice(0, 14).map((row) => [row.name, String(atStart.get(row.name)?.modules ?? 0), String(row.modules), row.sourceKiB.toFixed(0)]),
			[1, 2, 3],
		),
		'',
		heapGrowthText(floor, pack),
		'',
		'The large pieces, each measured alone in a fresh Node process (RSS, heap and external after full GCs, before and after loading it; the pieces overlap, so the rows do not add up):',
		'',
		markdownTable(
			['piece', 'RSS', 'heap used', 'external'],
			pieces.map((piece) => [piece.piece, f1(piece.rssMiB), f1(piece.heapUsedMiB), f1(piece.externalMiB)]),
			[1, 2, 3],
		),
		'',
		`Total runtime: ${(totalSeconds / 60).toFixed(1)} min.`,
	);
	return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

interface Pair {
	floor: RunResult;
	pack: RunResult;
	share: Share[];
}

/** The pair whose figure (the last share's RSS) is the median; with an even count, the lower of the middle two. */
function medianPair(pairs: Pair[]): Pair {
	const sorted = [...pairs].sort((a, b) => a.share.at(-1)!.rss - b.share.at(-1)!.rss);
	return sorted[Math.floor((sorted.length - 1) / 2)];
}

function pairsText(pairs: Pair[], median: Pair): string {
	const figures = pairs.map((pair) => pair.share.at(-1)!);
	const spread = (key: 'rss' | 'heapUsed') => `${f1(Math.min(...figures.map((figure) => figure[key])))} to ${f1(Math.max(...figures.map((figure) => figure[key])))}`;
	return [
		`Each pair (A then B, ${pairs.length} pairs, alternating), the pack's share with ${totalSessions().toLocaleString('en-US')} live sessions (MiB, after GC); the tables above are the median pair's (RSS from ${spread('rss')} MiB, heap used from ${spread('heapUsed')} MiB across pairs):`,
		'',
		markdownTable(
			['pair', 'A RSS', 'B RSS', 'share: RSS', 'share: heap used', 'share: external', 'B installed, nothing active − A after start: RSS'],
			pairs.map((pair, index) => [
				`${index + 1}${pair === median ? ' (median)' : ''}`,
				f1(pair.floor.readings.at(-1)!.afterGc.rss),
				f1(pair.pack.readings.at(-1)!.afterGc.rss),
				signed(pair.share.at(-1)!.rss),
				signed(pair.share.at(-1)!.heapUsed),
				signed(pair.share.at(-1)!.external),
				signed(pair.share[0].rss),
			]),
			[1, 2, 3, 4, 5, 6],
		),
	].join('\n');
}

async function main(): Promise<number> {
	const started = Date.now();
	const loadAverages = sampleLoadAverages();

	const channels = fiveChannels();
	const model = new OpenAiEmulator({ responder: () => REPLY_TEXT });
	await startEmulators(model, ...channels.map((channel) => channel.emulator));
	const pairs: Pair[] = [];
	for (let index = 0; index < PAIRS; index++) {
		progress(`pair ${index + 1} of ${PAIRS}`);
		const floor = await floorRun();
		checkInterrupted();
		const pack = await packRun(channels, model);
		checkInterrupted();
		pairs.push({ floor, pack, share: shares(floor, pack) });
	}
	const median = medianPair(pairs);
	const { floor, pack } = median;
	progress('measuring the large pieces of the package alone...');
	const pieces = packagePieces(require('../package.json').n8n.nodes).map(isolatedCost);

	const totalSeconds = (Date.now() - started) / 1000;
	writeBenchResults('memory.json', loadAverages, {
		method: {
			channels: channels.map((channel) => channel.label),
			sessionsPerChannel: SESSIONS_PER_CHANNEL,
			messagesPerSession: MESSAGES_PER_SESSION,
			concurrency: CONCURRENCY,
			settleSeconds: SETTLE_SECONDS,
			afterGcMs: AFTER_GC_MS,
			gc: 'HeapProfiler.collectGarbage × 2 over the inspector (NODE_OPTIONS=--inspect)',
			targetMiB: TARGET_MIB,
			pairs: PAIRS,
		},
		// The median pair's: `share` is what `npm run bench` prints as the figure.
		runs: { floor, pack },
		share: median.share,
		perSession: perSession(floor, pack),
		pairs: pairs.map((pair) => pair.share),
		pieces,
		totalSeconds,
	});
	const markdown = report(loadAverages, floor, pack, pieces, totalSeconds, pairsText(pairs, median));
	process.stdout.write(`${markdown}\n`);
	progress(`wrote the tables to ${path.relative(runtime.REPO_ROOT, writeDocsSection('performance.md', 'bench-memory', markdown))}`);
	return 0;
}

startRun('bench:memory');
runMain(main);
