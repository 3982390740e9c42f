import type { IDataObject, INode } from 'n8n-workflow';

import { makeBotToken, TelegramEmulator } from '../emulators/telegram';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow } from './harness';

const telegram = new TelegramEmulator();
beforeAll(() => telegram.start());
afterAll(() => telegram.stop());

/** An envelope as the Clawgate Telegram Trigger and AI Session nodes leave it. */
const envelope = {
	channel: 'telegram',
	chat: { id: '4242', type: 'dm', threadId: null, title: null },
	message: { id: '17', text: 'What is the capital of France?' },
	reply: { text: 'Paris.' },
};

/** A Telegram Send node with every parameter at its default, as dropped onto the canvas. */
function sendNode(settings: Partial<INode> = {}): INode {
	return {
		id: 'telegram-send',
		name: 'Telegram Send',
		type: `${PACKAGE}.telegramSend`,
		typeVersion: 1,
		position: [200, 0],
		parameters: {},
		credentials: { clawgateTelegramApi: { id: '1', name: 'Test bot' } },
		...settings,
	};
}

function sendWorkflow({ token, node = sendNode(), input = envelope }: { token: string; node?: INode; input?: IDataObject }) {
	return runWorkflow({
		nodes: [node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		credentials: { clawgateTelegramApi: { accessToken: token, baseUrl: telegram.apiRoot } },
		input: [input],
	});
}

test('answers the chat an envelope came from with the AI reply, without changing any parameter', async () => {
	const { error, outputOf } = await sendWorkflow({ token: telegram.token });

	expect(error).toBeUndefined();
	const accepted = telegram.calls('sendMessage').filter((call) => call.path === `/bot${telegram.token}/sendMessage`);
	expect(accepted.map((call) => call.body)).toEqual([expect.objectContaining({ chat_id: '4242', text: 'Paris.' })]);

	const [item] = outputOf('Telegram Send');
	expect(item.json).toMatchObject({ ...envelope, sent: { channel: 'telegram', chatId: '4242', messageIds: [expect.stringMatching(/^\d+$/)] } });
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

test('in a private chat the answer is a plain message: no quote, no topic', async () => {
	await sendWorkflow({ token: telegram.token });
	const body = telegram.calls('sendMessage').at(-1)!.body;
	expect(body).not.toHaveProperty('reply_parameters');
	expect(body).not.toHaveProperty('message_thread_id');
});

test('in a forum group the answer quotes the incoming message and stays in its topic, without changing any parameter', async () => {
	const groupEnvelope = { ...envelope, chat: { id: '-100555', type: 'group', threadId: '12', title: 'Makers' } };
	const { error } = await sendWorkflow({ token: telegram.token, input: groupEnvelope });

	expect(error).toBeUndefined();
	expect(telegram.calls('sendMessage').at(-1)!.body).toMatchObject({
		chat_id: '-100555',
		text: 'Paris.',
		message_thread_id: 12,
		reply_parameters: { message_id: 17 },
	});
});

test('with "On Error: Continue" a rejected bot token becomes an error on the item, never revealing the token', async () => {
	const wrongToken = makeBotToken();
	const { error, outputOf } = await sendWorkflow({ token: wrongToken, node: sendNode({ onError: 'continueRegularOutput' }) });

	expect(error).toBeUndefined();
	const [item] = outputOf('Telegram Send');
	expect(item.json.error).toEqual(expect.stringContaining('Check the bot token in the Clawgate Telegram credential'));
	expect(item.json.error).not.toContain(wrongToken);
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

// n8n moves an item to the error output only when it has `item.error` (or json with nothing but
// error/message/details); the node keeps the envelope in json and sets `item.error`.
test('with "On Error: Continue (using error output)" a rejected bot token routes the item to the error output', async () => {
	const { error, outputOf } = await sendWorkflow({ token: makeBotToken(), node: sendNode({ onError: 'continueErrorOutput' }) });

	expect(error).toBeUndefined();
	expect(outputOf('Telegram Send', 0)).toEqual([]);
	const [item] = outputOf('Telegram Send', 1);
	expect(item.json.error).toEqual(expect.stringContaining('401: Unauthorized'));
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

test('without continue on fail a rejected bot token fails the execution and points at the credential, never revealing the token', async () => {
	const wrongToken = makeBotToken();
	const { error, run } = await sendWorkflow({ token: wrongToken });

	expect(run.status).toBe('error');
	expect(error?.message).toContain('Check the bot token in the Clawgate Telegram credential');
	expect(error).toMatchObject({ node: { name: 'Telegram Send' } });
	// The run as n8n stores it, error message and stack included.
	expect(JSON.stringify(run)).not.toContain(wrongToken);
});
