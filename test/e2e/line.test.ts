import { LineEmulator } from '../emulators/line';
import { OpenAiEmulator } from '../emulators/openai';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

const WEBHOOK_ID = '7c2e4a91-3b5d-4f60-8a1e-2d3c4b5a6f71';
const CREDENTIAL = { id: 'ClawgateLineCr01', name: 'LINE bot' };

const workflow: WorkflowFixture = {
	id: 'ClawgateLineE2E',
	name: 'Clawgate: LINE AI bot (e2e)',
	nodes: [
		{
			id: '7c2e4a91-0001-4f60-8a1e-2d3c4b5a6f71',
			name: 'LINE Trigger',
			type: 'n8n-nodes-clawgate.lineTrigger',
			typeVersion: 1,
			position: [0, 0],
			webhookId: WEBHOOK_ID,
			parameters: {},
			credentials: { clawgateLineApi: CREDENTIAL },
		},
		{
			id: '7c2e4a91-0002-4f60-8a1e-2d3c4b5a6f71',
			name: 'AI Session',
			type: 'n8n-nodes-clawgate.aiSession',
			typeVersion: 1,
			position: [260, 0],
			parameters: { store: 'sqlite' },
			credentials: { openAiApi: { id: 'ClawgateOpenAi01', name: 'OpenAI' } },
		},
		{
			id: '7c2e4a91-0003-4f60-8a1e-2d3c4b5a6f71',
			name: 'LINE Send',
			type: 'n8n-nodes-clawgate.lineSend',
			typeVersion: 1,
			position: [520, 0],
			parameters: {},
			credentials: { clawgateLineApi: CREDENTIAL },
		},
	],
	connections: {
		'LINE Trigger': { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
		'AI Session': { main: [[{ node: 'LINE Send', type: 'main', index: 0 }], []] },
	},
	settings: { executionOrder: 'v1' },
};

describe('LINE in a real n8n: LINE Trigger → AI Session → LINE Send', () => {
	const line = new LineEmulator();
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	let n8n: N8nInstance;
	let url: string;

	const executionsOfWorkflow = async () => (await n8n.executions()).filter((run) => run.workflowId === workflow.id);
	const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

	beforeAll(async () => {
		await Promise.all([line.start(), model.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...CREDENTIAL, type: 'clawgateLineApi', data: { channelAccessToken: line.channelAccessToken, channelSecret: line.channelSecret, baseUrl: line.apiUrl } },
				{ id: 'ClawgateOpenAi01', name: 'OpenAI', type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [workflow],
		});
		url = n8n.webhookUrl(WEBHOOK_ID);
		await n8n.waitForWebhooks([WEBHOOK_ID]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([line.stop(), model.stop()]);
	});

	test('activation set the trigger\'s production URL as the channel\'s webhook URL', () => {
		expect(line.webhook.endpoint).toBe(url);
	});

	test('a DM gets an AI answer pushed to the person who wrote', async () => {
		const userId = line.newUserId();
		expect((await line.deliver(url, line.body(line.textEvent({ text: 'hello from LINE', source: { userId } })))).status).toBe(200);
		await eventually(() => (line.textsTo(userId).includes('answer to: hello from LINE') ? true : undefined), 'the answer in LINE', 30_000);
	});

	test('a forged request is refused 401 and starts no execution', async () => {
		const before = (await executionsOfWorkflow()).length;
		const userId = line.newUserId();
		const forged = await line.deliver(url, line.body(line.textEvent({ text: 'forged', source: { userId } })), { channelSecret: 'not-the-channel-secret' });
		const unsigned = await line.deliver(url, line.body(line.textEvent({ text: 'unsigned', source: { userId } })), { unsigned: true });
		expect([forged.status, unsigned.status]).toEqual([401, 401]);
		await settle();
		expect(await executionsOfWorkflow()).toHaveLength(before);
		expect(line.textsTo(userId)).toEqual([]);
	});

	test('a redelivered event is answered once', async () => {
		const userId = line.newUserId();
		const body = line.body(line.textEvent({ text: 'deliver me twice', source: { userId } }));
		const before = (await executionsOfWorkflow()).length;
		expect((await line.deliver(url, body)).status).toBe(200);
		expect((await line.deliver(url, line.redelivery(body))).status).toBe(200);
		await eventually(() => (line.textsTo(userId).length > 0 ? true : undefined), 'the answer', 30_000);
		await settle();
		expect(line.textsTo(userId)).toEqual(['answer to: deliver me twice']);
		expect(await executionsOfWorkflow()).toHaveLength(before + 1);
	});

	test('a group message without a mention is acknowledged and ignored; a mention is answered in the group', async () => {
		const groupId = line.newGroupId();
		const source = { groupId, userId: line.newUserId() };
		const before = (await executionsOfWorkflow()).length;
		expect((await line.deliver(url, line.body(line.textEvent({ text: 'just chatting', source })))).status).toBe(200);
		await settle();
		expect(await executionsOfWorkflow()).toHaveLength(before);
		expect(line.textsTo(groupId)).toEqual([]);

		await line.deliver(url, line.body(line.textEvent({ text: 'what time is it?', mentionBot: true, source })));
		await eventually(() => (line.textsTo(groupId).includes('answer to: what time is it?') ? true : undefined), 'the answer in the group', 30_000);
	});
});
