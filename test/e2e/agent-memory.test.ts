/**
 * n8n's AI Agent with Clawgate Chat Memory, in a real n8n with the package installed the community
 * way: the example (Telegram Trigger → AI Agent with the Calculator tool, the OpenAI Chat Model and
 * Clawgate Chat Memory → Telegram Send) keeps a conversation in Postgres and in SQLite, in the same
 * sessions AI Session uses, through a tool call and through a restart of n8n.
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';

import { PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';
import type { SessionStore } from '../../nodes/core/session/store';
import { OpenAiEmulator, type ChatCompletionBody, type EmulatedMessage } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { eventually, loadExampleWorkflow, N8nInstance, type WorkflowFixture } from './harness';

const example = loadExampleWorkflow('agent-with-clawgate-memory.json');
type Credentials = Record<string, { id: string; name: string }>;
const credentialsOf = (name: string) => example.nodes.find((node) => node.name === name)!.credentials as Credentials;
const telegramCredential = credentialsOf('Telegram Trigger').clawgateTelegramApi;
const openAiCredential = credentialsOf('OpenAI Chat Model').openAiApi;
const postgresCredential = { id: 'ClawgateAgentPg01', name: 'Clawgate postgres (agent memory)' };
const postgres = { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', password: '' };

/** The example with its memory in Postgres, on a second bot. */
function postgresVariant(): WorkflowFixture {
	const withBot = (node: Record<string, unknown>) =>
		node.credentials && 'clawgateTelegramApi' in (node.credentials as object)
			? { ...node, credentials: { clawgateTelegramApi: { id: 'ClawgateTgAgentPg', name: 'Bot (agent, postgres)' } } }
			: node;
	return {
		...example,
		id: 'ClawgateTgAgentPg',
		name: `${example.name} (Postgres)`,
		nodes: example.nodes.map((node) => {
			const renamed: Record<string, unknown> = { ...withBot(node), id: `${String(node.id).slice(0, -2)}9${String(node.id).slice(-1)}` };
			if (node.webhookId) renamed.webhookId = `${String(node.webhookId).slice(0, -2)}9${String(node.webhookId).slice(-1)}`;
			if (node.name !== 'Clawgate Chat Memory') return renamed;
			return { ...renamed, parameters: { ...(node.parameters as object), store: 'postgres' }, credentials: { postgres: postgresCredential } };
		}),
	};
}

function textOf(content: unknown): string {
	if (typeof content === 'string') return content;
	if (Array.isArray(content)) return content.map((part) => String((part as { text?: unknown }).text ?? '')).join('');
	return '';
}

/** The scripted model: "Calculate X" calls the first tool offered with X; a tool result is answered with it; anything else is echoed. */
function agentModel(body: ChatCompletionBody) {
	const last = body.messages.at(-1)!;
	// n8n hands the tool's output over as it chooses to serialise it; the number is what matters.
	if (last.role === 'tool') return `The answer is ${/-?\d+(?:\.\d+)?/.exec(textOf(last.content))?.[0] ?? 'unknown'}.`;
	const calculation = /^Calculate (.+)$/.exec(textOf(last.content));
	const tools = (body.tools ?? []) as Array<{ function: { name: string } }>;
	if (calculation && tools.length > 0) return { toolCalls: [{ name: tools[0].function.name, arguments: { input: calculation[1] } }] };
	return `agent:${textOf(last.content)}`;
}

/** A prompt as `role: text` lines, without the agent's system message; tool calls shown by name. */
function conversationOf(messages: EmulatedMessage[]): string[] {
	return messages
		.filter((message) => message.role !== 'system')
		.map((message) => (message.tool_calls ? `assistant calls ${message.tool_calls.map((call) => call.function.name).join(', ')}` : `${message.role}: ${textOf(message.content)}`));
}

