#!/usr/bin/env node
// `npm run bench:start`: how long `npm start` takes until n8n is ready, cold (a new user folder:
// build, pack, install, import the examples, create the owner) and warm (the same folder again,
// nothing changed), in a temporary user folder on a free port, so a running `npm start` is not
// touched. Each start is stopped (its own process group only) once it printed "is ready".
// BENCH_START_RUNS=<n> sets the number of warm starts (default 3).
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const { freePort, REPO_ROOT } = require('./n8n-runtime');

const WARM_RUNS = Number(process.env.BENCH_START_RUNS || 3);

/** Runs `npm start` until it reports readiness; resolves with the seconds from spawn to that line. */
function timedStart(userFolder, port) {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		// No bot token or model key: the examples are imported, none is published.
		const env = { ...process.env, N8N_USER_FOLDER: userFolder, N8N_PORT: String(port), TELEGRAM_BOT_TOKEN: '', OPENAI_API_KEY: '' };
		const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
		let output = '';
		let seconds = null;
		const onOutput = (chunk) => {
			output += chunk.toString();
			if (seconds === null && /with Clawgate is ready after/.test(output)) {
				seconds = (Date.now() - started) / 1000;
				process.kill(-child.pid, 'SIGTERM');
			}
		};
		child.stdout.on('data', onOutput);
		child.stderr.on('data', onOutput);
		const deadline = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 600_000);
		child.on('exit', () => {
			clearTimeout(deadline);
			// n8n shuts down after npm: wait for the group to be gone, so the next start gets the port.
			const waitForGroup = () => {
				try {
					process.kill(-child.pid, 0);
					setTimeout(waitForGroup, 200);
				} catch {
					if (seconds === null) reject(new Error(`npm start ended before n8n was ready:\n${output.slice(-2000)}`));
					else resolve(seconds);
				}
			};
			waitForGroup();
		});
	});
}

async function main() {
	const userFolder = mkdtempSync(join(tmpdir(), 'clawgate-bench-start-'));
	try {
		const port = await freePort();
		const rows = [['cold', await timedStart(userFolder, port)]];
		for (let run = 1; run <= WARM_RUNS; run++) rows.push([`warm ${run}`, await timedStart(userFolder, port)]);
		const warm = rows.slice(1).map(([, seconds]) => seconds).sort((a, b) => a - b);
		console.log(['| start | seconds to "n8n is ready" |', '| --- | ---: |', ...rows.map(([name, seconds]) => `| ${name} | ${seconds.toFixed(1)} |`)].join('\n'));
		console.log(`warm median: ${warm[Math.floor((warm.length - 1) / 2)].toFixed(1)} s`);
	} finally {
		rmSync(userFolder, { recursive: true, force: true });
	}
}

main().catch((error) => {
	console.error(error.message);
	process.exit(1);
});
