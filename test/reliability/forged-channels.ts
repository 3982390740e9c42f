/**
 * Forged input against every webhook channel of the contract suite that forged-input.test.ts does
 * not already cover with its own gateway (Telegram, Slack, Twilio): one real n8n, one workflow per
 * channel (its trigger → Reply, as users wire it), the channel's emulator behind its credential.
 * The channels are split over two test files (forged-channels-1 and -2.test.ts), each with its own
 * n8n, so that `npm run test:reliability` runs the halves side by side: n8n spends most of the
 * time, on one core per process.
 * Each trigger gets 250 requests a stranger could send: deliveries signed with another secret,
 * deliveries without proof, and junk bodies. Every one must be refused 401 and start nothing. The
 * requests come from the channel's contract driver, so each platform's own proof scheme is forged
 * (HMAC headers, JWTs signed by another key, tokens in the body).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INodeType } from 'n8n-workflow';

import { N8nInstance, type CredentialFixture, type WorkflowFixture } from '../e2e/harness';
import { contractDrivers, type ContractDriver, type Delivery } from '../platforms/contract-drivers';
import { recordFigure } from './figures';
import { withConcurrency } from './gateway-fixture';
import { allExecutions, stackTraceLines } from './n8n-checks';

/**
 * Per channel, 20 at a time: 100 signed with another secret, 100 without proof, 50 of junk.
 * forged-input.test.ts sends 1,000 per trigger to the three channels it covers; 250 here keep the
 * 12 barrages from taking a third of CI's time (each forged request costs n8n an expression
 * isolate before any node code runs).
 */
const REQUESTS_PER_TRIGGER = 250;
const CONCURRENCY = 20;
/** Covered, with a genuine-message check and more classes of input, by forged-input.test.ts. */
const COVERED_ELSEWHERE = ['telegram', 'slack', 'twilio'];

const allDrivers = contractDrivers.filter((driver) => driver.plugin.webhook && !COVERED_ELSEWHERE.includes(driver.plugin.id));

