/**
 * Show Typing in a real n8n with the package installed the community way: a Telegram Trigger
 * (webhook) and a Discord Trigger (gateway) → AI Session (with both platform credentials) → Reply,
 * each platform played by its emulator and a model that takes its time. What is asserted is what a
 * person would see in the chat: typing from the moment the message arrives until the answer.
 */
import type { RecordedRequest } from '../emulators/kit';
import { DiscordEmulator } from '../emulators/discord';
import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { eventually, type N8nInstance } from './harness';
import { startTelegramDiscordN8n, telegramDiscordWorkflow } from './telegram-discord';

const credentials = {
	telegram: { id: 'ClawgateTypTg001', name: 'Typing Telegram bot' },
	discord: { id: 'ClawgateTypDc001', name: 'Typing Discord bot' },
	openAi: { id: 'ClawgateTypAi001', name: 'Typing OpenAI' },
};

const workflow = telegramDiscordWorkflow({
	id: 'ClawgateTyping01',
	name: 'Clawgate: typing while the model works',
	webhookId: '4f7c2a90-1b3d-4e5f-8a6b-7c8d9e0f1a21',
	credentials,
	// Best effort: with the journal, recovery would run the failed message again (and rightly
	// show typing again), which is not what the failure test looks at.
	telegramTrigger: { deliveryGuarantee: 'bestEffort' },
	// No retries: a failing model fails the item at once (the failure test).
	aiSession: { model: 'gpt-4o-mini', store: 'sqlite', options: { retries: 0 } },
});

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** n8n's execution data is "flatted" JSON: objects and strings in one array, referenced by index. */
function unflatten(text: string): unknown {
	const table = JSON.parse(text) as unknown[];
	const revived = new Map<number, unknown>();
	const revive = (index: number): unknown => {
		const value = table[index];
		if (typeof value !== 'object' || value === null) return value;
		if (revived.has(index)) return revived.get(index);
		const copy: Record<string, unknown> = Array.isArray(value) ? ([] as unknown as Record<string, unknown>) : {};
		revived.set(index, copy);
		for (const [key, item] of Object.entries(value)) copy[key] = typeof item === 'string' ? revive(Number(item)) : item;
		return copy;
	};
	return revive(0);
}

/** What the person saw, in ms after their message arrived at the platform, and when n8n started AI Session on it. */
function timeline(arrivedAt: number, typing: RecordedRequest[], answer: RecordedRequest | null, aiSessionStartedAt: number | null = null) {
	return {
		firstTypingMs: typing.length > 0 ? typing[0].receivedAt - arrivedAt : null,
		aiSessionStartedMs: aiSessionStartedAt === null ? null : aiSessionStartedAt - arrivedAt,
		firstTypingAfterAiSessionStartedMs: aiSessionStartedAt === null || typing.length === 0 ? null : typing[0].receivedAt - aiSessionStartedAt,
		typingAtMs: typing.map((call) => call.receivedAt - arrivedAt),
		longestGapMs: Math.max(0, ...typing.slice(1).map((call, index) => call.receivedAt - typing[index].receivedAt)),
		answerAtMs: answer ? answer.receivedAt - arrivedAt : null,
	};
}

