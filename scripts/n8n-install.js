// Installs n8n into a cache outside the repository, once per machine and version: the pinned
// version by default, any other with N8N_VERSION=<version> (`--newest` names the newest release
// whose own packages the registry holds). npm's own install of n8n fails offline (an optional
// dependency downloads a binary while building), so it is installed with --ignore-scripts and
// the two native addons n8n needs are rebuilt from source against the Node 24 that runs it.
const { execFile, spawn } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');

/** The n8n that `npm start` runs and every test is written against. */
const PINNED_N8N_VERSION = '2.40.7';
const N8N_VERSION = process.env.N8N_VERSION || PINNED_N8N_VERSION;
const READY_MARKER = '.clawgate-ready';
const INSTALLED_MARKER = '.clawgate-installed';
/** The native addons n8n needs, built from source for the Node 24 that runs it. */
const NATIVE_ADDONS = ['sqlite3', 'isolated-vm'];

function n8nCacheDir(version = N8N_VERSION) {
	const root = process.env.CLAWGATE_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'clawgate');
	return join(root, `n8n-${version}`);
}

/** Where Node keeps the compiled code of n8n's modules between starts (NODE_COMPILE_CACHE): one per n8n version. */
function n8nCompileCacheDir(version = N8N_VERSION) {
	return process.env.NODE_COMPILE_CACHE || join(n8nCacheDir(version), 'compile-cache');
}

function n8nBin(dir = n8nCacheDir()) {
	return join(dir, 'node_modules', 'n8n', 'bin', 'n8n');
}

/** The Node 24 binary n8n runs on: the one npm scripts put on the PATH through the `node` devDependency. */
function node24Bin() {
	if (Number(process.versions.node.split('.')[0]) < 24) {
		throw new Error(`n8n ${N8N_VERSION} needs Node 24 or newer, but this is Node ${process.versions.node}. Run this through npm (npm start / npm test), which uses the Node 24 from the "node" devDependency.`);
	}
	return process.execPath;
}

/**
 * The folder holding the running Node's headers (include/node), when the `node` package left
 * them beside its binary. sqlite3 is an N-API addon, so headers of another Node (the npm
 * config's `nodedir`, or node-gyp's default) build a binary that loads on Node 24 too.
 */
function nodeHeadersDir(nodeBin) {
	const binDir = dirname(realpathSync(nodeBin));
	const candidates = [dirname(binDir), join(dirname(binDir), 'node_modules', `node-${process.platform}-${process.arch}`)];
	return candidates.find((candidate) => existsSync(join(candidate, 'include', 'node', 'common.gypi'))) ?? null;
}

