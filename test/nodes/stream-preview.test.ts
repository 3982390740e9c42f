/**
 * Stream Preview in n8n's own engine: AI Session → Reply (or Telegram Send), the Telegram plugin
 * against the Telegram emulator and a model that streams word by word. What is asserted is what
 * the chat showed: a draft while the model wrote, edited at Telegram's pace, turned into the
 * answer, and exactly one message per answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INode } from 'n8n-workflow';

import { AiSession } from '../../nodes/AiSession/AiSession.node';
import { closeSessionStores } from '../../nodes/shared/session-stores';
import { DRAFT_CURSOR } from '../../nodes/core/draft-answer';
import { OpenAiEmulator } from '../emulators/openai';
import { makeBotToken, TelegramEmulator, type SentMessage } from '../emulators/telegram';
import { aiSessionTestNode, INPUT_NODE_NAME, PACKAGE, runWorkflow, telegramDmEnvelope } from './harness';

const telegram = new TelegramEmulator({ token: makeBotToken(777) });
const sixtyWords = Array.from({ length: 60 }, (_, index) => `word${index}`).join(' ');
let answerText = sixtyWords;
const model = new OpenAiEmulator({ responder: () => answerText });
const folder = mkdtempSync(join(tmpdir(), 'clawgate-preview-'));
let chat = 3000;

beforeAll(() => Promise.all([telegram.start(), model.start()]));
afterAll(async () => {
	await closeSessionStores();
	await Promise.all([telegram.stop(), model.stop()]);
	rmSync(folder, { recursive: true, force: true });
});
beforeEach(() => {
	answerText = sixtyWords;
	model.streamDelayMs = 25;
});

const credentials = { openAiApi: { id: '1', name: 'OpenAI' }, clawgateTelegramApi: { id: '2', name: 'Bot' } };

function aiSession(parameters: IDataObject = {}): INode {
	const options = { retries: 0, ...(parameters.options as IDataObject | undefined) };
	return aiSessionTestNode(join(folder, 'sessions.sqlite'), { streamPreview: true, ...parameters, options }, credentials);
}

const replyNode: INode = { id: 'reply', name: 'Reply', type: `${PACKAGE}.reply`, typeVersion: 1, position: [400, 0], parameters: {}, credentials };
const telegramSendNode: INode = { id: 'send', name: 'Send', type: `${PACKAGE}.telegramSend`, typeVersion: 1, position: [400, 0], parameters: { operation: 'sendText' }, credentials };

async function answer(chatId: string, text: string, { session = aiSession(), send = replyNode }: { session?: INode; send?: INode | null } = {}) {
	const nodes = send ? [session, send] : [session];
	return await runWorkflow({
		nodes,
		connections: {
			[INPUT_NODE_NAME]: { main: [[{ node: session.name, type: 'main', index: 0 }]] },
			...(send ? { [session.name]: { main: [[{ node: send.name, type: 'main', index: 0 }], []] } } : {}),
		},
		credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl }, clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
		input: [telegramDmEnvelope(chatId, text)],
	});
}

const messagesIn = (chatId: string): SentMessage[] => telegram.sent.filter((message) => message.chatId === chatId);
const visibleIn = (chatId: string) => messagesIn(chatId).filter((message) => message.deletedAt === null);

/** Every post and edit in the chat, in the order Telegram took them. */
function writesIn(chatId: string): number[] {
	return messagesIn(chatId)
		.flatMap((message) => [message.sentAt, ...message.editedAt])
		.sort((a, b) => a - b);
}

test('the chat shows a draft while the model writes, edited at most once a second, then exactly one message: the answer as it is without Stream Preview', async () => {
	const plainChat = String(chat++);
	const plain = await answer(plainChat, 'Count for me.', { session: aiSession({ streamPreview: false }) });
	expect(plain.error).toBeUndefined();

	const chatId = String(chat++);
	const { error, outputOf } = await answer(chatId, 'Count for me.');
	expect(error).toBeUndefined();
	const modelAsked = model.requests().at(-1)!.receivedAt;
	const modelDone = modelAsked + 60 * model.streamDelayMs;

	const [message] = messagesIn(chatId);
	expect(messagesIn(chatId)).toHaveLength(1);
	// The draft was in the chat long before the model finished writing.
	expect(message.sentAt).toBeLessThan(modelDone - 500);
	expect(message.editedTexts[0].endsWith(DRAFT_CURSOR)).toBe(true);
	expect(message.text).toBe(telegram.sentTexts(plainChat)[0]);
	expect(message.editedAt.length).toBeGreaterThanOrEqual(1);
	const writes = writesIn(chatId);
	for (let index = 1; index < writes.length; index++) expect(writes[index] - writes[index - 1]).toBeGreaterThanOrEqual(1_000);

	const reply = outputOf('AI Session', 0)[0].json.reply as IDataObject;
	expect(reply.preview).toEqual({ via: 'telegram', chatId, threadId: null, messageIds: [String(message.messageId)] });
	expect(outputOf('Reply', 0)[0].json.sent).toMatchObject({ messageIds: [String(message.messageId)] });
}, 60_000);

