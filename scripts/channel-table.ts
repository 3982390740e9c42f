/**
 * `npm run docs:channels`: writes README's channel table from the plugins' own data
 * (`channelPlugins` in nodes/Reply/channel-registry.ts, each plugin's `capabilities`), between
 * the markers below, so a new channel appears in README by adding its plugin and re-running this.
 * `npm run docs:channels -- --check` only reports whether README is up to date (exit 1 when not).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { AnyChannelPlugin } from '../nodes/core/channel';
import { channelPlugins } from '../nodes/Reply/channel-registry';

const REPO_ROOT = path.resolve(__dirname, '..');
const README = path.join(REPO_ROOT, 'README.md');
const START = '<!-- channel-table:start (written by npm run docs:channels from the plugins\' capabilities; do not edit by hand) -->';
const END = '<!-- channel-table:end -->';

const yesNo = (value: boolean) => (value ? 'yes' : '–');

function row(plugin: AnyChannelPlugin): string {
	const { capabilities } = plugin;
	const doc = `docs/channels/${plugin.id}.md`;
	const name = existsSync(path.join(REPO_ROOT, doc)) ? `[${plugin.name}](${doc})` : plugin.name;
	const cells = [
		name,
		`\`${plugin.id}\``,
		plugin.channels.join(', '),
		capabilities.textLimit.toLocaleString('en-US'),
		capabilities.renderer.name,
		yesNo(capabilities.edit),
		yesNo(capabilities.typing),
		yesNo(capabilities.threads),
		yesNo(capabilities.media),
		capabilities.inbound.map((transport) => (transport === 'listener' ? 'listener (no public URL)' : 'webhook')).join(', '),
	];
	return `| ${cells.join(' | ')} |`;
}

export function channelTable(plugins: readonly AnyChannelPlugin[] = channelPlugins): string {
	return [
		'| channel | id | envelope `channel` | text limit | format | edit | typing | threads | media | inbound |',
		'| --- | --- | --- | ---: | --- | --- | --- | --- | --- | --- |',
		...plugins.map(row),
	].join('\n');
}

function main(): number {
	const readme = readFileSync(README, 'utf8');
	const [from, to] = [readme.indexOf(START), readme.indexOf(END)];
	if (from < 0 || to < from) {
		process.stderr.write(`README.md has no channel table markers:\n${START}\n${END}\n`);
		return 1;
	}
	const updated = `${readme.slice(0, from + START.length)}\n${channelTable()}\n${readme.slice(to)}`;
	if (process.argv.includes('--check')) {
		if (updated === readme) return 0;
		process.stderr.write('README.md\'s channel table is out of date: run npm run docs:channels.\n');
		return 1;
	}
	writeFileSync(README, updated);
	process.stdout.write(`README.md: channel table with ${channelPlugins.length} channels.\n`);
	return 0;
}

if (require.main === module) process.exitCode = main();
