// Installs the pinned n8n into a cache outside the repository, once per machine.
// npm's own install of n8n fails offline (an optional dependency downloads a binary while
// building), so it is installed with --ignore-scripts and the two native addons n8n needs
// are rebuilt from source against the Node 24 that runs it.
const { spawn } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');

const N8N_VERSION = '2.40.7';
const READY_MARKER = '.clawgate-ready';
const INSTALLED_MARKER = '.clawgate-installed';

function n8nCacheDir() {
	const root = process.env.CLAWGATE_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'clawgate');
	return join(root, `n8n-${N8N_VERSION}`);
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

function run(command, args, options) {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { stdio: 'inherit', ...options });
		child.on('error', reject);
		child.on('exit', (code, signal) =>
			code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
		);
	});
}

function countPackages(dir) {
	try {
		return readdirSync(join(dir, 'node_modules')).length;
	} catch {
		return 0;
	}
}

async function ensureN8n({ log = (line) => console.log(line) } = {}) {
	const dir = n8nCacheDir();
	if (existsSync(join(dir, READY_MARKER))) return dir;

	const nodeBin = node24Bin();
	const nodeDir = nodeHeadersDir(nodeBin);
	// A half-done install is kept and resumed: the download alone takes minutes.
	const staging = `${dir}.partial`;
	mkdirSync(staging, { recursive: true });
	writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'clawgate-n8n-cache', private: true }, null, 2));

	log(`Installing n8n ${N8N_VERSION} into ${dir} (first time only: about 3 minutes and 3 GB).`);
	const started = Date.now();
	const heartbeat = setInterval(() => {
		const seconds = Math.round((Date.now() - started) / 1000);
		log(`  ... ${seconds}s, ${countPackages(staging)} top-level packages so far`);
	}, 15_000);
	const env = { ...process.env, PATH: `${dirname(nodeBin)}:${process.env.PATH}`, ...(nodeDir ? { npm_config_nodedir: nodeDir } : {}) };
	try {
		if (!existsSync(join(staging, INSTALLED_MARKER))) {
			await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', `n8n@${N8N_VERSION}`], { cwd: staging, env });
			writeFileSync(join(staging, INSTALLED_MARKER), `${new Date().toISOString()}\n`);
		}
		log('  building the native addons n8n needs (sqlite3, isolated-vm) for Node 24 from source...');
		await run('npm', ['rebuild', 'sqlite3', 'isolated-vm', ...(nodeDir ? [`--nodedir=${nodeDir}`] : []), '--loglevel=error'], { cwd: staging, env });
	} finally {
		clearInterval(heartbeat);
	}
	writeFileSync(join(staging, READY_MARKER), `${new Date().toISOString()}\n`);
	rmSync(dir, { recursive: true, force: true });
	renameSync(staging, dir);
	log(`n8n ${N8N_VERSION} installed in ${Math.round((Date.now() - started) / 1000)}s.`);
	return dir;
}

module.exports = { N8N_VERSION, ensureN8n, n8nBin, n8nCacheDir, node24Bin };

if (require.main === module) {
	ensureN8n().then(
		(dir) => console.log(`n8n ${N8N_VERSION} is ready in ${dir}`),
		(error) => {
			console.error(error.message);
			process.exit(1);
		},
	);
}
