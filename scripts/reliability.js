#!/usr/bin/env node
/**
 * `npm run test:reliability`: runs the reliability suite (jest project "reliability", one file at a
 * time: most start real n8n processes) and prints every figure it recorded as one Markdown table.
 * Exits non-zero when jest failed or any figure missed its bar. Extra arguments go to jest
 * (e.g. a test path to run one part).
 *
 * A full run (no arguments) also refreshes the figures in docs/reliability.md, and the queue-mode
 * ones in docs/scaling.md; a run of one part refreshes only the page(s) whose areas it measured,
 * so a page never mixes a part's new figures with figures of parts that did not run.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const path = require('node:path');

const { cpus } = require('node:os');

const { writeDocsSection } = require('./docs-section');
const { N8N_VERSION } = require('./n8n-install');

const REPO_ROOT = path.join(__dirname, '..');
const FIGURES_FILE = path.join(REPO_ROOT, 'reliability-results', 'figures.jsonl');

function readFigures() {
	if (!existsSync(FIGURES_FILE)) return [];
	return readFileSync(FIGURES_FILE, 'utf8')
		.split('\n')
		.filter((line) => line.trim() !== '')
		.map((line) => JSON.parse(line));
}

function table(figures) {
	const escape = (text) => String(text).replace(/\|/g, '\\|');
	const lines = ['| Area | Measure | Value | Bar | Holds |', '| --- | --- | --- | --- | --- |'];
	for (const figure of figures) {
		lines.push(`| ${escape(figure.area)} | ${escape(figure.measure)} | ${escape(figure.value)} | ${escape(figure.bar)} | ${figure.ok ? 'yes' : '**NO**'} |`);
	}
	return lines.join('\n');
}

/**
 * The figures' pages: queue mode is the scale-out page's (one test file, so a run of that part
 * alone refreshes it), the rest the reliability page's (refreshed by a full run only: a part run
 * alone would drop the other parts' figures from its table).
 */
const isQueueMode = (figure) => figure.area === 'Queue mode' || String(figure.measure).startsWith('Queue mode');
const PAGES = [
	{ page: 'scaling.md', section: 'queue-mode-figures', ofPage: isQueueMode, partRunRefreshes: true },
	{ page: 'reliability.md', section: 'reliability-figures', ofPage: (figure) => !isQueueMode(figure), partRunRefreshes: false },
];

function refreshDocs(figures, { fullRun, jestStatus }) {
	const when = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;
	const where = `n8n ${N8N_VERSION}, Node ${process.versions.node}, ${cpus().length} cores`;
	for (const { page, section, ofPage, partRunRefreshes } of PAGES) {
		const own = figures.filter(ofPage);
		if (own.length === 0 || (!fullRun && !partRunRefreshes)) continue;
		const missed = own.filter((figure) => !figure.ok).length;
		const verdict = missed === 0 && jestStatus === 0 ? 'every bar held' : `${missed} missed their bar, jest exited with ${jestStatus}`;
		const file = writeDocsSection(page, section, `Latest run (${when}; ${where}): ${own.length} figures, ${verdict}.\n\n${table(own)}`);
		process.stdout.write(`Wrote ${own.length} figures to ${path.relative(REPO_ROOT, file)}.\n`);
	}
}

/**
 * Files whose figures hold no time bar and measure no throughput (status codes, executions
 * started): a full run runs them two at a time, each driving an n8n of its own (n8n works on one
 * core). Redelivery is not among them: it answers 700 messages in about a minute alone, and
 * beside another n8n it did not finish in ten (CI-like runs here, December 2026).
 */
const SIDE_BY_SIDE = /test\/reliability\/(forged-channels-[12]|forged-input|fuzz-normalisers)\.test\.ts$/;

function runJest(args, stdio = 'inherit') {
	const jest = path.join(REPO_ROOT, 'node_modules', '.bin', 'jest');
	return spawnSync(jest, ['--selectProjects', 'reliability', ...args], {
		cwd: REPO_ROOT,
		stdio,
		encoding: 'utf8',
		env: { ...process.env, CLAWGATE_FIGURES_FILE: FIGURES_FILE },
	});
}

/**
 * A full run: the side-by-side files two at a time, then every other file alone and in a jest
 * process of its own, so that neither a neighbour's load nor the heap an earlier file left behind
 * reaches a timed figure (format times, fault bounds, queue-mode throughput, restart runs).
 */
function fullRun() {
	const files = (runJest(['--listTests'], ['ignore', 'pipe', 'inherit']).stdout ?? '').split('\n').filter((line) => line.endsWith('.test.ts'));
	if (files.length === 0) throw new Error('jest --listTests named no reliability test file.');
	// jest takes each path as a pattern: the whole path, taken literally.
	const literal = (text) => text.replace(/[.*+?^$()|[\]{}\\]/g, '\\$&');
	const only = (file) => `^${literal(file)}$`;
	const sideBySide = files.filter((file) => SIDE_BY_SIDE.test(file));
	const statuses = sideBySide.length > 0 ? [runJest(['--maxWorkers=2', ...sideBySide.map(only)]).status] : [];
	for (const file of files.filter((file) => !SIDE_BY_SIDE.test(file))) statuses.push(runJest(['--runInBand', only(file)]).status);
	return Math.max(...statuses.map((status) => status ?? 1));
}

function main() {
	rmSync(FIGURES_FILE, { force: true });
	const parts = process.argv.slice(2);
	const status = parts.length > 0 ? (runJest(['--runInBand', ...parts]).status ?? 1) : fullRun();
	const figures = readFigures();
	const missed = figures.filter((figure) => !figure.ok);
	process.stdout.write(`\n## Reliability figures (${new Date().toISOString()})\n\n${table(figures)}\n\n`);
	process.stdout.write(`${figures.length} figures, ${missed.length} missed their bar; jest exited with ${status}.\n`);
	// Repeated last, so that the end of a long log names what missed.
	for (const figure of missed) process.stdout.write(`MISSED: ${figure.area} | ${figure.measure} | ${figure.value} | bar ${figure.bar}\n`);
	if (figures.length === 0) {
		process.stdout.write('No figures were recorded.\n');
		return 1;
	}
	refreshDocs(figures, { fullRun: parts.length === 0, jestStatus: status });
	return status === 0 && missed.length === 0 ? 0 : 1;
}

process.exitCode = main();
