import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { TelegramEmulator } from '../emulators/telegram';
import { eventually, loadExampleWorkflow, N8nInstance } from './harness';

const example = loadExampleWorkflow('telegram-echo.json');
const credentialRef = (example.nodes[0].credentials as Record<string, { id: string; name: string }>).clawgateTelegramApi;

describe('Telegram echo example in a real n8n with the package installed the community way', () => {
	const telegram = new TelegramEmulator();
	let n8n: N8nInstance;

	beforeAll(async () => {
		await telegram.start();
		n8n = await N8nInstance.start({
			credentials: [
				{ ...credentialRef, type: 'clawgateTelegramApi', data: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
			],
			workflows: [example],
			// Debug: n8n says at that level whether it lazy-loads the package (test below).
			env: { N8N_LOG_LEVEL: 'debug' },
		});
		await telegram.waitForCall('setWebhook', undefined, 30_000);
	});

	afterAll(async () => {
		await n8n?.stop();
		await telegram.stop();
	});

	test('n8n loads every node and credential the package lists, as n8n-nodes-clawgate.<name>', async () => {
		const installed = join(n8n.userFolder, '.n8n', 'nodes', 'node_modules', 'n8n-nodes-clawgate');
		const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).n8n as { nodes: string[]; credentials: string[] };
		// The names the listed classes declare (a file name need not spell it: WhatsAppTrigger declares whatsappTrigger), read from the sources they were built from.
		const declared = (file: string, read: (instance: Record<string, unknown>) => unknown) =>
			Object.values(require(join(__dirname, '..', '..', file.replace(/^dist\//, '').replace(/\.js$/, '.ts'))) as Record<string, new () => Record<string, unknown>>)
				.filter((exported) => typeof exported === 'function')
				.map((Exported) => String(read(new Exported())));
		const nodeNames = manifest.nodes.flatMap((file) => declared(file, (node) => (node.description as { name: string }).name));
		const credentialNames = manifest.credentials.flatMap((file) => declared(file, (credential) => credential.name));
		expect(nodeNames).toHaveLength(manifest.nodes.length);

		const loadedNodes = (await n8n.api<Array<{ name: string }>>('/types/nodes.json')).map((node) => node.name);
		const loadedCredentials = (await n8n.api<Array<{ name: string }>>('/types/credentials.json')).map((credential) => credential.name);

		expect(nodeNames.length).toBeGreaterThanOrEqual(2);
		for (const name of nodeNames) expect(loadedNodes).toContain(`n8n-nodes-clawgate.${name}`);
		for (const name of credentialNames) expect(loadedCredentials).toContain(name);
	});

	test('n8n lazy-loads the package: its metadata names every node and credential file, so n8n loads a node only when a workflow uses it', () => {
		const installed = join(n8n.userFolder, '.n8n', 'nodes', 'node_modules', 'n8n-nodes-clawgate');
		const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).n8n as { nodes: string[]; credentials: string[] };
		const sourcePaths = (file: string) => Object.values(JSON.parse(readFileSync(join(installed, 'dist', 'known', file), 'utf8')) as Record<string, { sourcePath: string }>).map((entry) => entry.sourcePath).sort();
		expect(sourcePaths('nodes.json')).toEqual([...manifest.nodes].sort());
		expect(sourcePaths('credentials.json')).toEqual([...manifest.credentials].sort());
		// What n8n-core's LazyPackageDirectoryLoader logs when it reads dist/known and dist/types, and when it cannot.
		expect(n8n.log).toContain('Lazy-loading nodes and credentials from n8n-nodes-clawgate');
		expect(n8n.log).not.toContain("Can't enable lazy-loading");
	});

	test('activating the workflow registers its webhook with Telegram, with a secret token', () => {
		expect(telegram.webhook?.url).toBe(n8n.webhookUrl(example.nodes[0].webhookId as string));
		expect(telegram.webhook?.secretToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
		expect(telegram.webhook?.allowedUpdates).toEqual(['message']);
		// The secret is derived from the bot token, never stored: it must not appear in n8n's output.
		expect(n8n.log).not.toContain(telegram.webhook?.secretToken);
	});

	test('a message sent to the bot comes back as sendMessage to the same chat', async () => {
		const update = telegram.textUpdate({ text: 'hello from e2e', chatId: 4242, from: { id: 4242, is_bot: false, first_name: 'Ada' } });
		const delivery = await telegram.deliver(update);
		expect(delivery.status).toBe(200);

		const sent = await telegram.waitForCall('sendMessage', (body) => body.text === 'hello from e2e', 30_000);
		expect(String(sent.body.chat_id)).toBe('4242');
		const execution = await eventually(async () => (await n8n.executions()).find((run) => run.status === 'success'), 'a successful execution');
		expect(execution.workflowId).toBe(example.id);
	});

	test('a forged update (wrong or missing secret token) gets 401, starts no execution and sends nothing', async () => {
		const before = (await n8n.executions()).length;
		const wrongSecret = await telegram.deliver(telegram.textUpdate({ text: 'forged with a wrong secret' }), { secretToken: 'not-the-secret' });
		const noSecret = await telegram.deliver(telegram.textUpdate({ text: 'forged without a secret' }), { secretToken: null });
		expect(wrongSecret.status).toBe(401);
		expect(noSecret.status).toBe(401);

		// A genuine update sent afterwards proves the pipeline was live while the forged ones were refused.
		await telegram.deliver(telegram.textUpdate({ text: 'genuine after forged' }));
		await telegram.waitForCall('sendMessage', (body) => body.text === 'genuine after forged', 30_000);
		await eventually(async () => ((await n8n.executions()).length === before + 1 ? true : undefined), 'exactly one new execution');
		expect(telegram.calls('sendMessage').map((call) => call.body.text)).toEqual(['hello from e2e', 'genuine after forged']);
	});

	test('a body that is not a Telegram update is refused with 400 and a message, and starts no execution', async () => {
		const before = (await n8n.executions()).length;
		const delivery = await telegram.deliver({ hello: 'world' });
		expect(delivery.status).toBe(400);
		expect(delivery.body).toContain('not a Telegram update');
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect((await n8n.executions()).length).toBe(before);
	});

	test('deactivating the workflow removes the webhook from Telegram', async () => {
		await n8n.api(`/rest/workflows/${example.id}/deactivate`, { method: 'POST', body: '{}' });
		await telegram.waitForCall('deleteWebhook', undefined, 20_000);
		expect(telegram.webhook).toBeNull();
	});
});
