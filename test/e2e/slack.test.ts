import { OpenAiEmulator } from '../emulators/openai';
import { SlackEmulator } from '../emulators/slack';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

const WEBHOOK_ID = '5a1c9e2b-7d3f-4e6a-9b8c-0d1e2f3a4b51';

/** A long Markdown answer with code blocks: what a model produces when asked for a tutorial. */
function longAnswer(): string {
	const sections: string[] = [];
	for (let index = 0; sections.join('\n\n').length < 10_000; index++) {
		sections.push(`## Step ${index}\nSome **bold** advice with a [link](https://example.com/${index}) and \`inline code\`.`);
		sections.push('```python\n' + Array.from({ length: 12 }, (_, line) => `print("step ${index} line ${line}")`).join('\n') + '\n```');
	}
	return sections.join('\n\n');
}

const workflow: WorkflowFixture = {
	id: 'ClawgateSlackE2E',
	name: 'Clawgate: Slack AI bot (e2e)',
	nodes: [
		{
			id: '5a1c9e2b-0001-4e6a-9b8c-0d1e2f3a4b51',
			name: 'Slack Trigger',
			type: 'n8n-nodes-clawgate.slackTrigger',
			typeVersion: 1,
			position: [0, 0],
			webhookId: WEBHOOK_ID,
			parameters: {},
			credentials: { clawgateSlackApi: { id: 'ClawgateSlackCr1', name: 'Slack bot' } },
		},
		{
			id: '5a1c9e2b-0002-4e6a-9b8c-0d1e2f3a4b51',
			name: 'AI Session',
			type: 'n8n-nodes-clawgate.aiSession',
			typeVersion: 1,
			position: [260, 0],
			parameters: { store: 'sqlite', options: { maxOutputTokens: 8000 } },
			credentials: { openAiApi: { id: 'ClawgateOpenAi01', name: 'OpenAI' } },
		},
		{
			id: '5a1c9e2b-0003-4e6a-9b8c-0d1e2f3a4b51',
			name: 'Slack Send',
			type: 'n8n-nodes-clawgate.slackSend',
			typeVersion: 1,
			position: [520, 0],
			parameters: {},
			credentials: { clawgateSlackApi: { id: 'ClawgateSlackCr1', name: 'Slack bot' } },
		},
	],
	connections: {
		'Slack Trigger': { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
		'AI Session': { main: [[{ node: 'Slack Send', type: 'main', index: 0 }], []] },
	},
	settings: { executionOrder: 'v1' },
};

describe('Slack in a real n8n: Events API trigger → AI Session → Slack Send', () => {
	const slack = new SlackEmulator();
	const answer = longAnswer();
	const model = new OpenAiEmulator({
		responder: (request) => {
			const text = String(request.messages.at(-1)?.content);
			return text.includes('tutorial') ? answer : `answer to: ${text}`;
		},
	});
	let n8n: N8nInstance;
	let url: string;

	const executionsOfWorkflow = async () => (await n8n.executions()).filter((run) => run.workflowId === workflow.id);

	beforeAll(async () => {
		await Promise.all([slack.start(), model.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ id: 'ClawgateSlackCr1', name: 'Slack bot', type: 'clawgateSlackApi', data: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl } },
				{ id: 'ClawgateOpenAi01', name: 'OpenAI', type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [workflow],
		});
		url = n8n.webhookUrl(WEBHOOK_ID);
		await n8n.waitForWebhooks([WEBHOOK_ID]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([slack.stop(), model.stop()]);
	});

	test('Slack\'s url_verification is answered with the challenge and starts no execution', async () => {
		const check = slack.urlVerification();
		const response = await slack.deliver(url, check);
		expect(response.status).toBe(200);
		expect(JSON.parse(response.body)).toEqual({ challenge: check.challenge });
		expect(await executionsOfWorkflow()).toHaveLength(0);
	});

	test('a DM gets an AI reply in the same conversation', async () => {
		const event = slack.dmMessage({ text: 'hello from Slack' });
		expect((await slack.deliver(url, event)).status).toBe(200);
		await eventually(() => slack.posted.find((message) => message.text === 'answer to: hello from Slack'), 'the reply in Slack', 30_000);
	});

	test('an event delivered three times (Slack\'s retries) produces one execution and one reply', async () => {
		const event = slack.dmMessage({ text: 'retry me' });
		const before = (await executionsOfWorkflow()).length;
		await slack.deliver(url, event);
		await slack.deliver(url, event, { retryNum: 1, retryReason: 'http_timeout' });
		await slack.deliver(url, event, { retryNum: 2, retryReason: 'http_timeout' });
		await eventually(() => slack.posted.find((message) => message.text === 'answer to: retry me'), 'the reply', 30_000);
		await new Promise((resolve) => setTimeout(resolve, 1000));
		expect(await executionsOfWorkflow()).toHaveLength(before + 1);
		expect(slack.posted.filter((message) => message.text === 'answer to: retry me')).toHaveLength(1);
	});

	test('forged, stale and unsigned requests get 401 and start no execution', async () => {
		const before = (await executionsOfWorkflow()).length;
		const forged = await slack.deliver(url, slack.dmMessage({ text: 'forged' }), { signingSecret: 'not-the-secret' });
		const stale = await slack.deliver(url, slack.dmMessage({ text: 'stale' }), { timestamp: Math.floor(Date.now() / 1000) - 600 });
		const unsigned = await slack.deliver(url, slack.dmMessage({ text: 'unsigned' }), { unsigned: true });
		expect([forged.status, stale.status, unsigned.status]).toEqual([401, 401, 401]);
		await new Promise((resolve) => setTimeout(resolve, 1000));
		expect(await executionsOfWorkflow()).toHaveLength(before);
		expect(slack.posted.map((message) => message.text).join('\n')).not.toMatch(/forged|stale|unsigned/);
	});

	test('a 10,000-character answer arrives as ordered mrkdwn chunks within Slack\'s limit, code blocks intact', async () => {
		const event = slack.dmMessage({ text: 'write me a tutorial' });
		await slack.deliver(url, event);
		const chunks = await eventually(() => {
			const found = slack.posted.filter((message) => message.text.includes('Step '));
			const last = found.at(-1);
			return last && last.text.includes(`step ${answer.match(/Step (\d+)\n/g)!.length - 1} line 11`) ? found : undefined;
		}, 'every chunk of the long answer', 30_000);
		expect(chunks.length).toBeGreaterThan(2);
		for (const chunk of chunks) {
			expect(chunk.text.length).toBeLessThanOrEqual(4000);
			expect((chunk.text.match(/```/g) ?? []).length % 2).toBe(0);
			expect(chunk.text).not.toContain('**');
		}
		const joined = chunks.map((chunk) => chunk.text).join('\n');
		expect(joined).toContain('*Step 0*');
		expect(joined).toContain('<https://example.com/0|link>');
		const steps = [...joined.matchAll(/\*Step (\d+)\*/g)].map((match) => Number(match[1]));
		expect(steps).toEqual([...steps].sort((a, b) => a - b));
	});
});
