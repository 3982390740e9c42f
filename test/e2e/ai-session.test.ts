import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { eventually, loadExampleWorkflow, N8nInstance, type WorkflowFixture } from './harness';

const example = loadExampleWorkflow('telegram-ai-bot.json');
type Credentials = Record<string, { id: string; name: string }>;
const telegramCredential = (example.nodes[0].credentials as Credentials).clawgateTelegramApi;
const openAiCredential = (example.nodes[1].credentials as Credentials).openAiApi;

/** The example with another bot and store: same wiring, its own IDs, so it runs beside the original. */
function variant(suffix: string, store: 'redis' | 'postgres', telegramCredentialId: string): WorkflowFixture {
	const copy = JSON.parse(JSON.stringify(example)) as WorkflowFixture;
	copy.id = `${example.id.slice(0, 12)}${suffix}`;
	copy.name = `${example.name} (${store})`;
	for (const node of copy.nodes) {
		node.id = `${suffix}${String(node.id).slice(suffix.length)}`;
		if (node.webhookId) node.webhookId = `${suffix}${String(node.webhookId).slice(suffix.length)}`;
		const credentials = node.credentials as Credentials;
		if (credentials.clawgateTelegramApi) credentials.clawgateTelegramApi = { id: telegramCredentialId, name: `Bot ${store}` };
		if (node.type === 'n8n-nodes-clawgate.aiSession') {
			(node.parameters as Record<string, unknown>).store = store;
			credentials[store] = { id: `ClawgateStore${suffix}`, name: `Clawgate ${store}` };
		}
	}
	return copy;
}

describe('Telegram AI bot example in a real n8n: AI Session with SQLite, Redis and Postgres stores', () => {
	const sqliteBot = new TelegramEmulator({ username: 'sqlite_bot' });
	const redisBot = new TelegramEmulator({ username: 'redis_bot' });
	const postgresBot = new TelegramEmulator({ username: 'postgres_bot' });
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	let n8n: N8nInstance;

	const userMessages = (prompt: Array<{ role: string; content: unknown }>) => prompt.map((message) => `${message.role}: ${String(message.content)}`);

	/** Sends a text as a user of the bot (the example long-polls) and waits for the bot's answer to it. */
	async function converse(bot: TelegramEmulator, text: string, chatId = 42) {
		const update = bot.textUpdate({ text, chatId, from: { id: chatId, is_bot: false, first_name: 'Ada' } });
		bot.queueUpdate(update as never);
		await bot.waitForCall('sendMessage', (body) => body.text === `answer to: ${text}`, 30_000);
		return update;
	}

	beforeAll(async () => {
		await Promise.all([sqliteBot.start(), redisBot.start(), postgresBot.start(), model.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...telegramCredential, type: 'clawgateTelegramApi', data: { accessToken: sqliteBot.token, baseUrl: sqliteBot.apiRoot } },
				{ id: 'ClawgateTgRedis1', name: 'Bot redis', type: 'clawgateTelegramApi', data: { accessToken: redisBot.token, baseUrl: redisBot.apiRoot } },
				{ id: 'ClawgateTgPgsql1', name: 'Bot postgres', type: 'clawgateTelegramApi', data: { accessToken: postgresBot.token, baseUrl: postgresBot.apiRoot } },
				{ ...openAiCredential, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
				{ id: 'ClawgateStoreRds1', name: 'Clawgate redis', type: 'redis', data: { host: '127.0.0.1', port: 6379, database: 0, password: '' } },
				{
					id: 'ClawgateStorePgs1',
					name: 'Clawgate postgres',
					type: 'postgres',
					data: { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', password: '', ssl: 'disable' },
				},
			],
			workflows: [example, variant('Rds1', 'redis', 'ClawgateTgRedis1'), variant('Pgs1', 'postgres', 'ClawgateTgPgsql1')],
		});
		// The example long-polls: each bot is live once n8n asks it for updates.
		await Promise.all(
			[sqliteBot, redisBot, postgresBot].map((bot) => eventually(() => (bot.calls('getUpdates').length > 0 ? true : undefined), 'the first getUpdates', 60_000)),
		);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([sqliteBot.stop(), redisBot.stop(), postgresBot.stop(), model.stop()]);
	});

	test('a 3-turn conversation: the third prompt contains the first two turns', async () => {
		await converse(sqliteBot, 'My name is Ada.');
		await converse(sqliteBot, 'I drink green tea.');
		await converse(sqliteBot, 'What do you know about me?');

		const third = model.prompts().at(-1)!;
		expect(third[0]).toEqual({ role: 'system', content: 'You are a friendly assistant chatting on telegram. Answer briefly.' });
		expect(userMessages(third).slice(1)).toEqual([
			'user: My name is Ada.',
			'assistant: answer to: My name is Ada.',
			'user: I drink green tea.',
			'assistant: answer to: I drink green tea.',
			'user: What do you know about me?',
		]);
	});

	test('the same message delivered twice is answered once', async () => {
		const update = await converse(sqliteBot, 'Only once, please.');
		const promptsBefore = model.prompts().length;
		// Telegram redelivers a message as a new update (same message, new update_id) after a crash.
		sqliteBot.queueCopy(update as never);
		// The trigger journaled the message (Delivery Guarantee): the redelivery is known there and starts no execution.
		await sqliteBot.drained(20_000);
		await new Promise((resolve) => setTimeout(resolve, 1_500));
		expect((await n8n.executions()).filter((run) => run.workflowId === example.id)).toHaveLength(4);
		expect(sqliteBot.calls('sendMessage').filter((call) => call.body.text === 'answer to: Only once, please.')).toHaveLength(1);
		expect(model.prompts()).toHaveLength(promptsBefore);
	});

	test('after n8n restarts, the 4th turn still sees the earlier turns (SQLite store in the user folder)', async () => {
		await n8n.restart();
		await converse(sqliteBot, 'Do you still remember my name?');
		const fourth = userMessages(model.prompts().at(-1)!);
		expect(fourth).toEqual(expect.arrayContaining(['user: My name is Ada.', 'user: I drink green tea.', 'user: What do you know about me?']));
		expect(fourth.at(-1)).toBe('user: Do you still remember my name?');
	});

	test.each([
		['Redis', redisBot],
		['Postgres', postgresBot],
	])('the %s store, through n8n\'s own credential, keeps the conversation', async (_name, bot) => {
		await converse(bot, 'Remember the number 31.');
		await converse(bot, 'Which number?');
		expect(userMessages(model.prompts().at(-1)!).slice(1)).toEqual([
			'user: Remember the number 31.',
			'assistant: answer to: Remember the number 31.',
			'user: Which number?',
		]);
	});

	test('no API key or bot token appears in n8n\'s log or in the saved executions', async () => {
		const runs = await n8n.executions();
		const saved = await Promise.all(runs.slice(0, 5).map((run) => n8n.execution(run.id)));
		const text = `${n8n.log}\n${JSON.stringify(saved)}`;
		for (const secret of [model.apiKey, sqliteBot.token, redisBot.token, postgresBot.token]) expect(text).not.toContain(secret);
	});
});
