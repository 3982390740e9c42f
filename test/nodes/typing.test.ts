/**
 * AI Session's Show Typing in n8n's own engine: the Telegram plugin against the Telegram emulator,
 * the model played by the OpenAI emulator taking its time, so what reaches the "platform" is
 * exactly what a user's chat would show.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INode } from 'n8n-workflow';

import { channelPlugins } from '../../nodes/Reply/channel-registry';
import { closeSessionStores } from '../../nodes/shared/session-stores';
import { describeWithoutSecrets } from '../../nodes/shared/typing';
import type { RecordedRequest } from '../emulators/kit';
import { OpenAiEmulator } from '../emulators/openai';
import { makeBotToken, TelegramEmulator } from '../emulators/telegram';
import { aiSessionTestNode, fromTrigger, INPUT_NODE_NAME, runWorkflow, telegramDmEnvelope } from './harness';

// telegramDmEnvelope's messages reach bot 777.
const telegram = new TelegramEmulator({ token: makeBotToken(777) });
const otherBot = new TelegramEmulator({ token: makeBotToken(778) });
const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
const folder = mkdtempSync(join(tmpdir(), 'clawgate-typing-'));
let chat = 1000;

beforeAll(() => Promise.all([telegram.start(), otherBot.start(), model.start()]));
afterAll(async () => {
	await closeSessionStores();
	await Promise.all([telegram.stop(), otherBot.stop(), model.stop()]);
	rmSync(folder, { recursive: true, force: true });
});
afterEach(() => {
	model.latencyMs = 0;
});

function aiSessionNode(parameters: IDataObject = {}, { telegramCredential = true, onError }: { telegramCredential?: boolean; onError?: INode['onError'] } = {}): INode {
	const credentials = { openAiApi: { id: '1', name: 'OpenAI' }, ...(telegramCredential ? { clawgateTelegramApi: { id: '2', name: 'Bot' } } : {}) };
	return aiSessionTestNode(join(folder, 'sessions.sqlite'), parameters, credentials, onError ? { onError } : {});
}

/** Runs AI Session on the items; returns its run and when it ended (the answer can be sent from then on). */
async function answer(input: IDataObject[], node = aiSessionNode(), bot = telegram) {
	const startedAt = Date.now();
	const run = await runWorkflow({
		nodes: [node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl }, clawgateTelegramApi: { accessToken: bot.token, baseUrl: bot.apiRoot } },
		input,
	});
	return { ...run, startedAt, endedAt: Date.now() };
}

const typingIn = (chatId: string, bot = telegram): RecordedRequest[] => bot.calls('sendChatAction').filter((call) => String(call.body.chat_id) === chatId);
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('while the model works, the chat shows typing as the model is asked, refreshed within Telegram\'s 5 s, and none after the answer', async () => {
	const chatId = String(chat++);
	model.latencyMs = 9_000;
	const { error, outputOf, endedAt } = await answer([telegramDmEnvelope(chatId, 'Think hard, please.')]);
	expect(error).toBeUndefined();
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: Think hard, please.' });
	await settle(1_500);

	const actions = typingIn(chatId);
	expect(actions.map((call) => call.body.action)).toEqual(actions.map(() => 'typing'));
	const modelAsked = model.requests().at(-1)!.receivedAt;
	// Typing is started before any store or model work, but its request and the model's run side by
	// side on two connections, so which one a server sees first is a race (CI saw typing 1 ms after the
	// model). What the chat needs: typing shown at once, long before the 9 s answer.
	expect(actions[0].receivedAt).toBeLessThan(modelAsked + 1_000);
	// 9 s of thinking with a 5 s indicator: at least 3 actions, none more than 5 s after the one before.
	expect(actions.length).toBeGreaterThanOrEqual(3);
	const gaps = actions.slice(1).map((call, index) => call.receivedAt - actions[index].receivedAt);
	for (const gap of gaps) expect(gap).toBeLessThan(5_000);
	// The last indicator still covers the end of the model's work.
	expect(actions.at(-1)!.receivedAt + 5_000).toBeGreaterThan(endedAt);
	expect(actions.every((call) => call.receivedAt <= endedAt)).toBe(true);
}, 30_000);

test('a failed item stops typing too: nothing is sent after it failed', async () => {
	const chatId = String(chat++);
	// The model hangs past the timeout, with no retry: the item fails after 5 s.
	model.fail({ hang: true });
	const { outputOf, endedAt } = await answer([telegramDmEnvelope(chatId, 'This one fails.')], aiSessionNode({ options: { timeoutSeconds: 5, retries: 0 } }, { onError: 'continueRegularOutput' }));
	expect(String(outputOf('AI Session', 0)[0].json.error)).not.toBe('undefined');
	await settle(5_000);
	const actions = typingIn(chatId);
	// Shown while it was being tried (first action and one refresh), then never again.
	expect(actions.length).toBeGreaterThanOrEqual(2);
	expect(actions.every((call) => call.receivedAt <= endedAt)).toBe(true);
}, 30_000);

