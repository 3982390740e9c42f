/**
 * AI Session with n8n's own Chat Model sub-nodes, in a real n8n: the OpenAI Chat Model and the
 * Anthropic Chat Model, pointed at local emulators of both APIs, each answer a conversation with
 * memory; the Fallback Model answers when the first model's provider fails; n8n's Chat Trigger in
 * Last Node mode shows AI Session's answer (`output`).
 */
import { AnthropicEmulator, textOf } from '../emulators/anthropic';
import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { eventually, loadExampleWorkflow, N8nInstance, type WorkflowFixture } from './harness';

const claudeExample = loadExampleWorkflow('anthropic-telegram-bot.json');
type Credentials = Record<string, { id: string; name: string }>;
const telegramCredential = (claudeExample.nodes[0].credentials as Credentials).clawgateTelegramApi;
const anthropicCredential = (claudeExample.nodes.find((node) => node.name === 'Anthropic Chat Model')!.credentials as Credentials).anthropicApi;
const openAiCredential = { id: 'ClawgateOpenAi02', name: 'Clawgate OpenAI (emulator)' };

const CHAT_WEBHOOK = 'c1a7e2b4-5d6f-4a8b-9c0d-1e2f3a4b5c01';
const FALLBACK_WEBHOOK = 'c1a7e2b4-5d6f-4a8b-9c0d-1e2f3a4b5c02';

function chatTrigger(webhookId: string) {
	return {
		id: `${webhookId.slice(0, 30)}n01`,
		name: 'When chat message received',
		type: '@n8n/n8n-nodes-langchain.chatTrigger',
		typeVersion: 1.1,
		position: [0, 0],
		webhookId,
		parameters: { public: true, mode: 'webhook', options: { responseMode: 'lastNode' } },
	};
}

function openAiChatModel(id: string, model: string) {
	return {
		id,
		name: 'OpenAI Chat Model',
		type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
		typeVersion: 1.3,
		position: [200, 220],
		// The emulator speaks Chat Completions, as OpenAI-compatible servers do.
		parameters: { model: { __rl: true, mode: 'id', value: model }, responsesApiEnabled: false, options: {} },
		credentials: { openAiApi: openAiCredential },
	};
}

function anthropicChatModel(id: string) {
	const node = claudeExample.nodes.find((candidate) => candidate.name === 'Anthropic Chat Model')!;
	return { ...node, id, position: [360, 220] };
}

