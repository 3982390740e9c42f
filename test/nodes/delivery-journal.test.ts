/**
 * The delivery journal as AI Session and a send node meet it inside real n8n workflows: an item a
 * trigger journaled (SQLite, in this file's throwaway n8n user folder) and then emitted again by
 * recovery gets the stored answer once more, without a second model call, until a receipt exists;
 * the send node sends it at most once; an abandoned one fails with its reason.
 */
import type { IDataObject, INode } from 'n8n-workflow';

import { buildMessageKey, type Envelope } from '../../nodes/core/envelope';
import type { DeliveryJournal } from '../../nodes/core/journal';
import { closeSessionStores, sessionStoreFor } from '../../nodes/shared/session-stores';
import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow, telegramDmEnvelope } from './harness';

// Each test runs workflows in n8n-core; the first also loads it, which takes seconds on a busy machine.
jest.setTimeout(30_000);

const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
const telegram = new TelegramEmulator();
beforeAll(() => Promise.all([model.start(), telegram.start()]));
afterAll(async () => {
	await closeSessionStores();
	await Promise.all([model.stop(), telegram.stop()]);
});

/** The trigger's journal: the default SQLite file in the n8n user folder (the harness makes one per file). */
const journal = () => sessionStoreFor({ kind: 'sqlite' }) as unknown as DeliveryJournal;

/** An envelope as a trigger journals and emits it. */
async function journaled(text: string, chatId = '42'): Promise<IDataObject> {
	const envelope = telegramDmEnvelope(chatId, text);
	const outcome = await journal().record({ key: buildMessageKey(envelope as unknown as Envelope), sessionId: String(envelope.sessionId), owner: 'wf:trigger', item: envelope, receivedAt: Date.now() });
	if (outcome.kind !== 'journaled') throw new Error('not journaled');
	return { ...envelope, delivery: { journal: 'sqlite', seq: outcome.seq, attempt: 1 } };
}

const aiSession: INode = {
	id: 'ai-session',
	name: 'AI Session',
	type: `${PACKAGE}.aiSession`,
	typeVersion: 1,
	position: [200, 0],
	parameters: {},
	credentials: { openAiApi: { id: '1', name: 'OpenAI' } },
};
const send: INode = {
	id: 'telegram-send',
	name: 'Telegram Send',
	type: `${PACKAGE}.telegramSend`,
	typeVersion: 1,
	position: [400, 0],
	parameters: {},
	credentials: { clawgateTelegramApi: { id: '2', name: 'Bot' } },
};

function gateway(input: IDataObject[]) {
	return runWorkflow({
		nodes: [aiSession, send],
		connections: {
			[INPUT_NODE_NAME]: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: 'Telegram Send', type: 'main', index: 0 }], []] },
		},
		credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl }, clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
		input,
	});
}

function aiSessionAlone(input: IDataObject[]) {
	return runWorkflow({
		nodes: [aiSession],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] } },
		credentials: { openAiApi: { apiKey: model.apiKey, url: model.baseUrl } },
		input,
	});
}

const sentTo = (chatId: string) => telegram.calls('sendMessage').filter((call) => String(call.body.chat_id) === chatId).map((call) => call.body.text);

test('answered but never sent (the crash came before the send): run again, the stored answer is sent, the model is not asked twice', async () => {
	const item = await journaled('What is the capital of Peru?', '501');
	const first = await aiSessionAlone([item]);
	expect(first.error).toBeUndefined();
	const prompts = model.prompts().length;

	const again = await gateway([{ ...item, delivery: { ...(item.delivery as IDataObject), attempt: 2 } }]);
	expect(again.error).toBeUndefined();
	expect(model.prompts()).toHaveLength(prompts);
	const [out] = again.outputOf('Telegram Send');
	expect(out.json.reply).toMatchObject({ text: 'answer to: What is the capital of Peru?', replayed: true });
	expect(sentTo('501')).toEqual(['answer to: What is the capital of Peru?']);
	expect(await journal().isDelivered(buildMessageKey(item as unknown as Envelope))).toBe(true);
});

test('delivered before: run again, it leaves AI Session on Ignored and nothing is sent twice', async () => {
	const item = await journaled('Hello!', '502');
	expect((await gateway([item])).error).toBeUndefined();
	const again = await gateway([item]);
	expect(again.outputOf('AI Session', 1).map((out) => out.json.ignored)).toEqual(['duplicate']);
	expect(sentTo('502')).toHaveLength(1);
});

test('a send node given an answer it delivered before skips it and says so', async () => {
	const item = await journaled('Twice?', '503');
	await gateway([item]);
	const sendAlone = await runWorkflow({
		nodes: [send],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: 'Telegram Send', type: 'main', index: 0 }]] } },
		credentials: { clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
		input: [{ ...item, reply: { text: 'answer to: Twice?' } }],
	});
	expect(sendAlone.outputOf('Telegram Send')[0].json.sent).toMatchObject({ skipped: 'delivered before', messageIds: [] });
	expect(sentTo('503')).toHaveLength(1);
});

test('a message Clawgate gave up on fails with the reason, without a model call', async () => {
	const item = await journaled('Still there?', '504');
	const prompts = model.prompts().length;
	const reason = 'Clawgate gave up on this message after 5 attempts. The last attempt failed: Telegram said 403: bot was blocked by the user';
	const { error } = await aiSessionAlone([{ ...item, delivery: { ...(item.delivery as IDataObject), attempt: 6, gaveUp: reason } }]);
	expect(error?.message).toContain('gave up on this message after 5 attempts');
	expect(model.prompts()).toHaveLength(prompts);
});

test('a later message of a conversation waits for an earlier one still being answered, then goes in order', async () => {
	const earlier = await journaled('first question', '505');
	const later = await journaled('second question', '505');
	const laterRun = gateway([later]);
	await new Promise((resolve) => setTimeout(resolve, 400));
	const earlierRun = gateway([earlier]);
	await Promise.all([laterRun, earlierRun]);
	expect(sentTo('505')).toEqual(['answer to: first question', 'answer to: second question']);
	const lastPrompt = model.prompts().at(-1)!.map((message) => message.content);
	expect(lastPrompt.slice(-3)).toEqual(['first question', 'answer to: first question', 'second question']);
});
