import type { IDataObject, INode } from 'n8n-workflow';

import { normalizeDiscordMessage, type DiscordMessagePayload } from '../../nodes/Discord/discord.adapter';
import { DiscordEmulator, makeDiscordToken } from '../emulators/discord';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow } from './harness';

const discord = new DiscordEmulator();
beforeAll(() => discord.start());
afterAll(() => discord.stop());

const messagePosts = () => discord.calls('POST', /^\/channels\/\d+\/messages$/);

/** An envelope as the Clawgate Discord Trigger and AI Session nodes leave it, for a message the emulator delivered. */
function envelopeFor(raw: DiscordMessagePayload | Record<string, unknown>, replyText = 'Paris.'): IDataObject {
	const envelope = normalizeDiscordMessage(raw as DiscordMessagePayload, { botUserId: discord.bot.id, channel: null })!;
	return { ...(JSON.parse(JSON.stringify(envelope)) as IDataObject), reply: { text: replyText } };
}

/** A Discord Send node with every parameter at its default, as dropped onto the canvas. */
function sendNode(settings: Partial<INode> = {}): INode {
	return {
		id: 'discord-send',
		name: 'Discord Send',
		type: `${PACKAGE}.discordSend`,
		typeVersion: 1,
		position: [200, 0],
		parameters: {},
		credentials: { clawgateDiscordApi: { id: '1', name: 'Test bot' } },
		...settings,
	};
}

function sendWorkflow({ token = discord.token, nodes = [sendNode()], input }: { token?: string; nodes?: INode[]; input: IDataObject[] }) {
	const connections: Record<string, { main: Array<Array<{ node: string; type: 'main'; index: number }>> }> = {};
	[INPUT_NODE_NAME, ...nodes.map((node) => node.name)].slice(0, -1).forEach((from, index) => {
		connections[from] = { main: [[{ node: nodes[index].name, type: 'main', index: 0 }]] };
	});
	return runWorkflow({
		nodes,
		connections,
		credentials: { clawgateDiscordApi: { botToken: token, baseUrl: discord.apiBase } },
		input,
	});
}

