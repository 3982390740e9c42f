/**
 * What Stream Preview asks of a platform, against each platform's emulator: a draft is posted,
 * edited and turned into the answer (`deliverText` with a draft), or deleted, through the plugin's
 * own calls; and every plugin that says it can draft declares how often it may edit.
 */
import type { AnyChannelPlugin } from '../../nodes/core/channel';
import { DraftAnswer } from '../../nodes/core/draft-answer';
import { deliverText, messagesFor } from '../../nodes/core/outbound';
import { discordPlugin } from '../../nodes/Discord/discord.plugin';
import { channelPlugins } from '../../nodes/Reply/channel-registry';
import { draftChatOf, pacedInChat, previewPlugins } from '../../nodes/shared/stream-preview';
import { slackPlugin } from '../../nodes/Slack/slack.plugin';
import { telegramPlugin } from '../../nodes/Telegram/telegram.plugin';
import { DiscordEmulator } from '../emulators/discord';
import { SlackEmulator } from '../emulators/slack';
import { TelegramEmulator } from '../emulators/telegram';

const telegram = new TelegramEmulator();
const discord = new DiscordEmulator();
const slack = new SlackEmulator();
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => Promise.all([telegram.start(), discord.start(), slack.start()]));
afterAll(() => Promise.all([telegram.stop(), discord.stop(), slack.stop()]));

const ANSWER = `**Done.** ${'All the words of a long answer. '.repeat(150)}`;

/** What the platform's chat holds once a draft was written and then handed to the send path or deleted. */
interface Chat {
	plugin: AnyChannelPlugin;
	client: () => Promise<unknown>;
	chatId: () => string;
	/** The texts the chat shows, in order, and how many messages were ever posted. */
	shown: (chatId: string) => { texts: string[]; posted: number };
}

const chats: Chat[] = [
	{
		plugin: telegramPlugin,
		client: async () => telegramPlugin.createClient({ accessToken: telegram.token, baseUrl: telegram.apiRoot }),
		chatId: (() => {
			let next = 9000;
			return () => String(next++);
		})(),
		shown: (chatId) => {
			const messages = telegram.sent.filter((message) => message.chatId === chatId);
			return { texts: messages.filter((message) => message.deletedAt === null).map((message) => message.text ?? ''), posted: messages.length };
		},
	},
	{
		plugin: discordPlugin,
		client: async () => discordPlugin.createClient({ botToken: discord.token, baseUrl: discord.apiBase }),
		chatId: (() => {
			const people = [discord.users.ada, discord.users.bob, discord.users.otherBot];
			return () => String(discord.dmChannelOf(people.shift()!).id);
		})(),
		shown: (chatId) => {
			const messages = discord.sent.filter((message) => message.channelId === chatId);
			return { texts: messages.filter((message) => message.deletedAt === null).map((message) => message.content), posted: messages.length };
		},
	},
	{
		plugin: slackPlugin,
		client: async () => slackPlugin.createClient({ botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl }),
		chatId: (() => {
			let next = 1;
			return () => `C0PREVIEW${next++}`;
		})(),
		// Slack's emulator forgets a deleted message.
		shown: (chatId) => {
			const texts = slack.posted.filter((message) => message.channel === chatId).map((message) => message.text);
			return { texts, posted: texts.length };
		},
	},
];

test('every channel that can draft declares its edit rate and can edit and delete; Telegram, Discord and Slack can', () => {
	expect(previewPlugins(channelPlugins).map((plugin) => plugin.id)).toEqual(['telegram', 'discord', 'slack']);
	for (const plugin of channelPlugins.filter((candidate) => candidate.capabilities.editRate)) {
		expect(plugin.capabilities.edit).toBe(true);
		expect(plugin.capabilities.editRate!.edits).toBeGreaterThan(0);
		expect(plugin.capabilities.editRate!.perMs).toBeGreaterThan(0);
	}
});

describe.each(chats)('$plugin.name', ({ plugin, client, chatId: newChat, shown }) => {
	const draftIn = async (chatId: string) => {
		const connected = await client();
		// An account per chat: Slack paces per account, and each test starts with a free turn.
		const place = { chatId, threadId: null, replyToId: null, accountId: `account-${chatId}`, chatType: 'dm' };
		return { connected, draft: new DraftAnswer(draftChatOf(plugin, async () => connected, place)) };
	};

	test('a draft becomes the formatted answer: its first message edited, the rest posted after it, nothing posted twice', async () => {
		const chatId = newChat();
		const { connected, draft } = await draftIn(chatId);
		for (const word of ANSWER.slice(0, 200).split(' ')) draft.write(`${word} `);
		await settle(50);
		const preview = await draft.settle();
		expect(preview?.messageIds).toHaveLength(1);
		const messageId = preview!.messageIds[0];
		const sent = await deliverText(plugin, connected, {
			chatId,
			markdown: ANSWER,
			replyToId: null,
			threadId: null,
			linkPreviews: false,
			draft: { messageId, paced: pacedInChat(plugin, `account-${chatId}`, chatId, 'dm') },
		});
		const expected = messagesFor(plugin, ANSWER);
		expect(expected.length).toBeGreaterThan(1);
		expect(sent.messageIds[0]).toBe(messageId);
		expect(sent.messageIds).toHaveLength(expected.length);
		expect(shown(chatId)).toEqual({ texts: expected, posted: expected.length });
	}, 30_000);

	test('the answer sent over its draft again (a send run again after a crash) leaves the one message as it was, without an error', async () => {
		const chatId = newChat();
		const { connected, draft } = await draftIn(chatId);
		draft.write('A short answer.');
		await settle(50);
		const { messageIds } = (await draft.settle())!;
		const delivery = { chatId, markdown: 'A short answer.', replyToId: null, threadId: null, linkPreviews: false, draft: { messageId: messageIds[0], paced: pacedInChat(plugin, `account-${chatId}`, chatId, 'dm') } };
		await deliverText(plugin, connected, delivery);
		await expect(deliverText(plugin, connected, delivery)).resolves.toMatchObject({ messageIds });
		expect(shown(chatId)).toEqual({ texts: messagesFor(plugin, 'A short answer.'), posted: 1 });
	}, 30_000);

	test('a discarded draft is gone from the chat', async () => {
		const chatId = newChat();
		const { draft } = await draftIn(chatId);
		draft.write('Half an ');
		await settle(50);
		await draft.discard();
		expect(shown(chatId).texts).toEqual([]);
	}, 30_000);
});