/** The trigger node class of a channel, found through the package's own node list. */
function triggerOf(id: string): { name: string; version: number } {
	const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { n8n: { nodes: string[] } };
	for (const entry of pkg.n8n.nodes.filter((path) => path.endsWith('Trigger.node.js'))) {
		const source = join(__dirname, '..', '..', entry.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		const module = require(source) as Record<string, new () => INodeType>;
		for (const NodeClass of Object.values(module)) {
			if (typeof NodeClass !== 'function') continue;
			const { description } = new NodeClass();
			if (description.name !== `${id}Trigger`) continue;
			const versions = Array.isArray(description.version) ? description.version : [description.version];
			return { name: description.name, version: description.defaultVersion ?? versions[versions.length - 1] };
		}
	}
	throw new Error(`No trigger node for the channel "${id}" in package.json`);
}

interface Channel {
	driver: ContractDriver;
	workflow: WorkflowFixture;
	/** Pointing at the emulator, which has an address only once started. */
	credential(): CredentialFixture;
	webhookId: string;
}

function channelOf(driver: ContractDriver, index: number): Channel {
	const { plugin } = driver;
	const trigger = triggerOf(plugin.id);
	const webhookId = randomUUID();
	const id = { id: `ForgedCred${String(index).padStart(6, '0')}`, name: `${plugin.name} (forged input)` };
	const credentials = { [plugin.credentialType]: id };
	return {
		driver,
		credential: () => ({ ...id, type: plugin.credentialType, data: driver.credential() as Record<string, unknown> }),
		webhookId,
		workflow: {
			id: `ForgedChannel${String(index).padStart(3, '0')}`,
			name: `Forged input: ${plugin.name}`,
			nodes: [
				{ id: randomUUID(), name: 'Trigger', type: `n8n-nodes-clawgate.${trigger.name}`, typeVersion: trigger.version, position: [0, 0], webhookId, parameters: { options: driver.options ?? {} }, credentials },
				{ id: randomUUID(), name: 'Reply', type: 'n8n-nodes-clawgate.reply', typeVersion: 1, position: [300, 0], parameters: {}, credentials },
			],
			connections: { Trigger: { main: [[{ node: 'Reply', type: 'main', index: 0 }]] } },
			settings: {},
		},
	};
}

/** One request of the barrage: a forged or unsigned genuine-looking delivery, or junk. */
function probe(driver: ContractDriver, index: number): Delivery {
	switch (index % 5) {
		case 0:
		case 1:
			return driver.deliver(driver.dm(`forged ${index}`), 'forged');
		case 2:
		case 3:
			return driver.deliver(driver.dm(`unsigned ${index}`), 'unsigned');
		default:
			return { headers: { 'content-type': 'text/plain' }, rawBody: randomBytes(64).toString('base64'), body: undefined };
	}
}

/** Part `part` of `parts` of the channels (every `parts`-th one), each part in a real n8n of its own. */
export function describeForgedChannels(part: number, parts: number): void {
	jest.setTimeout(15 * 60_000);
	const channels = allDrivers.flatMap((driver, index) => (index % parts === part - 1 ? [channelOf(driver, index)] : []));
	describe(`forged input against every other webhook channel in a real n8n (part ${part} of ${parts}): ${REQUESTS_PER_TRIGGER} requests each, all refused, none starts an execution`, () => {
		describeBarrage(channels, `part ${part} of ${parts}`);
	});
}

function describeBarrage(channels: Channel[], part: string): void {
	let n8n: N8nInstance;

	beforeAll(async () => {
		await Promise.all(channels.map((channel) => channel.driver.start()));
		n8n = await N8nInstance.start({ credentials: channels.map((channel) => channel.credential()), workflows: channels.map((channel) => channel.workflow) });
		await n8n.waitForWebhooks(channels.map((channel) => channel.webhookId));
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all(channels.map((channel) => channel.driver.stop()));
	});

	test.each(channels.map((channel) => [channel.driver.plugin.name, channel] as const))('%s', async (name, channel) => {
		const url = n8n.webhookUrl(channel.webhookId);
		const statuses: Record<number, number> = {};
		await withConcurrency(
			CONCURRENCY,
			Array.from({ length: REQUESTS_PER_TRIGGER }, (_, index) => async () => {
				const delivery = probe(channel.driver, index);
				const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.rawBody });
				await response.arrayBuffer();
				statuses[response.status] = (statuses[response.status] ?? 0) + 1;
			}),
		);
		const executions = (await allExecutions(n8n)).filter((execution) => execution.workflowId === channel.workflow.id).length;
		const refused = statuses[401] ?? 0;
		recordFigure({
			area: 'Forged input',
			measure: `${name} webhook: ${REQUESTS_PER_TRIGGER.toLocaleString('en-US')} forged, unsigned or junk requests → answered 401 / executions started`,
			value: `${refused.toLocaleString('en-US')} / ${executions}${refused === REQUESTS_PER_TRIGGER ? '' : ` (statuses ${JSON.stringify(statuses)})`}`,
			bar: `${REQUESTS_PER_TRIGGER.toLocaleString('en-US')} / 0`,
			ok: refused === REQUESTS_PER_TRIGGER && executions === 0,
		});
		expect({ statuses, executions }).toEqual({ statuses: { 401: REQUESTS_PER_TRIGGER }, executions: 0 });
	});

	test('n8n logged no stack trace during the barrages', () => {
		const traces = stackTraceLines(n8n.log);
		recordFigure({ area: 'Forged input', measure: `Stack-trace lines in n8n's log after the barrages on ${channels.length} more webhook channels (${part})`, value: String(traces.length), bar: '0', ok: traces.length === 0 });
		expect(traces).toEqual([]);
	});
}
