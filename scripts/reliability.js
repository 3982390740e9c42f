#!/usr/bin/env node
/**
 * `npm run test:reliability`: runs the reliability suite (jest project "reliability", one file at a
 * time: most start real n8n processes) and prints every figure it recorded as one Markdown table.
 * Exits non-zero when jest failed or any figure missed its bar. Extra arguments go to jest
 * (e.g. a test path to run one part).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const path = require('node:path');

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

function main() {
	rmSync(FIGURES_FILE, { force: true });
	const jest = path.join(REPO_ROOT, 'node_modules', '.bin', 'jest');
	const result = spawnSync(jest, ['--selectProjects', 'reliability', '--runInBand', ...process.argv.slice(2)], {
		cwd: REPO_ROOT,
		stdio: 'inherit',
		env: { ...process.env, CLAWGATE_FIGURES_FILE: FIGURES_FILE },
	});
	const figures = readFigures();
	const missed = figures.filter((figure) => !figure.ok);
	process.stdout.write(`\n## Reliability figures (${new Date().toISOString()})\n\n${table(figures)}\n\n`);
	process.stdout.write(`${figures.length} figures, ${missed.length} missed their bar; jest exited with ${result.status}.\n`);
	if (figures.length === 0) {
		process.stdout.write('No figures were recorded.\n');
		return 1;
	}
	return result.status === 0 && missed.length === 0 ? 0 : 1;
}

process.exitCode = main();
