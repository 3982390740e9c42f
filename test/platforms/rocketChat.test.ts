/**
 * Rocket.Chat: the DDP listener against the emulator (login with the personal access token,
 * __my_messages__, pings, reconnects with catch-up, restarts with the stored cursor), threads
 * and edits over REST, and recorded payloads from Rocket.Chat's documentation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { deliverText } from '../../nodes/core/outbound';
import { createRocketChatClient, rocketChatBotOf, rocketChatMessageToInbound, rocketChatPlugin, rocketChatSocket, type RocketChatMessage } from '../../nodes/RocketChat/rocketChat.plugin';
import { startSocketListener } from '../../nodes/shared/socket-listener';
import { RocketChatEmulator } from '../emulators/rocketChat';
import { collectingHandlers, quietLog, settle } from './socket-harness';

jest.setTimeout(30_000);

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'rocketChat', `${name}.json`), 'utf8')) as { source: string; payload: Record<string, unknown> };

describe('Rocket.Chat', () => {
	const rocket = new RocketChatEmulator();
	const ada = rocket.person('ada');

	beforeAll(() => rocket.start());
	afterAll(() => rocket.stop());

	async function listen(staticData: Record<string, unknown> = {}) {
		const handlers = collectingHandlers(rocketChatPlugin, { staticData });
		const client = createRocketChatClient(rocket.credential() as never);
		const listener = await startSocketListener(rocketChatSocket(client, await rocketChatBotOf(client), 'chat'), handlers, quietLog, { backoffMs: { initial: 50, max: 200 } });
		return { handlers, listener };
	}

	test('a DM over DDP becomes an envelope of the direct room; the answer is posted there and its echo starts nothing', async () => {
		const { handlers, listener } = await listen();
		const dm = rocket.dmWith(ada);
		const sent = rocket.say(ada, dm, 'hello rocket');
		const [envelope] = await handlers.waitFor(1);
		expect(envelope).toMatchObject({
			sessionId: `rocketchat:${rocket.bot._id}:dm:${dm._id}`,
			via: 'rocketChat',
			accountId: rocket.bot._id,
			chat: { id: dm._id, type: 'dm', threadId: null },
			sender: { id: ada._id, username: 'ada', name: 'Ada', isBot: false },
			message: { id: sent._id, text: 'hello rocket', timestamp: new Date(sent.ts).toISOString() },
		});
		await deliverText(rocketChatPlugin, createRocketChatClient(rocket.credential() as never), { chatId: dm._id, markdown: 'hello human', replyToId: null, threadId: null, linkPreviews: false });
		expect(rocket.textsIn(dm._id, { byBot: true })).toEqual(['hello human']);
		await settle();
		expect(handlers.envelopes).toHaveLength(1);
		await listener.close();
	});

	test('in a room, a mention is answered in a thread under it; a reply in that thread carries the thread', async () => {
		const { handlers, listener } = await listen();
		const general = rocket.channel('general');
		const question = rocket.say(ada, general, '@clawgate what now?');
		const [envelope] = await handlers.waitFor(1);
		await deliverText(rocketChatPlugin, createRocketChatClient(rocket.credential() as never), { chatId: general._id, markdown: 'Lunch.', replyToId: envelope.message.id, threadId: null, linkPreviews: false });
		expect(rocket.messages.at(-1)).toMatchObject({ msg: 'Lunch.', tmid: question._id });
		rocket.say(ada, general, '@clawgate and then?', { tmid: question._id });
		const [, inThread] = await handlers.waitFor(2);
		expect(inThread.chat.threadId).toBe(question._id);
		await listener.close();
	});

	test('after a restart, the stored cursor brings exactly what was posted while n8n was down; a dropped connection too', async () => {
		const staticData: Record<string, unknown> = {};
		const dm = rocket.dmWith(ada);
		const first = await listen(staticData);
		rocket.say(ada, dm, 'before');
		await first.handlers.waitFor(1);
		await first.listener.close();
		expect(rocket.openSockets).toBe(0);
		rocket.say(ada, dm, 'while down');
		const second = await listen(staticData);
		await second.handlers.waitFor(1);
		rocket.dropConnections();
		rocket.say(ada, dm, 'while reconnecting');
		await second.handlers.waitFor(2);
		await settle();
		expect(second.handlers.envelopes.map((envelope) => envelope.message.text)).toEqual(['while down', 'while reconnecting']);
		await second.listener.close();
	});

	test('edits go through chat.update', async () => {
		const client = createRocketChatClient(rocket.credential() as never);
		const dm = rocket.dmWith(ada);
		const [id] = await rocketChatPlugin.outbound.postMessage(client, { chatId: dm._id, text: 'draft', replyToId: null, threadId: null, linkPreviews: false, accountId: null });
		await rocketChatPlugin.outbound.editMessage!(client, { chatId: dm._id, messageId: id, text: 'final', threadId: null });
		expect(rocket.messages.find((message) => message._id === id)?.msg).toBe('final');
	});

	describe('recorded payloads (Rocket.Chat documentation)', () => {
		const bot = { id: 'rocket.cat', username: 'clawgate' };
		const read = (name: string): RocketChatMessage => {
			const [message, meta] = (fixture(name).payload.fields as { args: [Record<string, unknown>, Record<string, unknown>] }).args;
			return { message, roomType: String(meta.roomType), roomName: (meta.roomName as string | undefined) ?? null };
		};

		test('a channel message mentioning the bot is a group message for it, without the mention', () => {
			expect(fixture('changed-my-messages-mention').source).toMatch(/^https:\/\/developer\.rocket\.chat\//);
			expect(rocketChatMessageToInbound(read('changed-my-messages-mention'), bot, 'chat').envelope).toMatchObject({
				chat: { id: 'GENERAL', type: 'group', title: 'general' },
				sender: { id: 'y65tAmHs93aDChMWu', username: 'ada', name: 'Ada Lovelace' },
				message: { id: 'jG4jdTsTmFvRJBEtj', text: 'what is on the agenda?', mentionsBot: true, timestamp: '2016-11-29T00:00:01.000Z' },
			});
		});

		test('a direct message in a thread is a DM of that thread, "/new" its command', () => {
			expect(rocketChatMessageToInbound(read('changed-direct-thread'), bot, 'chat').envelope).toMatchObject({
				chat: { type: 'dm', threadId: 'jG4jdTsTmFvRJBEtj' },
				message: { command: 'new', mentionsBot: false },
			});
		});
	});
});
