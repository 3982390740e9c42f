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

test('a long Markdown answer is sent as several formatted messages, all returned in sent.messageIds', async () => {
	const long = Array.from({ length: 12 }, (_, i) => `**Step ${i + 1}.** ${'Lorem ipsum dolor sit amet. '.repeat(16)}`).join('\n\n');
	const before = telegram.sent.length;
	const { error, outputOf } = await sendWorkflow({ token: telegram.token, input: { ...envelope, reply: { text: long } } });

	expect(error).toBeUndefined();
	const sent = telegram.sent.slice(before);
	expect(sent.length).toBeGreaterThan(1);
	expect(sent.every((message) => message.parseMode === 'HTML' && message.text!.startsWith('<b>Step'))).toBe(true);
	expect(outputOf('Telegram Send')[0].json.sent).toEqual({ channel: 'telegram', chatId: '4242', messageIds: sent.map((message) => String(message.messageId)) });
});

test('"Show Typing" then "Send Text" then "Edit Text": the edit finds the sent message through the default Message ID', async () => {
	const typing = sendNode({ name: 'Typing', id: 'typing', parameters: { operation: 'sendTyping' } });
	const placeholder = sendNode({ name: 'Placeholder', id: 'placeholder', parameters: { text: 'Thinking…' } });
	const edit = sendNode({ name: 'Edit', id: 'edit', parameters: { operation: 'editText', text: '={{ $json.reply.text }} (edited)' } });
	const { error, outputOf } = await runWorkflow({
		nodes: [typing, placeholder, edit],
		connections: {
			[INPUT_NODE_NAME]: { main: [[{ node: 'Typing', type: 'main', index: 0 }]] },
			Typing: { main: [[{ node: 'Placeholder', type: 'main', index: 0 }]] },
			Placeholder: { main: [[{ node: 'Edit', type: 'main', index: 0 }]] },
		},
		credentials: { clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
		input: [envelope],
	});

	expect(error).toBeUndefined();
	expect(telegram.calls('sendChatAction').at(-1)?.body).toEqual({ chat_id: '4242', action: 'typing' });
	const [placeholderId] = (outputOf('Placeholder')[0].json.sent as { messageIds: string[] }).messageIds;
	expect(telegram.sent.find((message) => String(message.messageId) === placeholderId)).toMatchObject({ text: 'Paris. (edited)', editedTexts: ['Thinking…'] });
	expect(outputOf('Edit')[0].json.sent).toEqual({ channel: 'telegram', chatId: '4242', messageIds: [placeholderId] });
});

test('"Send Photo" by URL passes the URL and a Markdown caption', async () => {
	const node = sendNode({ parameters: { operation: 'sendPhoto', fileSource: 'reference', fileReference: 'https://example.com/paris.jpg', caption: 'The **Eiffel** tower' } });
	const { error } = await sendWorkflow({ token: telegram.token, node });
	expect(error).toBeUndefined();
	expect(telegram.calls('sendPhoto').at(-1)?.body).toMatchObject({ chat_id: '4242', photo: 'https://example.com/paris.jpg', caption: 'The <b>Eiffel</b> tower', parse_mode: 'HTML' });
});

test('Telegram\'s flood control (429) is waited out inside the node: the item succeeds', async () => {
	telegram.rateLimitNext('sendMessage', 1);
	const { error, outputOf } = await sendWorkflow({ token: telegram.token });
	expect(error).toBeUndefined();
	expect((outputOf('Telegram Send')[0].json.sent as { messageIds: string[] }).messageIds).toHaveLength(1);
});