test('a long answer: the draft becomes its first message and the rest follows, in order, through the Telegram Send node too', async () => {
	answerText = Array.from({ length: 900 }, (_, index) => `word${index}`).join(' ');
	model.streamDelayMs = 1;
	const chatId = String(chat++);
	const { error, outputOf } = await answer(chatId, 'Write a lot.', { session: aiSession({ options: { maxOutputTokens: 4_000 } }), send: telegramSendNode });
	expect(error).toBeUndefined();
	const messages = visibleIn(chatId);
	expect(messages.length).toBe(2);
	expect(messages[0].editedAt.length).toBeGreaterThanOrEqual(1);
	expect(messages[0].sentAt).toBeLessThan(messages[1].sentAt);
	expect(messages.map((message) => message.text).join(' ').replace(/\s+/g, ' ')).toBe(answerText);
	expect(outputOf('Send', 0)[0].json.sent).toMatchObject({ messageIds: messages.map((message) => String(message.messageId)) });
}, 60_000);

test('a model that fails mid-answer without an Error Reply: the half-written draft is deleted and the item fails', async () => {
	model.fail({ cutStreamAfter: 30 });
	const chatId = String(chat++);
	const { error } = await answer(chatId, 'This will break.');
	expect(error).toBeDefined();
	const messages = messagesIn(chatId);
	expect(messages).toHaveLength(1);
	expect(messages[0].deletedAt).not.toBeNull();
	expect(visibleIn(chatId)).toEqual([]);
}, 60_000);

test('a model that fails mid-answer with an Error Reply: the draft becomes the Error Reply, one message', async () => {
	model.fail({ cutStreamAfter: 30 });
	const chatId = String(chat++);
	const { error } = await answer(chatId, 'This will break.', { session: aiSession({ options: { errorReply: 'Sorry, I could not answer that.' } }) });
	expect(error).toBeUndefined();
	const messages = visibleIn(chatId);
	expect(messages).toHaveLength(1);
	expect(messages[0].editedTexts.length).toBeGreaterThanOrEqual(1);
	expect(messages[0].text).toBe('Sorry, I could not answer that.');
}, 60_000);

test('an answer sent again from the store (after a crash) carries the first run\'s draft, and the send node edits that draft instead of posting a second message', async () => {
	const chatId = String(chat++);
	// The first run: AI Session drafted and stored the answer, then the execution was lost before sending.
	const first = await answer(chatId, 'Count for me.', { send: null });
	const item = first.outputOf('AI Session', 0)[0].json;
	expect(messagesIn(chatId)).toHaveLength(1);
	// Recovery's run: AI Session replays the stored answer (reply.replayed), which Reply sends.
	const replayed = { ...item, reply: { ...(item.reply as IDataObject), replayed: true } };
	const { error } = await runWorkflow({
		nodes: [replyNode],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: 'Reply', type: 'main', index: 0 }]] } },
		credentials: { clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
		input: [replayed],
	});
	expect(error).toBeUndefined();
	expect(messagesIn(chatId)).toHaveLength(1);
	expect(messagesIn(chatId)[0].text).toBe(sixtyWords);
}, 60_000);

test('Stream Preview off (the default): one message, no edits', async () => {
	const chatId = String(chat++);
	const { error } = await answer(chatId, 'Count for me.', { session: aiSession({ streamPreview: false }) });
	expect(error).toBeUndefined();
	expect(messagesIn(chatId)).toHaveLength(1);
	expect(messagesIn(chatId)[0].editedAt).toEqual([]);
}, 60_000);

test('AI Session offers Stream Preview right under Show Typing, off by default, and Slack\'s credential (no typing) only with it', () => {
	const { properties, credentials } = new AiSession().description;
	const names = properties.map((property) => property.name);
	const preview = properties.find((property) => property.name === 'streamPreview')!;
	expect(preview).toMatchObject({ type: 'boolean', default: false, displayOptions: { show: { showTyping: [true] } } });
	expect(names.indexOf('streamPreview')).toBe(names.indexOf('showTypingNotice') + 1);
	expect(credentials!.find((credential) => credential.name === 'clawgateSlackApi')).toMatchObject({ required: false, displayOptions: { show: { showTyping: [true], streamPreview: [true] } } });
	expect(credentials!.filter((credential) => credential.name === 'clawgateTelegramApi')).toHaveLength(1);
});