describe("n8n's AI Agent with Clawgate Chat Memory in a real n8n", () => {
	const openai = new OpenAiEmulator({ responder: agentModel });
	const sqliteBot = new TelegramEmulator({ username: 'agent_sqlite_bot' });
	const postgresBot = new TelegramEmulator({ username: 'agent_postgres_bot' });
	// Fresh chats each run: the Postgres tables outlive the run.
	const chatId = randomInt(100_000, 2_000_000_000);
	let n8n: N8nInstance;

	async function converse(bot: TelegramEmulator, text: string, answer: string): Promise<EmulatedMessage[]> {
		bot.queueUpdate(bot.textUpdate({ text, chatId, from: { id: chatId, is_bot: false, first_name: 'Ada' } }) as never);
		await bot.waitForCall('sendMessage', (body) => body.text === answer && String(body.chat_id) === String(chatId), 60_000);
		return openai.prompts().at(-1)!;
	}

	const sessionOf = (bot: TelegramEmulator) => `telegram:${bot.bot.id}:dm:${chatId}`;

	async function storedTurns(store: SessionStore, bot: TelegramEmulator): Promise<string[]> {
		const { turns } = await store.readWindow(sessionOf(bot), 100_000);
		return turns.map((turn) => `${turn.role}: ${turn.content}`);
	}

	beforeAll(async () => {
		await Promise.all([openai.start(), sqliteBot.start(), postgresBot.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...telegramCredential, type: 'clawgateTelegramApi', data: { accessToken: sqliteBot.token, baseUrl: sqliteBot.apiRoot } },
				{ id: 'ClawgateTgAgentPg', name: 'Bot (agent, postgres)', type: 'clawgateTelegramApi', data: { accessToken: postgresBot.token, baseUrl: postgresBot.apiRoot } },
				{ ...openAiCredential, type: 'openAiApi', data: { apiKey: openai.apiKey, url: openai.baseUrl } },
				{ ...postgresCredential, type: 'postgres', data: { ...postgres, ssl: 'disable' } },
			],
			workflows: [example, postgresVariant()],
		});
		await Promise.all(
			[sqliteBot, postgresBot].map((bot) => eventually(() => (bot.calls('getUpdates').length > 0 ? true : undefined), 'the first getUpdates', 60_000)),
		);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([openai.stop(), sqliteBot.stop(), postgresBot.stop()]);
	});

	const firstTwoTurns = (name: string) => [`user: My name is ${name}.`, `assistant: agent:My name is ${name}.`, 'user: Calculate 6*7', 'assistant: The answer is 42.'];

	test.each([
		['Postgres', () => postgresBot, 'Ada'],
		['SQLite', () => sqliteBot, 'Grace'],
	])('memory in %s: 3 turns, one with a Calculator call; the third request carries the first two turns', async (_store, botOf, name) => {
		const bot = botOf();
		expect(conversationOf(await converse(bot, `My name is ${name}.`, `agent:My name is ${name}.`))).toEqual([`user: My name is ${name}.`]);

		const before = openai.requests().length;
		await converse(bot, 'Calculate 6*7', 'The answer is 42.');
		// Two model calls: the tool call, then the answer with n8n's Calculator result.
		const [toolCall, withResult] = openai.prompts().slice(before);
		expect(openai.prompts().length - before).toBe(2);
		expect(conversationOf(toolCall)).toEqual([`user: My name is ${name}.`, `assistant: agent:My name is ${name}.`, 'user: Calculate 6*7']);
		const [call, result] = conversationOf(withResult).slice(-2);
		expect(call).toBe('assistant calls Calculator');
		expect(result).toMatch(/^tool: .*\b42\b/);

		const third = await converse(bot, 'What is my name?', 'agent:What is my name?');
		expect(conversationOf(third)).toEqual([...firstTwoTurns(name), 'user: What is my name?']);
	});

	test("the turns are stored in AI Session's session of the chat (the trigger's sessionId), tool calls left out", async () => {
		const pg = new PostgresSessionStore(postgres);
		const sqlite = new SqliteSessionStore({ filename: join(n8n.userFolder, '.n8n', 'clawgate', 'sessions.sqlite') });
		try {
			expect(await storedTurns(pg, postgresBot)).toEqual([...firstTwoTurns('Ada'), 'user: What is my name?', 'assistant: agent:What is my name?']);
			expect(await storedTurns(sqlite, sqliteBot)).toEqual([...firstTwoTurns('Grace'), 'user: What is my name?', 'assistant: agent:What is my name?']);
		} finally {
			await Promise.all([pg.close(), sqlite.close()]);
		}
	});

	test('the memory survives a restart of n8n: the next turn still carries the earlier ones', async () => {
		await n8n.restart();
		const pollsBefore = [sqliteBot, postgresBot].map((bot) => bot.calls('getUpdates').length);
		await Promise.all(
			[sqliteBot, postgresBot].map((bot, index) =>
				eventually(() => (bot.calls('getUpdates').length > pollsBefore[index] ? true : undefined), 'getUpdates after the restart', 60_000),
			),
		);

		for (const [bot, name] of [
			[postgresBot, 'Ada'],
			[sqliteBot, 'Grace'],
		] as const) {
			const next = await converse(bot, 'And my name again?', 'agent:And my name again?');
			expect(conversationOf(next)).toEqual([...firstTwoTurns(name), 'user: What is my name?', 'assistant: agent:What is my name?', 'user: And my name again?']);
		}
	});
});
