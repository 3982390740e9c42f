/**
 * Mattermost: the WebSocket listener against the emulator (login, posted events, reconnects,
 * restarts with the stored cursor, close), the REST send path, and recorded payloads from
 * Mattermost's documentation through the same normalisation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { deliverText } from '../../nodes/core/outbound';
import { createMattermostClient, mattermostBotOf, mattermostPlugin, mattermostPostedEvent, mattermostPostToInbound, mattermostSocket } from '../../nodes/Mattermost/mattermost.plugin';
import { startSocketListener } from '../../nodes/shared/socket-listener';
import { MattermostEmulator } from '../emulators/mattermost';
import { collectingHandlers, quietLog, settle } from './socket-harness';

jest.setTimeout(30_000);

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'mattermost', `${name}.json`), 'utf8')) as { source: string; payload: Record<string, unknown> };

describe('Mattermost', () => {
	const mattermost = new MattermostEmulator();
	const ada = mattermost.person('ada');
	let town: ReturnType<MattermostEmulator['openChannel']>;

	beforeAll(async () => {
		await mattermost.start();
		town = mattermost.openChannel('Town Square');
	});
	afterAll(() => mattermost.stop());

	async function listen(staticData: Record<string, unknown> = {}, credential = mattermost.credential()) {
		const handlers = collectingHandlers(mattermostPlugin, { staticData });
		const client = createMattermostClient(credential as never);
		const socket = mattermostSocket(client, await mattermostBotOf(client), 'chat');
		const listener = await startSocketListener(socket, handlers, quietLog, { backoffMs: { initial: 50, max: 200 } });
		return { handlers, listener };
	}

	test('a DM becomes an envelope of the DM channel; the answer is posted there and the echo of the bot\'s own post starts nothing', async () => {
		const { handlers, listener } = await listen();
		const dm = mattermost.dmWith(ada);
		const post = mattermost.say(ada, dm, 'What is the capital of France?');
		const [envelope] = await handlers.waitFor(1);
		expect(envelope).toMatchObject({
			sessionId: `mattermost:${mattermost.bot.id}:dm:${dm.id}`,
			channel: 'mattermost',
			via: 'mattermost',
			accountId: mattermost.bot.id,
			chat: { id: dm.id, type: 'dm', threadId: null },
			sender: { id: ada.id, username: 'ada', isBot: false },
			message: { id: post.id, text: 'What is the capital of France?', mentionsBot: false },
		});
		const client = createMattermostClient(mattermost.credential() as never);
		const sent = await deliverText(mattermostPlugin, client, { chatId: dm.id, markdown: 'Paris.', replyToId: null, threadId: null, linkPreviews: false });
		expect(mattermost.botTextsIn(dm.id)).toEqual(['Paris.']);
		expect(sent.messageIds).toEqual([mattermost.postsIn(dm.id, { byBot: true })[0].id]);
		await settle();
		expect(handlers.envelopes).toHaveLength(1);
		await listener.close();
	});

	test('in a channel only a mention starts anything; the mention is taken off the text, and an answer goes into the thread', async () => {
		const { handlers, listener } = await listen();
		mattermost.say(ada, town, 'lunch, anyone?');
		const mention = mattermost.say(ada, town, '@clawgate /new');
		const [envelope] = await handlers.waitFor(1);
		await settle();
		expect(handlers.envelopes).toHaveLength(1);
		expect(envelope).toMatchObject({ chat: { id: town.id, type: 'group', title: 'Town Square' }, message: { id: mention.id, text: '/new', command: 'new', mentionsBot: true } });
		const client = createMattermostClient(mattermost.credential() as never);
		await deliverText(mattermostPlugin, client, { chatId: town.id, markdown: 'Fresh start.', replyToId: mention.id, threadId: null, linkPreviews: false });
		expect(mattermost.postsIn(town.id, { byBot: true }).at(-1)).toMatchObject({ message: 'Fresh start.', root_id: mention.id });
		await listener.close();
	});

	test('a reply in a thread carries the thread: its session is the thread\'s, and the answer stays in it', async () => {
		const { handlers, listener } = await listen();
		const root = mattermost.say(ada, town, '@clawgate start a thread');
		mattermost.say(ada, town, '@clawgate and go on', { rootId: root.id });
		const [, reply] = await handlers.waitFor(2);
		expect(reply.chat.threadId).toBe(root.id);
		expect(reply.sessionId).toBe(`mattermost:${mattermost.bot.id}:group:${town.id}:${root.id}`);
		await listener.close();
	});

	test('another bot\'s post starts nothing by default', async () => {
		const { handlers, listener } = await listen();
		mattermost.say(mattermost.person('deploybot', true), mattermost.dmWith(ada), 'deploy finished');
		await settle();
		expect(handlers.envelopes).toEqual([]);
		await listener.close();
	});

	test('a dropped connection is reopened and what was posted meanwhile arrives once, in order', async () => {
		const { handlers, listener } = await listen();
		const dm = mattermost.dmWith(ada);
		mattermost.say(ada, dm, 'before the drop');
		await handlers.waitFor(1);
		const connections = mattermost.connections;
		mattermost.dropConnections();
		mattermost.say(ada, dm, 'while away 1');
		mattermost.say(ada, dm, 'while away 2');
		await handlers.waitFor(3);
		expect(mattermost.connections).toBe(connections + 1);
		mattermost.say(ada, dm, 'after the reconnect');
		await handlers.waitFor(4);
		await settle();
		expect(handlers.envelopes.map((envelope) => envelope.message.text)).toEqual(['before the drop', 'while away 1', 'while away 2', 'after the reconnect']);
		await listener.close();
	});

	test('after a restart the stored cursor fetches exactly what was posted while n8n was down', async () => {
		const staticData: Record<string, unknown> = {};
		const first = await listen(staticData);
		const dm = mattermost.dmWith(ada);
		mattermost.say(ada, dm, 'answered before the restart');
		await first.handlers.waitFor(1);
		await first.listener.close();
		expect(mattermost.openSockets).toBe(0);

		mattermost.say(ada, dm, 'sent while n8n was down');
		const second = await listen(staticData);
		await second.handlers.waitFor(1);
		await settle();
		expect(second.handlers.envelopes.map((envelope) => envelope.message.text)).toEqual(['sent while n8n was down']);
		// Fetched over REST, yet named like a live event.
		expect(second.handlers.envelopes[0].sender.username).toBe('ada');
		await second.listener.close();
	});

	test('a wrong token fails activation in words that point at the credential', async () => {
		const client = createMattermostClient({ baseUrl: mattermost.baseUrl, botToken: 'wrong-token-wrong-token-00' });
		const failure = await mattermostBotOf(client).then(
			() => null,
			(error: unknown) => mattermostPlugin.describeError(error, 'connect'),
		);
		expect(failure?.message).toMatch(/Mattermost rejected the bot token \(401\).*credential/);
		expect(failure?.message).not.toContain('wrong-token-wrong-token-00');
	});

	test('edits and typing reach the REST API', async () => {
		const client = createMattermostClient(mattermost.credential() as never);
		const dm = mattermost.dmWith(ada);
		const [id] = await mattermostPlugin.outbound.postMessage(client, { chatId: dm.id, text: 'draft', replyToId: null, threadId: null, linkPreviews: false, accountId: null });
		await mattermostPlugin.outbound.editMessage!(client, { chatId: dm.id, messageId: id, text: 'final', threadId: null });
		await mattermostPlugin.outbound.sendTyping!(client, { chatId: dm.id, threadId: null });
		expect(mattermost.posts.find((post) => post.id === id)?.message).toBe('final');
		expect(mattermost.typing.at(-1)).toEqual({ channelId: dm.id, parentId: null });
	});

	describe('recorded payloads (Mattermost documentation)', () => {
		const bot = { id: 'ay5sq51sebfh58ktrce5ijtcwy', username: 'clawgate' };

		test('a channel post that mentions the bot (data.mentions) is a group message for it', () => {
			const { source, payload } = fixture('posted-channel-mention');
			expect(source).toMatch(/^https:\/\/developers\.mattermost\.com\//);
			const event = mattermostPostToInbound(mattermostPostedEvent(payload)!, bot, 'chat');
			expect(event.envelope).toMatchObject({
				chat: { id: 'dcjz8wpkfbbm9cm8k9a1n1qabh', type: 'group', threadId: null, title: 'Town Square' },
				sender: { id: 'zr7qq7xhqbbfxp4a5zouyu3gxw', username: 'ada', isBot: false },
				message: { id: 'cx7oxq5ug3ffpegg8c7p7sp3jr', text: 'what is on the agenda?', mentionsBot: true, timestamp: '2023-11-14T22:13:20.123Z' },
			});
		});

		test('a DM thread reply is a DM in that thread, and "/new" its command', () => {
			const event = mattermostPostToInbound(mattermostPostedEvent(fixture('posted-dm-thread-reply').payload)!, bot, 'chat');
			expect(event.envelope).toMatchObject({ chat: { type: 'dm', threadId: 'cx7oxq5ug3ffpegg8c7p7sp3jr' }, message: { command: 'new', replyToId: 'cx7oxq5ug3ffpegg8c7p7sp3jr' } });
		});

		test('hello and the login reply carry no message', () => {
			expect(mattermostPostedEvent(fixture('websocket-hello').payload)).toBeNull();
			expect(mattermostPostedEvent(fixture('websocket-auth-ok').payload)).toBeNull();
		});
	});
});
