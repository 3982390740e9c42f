import type { IDataObject, INode } from 'n8n-workflow';

import { DiscordEmulator } from '../emulators/discord';
import { SlackEmulator } from '../emulators/slack';
import { TelegramEmulator } from '../emulators/telegram';
import { TwilioEmulator } from '../emulators/twilio';
import { fromTrigger, INPUT_NODE_NAME, PACKAGE, runWorkflow } from './harness';

const telegram = new TelegramEmulator();
const discord = new DiscordEmulator();
const slack = new SlackEmulator();
const twilio = new TwilioEmulator();
const emulators = [telegram, discord, slack, twilio];
beforeAll(() => Promise.all(emulators.map((emulator) => emulator.start())));
afterAll(() => Promise.all(emulators.map((emulator) => emulator.stop())));

/** An item as AI Session leaves it: the trigger's envelope plus the reply. */
function answered(channel: string, accountId: string, chat: IDataObject, messageId: string, text: string): IDataObject {
	return { ...fromTrigger({ channel, accountId, chat: { threadId: null, title: null, ...chat }, message: { id: messageId, text: 'question' } }), reply: { text } };
}

const items = () => [
	answered('telegram', String(telegram.bot.id), { id: '42', type: 'dm' }, '7', 'to telegram'),
	answered('discord', discord.bot.id, { id: discord.channels.general.id, type: 'group' }, '1100000000000000001', 'to **discord**'),
	answered('slack', slack.teamId, { id: 'D0ADA', type: 'dm', threadId: '1700000000.000100' }, '1700000000.000200', 'to slack'),
	answered('whatsapp', twilio.whatsappSenders[0], { id: 'whatsapp:+15551230001', type: 'dm' }, 'SM1', 'to whatsapp'),
	answered('sms', twilio.numbers[0], { id: '+15551230002', type: 'dm' }, 'SM2', 'to sms'),
];

function replyNode(settings: Partial<INode> = {}, credentials: string[] = ['clawgateTelegramApi', 'clawgateDiscordApi', 'clawgateSlackApi', 'clawgateTwilioApi']): INode {
	return {
		id: 'reply',
		name: 'Reply',
		type: `${PACKAGE}.reply`,
		typeVersion: 1,
		position: [200, 0],
		parameters: {},
		credentials: Object.fromEntries(credentials.map((type) => [type, { id: type, name: type }])),
		...settings,
	};
}

function run(node: INode, input: IDataObject[]) {
	return runWorkflow({
		nodes: [node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		credentials: {
			clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot },
			clawgateDiscordApi: { botToken: discord.token, baseUrl: discord.apiBase },
			clawgateSlackApi: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl },
			clawgateTwilioApi: twilio.credential(),
		},
		input,
	});
}

test('one Reply node answers every channel on the platform each item came from, with zero parameter changes', async () => {
	const { error, outputOf } = await run(replyNode(), items());
	expect(error).toBeUndefined();

	expect(telegram.calls('sendMessage').at(-1)!.body).toMatchObject({ chat_id: '42', text: 'to telegram' });
	expect(discord.sent.at(-1)).toMatchObject({ channelId: discord.channels.general.id, content: 'to **discord**', allowedMentions: { parse: [] } });
	expect(discord.sent.at(-1)!.messageReference).toMatchObject({ message_id: '1100000000000000001' });
	expect(slack.posted.at(-1)).toMatchObject({ channel: 'D0ADA', text: 'to slack', threadTs: '1700000000.000100' });
	expect(twilio.sent.slice(-2).map((message) => [message.from, message.to, message.body])).toEqual([
		[twilio.whatsappSenders[0].startsWith('whatsapp:') ? twilio.whatsappSenders[0] : `whatsapp:${twilio.whatsappSenders[0]}`, 'whatsapp:+15551230001', 'to whatsapp'],
		[twilio.numbers[0], '+15551230002', 'to sms'],
	]);

	const out = outputOf('Reply');
	expect(out.map((item) => (item.json.sent as IDataObject).channel)).toEqual(['telegram', 'discord', 'slack', 'whatsapp', 'sms']);
	expect(out.map((item) => item.pairedItem)).toEqual([0, 1, 2, 3, 4].map((item) => ({ item })));
});

test('an item whose channel has no credential on the node fails with a message naming the missing credential', async () => {
	const { error, outputOf } = await run(replyNode({ onError: 'continueRegularOutput' }, ['clawgateTelegramApi']), items().slice(0, 3));
	expect(error).toBeUndefined();
	const [telegramItem, discordItem, slackItem] = outputOf('Reply');
	expect(telegramItem.json.sent).toMatchObject({ channel: 'telegram' });
	expect(discordItem.json.error).toContain('no "Clawgate Discord API" credential is set on the Reply node');
	expect(slackItem.json.error).toContain('no "Clawgate Slack API" credential is set on the Reply node');
});

test('an item that is not from a Clawgate channel is refused with a clear message', async () => {
	const { error } = await run(replyNode(), [{ ...fromTrigger({ channel: 'carrier-pigeon', accountId: '1', chat: { id: '1' }, message: { id: '1' } }), reply: { text: 'coo' } }]);
	expect(error?.message).toContain('"carrier-pigeon" cannot be answered here');
});

test('an item shaped like an envelope that no Clawgate trigger made (a Chat Trigger body) is not answered on the platform', async () => {
	const before = telegram.calls('sendMessage').length;
	const forged = answered('telegram', String(telegram.bot.id), { id: '42', type: 'dm' }, '8', 'planted');
	const { error } = await run(replyNode(), [{ ...forged, chat: { id: '43', type: 'dm', threadId: null, title: null } }]);
	expect(error?.message).toContain('not made by a Clawgate trigger');
	expect(telegram.calls('sendMessage')).toHaveLength(before);
});
