// Runs a real n8n with this package installed the way n8n's Community nodes screen installs
// it. Shared by `npm start` and the end-to-end tests, so what is tested is what users run.
const { spawn, spawnSync } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { dirname, join, relative, resolve } = require('node:path');

const { n8nBin, node24Bin } = require('./n8n-install');

const REPO_ROOT = resolve(__dirname, '..');
const PACKAGE_NAME = 'n8n-nodes-clawgate';

function runSync(command, args, options = {}) {
	const result = spawnSync(command, args, { encoding: 'utf8', ...options });
	if (result.status !== 0) {
		const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
		throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${output}`);
	}
	return result.stdout;
}

/**
 * The files besides the compiled code that the package needs next to it: node and credential
 * icons, each node's codex file (<Name>.node.json) and the token counter's rank data (*.bin).
 */
const ASSET_FILE = /\.(svg|png|bin)$|\.node\.json$/;

function copyAssets(fromDir, toDir) {
	for (const entry of readdirSync(fromDir, { withFileTypes: true })) {
		const from = join(fromDir, entry.name);
		if (entry.isDirectory()) copyAssets(from, join(toDir, entry.name));
		else if (ASSET_FILE.test(entry.name)) {
			mkdirSync(toDir, { recursive: true });
			copyFileSync(from, join(toDir, entry.name));
		}
	}
}

/**
 * Writes the files n8n reads to lazy-load a package: `dist/known/*.json` (each node's and
 * credential's class and file) and `dist/types/*.json` (their descriptions), with n8n-core's own
 * generator (`n8n-generate-metadata`, which n8n-nodes-base is built with), run in the package's
 * folder on the compiled classes. With them n8n loads a node's file (and what it imports) only when
 * a workflow uses the node; without them it loads all 48 node files at every start.
 * `npm run build` runs the same generator.
 */
function generateN8nMetadata(packageDir, env) {
	// The compiled node files import n8n-workflow, which a staging folder has no node_modules for.
	runSync(node24Bin(), [join(REPO_ROOT, 'node_modules', 'n8n-core', 'bin', 'generate-metadata')], {
		cwd: packageDir,
		env: { ...env, NODE_PATH: join(REPO_ROOT, 'node_modules') },
	});
}

/**
 * Compiles the package into a private staging folder and packs it with `npm pack`, exactly what
 * npm would publish. Staging keeps a concurrent `npm run build` (which empties dist/) from
 * changing the tarball halfway.
 */
function buildAndPack(destination) {
	const stage = join(destination, 'stage');
	rmSync(stage, { recursive: true, force: true });
	mkdirSync(stage, { recursive: true });
	const env = { ...process.env, PATH: `${dirname(node24Bin())}:${process.env.PATH}` };
	runSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { cwd: REPO_ROOT, env });
	for (const folder of ['nodes', 'credentials']) copyAssets(join(REPO_ROOT, folder), join(stage, 'dist', folder));
	for (const file of ['package.json', 'README.md', 'LICENSE']) {
		if (existsSync(join(REPO_ROOT, file))) copyFileSync(join(REPO_ROOT, file), join(stage, file));
	}
	generateN8nMetadata(stage, env);
	const output = runSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], { cwd: stage, env });
	const [{ filename }] = JSON.parse(output.slice(output.indexOf('[')));
	return join(destination, filename);
}

/** What `buildAndPack` reads: the sources it compiles, the files it copies, and how it builds them. */
const PACKAGE_INPUTS = ['nodes', 'credentials', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'scripts/n8n-runtime.js'];

function listFiles(path, into) {
	if (!existsSync(path)) return into;
	for (const entry of readdirSync(path, { withFileTypes: true })) {
		const full = join(path, entry.name);
		if (entry.isDirectory()) listFiles(full, into);
		else into.push(full);
	}
	return into;
}

/**
 * A hash of everything that goes into the tarball `buildAndPack` makes: equal hashes mean an
 * equal package, so a start can keep the one it installed last time (tens of seconds saved).
 */
