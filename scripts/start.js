// `npm start`: builds and packs Clawgate, installs the pinned n8n once (cached outside the
// repository), installs the tarball into n8n the way the Community nodes screen does, imports
// the example workflows and any credentials given by environment variables, creates the owner
// account on first run, and runs n8n on http://127.0.0.1:5678 until Ctrl+C.
// A later start repeats only what changed: the package is built and installed again when its
// sources changed (or with CLAWGATE_REBUILD=1), credentials imported again when the variables
// changed, and the example published once; every n8n CLI call costs a few seconds.
const { createHmac, randomBytes } = require('node:crypto');
const { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { basename, join, resolve } = require('node:path');

const { N8N_VERSION, ensureN8n, n8nCompileCacheDir } = require('./n8n-install');
const runtime = require('./n8n-runtime');

const USER_FOLDER = resolve(process.env.N8N_USER_FOLDER || join(runtime.REPO_ROOT, '.n8n-dev'));
const PORT = Number(process.env.N8N_PORT || 5678);
const STATE_FILE = join(USER_FOLDER, 'clawgate-start.json');

const log = (line) => console.log(`[clawgate] ${line}`);

/** Credentials that environment variables can create; ids match the ones the examples reference. */
function credentialsFromEnvironment() {
	const credentials = [];
	if (process.env.TELEGRAM_BOT_TOKEN) {
		credentials.push({
			id: 'ClawgateTgCred01',
			name: 'Clawgate Telegram bot',
			type: 'clawgateTelegramApi',
			data: { accessToken: process.env.TELEGRAM_BOT_TOKEN, baseUrl: process.env.TELEGRAM_API_BASE_URL || '' },
		});
	}
	if (process.env.DISCORD_BOT_TOKEN) {
		credentials.push({
			id: 'ClawgateDcCred01',
			name: 'Clawgate Discord bot',
			type: 'clawgateDiscordApi',
			data: { botToken: process.env.DISCORD_BOT_TOKEN, applicationId: process.env.DISCORD_APPLICATION_ID || '', baseUrl: '' },
		});
	}
	if (process.env.SLACK_BOT_TOKEN && process.env.SLACK_SIGNING_SECRET) {
		credentials.push({
			id: 'ClawgateSlCred01',
			name: 'Clawgate Slack app',
			type: 'clawgateSlackApi',
			data: { botToken: process.env.SLACK_BOT_TOKEN, signingSecret: process.env.SLACK_SIGNING_SECRET, baseUrl: '' },
		});
	}
	if (process.env.TWILIO_ACCOUNT_SID && process.env.TWILIO_AUTH_TOKEN) {
		credentials.push({
			id: 'ClawgateTwCred01',
			name: 'Clawgate Twilio account',
			type: 'clawgateTwilioApi',
			data: { accountSid: process.env.TWILIO_ACCOUNT_SID, authToken: process.env.TWILIO_AUTH_TOKEN, baseUrl: '' },
		});
	}
	if (process.env.OPENAI_API_KEY) {
		credentials.push({
			id: 'ClawgateOpenAi01',
			name: 'Clawgate OpenAI',
			type: 'openAiApi',
			data: { apiKey: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL || 'https://api.openai.com/v1' },
		});
	}
	return credentials;
}

function readState() {
	try {
		return JSON.parse(readFileSync(STATE_FILE, 'utf8'));
	} catch {
		return { importedExamples: [], owner: null };
	}
}

function writeState(state) {
	writeFileSync(STATE_FILE, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** Webhook triggers need a URL Telegram can reach: public HTTPS, given as WEBHOOK_URL. */
function canReceiveTelegramWebhooks() {
	return /^https:\/\//.test(process.env.WEBHOOK_URL || '');
}

const EXAMPLES = {
	aiBot: { id: 'ClawgateTgAiBot1', name: 'Clawgate: Telegram AI bot', what: 'message your bot on Telegram and the AI answers, remembering the conversation (long polling: no public URL needed).' },
	echo: { id: 'ClawgateTgEcho01', name: 'Clawgate: Telegram echo', what: 'message your bot on Telegram and it answers with your words (webhook).' },
	gateway: { id: 'ClawgateGateway1', name: 'Clawgate: multi-channel AI gateway' },
};

/**
 * Activates the one Telegram example the environment can run (a bot is received by one workflow):
 * the AI bot with a model key, else the echo bot when Telegram can reach n8n's webhook.
 */
function activateExamples(env, state) {
	if (!process.env.TELEGRAM_BOT_TOKEN) return null;
	const example = process.env.OPENAI_API_KEY ? EXAMPLES.aiBot : canReceiveTelegramWebhooks() ? EXAMPLES.echo : null;
	// n8n keeps a published workflow published across restarts: publishing it again only costs a CLI start.
	if (example && state.published !== example.id) {
		runtime.n8nCli(['publish:workflow', `--id=${example.id}`], env);
		state.published = example.id;
	}
	return example;
}

/**
 * Builds, packs and installs the package the Community nodes way, unless the sources are the
 * ones installed last time and the installed copy is still there.
 */
function installPackageIfChanged(state) {
	const sourceHash = runtime.packageSourceHash();
	const installed = join(runtime.n8nDataDir(USER_FOLDER), 'nodes', 'node_modules', runtime.PACKAGE_NAME, 'package.json');
	if (process.env.CLAWGATE_REBUILD !== '1' && state.packageSourceHash === sourceHash && existsSync(installed)) {
		log('n8n-nodes-clawgate is unchanged since the last start: keeping the installed package (CLAWGATE_REBUILD=1 builds it again).');
		return;
	}
	log('Building and packing n8n-nodes-clawgate...');
	const packDir = join(USER_FOLDER, 'packed');
	rmSync(packDir, { recursive: true, force: true });
	const tarball = runtime.buildAndPack(packDir);
	log(`Installing ${tarball.split('/').pop()} into ${join(runtime.n8nDataDir(USER_FOLDER), 'nodes')} (as the Community nodes screen does)...`);
	runtime.installCommunityPackage(USER_FOLDER, tarball);
	state.packageSourceHash = sourceHash;
	writeState(state);
}

/** Tells whether the credentials changed without keeping them: an HMAC under a key of this user folder. */
function digestOf(state, credentials) {
	state.digestKey ??= randomBytes(32).toString('base64url');
	return createHmac('sha256', state.digestKey).update(JSON.stringify(credentials)).digest('hex');
}

/** What would activate the examples that are not active, in the words of the variables to set. */
function activationHints(active) {
	const hints = [];
	if (!process.env.TELEGRAM_BOT_TOKEN) {
		hints.push(`To activate "${EXAMPLES.aiBot.name}": stop with Ctrl+C and run TELEGRAM_BOT_TOKEN=<token from @BotFather> OPENAI_API_KEY=<key> npm start`);
	} else if (!process.env.OPENAI_API_KEY) {
		hints.push(`To activate "${EXAMPLES.aiBot.name}" instead: add OPENAI_API_KEY=<key> (OPENAI_BASE_URL for Ollama and other OpenAI-compatible servers).`);
	}
	if (active !== EXAMPLES.echo) {
		hints.push(`"${EXAMPLES.echo.name}" runs with TELEGRAM_BOT_TOKEN and a public WEBHOOK_URL=https://... and without OPENAI_API_KEY.`);
	}
	hints.push(
		`"${EXAMPLES.gateway.name}" (a trigger for each of 21 platforms): set DISCORD_BOT_TOKEN, SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET, TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN and WEBHOOK_URL, fill in the other platforms' credentials in the editor or delete their triggers, then activate it (deactivate the Telegram example first: one bot, one workflow).`,
	);
	return hints;
}

async function main() {
	const started = Date.now();
	await ensureN8n({ log });
	mkdirSync(USER_FOLDER, { recursive: true });

	const state = readState();
	// What the state remembers (examples, owner, credentials, the published example) lives in n8n's
	// SQLite database: without it (the n8n folder was deleted) it describes nothing.
	const sqliteDatabase = !process.env.DB_TYPE || process.env.DB_TYPE === 'sqlite';
	if (sqliteDatabase && !existsSync(join(runtime.n8nDataDir(USER_FOLDER), 'database.sqlite'))) {
		Object.assign(state, { importedExamples: [], owner: null, credentialsDigest: null, published: null });
	}
	installPackageIfChanged(state);

	const brokerPort = Number(process.env.N8N_RUNNERS_BROKER_PORT || (await runtime.freePort()));
	const env = runtime.n8nEnvironment({
		userFolder: USER_FOLDER,
		port: PORT,
		brokerPort,
		// n8n keeps its own key in the user folder; only pass one the user chose.
		encryptionKey: process.env.N8N_ENCRYPTION_KEY,
		// Node keeps the compiled code of n8n's thousands of modules for the next start (one cache per n8n version).
		extra: { NODE_COMPILE_CACHE: n8nCompileCacheDir() },
	});
	if (!process.env.N8N_ENCRYPTION_KEY) delete env.N8N_ENCRYPTION_KEY;

	const credentials = credentialsFromEnvironment();
	const credentialsDigest = credentials.length > 0 ? digestOf(state, credentials) : null;
	if (credentials.length > 0 && credentialsDigest !== state.credentialsDigest) {
		const file = join(USER_FOLDER, 'credentials.import.json');
		writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
		try {
			runtime.n8nCli(['import:credentials', `--input=${file}`], env);
		} finally {
			rmSync(file, { force: true });
		}
		state.credentialsDigest = credentialsDigest;
		writeState(state);
		log(`Credentials from the environment: ${credentials.map((credential) => credential.name).join(', ')}.`);
	} else if (credentials.length > 0) {
		log(`Credentials from the environment: ${credentials.map((credential) => credential.name).join(', ')} (unchanged since the last start).`);
	}

	// Examples are imported once, so later edits made in the editor are not overwritten; all new
	// ones in one CLI call (each call starts n8n's CLI, a few seconds).
	const newExamples = runtime
		.listExampleWorkflows()
		.map((file) => ({ file, workflow: JSON.parse(readFileSync(file, 'utf8')) }))
		.filter(({ workflow }) => !state.importedExamples.includes(workflow.id));
	if (newExamples.length > 0) {
		const folder = join(USER_FOLDER, 'examples.import');
		rmSync(folder, { recursive: true, force: true });
		mkdirSync(folder, { recursive: true });
		for (const { file } of newExamples) copyFileSync(file, join(folder, basename(file)));
		try {
			runtime.n8nCli(['import:workflow', '--separate', `--input=${folder}`], env);
		} finally {
			rmSync(folder, { recursive: true, force: true });
		}
		for (const { workflow } of newExamples) {
			state.importedExamples.push(workflow.id);
			log(`Imported example "${workflow.name}".`);
		}
		writeState(state);
	}

	const active = activateExamples(env, state);
	writeState(state);

	log(`Starting n8n ${N8N_VERSION} on http://127.0.0.1:${PORT} ...`);
	const child = runtime.startN8nProcess(env, { onOutput: (text) => process.stdout.write(text) });
	const stop = (signal) => child.kill(signal);
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	child.on('exit', (code) => process.exit(code ?? 0));

	const baseUrl = `http://127.0.0.1:${PORT}`;
	await runtime.waitForReadiness(baseUrl, child, { timeoutMs: 300_000 });
	if (!state.owner) {
		const owner = {
			email: process.env.N8N_OWNER_EMAIL || 'owner@clawgate.local',
			firstName: 'Clawgate',
			lastName: 'Owner',
			password: process.env.N8N_OWNER_PASSWORD || `Cg-${randomBytes(9).toString('base64url')}1`,
		};
		if (await runtime.setupOwner(baseUrl, owner)) {
			state.owner = { email: owner.email, password: owner.password };
			writeState(state);
		}
	}
	log('');
	log(`n8n ${N8N_VERSION} with Clawgate is ready after ${Math.round((Date.now() - started) / 1000)} s.`);
	log(`  Open ${baseUrl} and log in${state.owner ? ` as ${state.owner.email}, password ${state.owner.password} (kept in ${STATE_FILE})` : ' with the owner account you created on the first run'}.`);
	log(active ? `  Active: "${active.name}": ${active.what}` : '  No example is active yet: they are imported, inactive, under Overview.');
	for (const hint of activationHints(active)) log(`  ${hint}`);
	log('Press Ctrl+C to stop.');
}

if (!existsSync(join(runtime.REPO_ROOT, 'node_modules'))) {
	console.error('Run npm install first.');
	process.exit(1);
}
main().catch((error) => {
	console.error(`[clawgate] ${error.message}`);
	process.exit(1);
});
