import { parseFormatted, TelegramEmulator } from '../emulators/telegram';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

const PACKAGE = 'n8n-nodes-clawgate';
const POLLING_BOT = { id: 'ClawgateTgPoll01', name: 'Polling bot' };
const WEBHOOK_BOT = { id: 'ClawgateTgHook01', name: 'Webhook bot' };

/** Trigger → Send, the smallest useful bot: answers every message with `answer`. */
function echoWorkflow({
	id,
	name,
	credential,
	webhookId,
	trigger,
	answer,
}: {
	id: string;
	name: string;
	credential: { id: string; name: string };
	webhookId: string;
	trigger: { typeVersion: number; parameters: Record<string, unknown> };
	answer: string;
}): WorkflowFixture {
	return {
		id,
		name,
		active: false,
		nodes: [
			{
				id: `${id}-trigger`,
				name: 'Telegram Trigger',
				type: `${PACKAGE}.telegramTrigger`,
				position: [0, 0],
				webhookId,
				credentials: { clawgateTelegramApi: credential },
				...trigger,
			},
			{
				id: `${id}-send`,
				name: 'Telegram Send',
				type: `${PACKAGE}.telegramSend`,
				typeVersion: 1,
				position: [260, 0],
				parameters: { text: answer },
				credentials: { clawgateTelegramApi: credential },
			},
		],
		connections: { 'Telegram Trigger': { main: [[{ node: 'Telegram Send', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

// A trigger added from the node panel today (version 1.1) polls without any parameter set.
const pollingEcho = echoWorkflow({
	id: 'ClawgatePollEcho',
	name: 'Clawgate: Telegram polling echo',
	credential: POLLING_BOT,
	webhookId: '0f2e6c1a-7b3d-4e5f-9a1b-2c3d4e5f6a01',
	trigger: { typeVersion: 1.1, parameters: { options: { downloadFiles: true } } },
	answer: '={{ ($execution.mode === "test" ? "test echo: " : "echo: ") + $json.message.text + ($binary.data ? " [" + $binary.data.fileName + ", " + $binary.data.mimeType + "]" : "") }}',
});
// Shared JSON from before long polling (version 1, no mode) keeps using a webhook.
const webhookEcho = echoWorkflow({
	id: 'ClawgateHookEcho',
	name: 'Clawgate: Telegram webhook echo',
	credential: WEBHOOK_BOT,
	webhookId: '0f2e6c1a-7b3d-4e5f-9a1b-2c3d4e5f6a02',
	trigger: { typeVersion: 1, parameters: {} },
	answer: '={{ ($execution.mode === "test" ? "test: " : "prod: ") + $json.message.text }}',
});
const secondWebhookWorkflow = echoWorkflow({
	id: 'ClawgateHookTwo',
	name: 'Clawgate: same bot, second workflow',
	credential: WEBHOOK_BOT,
	webhookId: '0f2e6c1a-7b3d-4e5f-9a1b-2c3d4e5f6a03',
	trigger: { typeVersion: 1, parameters: { mode: 'webhook' } },
	answer: '={{ "second: " + $json.message.text }}',
});

describe('Telegram trigger in a real n8n: long polling, restarts, test listener, one bot per workflow', () => {
	const pollingBot = new TelegramEmulator({ username: 'polling_bot' });
	const webhookBot = new TelegramEmulator({ username: 'webhook_bot' });
	let n8n: N8nInstance;

	const say = (bot: TelegramEmulator, text: string, chatId = 4242) => {
		const update = bot.textUpdate({ text, chatId, from: { id: chatId, is_bot: false, first_name: 'Ada' } });
		bot.queueUpdate(update);
		return update;
	};
	const answered = (bot: TelegramEmulator, text: string) => bot.waitForCall('sendMessage', (body) => body.text === text, 60_000);
	/** Resolves once the bot received a call, even one still open (a long poll answers only later). */
	const called = (bot: TelegramEmulator, method: string, after = 0) =>
		eventually(() => (bot.calls(method).length > after ? true : undefined), `a ${method} call`, 60_000);

	beforeAll(async () => {
		await Promise.all([pollingBot.start(), webhookBot.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...POLLING_BOT, type: 'clawgateTelegramApi', data: { accessToken: pollingBot.token, baseUrl: pollingBot.apiRoot } },
				{ ...WEBHOOK_BOT, type: 'clawgateTelegramApi', data: { accessToken: webhookBot.token, baseUrl: webhookBot.apiRoot } },
			],
			workflows: [pollingEcho, webhookEcho, secondWebhookWorkflow],
			activate: [pollingEcho.id, webhookEcho.id],
		});
		await Promise.all([called(pollingBot, 'getUpdates'), called(webhookBot, 'setWebhook')]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([pollingBot.stop(), webhookBot.stop()]);
	});

	test('a version 1.1 trigger polls by default: it asks only for messages, and answers them', async () => {
		expect(pollingBot.webhook).toBeNull();
		expect(pollingBot.calls('getUpdates').at(-1)?.body).toMatchObject({ allowed_updates: ['message'], timeout: 25 });
		say(pollingBot, 'hello by polling');
		const sent = await answered(pollingBot, 'echo: hello by polling');
		expect(String(sent.body.chat_id)).toBe('4242');
	});

	test('a 10,000-character answer arrives as formatted messages, each within 4096, in order, code fences kept whole', async () => {
		const parts = Array.from({ length: 36 }, (_, i) => {
			const words = Array.from({ length: 25 }, (_unused, w) => `word${i}x${w}`).join(' ');
			return `## Part ${i + 1}\n\n${words}\n\n\`\`\`js\nconst part${i} = ${i};\n${'console.log(part);\n'.repeat(6)}\`\`\``;
		});
		const long = parts.join('\n\n');
		expect(long.length).toBeGreaterThanOrEqual(10_000);
		const before = pollingBot.sent.length;
		say(pollingBot, long);

		await eventually(() => (pollingBot.sent.slice(before).some((message) => (message.text ?? '').includes('Part 36')) ? true : undefined), 'the last part', 60_000);
		const sent = pollingBot.sent.slice(before);
		expect(sent.length).toBeGreaterThanOrEqual(3);
		const visible = sent.map((message) => {
			const parsed = parseFormatted(message.text ?? '', message.parseMode);
			if ('error' in parsed) throw new Error(`Telegram would reject a chunk: ${parsed.error}`);
			return parsed.text;
		});
		for (const [index, text] of visible.entries()) {
			expect(text.length).toBeLessThanOrEqual(4096);
			const html = sent[index].text ?? '';
			expect(html.match(/<pre>/g)?.length ?? 0).toBe(html.match(/<\/pre>/g)?.length ?? 0);
		}
		expect(visible.join('\n').match(/Part \d+/g)).toEqual(parts.map((_, i) => `Part ${i + 1}`));
		const words = visible.flatMap((text) => text.split(/\s+/)).filter((token) => /word|x\d/.test(token));
		expect(words.every((word) => /^word\d+x\d+$/.test(word))).toBe(true);
		expect(words).toHaveLength(36 * 25);
	});

	test('"Download Files" puts the file of a message into binary data', async () => {
		const fileId = pollingBot.addFile('name,tea\nAda,green\n', { mimeType: 'text/csv', path: 'documents/file_9.csv' });
		pollingBot.queueUpdate(
			pollingBot.messageUpdate(
				{ caption: 'my data', document: { file_id: fileId, file_unique_id: 'u9', file_name: 'tea.csv', mime_type: 'text/csv', file_size: 20 } },
				{ chatId: 4242, from: { id: 4242, is_bot: false, first_name: 'Ada' } },
			),
		);
		await answered(pollingBot, 'echo: my data [tea.csv, text/csv]');
		expect(pollingBot.server.matching((request) => request.path === `/file/bot${pollingBot.token}/documents/file_9.csv`)).toHaveLength(1);
	});

	test('a forged webhook request to a polling trigger finds no webhook and starts nothing', async () => {
		const before = (await n8n.executions()).length;
		const forged = await pollingBot.deliver(pollingBot.textUpdate({ text: 'forged' }), {
			url: n8n.webhookUrl(pollingEcho.nodes[0].webhookId as string),
			secretToken: 'guess',
		});
		expect(forged.status).toBe(404);
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect((await n8n.executions()).length).toBe(before);
		expect(pollingBot.sentTexts().some((text) => text.includes('forged'))).toBe(false);
	});

	test('"Listen for test event" on the active webhook workflow borrows the bot and gives the webhook back when it stops', async () => {
		const productionUrl = n8n.webhookUrl(webhookEcho.nodes[0].webhookId as string);
		expect(webhookBot.webhook?.url).toBe(productionUrl);
		const productionSecret = webhookBot.webhook?.secretToken;
		say(webhookBot, 'before the test');
		await answered(webhookBot, 'prod: before the test');

		const run = await n8n.api<{ data: { executionId?: string; waitingForWebhook?: boolean } }>(`/rest/workflows/${webhookEcho.id}/run`, {
			method: 'POST',
			body: JSON.stringify({ triggerToStartFrom: { name: 'Telegram Trigger' } }),
		});
		// No test webhook: the listener fetches with getUpdates, so it needs no public URL.
		expect(run.data.waitingForWebhook).toBeUndefined();
		expect(run.data.executionId).toEqual(expect.any(String));
		await called(webhookBot, 'deleteWebhook');
		await called(webhookBot, 'getUpdates');
		// n8n leaves the listener alone: nothing re-registers the webhook while it listens.
		await new Promise((resolve) => setTimeout(resolve, 11_000));
		expect(webhookBot.webhook).toBeNull();

		say(webhookBot, 'only for the test');
		await answered(webhookBot, 'test: only for the test');
		await eventually(() => (webhookBot.webhook?.url === productionUrl ? true : undefined), 'the production webhook to be registered again', 30_000);
		expect(webhookBot.webhook?.secretToken).toBe(productionSecret);

		say(webhookBot, 'after the test');
		await answered(webhookBot, 'prod: after the test');
		await webhookBot.drained();
		// The test message was answered by the test run only.
		expect(webhookBot.sentTexts().filter((text) => text.endsWith('only for the test'))).toEqual(['test: only for the test']);
	});

	test('stopping the test listener without a message also gives the webhook back', async () => {
		const productionUrl = n8n.webhookUrl(webhookEcho.nodes[0].webhookId as string);
		const listens = webhookBot.calls('getUpdates').length;
		const run = await n8n.api<{ data: { executionId: string } }>(`/rest/workflows/${webhookEcho.id}/run`, {
			method: 'POST',
			body: JSON.stringify({ triggerToStartFrom: { name: 'Telegram Trigger' } }),
		});
		await eventually(() => (webhookBot.calls('getUpdates').length > listens ? true : undefined), 'the listener to start', 30_000);
		expect(webhookBot.webhook).toBeNull();
		await n8n.api(`/rest/executions/${run.data.executionId}/stop`, { method: 'POST', body: '{}' });
		await eventually(() => (webhookBot.webhook?.url === productionUrl ? true : undefined), 'the production webhook to be registered again', 30_000);
		say(webhookBot, 'after stopping');
		await answered(webhookBot, 'prod: after stopping');
	});

	test('"Listen for test event" on the active polling workflow pauses its long polling and resumes it afterwards', async () => {
		const listens = pollingBot.calls('getUpdates').filter((call) => call.body.timeout === 20).length;
		await n8n.api(`/rest/workflows/${pollingEcho.id}/run`, { method: 'POST', body: JSON.stringify({ triggerToStartFrom: { name: 'Telegram Trigger' } }) });
		await eventually(() => (pollingBot.calls('getUpdates').filter((call) => call.body.timeout === 20).length > listens ? true : undefined), 'the test listener', 30_000);
		say(pollingBot, 'polling test');
		await answered(pollingBot, 'test echo: polling test');
		say(pollingBot, 'polling after test');
		await answered(pollingBot, 'echo: polling after test');
		await pollingBot.drained();
		expect(pollingBot.sentTexts().filter((text) => text.endsWith('polling test'))).toEqual(['test echo: polling test']);
	});

	test('activating a second workflow for a bot whose webhook belongs to another active workflow fails and says why', async () => {
		const productionUrl = n8n.webhookUrl(webhookEcho.nodes[0].webhookId as string);
		const setWebhooksBefore = webhookBot.calls('setWebhook').length;
		const { data } = await n8n.api<{ data: { versionId: string } }>(`/rest/workflows/${secondWebhookWorkflow.id}`);
		const started = Date.now();
		await n8n
			.api(`/rest/workflows/${secondWebhookWorkflow.id}/activate`, { method: 'POST', body: JSON.stringify({ versionId: data.versionId }) })
			.catch((error: Error) => error);

		const expected = `This bot's webhook already delivers to ${productionUrl} (another active workflow of this n8n)`;
		await eventually(() => (n8n.log.includes(expected) ? true : undefined), 'the refusal in n8n\'s log', 60_000);
		expect(n8n.log).toContain('"Take Over Webhook"');
		// Marked as not worth retrying, so the user learns at once.
		expect(Date.now() - started).toBeLessThan(10_000);
		expect(webhookBot.calls('setWebhook')).toHaveLength(setWebhooksBefore);
		expect(webhookBot.webhook?.url).toBe(productionUrl);

		await n8n.api(`/rest/workflows/${secondWebhookWorkflow.id}/deactivate`, { method: 'POST', body: '{}' }).catch(() => undefined);
	});

	test('long polling survives an n8n restart: every message is answered exactly once', async () => {
		const texts = Array.from({ length: 9 }, (_, i) => `restart ${i + 1}`);
		for (const text of texts.slice(0, 3)) say(pollingBot, text);
		await Promise.all(texts.slice(0, 3).map((text) => answered(pollingBot, `echo: ${text}`)));

		// Meanwhile Telegram reports that it cannot reach the webhook workflow: n8n should say so at startup.
		const productionUrl = n8n.webhookUrl(webhookEcho.nodes[0].webhookId as string);
		webhookBot.webhookInfo = { pending_update_count: 7, last_error_date: Math.floor(Date.now() / 1000), last_error_message: 'Connection refused' };

		// One arrives as n8n is told to stop (SIGTERM), two while it is down, three after it is back.
		say(pollingBot, texts[3]);
		await n8n.halt();
		say(pollingBot, texts[4]);
		say(pollingBot, texts[5]);
		await n8n.restart();
		for (const text of texts.slice(6)) say(pollingBot, text);

		await Promise.all(texts.map((text) => answered(pollingBot, `echo: ${text}`)));
		await pollingBot.drained(30_000);
		// Time for any repeat to show up.
		await new Promise((resolve) => setTimeout(resolve, 3_000));
		const answers = pollingBot.sentTexts().filter((text) => text.startsWith('echo: restart '));
		expect(answers.sort()).toEqual(texts.map((text) => `echo: ${text}`).sort());

		expect(n8n.log).toContain(`Telegram cannot deliver messages to ${productionUrl}: "Connection refused"`);
		expect(n8n.log).toContain('7 message(s) are waiting');
		webhookBot.webhookInfo = {};
	});

	test('switching a published workflow from Long Polling to Webhook and back hands the bot over each time', async () => {
		const url = n8n.webhookUrl(pollingEcho.nodes[0].webhookId as string);
		const publishWithMode = async (parameters: Record<string, unknown>) => {
			const nodes = pollingEcho.nodes.map((node) => (node.name === 'Telegram Trigger' ? { ...node, parameters } : node));
			const saved = await n8n.api<{ data: { versionId: string } }>(`/rest/workflows/${pollingEcho.id}`, {
				method: 'PATCH',
				body: JSON.stringify({ nodes, connections: pollingEcho.connections }),
			});
			await n8n.api(`/rest/workflows/${pollingEcho.id}/activate`, { method: 'POST', body: JSON.stringify({ versionId: saved.data.versionId }) });
		};

		await publishWithMode({ mode: 'webhook' });
		await eventually(() => (pollingBot.webhook?.url === url ? true : undefined), 'the webhook registration', 60_000);
		say(pollingBot, 'by webhook');
		await answered(pollingBot, 'echo: by webhook');

		const deletes = pollingBot.calls('deleteWebhook').length;
		await publishWithMode({ mode: 'polling' });
		await eventually(() => (pollingBot.calls('deleteWebhook').length > deletes && pollingBot.webhook === null ? true : undefined), 'the webhook removal', 60_000);
		say(pollingBot, 'by polling again');
		await answered(pollingBot, 'echo: by polling again');
		await pollingBot.drained();
		expect(pollingBot.sentTexts().filter((text) => text === 'echo: by webhook' || text === 'echo: by polling again')).toEqual(['echo: by webhook', 'echo: by polling again']);
	});
});