test('answers the DM an envelope came from with the AI reply, quoting the question, without changing any parameter', async () => {
	const question = discord.sendDm({ content: 'What is the capital of France?' });
	const input = envelopeFor(question);
	const { error, outputOf } = await sendWorkflow({ input: [input] });

	expect(error).toBeUndefined();
	expect(messagePosts().at(-1)!.body).toEqual({
		content: 'Paris.',
		allowed_mentions: { parse: [], replied_user: false },
		flags: 4, // SUPPRESS_EMBEDS: no link previews of model text unless asked
		message_reference: { message_id: question.id, fail_if_not_exists: false },
	});
	expect(messagePosts().at(-1)!.path).toBe(`/api/v10/channels/${question.channel_id}/messages`);
	const [item] = outputOf('Discord Send');
	expect(item.json).toEqual({ ...input, sent: { channel: 'discord', chatId: question.channel_id, messageIds: [discord.sent.at(-1)!.id] } });
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

test('a message from a thread is answered in the thread, without changing any parameter', async () => {
	const question = discord.mentionBot('help?', { channel: discord.channels.helpThread });
	const input = envelopeFor(question);
	(input.chat as IDataObject).id = discord.channels.general.id;
	(input.chat as IDataObject).threadId = discord.channels.helpThread.id;
	const { error } = await sendWorkflow({ input: [input] });

	expect(error).toBeUndefined();
	expect(discord.sent.at(-1)).toMatchObject({ channelId: discord.channels.helpThread.id, content: 'Paris.' });
});

test('a long answer becomes several messages of at most 17 lines and 2,000 characters by default', async () => {
	const answer = Array.from({ length: 40 }, (_, i) => `${i + 1}. ${'word '.repeat(20)}`).join('\n');
	const before = messagePosts().length;
	const { error, outputOf } = await sendWorkflow({ input: [envelopeFor(discord.sendDm({ content: 'list' }), answer)] });

	expect(error).toBeUndefined();
	const contents = messagePosts().slice(before).map((call) => String(call.body.content));
	expect(contents).toHaveLength(3);
	for (const content of contents) {
		expect(content.split('\n').length).toBeLessThanOrEqual(17);
		expect(content.length).toBeLessThanOrEqual(2000);
	}
	expect((outputOf('Discord Send')[0].json.sent as IDataObject).messageIds).toHaveLength(3);
});

test('options: Allow Mentions lets users be pinged; Max Lines 0 splits only at 2,000 characters', async () => {
	const answer = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
	const node = sendNode({ parameters: { options: { allowMentions: true, maxLines: 0 } } });
	const before = messagePosts().length;
	await sendWorkflow({ nodes: [node], input: [envelopeFor(discord.sendDm({ content: 'hi' }), answer)] });

	const bodies = messagePosts().slice(before).map((call) => call.body);
	expect(bodies).toHaveLength(1);
	expect(bodies[0].allowed_mentions).toEqual({ parse: ['users', 'roles'], replied_user: true });
});

test('Typing shows the typing indicator in the chat and passes the item on', async () => {
	const input = envelopeFor(discord.sendDm({ content: 'hi' }));
	const node = sendNode({ name: 'Typing', parameters: { operation: 'typing' } });
	const { error, outputOf } = await sendWorkflow({ nodes: [node], input: [input] });

	expect(error).toBeUndefined();
	expect(discord.calls('POST', /\/typing$/).at(-1)!.path).toBe(`/api/v10/channels/${(input.chat as IDataObject).id}/typing`);
	expect(outputOf('Typing')[0].json).toMatchObject({ ...input, sent: { channel: 'discord', messageIds: [] } });
});

test('Edit Message after Send Text replaces the text of the message just sent, without changing its defaults', async () => {
	const input = envelopeFor(discord.sendDm({ content: 'hi' }), 'Thinking…');
	const edit = sendNode({ id: 'discord-edit', name: 'Discord Edit', position: [400, 0], parameters: { operation: 'editMessage', text: 'Done: Paris.' } });
	const { error, outputOf } = await sendWorkflow({ nodes: [sendNode(), edit], input: [input] });

	expect(error).toBeUndefined();
	const sentId = ((outputOf('Discord Send')[0].json.sent as IDataObject).messageIds as string[])[0];
	expect(discord.sent.find((message) => message.id === sentId)).toMatchObject({ content: 'Done: Paris.', edits: ['Thinking…'] });
	expect(outputOf('Discord Edit')[0].json.sent).toEqual({ channel: 'discord', chatId: (input.chat as IDataObject).id, messageIds: [sentId] });
});

test('with "On Error: Continue" a failing item carries the reason and the others are still sent', async () => {
	const ok = envelopeFor(discord.sendDm({ content: 'one' }));
	const forbidden = { ...ok, chat: { id: discord.channels.news.id, type: 'group', threadId: null, title: 'news' }, message: { id: '' } };
	const { error, outputOf } = await sendWorkflow({ nodes: [sendNode({ onError: 'continueRegularOutput' })], input: [ok, forbidden, ok] });

	expect(error).toBeUndefined();
	const items = outputOf('Discord Send');
	expect(items.map((item) => Boolean(item.json.error))).toEqual([false, true, false]);
	expect(items[1].json.error).toBe(
		`Discord refused to send to channel ${discord.channels.news.id} (50013 Missing Permissions): give the bot the Send Messages permission in that channel (Send Messages in Threads for a thread).`,
	);
	expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
});

test('with "On Error: Continue (using error output)" a rejected token routes the item to the error output, never revealing the token', async () => {
	const wrongToken = makeDiscordToken();
	const { error, outputOf } = await sendWorkflow({ token: wrongToken, nodes: [sendNode({ onError: 'continueErrorOutput' })], input: [envelopeFor(discord.sendDm({ content: 'x' }))] });

	expect(error).toBeUndefined();
	expect(outputOf('Discord Send', 0)).toEqual([]);
	const [item] = outputOf('Discord Send', 1);
	expect(item.json.error).toEqual(expect.stringContaining('check the bot token in the Clawgate Discord credential'));
	expect(JSON.stringify(item)).not.toContain(wrongToken);
});

test('without continue on fail a rejected token fails the execution and points at the credential, never revealing the token', async () => {
	const wrongToken = makeDiscordToken();
	const { error, run } = await sendWorkflow({ token: wrongToken, input: [envelopeFor(discord.sendDm({ content: 'x' }))] });

	expect(run.status).toBe('error');
	expect(error?.message).toContain('(401: Unauthorized): check the bot token in the Clawgate Discord credential');
	expect(error).toMatchObject({ node: { name: 'Discord Send' } });
	expect(JSON.stringify(run)).not.toContain(wrongToken);
});

test('an item that is not a Discord envelope is refused with the parameter to set', async () => {
	const { error } = await sendWorkflow({ input: [{ chat: { id: 'general' }, reply: { text: 'hi' } }] });
	expect(error?.message).toMatch(/"general" is not a Discord channel ID/);
});
