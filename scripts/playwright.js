// playwright-core for headless Chromium (docs:screenshots, the Insights dashboard e2e test). It is no
// dependency of the package or its tests: it is installed once, on first use, into a tools folder
// in the cache beside n8n (~/.cache/clawgate), outside the project.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync } = require('node:fs');
const { homedir } = require('node:os');
const path = require('node:path');

const PLAYWRIGHT_VERSION = '1.65.2';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Flags for a quiet headless Chromium on a shared machine: nothing it does on its own reaches the network. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function loadPlaywright({ log = console.log } = {}) {
	const root = process.env.CLAWGATE_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'clawgate');
	const dir = path.join(root, 'tools', `playwright-core-${PLAYWRIGHT_VERSION}`);
	if (!existsSync(path.join(dir, 'node_modules', 'playwright-core'))) {
		log(`Installing playwright-core ${PLAYWRIGHT_VERSION} into ${dir} (once)...`);
		mkdirSync(dir, { recursive: true });
		writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'clawgate-tools', private: true }));
		execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `playwright-core@${PLAYWRIGHT_VERSION}`], { cwd: dir, stdio: 'inherit' });
	}
	return require(path.join(dir, 'node_modules', 'playwright-core'));
}

/** Chromium, headless; fails with what to install when the binary is missing. */
async function launchChromium({ log } = {}) {
	if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH.`);
	const { chromium } = loadPlaywright({ log });
	return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

module.exports = { PLAYWRIGHT_VERSION, CHROMIUM, CHROMIUM_ARGS, loadPlaywright, launchChromium };
