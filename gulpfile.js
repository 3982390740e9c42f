// Copies node and credential icons, each node's codex file (<Name>.node.json: categories,
// aliases, documentation link) and the token counter's rank data (nodes/core/ranks/*.bin) next to
// the compiled files, where n8n and the code look for them.
const { src, dest, task } = require('gulp');

task('build:icons', () =>
	src(['nodes/**/*.{png,svg}', 'nodes/**/*.node.json', 'nodes/**/*.bin', 'credentials/**/*.{png,svg}'], { base: '.', encoding: false }).pipe(
		dest('dist'),
	),
);