/** Chat Trigger → AI Session (Model Source: Connected Chat Model) with the given sub-nodes on its Model and Fallback Model inputs. */
function chatWorkflow(id: string, webhookId: string, models: Array<Record<string, unknown>>, options: Record<string, unknown> = {}): WorkflowFixture {
	return {
		id,
		name: `Chat: AI Session with ${models.map((model) => model.name).join(' and ')}`,
		active: false,
		nodes: [
			chatTrigger(webhookId),
			{
				id: `${webhookId.slice(0, 30)}n02`,
				name: 'AI Session',
				type: 'n8n-nodes-clawgate.aiSession',
				typeVersion: 2,
				position: [260, 0],
				parameters: { modelSource: 'chatModel', systemPrompt: 'You are a web chat assistant.', store: 'sqlite', options },
			},
			...models,
		],
		connections: {
			'When chat message received': { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			...Object.fromEntries(models.map((model, index) => [model.name, { ai_languageModel: [[{ node: 'AI Session', type: 'ai_languageModel', index }]] }])),
		},
		settings: { executionOrder: 'v1' },
	};
}

describe('AI Session with n8n Chat Model sub-nodes in a real n8n', () => {
	const openai = new OpenAiEmulator({ responder: (request) => `gpt:${String(request.messages.at(-1)?.content)}` });
	const anthropic = new AnthropicEmulator({ tokenDensity: 1.3 });
	const bot = new TelegramEmulator({ username: 'claude_bot' });
	let n8n: N8nInstance;

	const chatOpenAi = chatWorkflow('ClawgateChatGpt01', CHAT_WEBHOOK, [openAiChatModel('c1a7e2b4-5d6f-4a8b-9c0d-1e2f3a4b5d01', 'gpt-4o-mini')]);
	const fallback = chatWorkflow(
		'ClawgateChatFbk01',
		FALLBACK_WEBHOOK,
		[openAiChatModel('c1a7e2b4-5d6f-4a8b-9c0d-1e2f3a4b5d02', 'gpt-4o'), anthropicChatModel('c1a7e2b4-5d6f-4a8b-9c0d-1e2f3a4b5d03')],
		{ retries: 1 },
	);

	/** Sends a chat message as n8n's chat widget does and returns what the webhook answered. */
	async function chat(webhookId: string, sessionId: string, chatInput: string): Promise<Record<string, unknown>> {
		const response = await eventually(async () => {
			const answer = await fetch(n8n.webhookUrl(webhookId, 'chat'), {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ action: 'sendMessage', sessionId, chatInput }),
			});
			// 404: the workflow is not active yet; nothing ran.
			return answer.status === 404 ? undefined : answer;
		}, `the chat webhook ${webhookId}`, 60_000);
		expect(response.status).toBe(200);
		return (await response.json()) as Record<string, unknown>;
	}

	/** Sends a text to the Telegram bot (the example long-polls) and waits for the bot's answer. */
	async function converse(text: string): Promise<void> {
		bot.queueUpdate(bot.textUpdate({ text, chatId: 42, from: { id: 42, is_bot: false, first_name: 'Ada' } }) as never);
		await bot.waitForCall('sendMessage', (body) => body.text === `claude:${text}`, 30_000);
	}

	beforeAll(async () => {
		await Promise.all([openai.start(), anthropic.start(), bot.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...telegramCredential, type: 'clawgateTelegramApi', data: { accessToken: bot.token, baseUrl: bot.apiRoot } },
				{ ...anthropicCredential, type: 'anthropicApi', data: { apiKey: anthropic.apiKey, url: anthropic.baseUrl } },
				{ ...openAiCredential, type: 'openAiApi', data: { apiKey: openai.apiKey, url: openai.baseUrl } },
			],
			workflows: [claudeExample, chatOpenAi, fallback],
		});
		await eventually(() => (bot.calls('getUpdates').length > 0 ? true : undefined), 'the first getUpdates', 60_000);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([openai.stop(), anthropic.stop(), bot.stop()]);
	});

	test('Chat Trigger → AI Session with the OpenAI Chat Model: 3 turns with memory, the answer shown as `output` in Last Node mode', async () => {
		expect(await chat(CHAT_WEBHOOK, 'web-1', 'My name is Ada.')).toMatchObject({ output: 'gpt:My name is Ada.' });
		await chat(CHAT_WEBHOOK, 'web-1', 'I drink green tea.');
		const third = await chat(CHAT_WEBHOOK, 'web-1', 'What do you know about me?');

		expect(third.output).toBe('gpt:What do you know about me?');
		expect(third.reply).toMatchObject({ model: 'gpt-4o-mini', finishReason: 'stop', session: { turns: 6 } });
		// Usage as the provider reported it (the emulator counts with tiktoken).
		expect((third.reply as { usage: { promptTokens: number } }).usage.promptTokens).toBeGreaterThan(30);
		const prompt = openai.prompts().at(-1)!;
		expect(prompt.map((message) => `${message.role}: ${String(message.content)}`)).toEqual([
			'system: You are a web chat assistant.',
			'user: My name is Ada.',
			'assistant: gpt:My name is Ada.',
			'user: I drink green tea.',
			'assistant: gpt:I drink green tea.',
			'user: What do you know about me?',
		]);
	});

	test('the Anthropic example (Telegram → AI Session with the Anthropic Chat Model → Telegram Send): 3 turns with memory over the Messages API', async () => {
		await converse('My name is Grace.');
		await converse('I like Lisp.');
		await converse('What do you know about me?');

		const third = anthropic.bodies().at(-1)!;
		expect(third.model).toBe('claude-sonnet-4-5-20250929');
		// One top-level system prompt, the conversation as alternating user and assistant messages.
		expect(textOf(third.system)).toBe('You are a friendly assistant chatting on telegram. Answer briefly.');
		expect(third.messages.map((message) => `${message.role}: ${textOf(message.content)}`)).toEqual([
			'user: My name is Grace.',
			'assistant: claude:My name is Grace.',
			'user: I like Lisp.',
			'assistant: claude:I like Lisp.',
			'user: What do you know about me?',
		]);
		const requests = anthropic.server.matching((request) => request.path === '/v1/messages');
		expect(requests.every((request) => request.headers['x-api-key'] === anthropic.apiKey)).toBe(true);
	});

	test('when the first model\'s provider answers 500, the Fallback Model answers; AI Session\'s retries replace LangChain\'s', async () => {
		const openAiCallsBefore = openai.requests().length;
		openai.fail({ status: 500, model: 'gpt-4o' }, { status: 500, model: 'gpt-4o' });
		const answer = await chat(FALLBACK_WEBHOOK, 'web-2', 'Are you there?');

		expect(answer.output).toBe('claude:Are you there?');
		const reply = answer.reply as { model: string; attempts: Array<{ model: string; error?: string }>; usage: { promptTokens: number; completionTokens: number } };
		expect(reply.model).toBe('claude-sonnet-4-5-20250929');
		expect(reply.attempts.map((attempt) => attempt.model)).toEqual(['gpt-4o', 'gpt-4o', 'claude-sonnet-4-5-20250929']);
		expect(reply.attempts[0].error).toMatch(/server error \(500\)/);
		// Anthropic's usage.input_tokens / output_tokens, as the provider reported them.
		expect(reply.usage.promptTokens).toBe(anthropic.inputTokens(anthropic.bodies().at(-1)!));
		expect(reply.usage.completionTokens).toBeGreaterThan(0);
		// One HTTP request per attempt (retries: 1): the sub-node's own retries did not multiply them.
		expect(openai.requests().length - openAiCallsBefore).toBe(2);
		expect(openai.pendingFaults()).toEqual([]);

		// The next message of the conversation still reaches the first model, with the turn the fallback answered.
		const next = await chat(FALLBACK_WEBHOOK, 'web-2', 'And now?');
		expect(next.output).toBe('gpt:And now?');
		expect(openai.prompts().at(-1)!.map((message) => String(message.content))).toEqual(['You are a web chat assistant.', 'Are you there?', 'claude:Are you there?', 'And now?']);
	});

	test('no API key appears in n8n\'s log or in the saved executions', async () => {
		const runs = await n8n.executions();
		const saved = await Promise.all(runs.slice(0, 8).map((run) => n8n.execution(run.id)));
		const text = `${n8n.log}\n${JSON.stringify(saved)}`;
		for (const secret of [openai.apiKey, anthropic.apiKey, bot.token]) expect(text).not.toContain(secret);
	});
});
