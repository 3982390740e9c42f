#!/usr/bin/env node
// `npm run size`: what n8n-nodes-clawgate weighs once installed the way n8n's Community nodes
// screen installs it (the packed tarball, `npm install` without dev, peer and optional
// dependencies), and what each dependency adds. With a folder argument it measures a package
// already installed there (e.g. .n8n-dev/.n8n/nodes/node_modules/n8n-nodes-clawgate) instead of
// building and installing one into a temporary folder.
'use strict';
const { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const runtime = require('./n8n-runtime');

/** Bytes under `path`: the files' own sizes, and what they take on this disk (whole blocks, as `du` counts). */
function sizeOf(path) {
	const stat = lstatSync(path);
	const here = { bytes: stat.isDirectory() ? 0 : stat.size, disk: stat.blocks * 512 };
	if (!stat.isDirectory()) return here;
	return readdirSync(path).reduce((total, name) => {
		const inner = sizeOf(join(path, name));
		return { bytes: total.bytes + inner.bytes, disk: total.disk + inner.disk };
	}, here);
}

function packagesIn(nodeModules) {
	return readdirSync(nodeModules)
		.filter((name) => !name.startsWith('.'))
		.flatMap((name) => (name.startsWith('@') ? readdirSync(join(nodeModules, name)).map((scoped) => `${name}/${scoped}`) : [name]));
}

const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

/** The installed package's weight: in all, its own files, and per package under its node_modules (largest first). */
function installedSize(packageDir) {
	const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
	const nodeModules = join(packageDir, 'node_modules');
	const total = sizeOf(packageDir);
	const dependencies = sizeOf(nodeModules);
	const own = { bytes: total.bytes - dependencies.bytes, disk: total.disk - dependencies.disk };
	// n8n installs with --install-strategy=shallow: each direct dependency's folder holds the
	// dependencies only it needs; ones shared by several sit beside it and are listed as shared.
	const direct = Object.keys(manifest.dependencies ?? {});
	const rows = packagesIn(nodeModules).map((name) => ({ name, bytes: sizeOf(join(nodeModules, name)), direct: direct.includes(name) }));
	rows.sort((a, b) => b.bytes.disk - a.bytes.disk);
	return { manifest, total, own, rows };
}

function report(packageDir) {
	const { manifest, total, own, rows } = installedSize(packageDir);
	const lines = [
		`n8n-nodes-clawgate ${manifest.version} installed as a community package: ${mb(total.disk)} MB on disk, ${mb(total.bytes)} MB of files (${packageDir})`,
		'',
		'| package | MB on disk | MB of files | |',
		'| --- | ---: | ---: | --- |',
		`| n8n-nodes-clawgate itself (dist, README, LICENSE) | ${mb(own.disk)} | ${mb(own.bytes)} | |`,
		...rows.map((row) => `| ${row.name} | ${mb(row.bytes.disk)} | ${mb(row.bytes.bytes)} | ${row.direct ? 'dependency, with what only it needs' : 'shared by several dependencies'} |`),
	];
	console.log(lines.join('\n'));
}

function main() {
	const given = process.argv[2];
	if (given) return report(resolve(given));
	const folder = mkdtempSync(join(tmpdir(), 'clawgate-size-'));
	try {
		console.error('Building, packing and installing n8n-nodes-clawgate the Community nodes way...');
		const tarball = runtime.buildAndPack(join(folder, 'packed'));
		report(runtime.installCommunityPackage(folder, tarball));
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

if (require.main === module) main();

module.exports = { installedSize };
