/**
 * What every benchmark that starts n8n needs around its measurements: progress lines on stderr,
 * sizes from the environment, and one list of things to stop (n8n, emulators, folders) that runs
 * once, in reverse order, at the end, on failure and on Ctrl-C, so no run leaves an n8n behind.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { childN8nPids } from './n8n-process';

const runtime = require('../n8n-runtime.js');
const { N8N_VERSION } = require('../n8n-install.js');

export const RESULTS_DIR = path.join(runtime.REPO_ROOT, 'bench-results');

/** A whole number from the environment, at least `min` (1 unless said), else the fallback. */
export function numberFromEnv(name: string, fallback: number, min = 1): number {
	const raw = process.env[name];
	const value = Number(raw);
	return raw !== undefined && raw.trim() !== '' && Number.isInteger(value) && value >= min ? value : fallback;
}

let progressLabel = 'bench';

/** Progress goes to stderr, so stdout holds only the method and the tables. */
export function progress(line: string): void {
	process.stderr.write(`[${progressLabel} ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

const cleanups: Array<{ name: string; run: () => Promise<unknown> }> = [];
let interrupted = false;
let cleaningUp: Promise<void> | null = null;

/** Registers something to stop; the last registered is stopped first. */
export function onCleanup(name: string, run: () => Promise<unknown>): void {
	cleanups.push({ name, run });
}

/** Runs the cleanups once; a second caller (Ctrl-C during the normal end) waits for the same run. */
export function cleanUpEverything(): Promise<void> {
	cleaningUp ??= (async () => {
		while (cleanups.length > 0) {
			const { name, run } = cleanups.pop()!;
			try {
				await run();
			} catch (error) {
				progress(`cleaning up ${name} failed: ${(error as Error).message}`);
			}
		}
	})();
	return cleaningUp;
}

export function isInterrupted(): boolean {
	return interrupted;
}

export function checkInterrupted(): void {
	if (interrupted) throw new Error('Interrupted.');
}

/**
 * Installs the Ctrl-C and exit handlers once, before anything is started: a signal stops
 * everything registered and exits 130; exiting without cleaning up (an error in a cleanup, a
 * second Ctrl-C) still ends the n8n processes this process started.
 */
export function startRun(label: string): void {
	progressLabel = label;
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.on(signal, () => {
			if (interrupted) return;
			interrupted = true;
			progress(`${signal}: stopping n8n and the emulators...`);
			void cleanUpEverything().finally(() => process.exit(130));
		});
	}
	process.on('exit', () => {
		for (const pid of childN8nPids()) process.kill(pid, 'SIGTERM');
	});
}

/** Runs the benchmark's main, then the cleanups, and exits: 0, 1 after a failure, 130 after Ctrl-C. */
export function runMain(main: () => Promise<number>): void {
	main()
		.then(async (code) => {
			await cleanUpEverything();
			return code;
		})
		.catch(async (error: Error) => {
			if (!interrupted) process.stderr.write(`\nThe benchmark failed: ${error.stack ?? error.message}\n`);
			await cleanUpEverything();
			return 1;
		})
		.then((code) => process.exit(interrupted ? 130 : code));
}

/** 1-minute load averages sampled every 10 s while the benchmark runs: other work on the machine slows and inflates every number. */
export function sampleLoadAverages(): number[] {
	const samples = [os.loadavg()[0]];
	setInterval(() => samples.push(os.loadavg()[0]), 10_000).unref();
	return samples;
}

/** A Markdown table; `rightAligned` lists the numeric columns. */
export function markdownTable(header: string[], rows: string[][], rightAligned: number[] = []): string {
	return [
		`| ${header.join(' | ')} |`,
		`| ${header.map((_, index) => (rightAligned.includes(index) ? '---:' : '---')).join(' | ')} |`,
		...rows.map((row) => `| ${row.join(' | ')} |`),
	].join('\n');
}

/** Starts emulators one after the other; each is stopped at the end (or on Ctrl-C). */
export async function startEmulators(...emulators: Array<{ start(): Promise<unknown>; stop(): Promise<unknown> }>): Promise<void> {
	for (const emulator of emulators) {
		await emulator.start();
		onCleanup(`the ${emulator.constructor.name}`, () => emulator.stop());
	}
}

/** Writes bench-results/<fileName>: when, which n8n and Node, the machine and its load, then the benchmark's own fields. */
export function writeBenchResults(fileName: string, loadAverages: number[], fields: Record<string, unknown>): void {
	mkdirSync(RESULTS_DIR, { recursive: true });
	const file = path.join(RESULTS_DIR, fileName);
	const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: os.totalmem() / 2 ** 30, loadAverages };
	writeFileSync(file, `${JSON.stringify({ generatedAt: new Date().toISOString(), n8nVersion: N8N_VERSION, node: process.versions.node, machine, ...fields }, null, 2)}\n`);
	progress(`wrote ${path.relative(runtime.REPO_ROOT, file)}`);
}
