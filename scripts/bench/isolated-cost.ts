/**
 * What one piece of the package costs on its own: a fresh Node process (n8n's Node 24) reads its
 * memory after full GCs, loads the piece (a dependency, the token counter's encoding, every node file of
 * dist/), collects again and reports the difference. Pieces overlap (the node files load the
 * dependencies), so the rows are not to be added up.
 */
import { spawnSync } from 'node:child_process';

const { node24Bin } = require('../n8n-install.js');
const runtime = require('../n8n-runtime.js');

export interface IsolatedCost {
	piece: string;
	rssMiB: number;
	heapUsedMiB: number;
	externalMiB: number;
}

const MEASURE = (load: string, preload: string) => `
${preload}
const read = () => { for (let i = 0; i < 3; i++) globalThis.gc(); return process.memoryUsage(); };
const before = read();
${load}
const after = read();
const MiB = 1024 ** 2;
process.stdout.write(JSON.stringify({ rssMiB: (after.rss - before.rss) / MiB, heapUsedMiB: (after.heapUsed - before.heapUsed) / MiB, externalMiB: (after.external - before.external) / MiB }));
`;

/** The pieces, as code run in the repository's folder (its node_modules hold the pinned dependencies). */
export function packagePieces(nodeFiles: string[]): Array<{ piece: string; load: string; preload?: string }> {
	const keep = 'globalThis.kept = [];';
	const requireAll = (names: string[]) => `${keep} for (const name of ${JSON.stringify(names)}) globalThis.kept.push(require(name));`;
	return [
		{ piece: 'the token counter with the o200k_base encoding (gpt-4o, loaded on the first count)', load: `${keep} const counter = require('./dist/nodes/core/tokens').createTokenCounter('gpt-4o'); counter.countText('hello'); globalThis.kept.push(counter);` },
		// Plain fetch since December 2026 (the openai SDK alone was 15.5 MiB of RSS here); Node's fetch is n8n's too.
		{ piece: 'the OpenAI model (plain fetch) and one client', load: `${keep} const { OpenAiChatModel } = require('./dist/nodes/core/session/openai.model'); globalThis.kept.push(new OpenAiChatModel({ apiKey: 'sk-bench', baseUrl: 'http://127.0.0.1:9/v1', timeoutMs: 1000 }));` },
		{ piece: '@discordjs/ws, @discordjs/rest, discord-api-types (Discord)', load: requireAll(['@discordjs/ws', '@discordjs/rest', 'discord-api-types/v10']) },
		// What the Twilio nodes load (nodes/Twilio/twilio.adapter.ts), not the SDK's index.
		{ piece: 'twilio (its REST client, HTTP client and signature check)', load: requireAll(['twilio/lib/rest/Twilio', 'twilio/lib/base/RequestClient', 'twilio/lib/webhooks/webhooks']) },
		{ piece: 'grammy', load: requireAll(['grammy']) },
		{ piece: '@slack/web-api', load: requireAll(['@slack/web-api']) },
		{ piece: 'imapflow, mailparser, nodemailer (Email)', load: requireAll(['imapflow', 'mailparser', 'nodemailer']) },
		{ piece: 'ioredis, pg (the Redis and Postgres stores)', load: requireAll(['ioredis', 'pg']) },
		// n8n-workflow is n8n's and loaded before any package: it is loaded before the first reading.
		{ piece: `every node file of dist/ (${nodeFiles.length}) and all they import, n8n-workflow excepted`, preload: "require('n8n-workflow');", load: requireAll(nodeFiles.map((file) => `./${file}`)) },
	];
}

export function isolatedCost({ piece, load, preload = '' }: { piece: string; load: string; preload?: string }): IsolatedCost {
	const result = spawnSync(node24Bin(), ['--expose-gc', '-e', MEASURE(load, preload)], { cwd: runtime.REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
	if (result.status !== 0) throw new Error(`Measuring ${piece} on its own failed: ${(result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n')}`);
	return { piece, ...(JSON.parse(result.stdout) as Omit<IsolatedCost, 'piece'>) };
}
