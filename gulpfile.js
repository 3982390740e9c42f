// Copies the files the compiled code needs next to it (node and credential icons, each node's
// codex file <Name>.node.json, the token counter's rank data nodes/core/ranks/*.bin) into dist/,
// with the same rule the e2e and benchmark packing uses (scripts/n8n-runtime.js).
const { task } = require('gulp');
const { copyAssets } = require('./scripts/n8n-runtime.js');

task('build:icons', async () => {
	for (const folder of ['nodes', 'credentials']) copyAssets(folder, `dist/${folder}`);
});