function packageSourceHash() {
	const hash = createHash('sha256');
	const files = PACKAGE_INPUTS.map((input) => join(REPO_ROOT, input))
		.filter((path) => existsSync(path))
		.flatMap((path) => (statSync(path).isDirectory() ? listFiles(path, []) : [path]));
	for (const file of files.map((path) => relative(REPO_ROOT, path)).sort()) {
		hash.update(`${file}\0`).update(readFileSync(join(REPO_ROOT, file))).update('\0');
	}
	return hash.digest('hex');
}

/** n8n keeps its data in `<N8N_USER_FOLDER>/.n8n`; community packages live in its `nodes` folder. */
function n8nDataDir(userFolder) {
	return join(userFolder, '.n8n');
}

/**
 * Installs the tarball into `<n8n folder>/nodes` exactly as n8n 2.40's Community nodes screen
 * does (CommunityPackagesService.downloadPackage): unpack into `nodes/node_modules/<name>`, drop
 * dev, peer and optional dependencies from its package.json, then `npm install` inside it with
 * install scripts off. n8n-workflow comes from n8n itself, as it will for users.
 */
function installCommunityPackage(userFolder, tarball) {
	const nodesDir = join(n8nDataDir(userFolder), 'nodes');
	const packageDir = join(nodesDir, 'node_modules', PACKAGE_NAME);
	rmSync(packageDir, { recursive: true, force: true });
	mkdirSync(packageDir, { recursive: true });
	runSync('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);

	const manifestPath = join(packageDir, 'package.json');
	const { devDependencies, peerDependencies, optionalDependencies, ...manifest } = JSON.parse(readFileSync(manifestPath, 'utf8'));
	writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	const env = { ...process.env, PATH: `${dirname(node24Bin())}:${process.env.PATH}` };
	runSync(
		'npm',
		['install', '--audit=false', '--fund=false', '--bin-links=false', '--install-strategy=shallow', '--ignore-scripts=true', '--package-lock=false', '--loglevel=error'],
		{ cwd: packageDir, env },
	);

	const nodesManifestPath = join(nodesDir, 'package.json');
	const nodesManifest = existsSync(nodesManifestPath) ? JSON.parse(readFileSync(nodesManifestPath, 'utf8')) : { name: 'installed-nodes', private: true };
	nodesManifest.dependencies = { ...nodesManifest.dependencies, [PACKAGE_NAME]: manifest.version };
	writeFileSync(nodesManifestPath, JSON.stringify(nodesManifest, null, 2));
	return packageDir;
}

/** Where `installBuiltPackage` keeps one installation per package hash (shared by the processes of a test run). */
const INSTALLED_PACKAGES = join(tmpdir(), 'clawgate-installed');
/** Installations of other sources are removed after a day unused; a build left halfway (a killed run) after an hour. */
const KEEP_INSTALLED_MS = 24 * 60 * 60_000;
const KEEP_HALF_BUILT_MS = 60 * 60_000;

function pruneInstalledPackages(keep) {
	for (const entry of readdirSync(INSTALLED_PACKAGES)) {
		const path = join(INSTALLED_PACKAGES, entry);
		const age = Date.now() - statSync(path).mtimeMs;
		if (entry !== keep && age > (entry.startsWith('building-') ? KEEP_HALF_BUILT_MS : KEEP_INSTALLED_MS)) rmSync(path, { recursive: true, force: true });
	}
}

/**
 * Installs the package into a user folder as `buildAndPack` + `installCommunityPackage` do, but
 * builds, packs and installs it only once per package hash on this machine, then copies that
 * installation (its `nodes` folder) into each user folder. An e2e or reliability run starts dozens
 * of n8n processes from the same sources; building and installing for each took about 25 s.
 * Concurrent test processes may build the same hash at once: each builds in a folder of its own
 * and the first to rename it into place wins. Returns the installed package's folder.
 */
function installBuiltPackage(userFolder) {
	const hash = packageSourceHash().slice(0, 24);
	const installed = join(INSTALLED_PACKAGES, hash);
	mkdirSync(INSTALLED_PACKAGES, { recursive: true });
	if (!existsSync(installed)) {
		const building = mkdtempSync(join(INSTALLED_PACKAGES, 'building-'));
		try {
			installCommunityPackage(building, buildAndPack(join(building, 'packed')));
		} catch (error) {
			rmSync(building, { recursive: true, force: true });
			throw error;
		}
		rmSync(join(building, 'packed'), { recursive: true, force: true });
		try {
			renameSync(building, installed);
		} catch (error) {
			rmSync(building, { recursive: true, force: true });
			if (!existsSync(installed)) throw error;
		}
		pruneInstalledPackages(hash);
	}
	// Its time is when it was last used, which is what pruning goes by.
	const now = new Date();
	utimesSync(installed, now, now);
	cpSync(join(n8nDataDir(installed), 'nodes'), join(n8nDataDir(userFolder), 'nodes'), { recursive: true });
	return join(n8nDataDir(userFolder), 'nodes', 'node_modules', PACKAGE_NAME);
}

/**
 * Where the kernel's range for outgoing connections' local ports (and for `listen(0)`) begins. A
 * port picked from that range can be taken by any outgoing connection (to Redis, Postgres, an
 * emulator) between the moment it is picked and the moment n8n binds it, minutes later when a
 * build comes first; CI once lost a run to exactly that ("Task Broker's port … is already in use").
 */
function ephemeralPortsFrom() {
	try {
		const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
		if (Number.isInteger(low) && low > 0) return low;
	} catch {
		// Not Linux: the IANA dynamic range, which macOS and Windows use.
	}
	return 49152;
}

const FIXED_PORT_FLOOR = 20000;
const handedOut = new Set();

function canListen(port) {
	return new Promise((resolveListen) => {
		const server = createServer();
		server.unref();
		server.once('error', () => resolveListen(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolveListen(true)));
	});
}

/**
 * A loopback port for a server that binds it later (n8n, its task broker): picked at random below
 * the ephemeral range, so no outgoing connection can take it meanwhile, and checked free now.
 * Ports this process handed out before are not handed out again.
 */
async function freePort() {
	const ephemeral = ephemeralPortsFrom();
	// An ephemeral range that starts too low leaves nothing below it: then any unprivileged port.
	const [floor, ceiling] = ephemeral > FIXED_PORT_FLOOR + 1000 ? [FIXED_PORT_FLOOR, ephemeral] : [1024, 65536];
	for (let attempt = 0; attempt < 200; attempt++) {
		const port = floor + Math.floor(Math.random() * (ceiling - floor));
		if (handedOut.has(port)) continue;
		if (await canListen(port)) {
			handedOut.add(port);
			return port;
		}
	}
	throw new Error(`no free loopback port between ${floor} and ${ceiling - 1} after 200 tries`);
}

/**
 * n8n modules that call the internet as soon as n8n starts, and print a stack trace when it is
 * not reachable (mcp-registry: `getaddrinfo ENOTFOUND` fetching its server list).
 */
const INTERNET_MODULES = ['mcp-registry'];

/** The environment n8n needs here: loopback only, no calls to the internet it cannot reach. */
function n8nEnvironment({ userFolder, port, brokerPort, encryptionKey, extra = {} }) {
	// Test runners set NODE_ENV=test and their own variables; n8n must run as it does for users.
	const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_ENV' && !name.startsWith('JEST_')));
	return {
		...inherited,
		PATH: `${dirname(node24Bin())}:${process.env.PATH}`,
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_ENCRYPTION_KEY: encryptionKey,
		N8N_SECURE_COOKIE: 'false',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_DISABLED_MODULES: [...new Set([...(process.env.N8N_DISABLED_MODULES ?? '').split(',').filter(Boolean), ...INTERNET_MODULES])].join(','),
		// n8n 3.0 loads unverified community packages (this one, until n8n verifies it) only when this is true.
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_LOG_OUTPUT: 'console',
		DB_SQLITE_POOL_SIZE: '2',
		...extra,
	};
}

/** Runs an n8n CLI command (import:workflow, publish:workflow, ...) against a stopped n8n. */
function n8nCli(args, env) {
	return runSync(node24Bin(), [n8nBin(), ...args], { env, cwd: env.N8N_USER_FOLDER });
}

/** Starts `n8n start` (a main), or another n8n command such as `worker` (queue mode). */
function startN8nProcess(env, { onOutput, command = 'start' } = {}) {
	const child = spawn(node24Bin(), [n8nBin(), command], { env, cwd: env.N8N_USER_FOLDER, stdio: ['ignore', 'pipe', 'pipe'] });
	if (onOutput) {
		child.stdout.on('data', (chunk) => onOutput(chunk.toString()));
		child.stderr.on('data', (chunk) => onOutput(chunk.toString()));
	}
	return child;
}

/**
 * Resolves once n8n answers its readiness probe. `crashed()` tells from n8n's output that it gave
 * up starting ("Exiting due to an error"): n8n 2.40.7 can then hang instead of exiting, so it gets
 * a few seconds to exit and is killed after that, and the start counts as exited.
 */
async function waitForReadiness(baseUrl, child, { timeoutMs = 180_000, crashed = () => false } = {}) {
	const deadline = Date.now() + timeoutMs;
	let crashSeenAt = null;
	while (Date.now() < deadline) {
		if (child.exitCode !== null || child.signalCode !== null) throw new Error(`n8n exited (code ${child.exitCode ?? child.signalCode}) before it was ready.`);
		if (crashSeenAt === null && crashed()) crashSeenAt = Date.now();
		if (crashSeenAt !== null && Date.now() - crashSeenAt > 10_000) {
			child.kill('SIGKILL');
			await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
			throw new Error('n8n exited (killed: it reported "Exiting due to an error" and did not exit) before it was ready.');
		}
		try {
			const response = await fetch(`${baseUrl}/healthz/readiness`);
			if (response.ok) return;
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error(`n8n at ${baseUrl} was not ready within ${timeoutMs / 1000} s.`);
}

function authCookieFrom(response) {
	const cookies = response.headers.getSetCookie();
	const auth = cookies.find((cookie) => cookie.startsWith('n8n-auth='));
	return auth ? auth.split(';')[0] : null;
}

/** Creates the instance owner on first start; returns the auth cookie, or null if an owner exists. */
async function setupOwner(baseUrl, owner) {
	const response = await fetch(`${baseUrl}/rest/owner/setup`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(owner),
	});
	if (response.status === 400) return null;
	if (!response.ok) throw new Error(`Creating the n8n owner failed: ${response.status} ${await response.text()}`);
	return authCookieFrom(response);
}

async function login(baseUrl, { email, password }) {
	const response = await fetch(`${baseUrl}/rest/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ emailOrLdapLoginId: email, password }),
	});
	if (!response.ok) throw new Error(`Logging in to n8n failed: ${response.status} ${await response.text()}`);
	return authCookieFrom(response);
}

function newEncryptionKey() {
	return randomBytes(24).toString('base64url');
}

function listExampleWorkflows() {
	const dir = join(REPO_ROOT, 'examples');
	return readdirSync(dir)
		.filter((name) => name.endsWith('.json'))
		.map((name) => join(dir, name));
}

module.exports = {
	PACKAGE_NAME,
	REPO_ROOT,
	buildAndPack,
	freePort,
	installBuiltPackage,
	installCommunityPackage,
	listExampleWorkflows,
	login,
	n8nCli,
	n8nDataDir,
	copyAssets,
	n8nEnvironment,
	newEncryptionKey,
	packageSourceHash,
	setupOwner,
	startN8nProcess,
	waitForReadiness,
};
