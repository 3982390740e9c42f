/**
 * Issue 21 in n8n queue mode (a main and a worker sharing Postgres and Redis, as a scaled-out
 * Clawgate runs): AI Session, Reply and both Insights nodes use the Postgres store (the
 * deployment's own database), executions run on the worker, and the figures must survive the
 * worker being replaced: a fresh worker process has no memory of the traffic, so what the
 * dashboard and /metrics show can only come from the store.
 */
import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { ViberEmulator } from '../emulators/viber';
import { QueueDeployment, POSTGRES } from '../reliability/queue-deployment';
import { eventually, keepOnlyTriggers, loadExampleWorkflow, type WorkflowFixture } from './harness';
import { checkMetricsWithPromtool } from './prometheus';

type Credentials = Record<string, { id: string; name: string }>;
const STORE_CREDENTIAL = { id: 'ClawgateQueuePg1', name: 'Clawgate queue Postgres' };

/** The examples with every Clawgate store on Postgres, and the triggers best effort (queue mode refuses SQLite journals). */
function onPostgres(workflow: WorkflowFixture): WorkflowFixture {
	const copy = JSON.parse(JSON.stringify(workflow)) as WorkflowFixture;
	for (const node of copy.nodes) {
		const type = String(node.type);
		const parameters = node.parameters as Record<string, unknown>;
		if (type.endsWith('Trigger') && type.startsWith('n8n-nodes-clawgate.')) parameters.deliveryGuarantee = 'bestEffort';
		const store = type === 'n8n-nodes-clawgate.aiSession' || type === 'n8n-nodes-clawgate.insights' ? 'store' : type === 'n8n-nodes-clawgate.reply' ? 'receiptStore' : null;
		if (!store) continue;
		parameters[store] = 'postgres';
		node.credentials = { ...((node.credentials as Credentials | undefined) ?? {}), postgres: STORE_CREDENTIAL };
	}
	return copy;
}

const gateway = onPostgres(keepOnlyTriggers(loadExampleWorkflow('multi-channel-gateway.json'), ['n8n-nodes-clawgate.telegramTrigger', 'n8n-nodes-clawgate.viberTrigger']));
const dashboard = onPostgres(loadExampleWorkflow('clawgate-dashboard.json'));
const credentialOf = (type: string) => [...gateway.nodes, ...dashboard.nodes].map((node) => (node.credentials as Credentials | undefined)?.[type]).find(Boolean) as { id: string; name: string };
const webhookOf = (name: string) => gateway.nodes.find((node) => node.name === name)!.webhookId as string;

describe('Clawgate Insights in queue mode: figures from the Postgres store, the same after the worker is replaced', () => {
	const telegram = new TelegramEmulator();
	const viber = new ViberEmulator();
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	const login = { user: 'ops', password: `dash-${Math.random().toString(36).slice(2)}` };
	const metricsToken = `metrics-${Math.random().toString(36).slice(2)}`;
	let deployment: QueueDeployment;

	const page = async () => await (await fetch(`${deployment.main.baseUrl}/webhook/clawgate-dashboard`, { headers: { authorization: `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}` } })).text();
	const metrics = async () => await (await fetch(`${deployment.main.baseUrl}/webhook/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
	const figure = (html: string, name: string) => new RegExp(`data-figure="${name}">([^<]*)<`).exec(html)?.[1];
	/** The sum of a metric's samples whose labels include all of these (`name="value"`). */
	const total = (text: string, metric: string, ...labels: string[]) =>
		text
			.split('\n')
			.filter((line) => line.startsWith(`${metric}{`) && labels.every((label) => line.includes(label)))
			.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);

	beforeAll(async () => {
		await Promise.all([telegram.start(), viber.start(), model.start()]);
		const data: Record<string, (database: string) => Record<string, unknown>> = {
			clawgateTelegramApi: () => ({ accessToken: telegram.token, baseUrl: telegram.apiRoot }),
			clawgateViberApi: () => ({ authToken: viber.authToken, baseUrl: viber.apiUrl }),
			openAiApi: () => ({ apiKey: model.apiKey, url: model.baseUrl }),
			postgres: (database) => ({ host: POSTGRES.host, port: POSTGRES.port, database, user: POSTGRES.user, password: POSTGRES.password ?? '', ssl: 'disable' }),
			httpBasicAuth: () => login,
			httpHeaderAuth: () => ({ name: 'Authorization', value: `Bearer ${metricsToken}` }),
		};
		const types = new Set([...gateway.nodes, ...dashboard.nodes].flatMap((node) => Object.keys((node.credentials as Credentials | undefined) ?? {})));
		deployment = await QueueDeployment.start({
			credentials: (database) => [...types].map((type) => ({ ...credentialOf(type), type, data: data[type](database) })),
			workflows: [gateway, dashboard],
			// One worker: the machine that runs the tests has two cores; replacing it proves the point.
			workers: 1,
		});
		await Promise.all([telegram.waitForCall('setWebhook', undefined, 90_000), deployment.main.waitForWebhooks([webhookOf('Viber Trigger')], 90_000)]);
		// A main and a worker booting on a busy machine take minutes.
	}, 900_000);

	afterAll(async () => {
		await deployment?.stop();
		await Promise.all([telegram.stop(), viber.stop(), model.stop()]);
	});

	test('traffic answered on the worker is on the dashboard and in /metrics, and still is after the worker is replaced', async () => {
		for (const text of ['first', 'second', 'third']) {
			await telegram.deliver(telegram.textUpdate({ text, chatId: 77 }));
			await telegram.waitForCall('sendMessage', (body) => body.text === `answer to: ${text}`, 90_000);
		}
		const viberUser = { id: viber.newUserId() };
		for (const text of ['hello', 'bye']) {
			expect((await viber.deliver(deployment.main.webhookUrl(webhookOf('Viber Trigger')), viber.text(viberUser, text))).status).toBe(200);
			await eventually(() => (viber.textsTo(viberUser.id).includes(`answer to: ${text}`) ? true : undefined), 'the Viber answer', 90_000);
		}
		// Every answer ran on the worker (it logs "finished" a moment after the reply went out).
		const finished = () => deployment.workers.reduce((sum, worker) => sum + worker.executions('finished').size, 0);
		await eventually(() => (finished() >= 5 ? true : undefined), 'the five executions to finish on the worker', 30_000);

		const read = async () => {
			const [html, text] = [await page(), await metrics()];
			return {
				messages: figure(html, 'messages'),
				deliveries: figure(html, 'deliveries'),
				telegram: total(text, 'clawgate_messages_total', 'channel="telegram"', 'outcome="answered"'),
				viberDeliveries: total(text, 'clawgate_deliveries_total', 'channel="viber"', 'outcome="sent"'),
				exposition: text,
			};
		};
		const before = await eventually(async () => {
			const figures = await read();
			return figures.deliveries === '5' ? figures : undefined;
		}, 'the five deliveries on the dashboard', 60_000);
		expect(before).toMatchObject({ messages: '5', deliveries: '5', telegram: 3, viberDeliveries: 2 });
		checkMetricsWithPromtool(before.exposition);

		// A new worker process: nothing of the traffic is in its memory.
		for (const worker of deployment.workers) await worker.stop();
		const finishedBefore = finished();
		for (const worker of deployment.workers) await worker.start();
		const after = await read();
		expect(after).toMatchObject({ messages: '5', deliveries: '5', telegram: 3, viberDeliveries: 2 });
		// Both reads ran on the new worker.
		await eventually(() => (finished() - finishedBefore >= 2 ? true : undefined), 'the two reads to finish on the new worker', 30_000);
	});
});