/** Runs a command with the terminal's output; a failure's error carries the end of what it wrote to stderr. */
function run(command, args, options) {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { stdio: ['inherit', 'inherit', 'pipe'], ...options });
		let stderr = '';
		child.stderr?.on('data', (chunk) => {
			process.stderr.write(chunk);
			stderr = (stderr + chunk.toString()).slice(-64 * 1024);
		});
		child.on('error', reject);
		child.on('exit', (code, signal) =>
			code === 0 ? resolve() : reject(Object.assign(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`), { stderr })),
		);
		options?.onStart?.(child);
	});
}

function npmView(args) {
	return new Promise((resolve) => {
		execFile('npm', ['view', ...args, '--json'], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
			if (error) return resolve(undefined);
			try {
				resolve(JSON.parse(stdout));
			} catch {
				resolve(undefined);
			}
		});
	});
}

const megabytes = (bytes) => `${Math.round(bytes / 1024 / 1024).toLocaleString('en-US')} MB`;

/** Bytes in the files under a folder (small folders only: the addons' build output). */
function folderBytes(dir) {
	let total = 0;
	try {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			const file = join(dir, entry.name);
			total += entry.isDirectory() ? folderBytes(file) : statSync(file).size;
		}
	} catch {
		// not created yet
	}
	return total;
}

/**
 * What npm has really moved so far: bytes it read (registry downloads and cache reads) and wrote
 * (its cache and the unpacked files), from Linux's per-process I/O counters; npm unpacks only at
 * the end, so counting folders would show nothing for minutes. Elsewhere: top-level packages.
 */
function installProgress(npmPid, staging) {
	try {
		const io = Object.fromEntries(
			readFileSync(`/proc/${npmPid}/io`, 'utf8')
				.trim()
				.split('\n')
				.map((line) => line.split(': '))
				.map(([name, value]) => [name, Number(value)]),
		);
		return `npm has read ${megabytes(io.rchar)} and written ${megabytes(io.wchar)}`;
	} catch {
		let packages = 0;
		try {
			packages = readdirSync(join(staging, 'node_modules')).length;
		} catch {
			// npm has not unpacked anything yet
		}
		return `${packages} top-level packages unpacked`;
	}
}

/**
 * The compilers run as npm's children, so npm's own counters stay still: count the addons' build
 * output instead (an addon that ships a prebuilt binary for this platform has none).
 */
function rebuildProgress(staging) {
	const built = NATIVE_ADDONS.map((addon) => [addon, join(staging, 'node_modules', addon, 'build')])
		.filter(([, dir]) => existsSync(dir))
		.map(([addon, dir]) => `${addon} ${megabytes(folderBytes(dir))}`);
	return built.length > 0 ? `compiler output so far: ${built.join(', ')}` : 'the compiler is starting';
}

/**
 * The n8n-owned packages (n8n-*, @n8n/*) that an n8n release pins to an exact version the
 * registry does not hold. npm fails on the first of them with ETARGET after resolving for a
 * while; this names them all at once.
 */
async function missingN8nPackages(version) {
	const dependencies = (await npmView([`n8n@${version}`, 'dependencies'])) ?? {};
	const pinned = Object.entries(dependencies).filter(([name, range]) => /^(n8n-|@n8n\/)/.test(name) && /^\d+\.\d+\.\d+$/.test(range));
	const missing = [];
	for (const [name, range] of pinned) {
		const versions = [].concat((await npmView([name, 'versions'])) ?? []);
		if (!versions.includes(range)) missing.push({ name, version: range, newest: versions.at(-1) ?? null });
	}
	return missing;
}

const byVersion = (a, b) => {
	const [x, y] = [a, b].map((version) => version.split('.').map(Number));
	return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

/** The newest stable n8n release whose own packages are all in the registry, with the ones skipped and why. */
async function newestInstallableN8n({ log = () => {} } = {}) {
	const releases = [].concat((await npmView(['n8n', 'versions'])) ?? []).filter((version) => /^\d+\.\d+\.\d+$/.test(version));
	const candidates = releases.filter((version) => byVersion(version, PINNED_N8N_VERSION) > 0).sort(byVersion).reverse();
	for (const version of candidates) {
		const missing = await missingN8nPackages(version);
		if (missing.length === 0) return version;
		log(`n8n ${version} cannot be installed from this registry: it pins ${missing.length} package(s) at versions the registry does not have (npm: ETARGET), e.g. ${missing.slice(0, 3).map((entry) => `${entry.name}@${entry.version} (newest there: ${entry.newest})`).join(', ')}.`);
	}
	return PINNED_N8N_VERSION;
}

/**
 * When npm failed with ETARGET for a version the registry does not hold although it holds
 * packages that ask for it (a mirror that stopped part-way: here `@ai-sdk/otel@1.0.185`, which
 * pins `ai@7.0.185`, while the newest `ai` it has is 7.0.173), the moment to install "as of":
 * just after the newest version of the missing package was published, so npm's `--before`
 * resolves every range to versions published before it, which the registry then holds
 * together. Null when the failure is something else, or when that moment would hide n8n itself.
 */
async function registryCutoff(stderr, version) {
	const missing = /No matching version found for ((?:@[^/\s]+\/)?[^@\s]+)@(\S+?)\.?\s*$/m.exec(stderr ?? '');
	if (!missing) return null;
	const [, name, wanted] = missing;
	const times = (await npmView([name, 'time'])) ?? {};
	if (times[wanted]) return null;
	const published = Object.entries(times)
		.filter(([release]) => /^\d+\.\d+\.\d+$/.test(release))
		.map(([, time]) => Date.parse(time))
		.filter(Number.isFinite);
	const n8nPublished = Date.parse(((await npmView(['n8n', 'time'])) ?? {})[version] ?? '');
	if (published.length === 0 || !Number.isFinite(n8nPublished)) return null;
	const cutoff = Math.max(...published) + 60_000;
	return cutoff > n8nPublished ? { name, wanted, before: new Date(cutoff).toISOString() } : null;
}

/**
 * npm `overrides` for the n8n cache's package.json, from CLAWGATE_N8N_OVERRIDES (JSON, e.g.
 * {"@n8n/agents":"0.26.1"}): a way to install a release that pins a package the registry lacks.
 */
function overridesFromEnvironment() {
	if (!process.env.CLAWGATE_N8N_OVERRIDES) return undefined;
	return JSON.parse(process.env.CLAWGATE_N8N_OVERRIDES);
}

async function ensureN8n({ log = (line) => console.log(line), version = N8N_VERSION } = {}) {
	const dir = n8nCacheDir(version);
	if (existsSync(join(dir, READY_MARKER))) return dir;

	const nodeBin = node24Bin();
	const nodeDir = nodeHeadersDir(nodeBin);
	// A half-done install is kept and resumed: the download alone takes minutes.
	const staging = `${dir}.partial`;
	mkdirSync(staging, { recursive: true });
	const overrides = overridesFromEnvironment();
	writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'clawgate-n8n-cache', private: true, ...(overrides ? { overrides } : {}) }, null, 2));
	if (overrides) log(`npm overrides in ${join(staging, 'package.json')}: ${JSON.stringify(overrides)}`);

	log(`Installing n8n ${version} into ${dir} (first time only: 5 to 10 minutes, about 1 GB to download, 3 GB on disk).`);
	const started = Date.now();
	let npmPid = null;
	let phase = 'install';
	const heartbeat = setInterval(() => {
		const seconds = Math.round((Date.now() - started) / 1000);
		const progress = phase === 'rebuild' ? rebuildProgress(staging) : npmPid ? installProgress(npmPid, staging) : 'starting npm';
		log(`  ... ${seconds}s: ${progress}`);
	}, 15_000);
	const env = { ...process.env, PATH: `${dirname(nodeBin)}:${process.env.PATH}`, ...(nodeDir ? { npm_config_nodedir: nodeDir } : {}) };
	try {
		if (!existsSync(join(staging, INSTALLED_MARKER))) {
			const install = (extra) =>
				run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...extra, `n8n@${version}`], {
					cwd: staging,
					env,
					onStart: (child) => (npmPid = child.pid),
				});
			let before = process.env.CLAWGATE_N8N_BEFORE || null;
			for (let attempt = 1; ; attempt += 1) {
				try {
					await install(before ? [`--before=${before}`] : []);
					break;
				} catch (error) {
					const cutoff = attempt <= 3 ? await registryCutoff(error.stderr, version) : null;
					if (!cutoff || cutoff.before === before) throw error;
					before = cutoff.before;
					log(`  the registry lacks ${cutoff.name}@${cutoff.wanted}, which a package there asks for; installing again as of ${before} (npm --before), when its packages were whole.`);
				}
			}
			writeFileSync(join(staging, INSTALLED_MARKER), `${new Date().toISOString()}\n`);
		}
		phase = 'rebuild';
		log(`  building the native addons n8n needs (${NATIVE_ADDONS.join(', ')}) for Node 24 from source (a few minutes)...`);
		await run('npm', ['rebuild', ...NATIVE_ADDONS, ...(nodeDir ? [`--nodedir=${nodeDir}`] : []), '--loglevel=error'], { cwd: staging, env });
	} finally {
		clearInterval(heartbeat);
	}
	writeFileSync(join(staging, READY_MARKER), `${new Date().toISOString()}\n`);
	rmSync(dir, { recursive: true, force: true });
	renameSync(staging, dir);
	log(`n8n ${version} installed in ${Math.round((Date.now() - started) / 1000)}s.`);
	return dir;
}

module.exports = { N8N_VERSION, PINNED_N8N_VERSION, ensureN8n, registryCutoff, missingN8nPackages, n8nBin, n8nCacheDir, n8nCompileCacheDir, newestInstallableN8n, node24Bin };

if (require.main === module) {
	const [command] = process.argv.slice(2);
	if (command === '--newest') {
		// Prints only the version on stdout, so CI can use it: N8N_VERSION=$(node scripts/n8n-install.js --newest)
		newestInstallableN8n({ log: (line) => console.error(line) }).then((version) => console.log(version));
	} else if (command === '--missing') {
		missingN8nPackages(process.argv[3]).then((missing) => console.log(JSON.stringify(missing, null, 2)));
	} else {
		ensureN8n().then(
			(dir) => console.log(`n8n ${N8N_VERSION} is ready in ${dir}`),
			(error) => {
				console.error(error.message);
				process.exit(1);
			},
		);
	}
}