describe('AI Session shows typing while the model works, in a real n8n (Telegram and Discord)', () => {
	const telegram = new TelegramEmulator();
	const discord = new DiscordEmulator();
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	let n8n: N8nInstance;
	const measured: Record<string, ReturnType<typeof timeline> & { webhookAcknowledgedMs?: number }> = {};

	beforeAll(async () => {
		await Promise.all([telegram.start(), discord.start(), model.start()]);
		// Typing failures are logged at debug: the log must show them without any token.
		n8n = await startTelegramDiscordN8n({ telegram, discord, model, workflow, credentials });
		// One message through each channel first, so n8n has loaded what the first execution loads.
		await telegram.deliver(telegram.textUpdate({ text: 'warm up', chatId: 1 }));
		discord.sendDm({ from: discord.users.bob, content: 'warm up' });
		await Promise.all([telegram.waitForCall('sendMessage', (body) => String(body.chat_id) === '1', 60_000), discord.waitForCall('POST', /\/channels\/\d+\/messages$/, 60_000)]);
		// Building, installing and starting n8n takes minutes on a machine other test runs share.
	}, 900_000);

	afterAll(async () => {
		console.log(`Typing as measured (ms after the message arrived):\n${JSON.stringify(measured, null, 1)}`);
		await n8n?.stop();
		await Promise.all([telegram.stop(), discord.stop(), model.stop()]);
	});

	afterEach(() => {
		model.latencyMs = 0;
	});

	/** When n8n started AI Session in the newest execution of the workflow (its run data's startTime). */
	async function aiSessionStartOfNewestExecution(): Promise<number> {
		const runs = (await n8n.executions()).filter((run) => run.workflowId === workflow.id);
		const newest = runs.reduce((a, b) => (Number(a.id) > Number(b.id) ? a : b));
		const data = unflatten((await n8n.execution(newest.id)).data) as { resultData: { runData: Record<string, Array<{ startTime: number }>> } };
		return data.resultData.runData['AI Session'][0].startTime;
	}

	test('Telegram: typing within 300 ms of AI Session getting the message, refreshed before its 5 s run out while the model works 12 s, none after the answer', async () => {
		model.latencyMs = 12_000;
		const chatId = 5001;
		const arrivedAt = Date.now();
		expect((await telegram.deliver(telegram.textUpdate({ text: 'Take your time.', chatId, from: { id: chatId, is_bot: false, first_name: 'Ada' } }))).status).toBe(200);
		const acknowledgedMs = Date.now() - arrivedAt;
		const answer = await telegram.waitForCall('sendMessage', (body) => String(body.chat_id) === String(chatId), 60_000);
		expect(answer.body.text).toBe('answer to: Take your time.');
		// Longer than one refresh (4 s): a refresh that was not stopped would show up.
		await settle(5_000);
		const typing = telegram.calls('sendChatAction').filter((call) => String(call.body.chat_id) === String(chatId));
		measured.telegram = { ...timeline(arrivedAt, typing, answer, await aiSessionStartOfNewestExecution()), webhookAcknowledgedMs: acknowledgedMs };

		expect(typing.map((call) => call.body.action)).toEqual(typing.map(() => 'typing'));
		// From the moment n8n hands AI Session the message (n8n's own webhook-to-execution time before that is reported above).
		expect(measured.telegram.firstTypingAfterAiSessionStartedMs).toBeLessThanOrEqual(300);
		expect(typing.length).toBeGreaterThanOrEqual(3);
		expect(measured.telegram.longestGapMs).toBeLessThan(5_000);
		// Still showing when the answer came (the last action less than 5 s before it), and never after it.
		expect(answer.receivedAt - typing.at(-1)!.receivedAt).toBeLessThan(5_000);
		expect(typing.filter((call) => call.receivedAt > answer.receivedAt)).toEqual([]);
	}, 120_000);

	test('Discord: typing within 300 ms of AI Session getting the message, refreshed before its 10 s run out while the model works 12 s, none after the answer', async () => {
		model.latencyMs = 12_000;
		const arrivedAt = Date.now();
		const message = discord.sendDm({ content: 'Take your time on Discord.' });
		const channelId = String(message.channel_id);
		const typingPath = new RegExp(`/channels/${channelId}/typing$`);
		const answer = await discord.waitForCall('POST', new RegExp(`/channels/${channelId}/messages$`), 60_000);
		expect(answer.body.content).toBe('answer to: Take your time on Discord.');
		// Longer than one refresh (8 s).
		await settle(9_000);
		const typing = discord.calls('POST', typingPath);
		measured.discord = timeline(arrivedAt, typing, answer, await aiSessionStartOfNewestExecution());

		expect(measured.discord.firstTypingAfterAiSessionStartedMs).toBeLessThanOrEqual(300);
		expect(typing.length).toBeGreaterThanOrEqual(2);
		expect(measured.discord.longestGapMs).toBeLessThan(10_000);
		expect(answer.receivedAt - typing.at(-1)!.receivedAt).toBeLessThan(10_000);
		expect(typing.filter((call) => call.receivedAt > answer.receivedAt)).toEqual([]);
	}, 120_000);

	test('a failed item stops typing: nothing after the model failed, and typing errors never leak the token', async () => {
		model.latencyMs = 6_000;
		model.fail({ status: 500, message: 'The server had an error while processing your request.' });
		const chatId = 5002;
		const arrivedAt = Date.now();
		// The first typing action is refused: logged at debug, without the token.
		telegram.failNext('sendChatAction', { status: 500, body: { ok: false, error_code: 500, description: 'Internal Server Error' } });
		expect((await telegram.deliver(telegram.textUpdate({ text: 'This will fail.', chatId, from: { id: chatId, is_bot: false, first_name: 'Ada' } }))).status).toBe(200);
		const failedAt = await eventually(
			async () => {
				const failed = (await n8n.executions()).find((run) => run.workflowId === workflow.id && run.status === 'error');
				return failed ? Date.now() : undefined;
			},
			'the failed execution',
			60_000,
		);
		await settle(5_000);
		const modelFailedAt = model.requests().at(-1)!.receivedAt + model.latencyMs;
		const typing = telegram.calls('sendChatAction').filter((call) => String(call.body.chat_id) === String(chatId));
		measured.failure = timeline(arrivedAt, typing, null, await aiSessionStartOfNewestExecution());

		// Shown while the model worked (the refused first action, then a refresh), then stopped.
		expect(typing.length).toBeGreaterThanOrEqual(2);
		expect(typing.filter((call) => call.receivedAt > modelFailedAt + 1_000)).toEqual([]);
		expect(failedAt).toBeGreaterThan(modelFailedAt);
		expect(telegram.sentTexts(chatId)).toEqual([]);
		expect(n8n.log).toContain('could not show typing on Telegram');
		for (const secret of [telegram.token, discord.token, model.apiKey]) expect(n8n.log).not.toContain(secret);
	}, 120_000);
});
