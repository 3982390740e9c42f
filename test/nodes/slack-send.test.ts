import type { IDataObject, INode } from 'n8n-workflow';

import { makeBotToken, SlackEmulator } from '../emulators/slack';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow } from './harness';

const slack = new SlackEmulator();
beforeAll(() => slack.start());
afterAll(() => slack.stop());

/** An envelope as the Clawgate Slack Trigger and AI Session nodes leave it. */
const envelope = {
	channel: 'slack',
	chat: { id: 'D0ADA', type: 'dm', threadId: null, title: null },
	message: { id: '1700000000.000100', text: 'What is the capital of France?' },
	reply: { text: 'It is **Paris**.' },
};

/** A Slack Send node with every parameter at its default, as dropped onto the canvas. */
function sendNode(settings: Partial<INode> = {}): INode {
	return {
		id: 'slack-send',
		name: 'Slack Send',
		type: `${PACKAGE}.slackSend`,
		typeVersion: 1,
		position: [200, 0],
		parameters: {},
		credentials: { clawgateSlackApi: { id: '1', name: 'Test app' } },
		...settings,
	};
}

function sendWorkflow({ token = slack.token, nodes = [sendNode()], input = envelope }: { token?: string; nodes?: INode[]; input?: IDataObject }) {
	const connections: Record<string, { main: Array<Array<{ node: string; type: 'main'; index: number }>> }> = {};
	[INPUT_NODE_NAME, ...nodes.map((node) => node.name)].forEach((from, index) => {
		const to = nodes[index];
		if (to) connections[from] = { main: [[{ node: to.name, type: 'main', index: 0 }]] };
	});
	return runWorkflow({
		nodes,
		connections,
		credentials: { clawgateSlackApi: { botToken: token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl } },
		input: [input],
	});
}

test('answers the DM an envelope came from with the AI reply in Slack mrkdwn, without changing any parameter', async () => {
	const before = slack.posted.length;
	const { error, outputOf } = await sendWorkflow({});

	expect(error).toBeUndefined();
	expect(slack.posted.slice(before)).toEqual([expect.objectContaining({ channel: 'D0ADA', text: 'It is *Paris*.', threadTs: null })]);
	expect(slack.calls('chat.postMessage').at(-1)!.body).not.toHaveProperty('thread_ts');

	const [item] = outputOf('Slack Send');
	expect(item.json).toMatchObject({ ...envelope, sent: { channel: 'slack', chatId: 'D0ADA', messageIds: [slack.posted.at(-1)!.ts], threadId: null } });
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

test('a message that came in a thread is answered in that thread, without changing any parameter', async () => {
	const threaded = { ...envelope, chat: { id: 'C0GENERAL', type: 'group', threadId: '1700000000.000050', title: null } };
	const { error } = await sendWorkflow({ input: threaded });

	expect(error).toBeUndefined();
	expect(slack.calls('chat.postMessage').at(-1)!.body).toMatchObject({ channel: 'C0GENERAL', text: 'It is *Paris*.', thread_ts: '1700000000.000050' });
});

test('a long reply becomes several messages, and every ts is returned', async () => {
	const longReply = { ...envelope, reply: { text: 'All work and no play makes Jack a dull boy. '.repeat(200) } };
	const before = slack.posted.length;
	const { outputOf } = await sendWorkflow({ input: longReply });

	const posted = slack.posted.slice(before);
	expect(posted.length).toBeGreaterThan(1);
	expect(outputOf('Slack Send')[0].json.sent).toMatchObject({ messageIds: posted.map((message) => message.ts) });
});

test('Update Message edits the message an earlier Slack Send posted, with its default parameters', async () => {
	const placeholder = sendNode({ name: 'Post Placeholder', id: 'placeholder', parameters: { text: 'Thinking…' } });
	const update = sendNode({ name: 'Put Answer', id: 'update', parameters: { operation: 'updateMessage' } });
	const { error, outputOf } = await sendWorkflow({ nodes: [placeholder, update] });

	expect(error).toBeUndefined();
	const ts = (outputOf('Post Placeholder')[0].json.sent as { messageIds: string[] }).messageIds[0];
	expect(slack.calls('chat.update').at(-1)!.body).toEqual({ channel: 'D0ADA', ts, text: 'It is *Paris*.' });
	expect(slack.posted.find((message) => message.ts === ts)?.text).toBe('It is *Paris*.');
	expect(outputOf('Put Answer')[0].json.sent).toEqual({ channel: 'slack', chatId: 'D0ADA', messageIds: [ts], threadId: null });
});

test('with "On Error: Continue" a rejected bot token becomes an error on the item, never revealing the token', async () => {
	const wrongToken = makeBotToken();
	const { error, outputOf } = await sendWorkflow({ token: wrongToken, nodes: [sendNode({ onError: 'continueRegularOutput' })] });

	expect(error).toBeUndefined();
	const [item] = outputOf('Slack Send');
	expect(item.json.error).toBe('Slack refused chat.postMessage (invalid_auth): check the Bot User OAuth Token (xoxb-...) in the Clawgate Slack credential.');
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

test('with "On Error: Continue (using error output)" a channel the bot is not in routes the item to the error output', async () => {
	slack.notInChannel.add('C0SECRET');
	const input = { ...envelope, chat: { id: 'C0SECRET', type: 'group', threadId: null, title: null } };
	const { error, outputOf } = await sendWorkflow({ input, nodes: [sendNode({ onError: 'continueErrorOutput' })] });

	expect(error).toBeUndefined();
	expect(outputOf('Slack Send', 0)).toEqual([]);
	const [item] = outputOf('Slack Send', 1);
	expect(item.json.error).toContain('invite the bot to the channel with /invite @yourbot');
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

test('without continue on fail a rejected bot token fails the execution and points at the credential, never revealing the token', async () => {
	const wrongToken = makeBotToken();
	const { error, run } = await sendWorkflow({ token: wrongToken });

	expect(run.status).toBe('error');
	expect(error?.message).toContain('check the Bot User OAuth Token (xoxb-...) in the Clawgate Slack credential');
	expect(error).toMatchObject({ node: { name: 'Slack Send' } });
	// The run as n8n stores it, error message and stack included.
	expect(JSON.stringify(run)).not.toContain(wrongToken);
});
