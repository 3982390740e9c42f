// Writes a measured section into a docs/ page, between `<!-- <name>:start -->` and
// `<!-- <name>:end -->`, so the commands that measure (npm run bench, npm run test:reliability)
// refresh their figures in place and the hand-written text around them stays.
'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.join(__dirname, '..');

/** Replaces the named section of docs/<page> (the page must have its markers); returns the file's path. */
function writeDocsSection(page, name, markdown) {
	const file = path.join(REPO_ROOT, 'docs', page);
	const start = `<!-- ${name}:start -->`;
	const end = `<!-- ${name}:end -->`;
	const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
	const [from, to] = [text.indexOf(start), text.indexOf(end)];
	if (from < 0 || to < from) throw new Error(`docs/${page} has no section markers ${start} … ${end}.`);
	writeFileSync(file, `${text.slice(0, from + start.length)}\n${markdown.trim()}\n${text.slice(to)}`);
	return file;
}

module.exports = { writeDocsSection };
