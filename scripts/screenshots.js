#!/usr/bin/env node
/**
 * `npm run docs:screenshots`: the canvas of every example workflow, as docs/images/<file>.png, taken
 * in headless Chromium from a running n8n (`npm start` in another terminal). Logs in as the owner
 * that `npm start` created (its state file) or N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD.
 *
 * Needs Chromium (Debian: apt-get install chromium; CHROMIUM_PATH for another binary) and
 * playwright-core, which is installed on first use into the cache beside n8n, outside the project.
 * N8N_URL (default http://127.0.0.1:$N8N_PORT or 5678) points at another n8n. EXAMPLES=a,b takes only
 * those examples (file names without .json), e.g. after adding one.
 */
'use strict';
const { existsSync, mkdirSync, readFileSync } = require('node:fs');
const path = require('node:path');

const { listExampleWorkflows, login, REPO_ROOT } = require('./n8n-runtime');
const { CHROMIUM, CHROMIUM_ARGS, loadPlaywright } = require('./playwright');

const OUT_DIR = path.join(REPO_ROOT, 'docs', 'images');
const BASE_URL = process.env.N8N_URL || `http://127.0.0.1:${process.env.N8N_PORT || 5678}`;
const STATE_FILE = path.join(process.env.N8N_USER_FOLDER || path.join(REPO_ROOT, '.n8n-dev'), 'clawgate-start.json');
const VIEWPORT = { width: 1200, height: 560 };

function ownerCredentials() {
	if (process.env.N8N_OWNER_EMAIL && process.env.N8N_OWNER_PASSWORD) return { email: process.env.N8N_OWNER_EMAIL, password: process.env.N8N_OWNER_PASSWORD };
	try {
		const { owner } = JSON.parse(readFileSync(STATE_FILE, 'utf8'));
		if (owner) return owner;
	} catch {
		// no state file: fall through to the message below
	}
	throw new Error(`No owner to log in as: start n8n with npm start (it writes ${STATE_FILE}), or set N8N_OWNER_EMAIL and N8N_OWNER_PASSWORD.`);
}

async function main() {
	if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH.`);
	const cookie = await login(BASE_URL, ownerCredentials()).catch((error) => {
		throw new Error(`Could not log in to n8n at ${BASE_URL} (is npm start running?): ${error.message}`);
	});
	const [name, value] = cookie.split(/=(.*)/s);
	const { chromium } = loadPlaywright();
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: CHROMIUM_ARGS,
	});
	try {
		const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: 'light' });
		await context.addCookies([{ name, value, url: BASE_URL }]);
		mkdirSync(OUT_DIR, { recursive: true });
		const only = (process.env.EXAMPLES || '').split(',').map((name) => name.trim()).filter(Boolean);
		const files = listExampleWorkflows().filter((file) => only.length === 0 || only.includes(path.basename(file, '.json')));
		if (files.length === 0) throw new Error(`No example matches EXAMPLES=${process.env.EXAMPLES}.`);
		for (const file of files) {
			const workflow = JSON.parse(readFileSync(file, 'utf8'));
			const page = await context.newPage();
			await page.goto(`${BASE_URL}/workflow/${workflow.id}`, { waitUntil: 'networkidle' });
			// Every node drawn, then n8n's own "zoom to fit" (Shift+1), so the picture shows the whole workflow.
			await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
			await page.keyboard.press('Shift+1');
			await page.waitForTimeout(1_000);
			// The canvas's floating "Open chat" button (under a Chat Trigger) would cover the nodes below it.
			await page.locator('button:has-text("Open chat")').evaluateAll((buttons) => buttons.forEach((button) => (button.style.visibility = 'hidden')));
			const target = path.join(OUT_DIR, `${path.basename(file, '.json')}.png`);
			const canvas = page.locator('[data-test-id="canvas"]').first();
			await ((await canvas.count()) > 0 ? canvas : page).screenshot({ path: target });
			console.log(`${path.relative(REPO_ROOT, target)}: "${workflow.name}"`);
			await page.close();
		}
	} finally {
		await browser.close();
	}
}

main().catch((error) => {
	console.error(error.message);
	process.exit(1);
});