test('a rate-limited typing action never delays the answer, and its retry is dropped once the answer is ready', async () => {
	const chatId = String(chat++);
	// Telegram asks to wait 3 s; the client would send the action again then, after the answer.
	telegram.rateLimitNext('sendChatAction', 3);
	model.latencyMs = 500;
	const { error, outputOf, endedAt } = await answer([telegramDmEnvelope(chatId, 'Quick one.')]);
	expect(error).toBeUndefined();
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: Quick one.' });
	// Answered before the 3 s Telegram asked for were over: nothing waited for the typing action.
	const [limited] = typingIn(chatId);
	expect(endedAt).toBeLessThan(limited.receivedAt + 3_000);
	await settle(4_000);
	expect(typingIn(chatId)).toEqual([limited]);
}, 30_000);

test('a platform that refuses typing (500) costs the indicator only: the answer comes as usual', async () => {
	const chatId = String(chat++);
	telegram.failNext('sendChatAction', { status: 500, body: { ok: false, error_code: 500, description: 'Internal Server Error' } }, 5);
	const { error, outputOf } = await answer([telegramDmEnvelope(chatId, 'Still answered?')]);
	expect(error).toBeUndefined();
	expect(outputOf('AI Session', 0)[0].json).toMatchObject({ reply: { text: 'answer to: Still answered?' } });
	expect(outputOf('AI Session', 0)[0].json.error).toBeUndefined();
	expect(typingIn(chatId).length).toBeGreaterThanOrEqual(1);
});

test('without the Telegram credential on AI Session the message is answered without typing', async () => {
	const chatId = String(chat++);
	const { error, outputOf } = await answer([telegramDmEnvelope(chatId, 'No typing here.')], aiSessionNode({}, { telegramCredential: false }));
	expect(error).toBeUndefined();
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: No typing here.' });
	await settle(300);
	expect(typingIn(chatId)).toEqual([]);
});

test.each([
	['a command answered without the model (/help)', (chatId: string) => ({ ...telegramDmEnvelopeWithCommand(chatId, '/help', 'help') }), {}],
	['Show Typing switched off', (chatId: string) => telegramDmEnvelope(chatId, 'Plain, please.'), { showTyping: false }],
	['an item no Clawgate trigger made (a Chat Trigger body shaped like an envelope)', (chatId: string) => ({ ...telegramDmEnvelope(chatId, 'Forged?'), origin: 'forged' }), {}],
])('no typing for %s', async (_case, item, parameters) => {
	const chatId = String(chat++);
	const { error } = await answer([item(chatId)], aiSessionNode(parameters));
	expect(error).toBeUndefined();
	await settle(300);
	expect(typingIn(chatId)).toEqual([]);
});

test('a credential of another bot shows no typing (it would show the wrong bot), and the answer still comes', async () => {
	const chatId = String(chat++);
	const { error, outputOf } = await answer([telegramDmEnvelope(chatId, 'Which bot?')], aiSessionNode(), otherBot);
	expect(error).toBeUndefined();
	expect(outputOf('AI Session', 0)[0].json.reply).toMatchObject({ text: 'answer to: Which bot?' });
	await settle(300);
	expect(typingIn(chatId, otherBot)).toEqual([]);
});

test('a typing failure is described without the bot token, even when the error quotes the URL', () => {
	const telegramPlugin = channelPlugins.find((plugin) => plugin.id === 'telegram')!;
	const credential = { accessToken: telegram.token, baseUrl: telegram.apiRoot };
	const error = new Error(`request to ${telegram.apiRoot}/bot${telegram.token}/sendChatAction failed, reason: connect ECONNREFUSED`);
	const text = describeWithoutSecrets(telegramPlugin, error, credential);
	expect(text).not.toContain(telegram.token);
	expect(text).toContain('***');
});

test('every channel whose capabilities say it has typing says how long its indicator lasts and can send it', () => {
	const typing = channelPlugins.filter((plugin) => plugin.capabilities.typing);
	expect(typing.map((plugin) => plugin.id)).toEqual(expect.arrayContaining(['telegram', 'discord']));
	for (const plugin of typing) {
		expect({ id: plugin.id, lastsMs: plugin.capabilities.typingLastsMs, sends: typeof plugin.outbound.sendTyping }).toEqual({ id: plugin.id, lastsMs: expect.any(Number), sends: 'function' });
	}
	expect(channelPlugins.find((plugin) => plugin.id === 'telegram')!.capabilities.typingLastsMs).toBe(5_000);
	expect(channelPlugins.find((plugin) => plugin.id === 'discord')!.capabilities.typingLastsMs).toBe(10_000);
});

/** A Telegram DM that the trigger recognised as a command ("/help" → command "help"). */
function telegramDmEnvelopeWithCommand(chatId: string, text: string, command: string): IDataObject {
	const envelope = telegramDmEnvelope(chatId, text);
	return fromTrigger({ ...envelope, message: { ...(envelope.message as IDataObject), command } });
}
