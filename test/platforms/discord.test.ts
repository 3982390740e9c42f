import type { IDataObject } from 'n8n-workflow';

import type { Envelope } from '../../nodes/core/envelope';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { InvalidPayloadError } from '../../nodes/core/errors';
import {
	createDiscordRest,
	DiscordApiError,
	editDiscordMessage,
	normalizeDiscordMessage,
	sendDiscordText,
	sendDiscordTyping,
	startDiscordListener,
	type DiscordListener,
	type DiscordGatewaySession,
	type DiscordListenerInput,
	type DiscordMessagePayload,
	type DiscordTriggerOptions,
} from '../../nodes/Discord/discord.adapter';
import { DiscordEmulator, INTENTS, makeDiscordToken } from '../emulators/discord';

/** Envelopes in arrival order; `next()` hands them out one by one, waiting for the next to come. */
function inbox() {
	const items: Envelope[] = [];
	const waiting = new Map<number, (envelope: Envelope) => void>();
	let read = 0;
	return {
		items,
		push(envelope: Envelope) {
			items.push(envelope);
			waiting.get(items.length - 1)?.(envelope);
		},
		next(timeoutMs = 5_000): Promise<Envelope> {
			const index = read++;
			if (index < items.length) return Promise.resolve(items[index]);
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`No envelope #${index + 1} within ${timeoutMs} ms (got ${items.length}).`)), timeoutMs);
				waiting.set(index, (envelope) => {
					clearTimeout(timer);
					resolve(envelope);
				});
			});
		},
	};
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
	for (const started = Date.now(); !condition(); await sleep(20)) {
		if (Date.now() - started > timeoutMs) throw new Error(`Condition not met within ${timeoutMs} ms: ${condition}`);
	}
}

describe('Discord trigger connection (@discordjs/ws against the gateway emulator)', () => {
	const discord = new DiscordEmulator();
	const credential = () => ({ botToken: discord.token, baseUrl: discord.apiBase });
	const listeners: DiscordListener[] = [];

	beforeAll(() => discord.start());
	afterEach(async () => {
		await Promise.all(listeners.splice(0).map((listener) => listener.close()));
		discord.privilegedIntents.messageContent = true;
	});
	afterAll(() => discord.stop());

	async function listen(options: DiscordTriggerOptions = {}, extra: Partial<DiscordListenerInput> = {}) {
		const received = inbox();
		const listener = await startDiscordListener({ credential: credential(), options, onEnvelope: (envelope) => received.push(envelope), ...extra });
		listeners.push(listener);
		return { listener, received };
	}

	/** Messages are handled in order, so once a later DM arrives, anything before it that was not emitted never will be. */
	async function expectNothingEmittedBefore(received: ReturnType<typeof inbox>) {
		const marker = discord.sendDm({ content: 'marker' });
		expect((await received.next()).message.id).toBe(marker.id);
	}

	test('identifies with the intents the trigger needs, on gateway API v10 with JSON, and heartbeats', async () => {
		discord.heartbeatIntervalMs = 200;
		try {
			const { listener } = await listen();
			const connection = discord.connections.at(-1)!;
			expect(connection.url).toBe('/?v=10&encoding=json');
			expect(connection.start?.op).toBe(2);
			const intents = Number(connection.start!.d.intents);
			for (const intent of [INTENTS.guilds, INTENTS.guildMessages, INTENTS.directMessages, INTENTS.messageContent]) expect(intents & intent).toBe(intent);
			expect(listener.botUser).toEqual({ id: discord.bot.id, username: discord.bot.username });
			await discord.nextGatewayEvent('heartbeat');
		} finally {
			discord.heartbeatIntervalMs = 41_250;
		}
	});

	test('a direct message becomes a DM envelope carrying Discord\'s payload untouched', async () => {
		const { received } = await listen();
		const raw = discord.sendDm({ content: 'hello' });
		const envelope = await received.next();
		expect(envelope).toEqual({
			sessionId: `discord:${discord.bot.id}:dm:${raw.channel_id}`,
			channel: 'discord',
			accountId: discord.bot.id,
			chat: { id: raw.channel_id, type: 'dm', threadId: null, title: null },
			sender: { id: discord.users.ada.id, name: 'Ada L.', username: 'ada', isBot: false },
			message: {
				id: raw.id,
				text: 'hello',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: new Date(String(raw.timestamp)).toISOString(),
			},
			raw,
		});
		expect(envelope.raw).toMatchObject({ channel_type: 1 });
	});

	test('a server message that mentions the bot is emitted without the mention, with the channel name', async () => {
		const { received } = await listen();
		const raw = discord.mentionBot('what is the capital of France?');
		const envelope = await received.next();
		expect(envelope).toMatchObject({
			sessionId: `discord:${discord.bot.id}:group:${discord.channels.general.id}`,
			chat: { id: discord.channels.general.id, type: 'group', threadId: null, title: 'general' },
			sender: { id: discord.users.ada.id, name: 'Ada L.', username: 'ada', isBot: false },
			message: { id: raw.id, text: 'what is the capital of France?', mentionsBot: true },
		});
		// The payload as Discord sent it (a server message carries its author's member): plain JSON
		// the journal and n8n can store, not the SDK's objects.
		expect(JSON.parse(JSON.stringify(envelope.raw))).toEqual(JSON.parse(JSON.stringify(raw)));

		discord.sendGuildMessage({ content: `hey <@!${discord.bot.id}>, and you?` });
		expect((await received.next()).message).toMatchObject({ text: 'hey , and you?', mentionsBot: true });
	});

	test('a server message that neither mentions nor replies to the bot starts nothing, unless all server messages are on', async () => {
		const gated = await listen();
		const all = await listen({ allGuildMessages: true });
		const chatter = discord.sendGuildMessage({ content: 'just chatting', channel: discord.channels.random });

		await expectNothingEmittedBefore(gated.received);
		const envelope = await all.received.next();
		expect(envelope.message).toMatchObject({ id: chatter.id, text: 'just chatting', mentionsBot: false });
		expect(envelope.chat.title).toBe('random');
	});

	test('a reply to one of the bot\'s messages is emitted even without a ping, and says what it answers', async () => {
		const { received } = await listen();
		const rest = await createDiscordRest(credential());
		const { messageIds } = await sendDiscordText(rest, { channelId: discord.channels.general.id, text: 'Paris.' });

		const raw = discord.sendGuildMessage({ content: 'and Germany?', replyTo: messageIds[0], pingRepliedUser: false });
		const envelope = await received.next();
		expect(envelope.message).toMatchObject({ id: raw.id, text: 'and Germany?', replyToId: messageIds[0], mentionsBot: false });
	});

	test('the bot\'s own messages (Discord sends them to the bot too) and other bots\' are not emitted by default', async () => {
		const { received } = await listen({ allGuildMessages: true });
		await sendDiscordText(await createDiscordRest(credential()), { channelId: discord.channels.general.id, text: `I am the bot <@${discord.bot.id}>` });
		discord.mentionBot('beep', { from: discord.users.otherBot });
		await expectNothingEmittedBefore(received);
	});

	test('with Include Other Bots, other bots are emitted, still never the bot itself', async () => {
		const { received } = await listen({ includeBots: true });
		await sendDiscordText(await createDiscordRest(credential()), { channelId: discord.channels.general.id, text: `self <@${discord.bot.id}>` });
		const raw = discord.mentionBot('beep', { from: discord.users.otherBot });
		const envelope = await received.next();
		expect(envelope.message.id).toBe(raw.id);
		expect(envelope.sender).toMatchObject({ id: discord.users.otherBot.id, isBot: true, name: 'Helper Bot' });
	});

	test('allowed users limit DMs and servers; allowed channels and servers limit only servers', async () => {
		const { received } = await listen({ allowedUserIds: [discord.users.ada.id], allowedChannelIds: [discord.channels.general.id], allowedGuildIds: [discord.guild.id] });
		discord.sendDm({ from: discord.users.bob, content: 'not allowed' });
		discord.mentionBot('wrong channel', { channel: discord.channels.random });
		const inThread = discord.mentionBot('thread of an allowed channel', { channel: discord.channels.helpThread });
		const dm = discord.sendDm({ content: 'allowed DM' });
		expect((await received.next()).message.id).toBe(inThread.id);
		expect((await received.next()).message.id).toBe(dm.id);

		const otherServer = await listen({ allowedGuildIds: ['123456789012345678'] });
		discord.mentionBot('wrong server');
		await expectNothingEmittedBefore(otherServer.received);
	});

	test('Direct Messages off leaves DMs out', async () => {
		const { received } = await listen({ directMessages: false });
		discord.sendDm({ content: 'hi' });
		const mention = discord.mentionBot('in the server');
		expect((await received.next()).message.id).toBe(mention.id);
	});

	test('in a thread, the chat is the thread\'s channel and the thread is chat.threadId; per-user sessions add the sender', async () => {
		const { received } = await listen({ sessionScope: 'user' });
		discord.mentionBot('help?', { channel: discord.channels.helpThread });
		const envelope = await received.next();
		expect(envelope.chat).toEqual({ id: discord.channels.general.id, type: 'group', threadId: discord.channels.helpThread.id, title: 'general' });
		expect(envelope.sessionId).toBe(`discord:${discord.bot.id}:group:${discord.channels.general.id}:${discord.channels.helpThread.id}:user:${discord.users.ada.id}`);
	});

	test('a thread the bot has not seen yet is looked up once to find its channel', async () => {
		const { received } = await listen();
		const thread = discord.createThread({ parent: discord.channels.random });
		const lookupsBefore = discord.calls('GET', new RegExp(`^/channels/${thread.id}$`)).length;
		discord.mentionBot('first', { channel: thread });
		discord.mentionBot('second', { channel: thread });
		expect((await received.next()).chat).toEqual({ id: discord.channels.random.id, type: 'group', threadId: thread.id, title: 'random' });
		expect((await received.next()).chat.threadId).toBe(thread.id);
		expect(discord.calls('GET', new RegExp(`^/channels/${thread.id}$`)).length - lookupsBefore).toBe(1);

		const announced = discord.createThread({ announce: true });
		discord.mentionBot('in an announced thread', { channel: announced });
		expect((await received.next()).chat).toMatchObject({ id: discord.channels.general.id, threadId: announced.id });
		expect(discord.calls('GET', new RegExp(`^/channels/${announced.id}$`))).toHaveLength(0);
	});

	test('attachments are normalised by content type; a message with only a file is emitted', async () => {
		const { received } = await listen();
		const raw = discord.sendDm({
			content: '',
			attachments: [
				{ filename: 'cat.png', content_type: 'image/png', size: 2048 },
				{ filename: 'report.pdf', content_type: 'application/pdf', size: 4096 },
				{ filename: 'clip.mp4', content_type: 'video/mp4' },
				{ filename: 'notes' },
			],
		});
		const envelope = await received.next();
		const sent = raw.attachments as Array<{ id: string; url: string }>;
		const ids = sent.map((attachment) => attachment.id);
		expect(envelope.message.text).toBe('');
		expect(envelope.message.attachments).toEqual([
			{ kind: 'image', id: ids[0], mimeType: 'image/png', name: 'cat.png', size: 2048, url: sent[0].url },
			{ kind: 'document', id: ids[1], mimeType: 'application/pdf', name: 'report.pdf', size: 4096, url: sent[1].url },
			{ kind: 'video', id: ids[2], mimeType: 'video/mp4', name: 'clip.mp4', size: 1024, url: sent[2].url },
			{ kind: 'document', id: ids[3], mimeType: null, name: 'notes', size: 1024, url: sent[3].url },
		]);

		discord.sendDm({ content: '', attachments: [{ filename: 'voice-message.ogg', content_type: 'audio/ogg', duration_secs: 3.2 }] });
		expect((await received.next()).message.attachments).toEqual([expect.objectContaining({ kind: 'voice', mimeType: 'audio/ogg', durationSeconds: 3.2 })]);
	});

	test('"@bot /new" is the command new', async () => {
		const { received } = await listen();
		discord.mentionBot('/new');
		discord.sendDm({ content: '/usage please' });
		expect((await received.next()).message).toMatchObject({ text: '/new', command: 'new' });
		expect((await received.next()).message.command).toBe('usage');
	});

	test('a wrong bot token fails to connect with advice to check the credential, without the token in the message', async () => {
		const wrongToken = makeDiscordToken();
		const failure = startDiscordListener({ credential: { botToken: wrongToken, baseUrl: discord.apiBase }, onEnvelope: () => {} });
		await expect(failure).rejects.toThrow(/Discord rejected the bot token \(401\).*Reset Token/);
		await failure.catch((error: Error) => expect(JSON.stringify({ ...error, message: error.message })).not.toContain(wrongToken));
	});

	test('a bot without the Message Content intent enabled in the Developer Portal is told where to turn it on', async () => {
		discord.privilegedIntents.messageContent = false;
		const failure = startDiscordListener({ credential: credential(), onEnvelope: () => {} });
		await expect(failure).rejects.toThrow(/Message Content Intent.*Privileged Gateway Intents/);
		await until(() => discord.connections.at(-1)!.closeCode === 4014);
	});

	test('an unreachable API fails to connect and names the base URL', async () => {
		const failure = startDiscordListener({ credential: { botToken: discord.token, baseUrl: 'http://127.0.0.1:9/api' }, onEnvelope: () => {} });
		await expect(failure).rejects.toThrow(/Could not reach the Discord API.*base URL/);
	});

	test('after the gateway closes the connection, the session resumes at resume_gateway_url and a message sent meanwhile arrives once', async () => {
		const { received } = await listen();
		discord.sendDm({ content: 'before' });
		await received.next();
		const identifies = discord.connections.filter((connection) => connection.start?.op === 2).length;

		discord.closeConnections(4000);
		const duringOutage = discord.sendDm({ content: 'during the outage' });
		const resume = await discord.nextGatewayEvent<{ url: string; start: { d: Record<string, unknown> } }>('resume');
		expect(resume.url).toBe('/resume?v=10&encoding=json');
		expect(resume.start.d).toMatchObject({ token: discord.token, session_id: expect.any(String), seq: expect.any(Number) });

		expect((await received.next()).message.id).toBe(duringOutage.id);
		const after = discord.sendDm({ content: 'after' });
		expect((await received.next()).message.id).toBe(after.id);
		expect(received.items.filter((envelope) => envelope.message.id === duringOutage.id)).toHaveLength(1);
		expect(discord.connections.filter((connection) => connection.start?.op === 2)).toHaveLength(identifies);
	});

	test('after a network drop (no close frame) and after op 7 RECONNECT, the session resumes too', async () => {
		const { received } = await listen();
		discord.dropConnections();
		const lost = discord.sendDm({ content: 'sent while the socket was gone' });
		await discord.nextGatewayEvent('resume');
		expect((await received.next()).message.id).toBe(lost.id);

		discord.requestReconnect();
		await discord.nextGatewayEvent('resume');
		const after = discord.sendDm({ content: 'after reconnect' });
		expect((await received.next()).message.id).toBe(after.id);
	});

	// @discordjs/ws spaces IDENTIFYs 5 s apart (Discord's max_concurrency 1), so this takes a while.
	test('when Discord cannot resume the session, the client identifies again and keeps receiving', async () => {
		const { received } = await listen();
		discord.invalidateSessions();
		discord.closeConnections(4000);
		await discord.nextGatewayEvent('resume');
		await discord.nextGatewayEvent('identify');
		const later = discord.sendDm({ content: 'after a new session' });
		expect((await received.next(10_000)).message.id).toBe(later.id);
	}, 20_000);

	/** The node's static data as n8n keeps it between runs: what a listener wrote is what the next one reads. */
	function savedCursor() {
		let value: IDataObject | null = null;
		return {
			read: () => (value ? { ...value } : null),
			write: (next: IDataObject) => void (value = { ...next }),
			get session() {
				return value as unknown as DiscordGatewaySession | null;
			},
		};
	}
	const identifies = () => discord.connections.filter((connection) => connection.start?.op === 2).length;

	test('a listener with a cursor saves its new session (READY\'s seq), then the seq of each message it hands over', async () => {
		const cursor = savedCursor();
		const { received } = await listen({}, { cursor });
		const identify = discord.connections.at(-1)!;
		expect(identify.start?.op).toBe(2);
		expect(cursor.session).toEqual({ sessionId: expect.any(String), resumeURL: discord.resumeGatewayUrl, sequence: 1, shardCount: 1, savedAt: expect.any(String) });
		const before = cursor.session!.sequence;
		discord.sendDm({ content: 'hello' });
		await received.next();
		await until(() => cursor.session!.sequence > before);
		discord.sendGuildMessage({ content: 'people talking among themselves' });
		const marker = discord.sendDm({ content: 'marker' });
		expect((await received.next()).message.id).toBe(marker.id);
		// The skipped server message moved the session too: a restart replays neither.
		await until(() => cursor.session!.sequence === before + 3);
	});

	test('after a restart, the next listener resumes the saved session and gets what was sent while none listened, exactly once', async () => {
		const cursor = savedCursor();
		const first = await listen({}, { cursor });
		const answered = discord.sendDm({ content: 'answered before the restart' });
		expect((await first.received.next()).message.id).toBe(answered.id);
		const identifiesBefore = identifies();

		await first.listener.close();
		// Closed with a code other than 1000/1001, so Discord keeps the session.
		expect(discord.connections.at(-1)!.closeCode).toBe(4200);
		const whileDown = discord.sendDm({ content: 'sent while n8n was down' });

		const second = await listen({}, { cursor });
		const resume = discord.connections.at(-1)!;
		expect(resume.url).toBe('/resume?v=10&encoding=json');
		expect(resume.start).toEqual({ op: 6, d: { token: discord.token, session_id: cursor.session!.sessionId, seq: expect.any(Number) } });
		expect(identifies()).toBe(identifiesBefore);
		expect(second.listener.botUser).toEqual({ id: discord.bot.id, username: discord.bot.username });
		expect((await second.received.next()).message.id).toBe(whileDown.id);
		await expectNothingEmittedBefore(second.received);
		expect(second.received.items.map((envelope) => envelope.message.text)).toEqual(['sent while n8n was down', 'marker']);
	});

	test('after a crash (connection cut, no clean close), messages not yet handed over and those sent meanwhile reach the next listener once each', async () => {
		const cursor = savedCursor();
		const handedOver: string[] = [];
		const first = await listen({}, {
			cursor,
			onEnvelope: (envelope, done) => {
				// n8n dies while the second message is being journaled: it is never handed over.
				if (envelope.message.text === 'being journaled when n8n died') return new Promise<void>(() => undefined);
				done();
				handedOver.push(envelope.message.text);
				return Promise.resolve();
			},
		});
		discord.sendDm({ content: 'answered before the crash' });
		await until(() => handedOver.length === 1);
		const dying = discord.sendDm({ content: 'being journaled when n8n died' });
		const savedSequence = cursor.session!.sequence;
		await sleep(100);
		expect(cursor.session!.sequence).toBe(savedSequence);

		const cut = discord.nextGatewayEvent<{ closeCode: number | null }>('close');
		discord.dropConnections();
		await first.listener.close();
		expect((await cut).closeCode).toBe(1006);
		const connections = discord.connections.length;
		await sleep(800);
		expect(discord.connections).toHaveLength(connections);
		const whileDown = discord.sendDm({ content: 'sent while n8n was down' });

		const { listener, received } = await listen({}, { cursor });
		expect(discord.connections.at(-1)!.start).toMatchObject({ op: 6, d: { seq: savedSequence } });
		expect((await received.next()).message.id).toBe(dying.id);
		expect((await received.next()).message.id).toBe(whileDown.id);
		await expectNothingEmittedBefore(received);
		expect(received.items.map((envelope) => envelope.message.text)).toEqual(['being journaled when n8n died', 'sent while n8n was down', 'marker']);
		expect(listener.botUser.id).toBe(discord.bot.id);
	});

	test('after a resumed start, server messages are still emitted with their channel and thread (looked up through REST)', async () => {
		const cursor = savedCursor();
		const first = await listen({}, { cursor });
		await first.listener.close();
		const mention = discord.mentionBot('in general', { channel: discord.channels.general });
		const inThread = discord.mentionBot('in the thread', { channel: discord.channels.helpThread });

		const { received } = await listen({}, { cursor });
		expect(discord.connections.at(-1)!.start?.op).toBe(6);
		expect(await received.next()).toMatchObject({ message: { id: mention.id, text: 'in general', mentionsBot: true }, chat: { id: discord.channels.general.id, title: 'general' } });
		expect((await received.next()).chat).toEqual({ id: discord.channels.general.id, type: 'group', threadId: discord.channels.helpThread.id, title: 'general' });
		expect(inThread.id).toBeTruthy();
		// A resumed start knows its bot user from REST, so it handles (rather than queues) what follows.
		const later = discord.mentionBot('later', { channel: discord.channels.random });
		expect(await received.next()).toMatchObject({ message: { id: later.id }, chat: { title: 'random' } });
	});

	// @discordjs/ws spaces IDENTIFYs 5 s apart (Discord's max_concurrency 1), so this may take a while.
	test('a saved session Discord no longer knows (expired or ended) falls back to IDENTIFY, says what was lost, and saves the new session', async () => {
		const cursor = savedCursor();
		const first = await listen({}, { cursor });
		await first.listener.close();
		const old = cursor.session!;
		discord.invalidateSessions();
		discord.sendDm({ content: 'lost: no session held it' });

		const warnings: string[] = [];
		const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => void warnings.push(message) };
		const { listener, received } = await listen({}, { cursor, logger });
		const [resume, identify] = discord.connections.slice(-2);
		expect(resume.start).toMatchObject({ op: 6, d: { session_id: old.sessionId } });
		expect(identify.start?.op).toBe(2);
		expect(warnings).toEqual([expect.stringMatching(/could not resume the gateway session saved at .*messages sent to the bot in between are lost/)]);
		expect(cursor.session!.sessionId).not.toBe(old.sessionId);
		expect(listener.botUser.id).toBe(discord.bot.id);
		const after = discord.sendDm({ content: 'after the new session' });
		expect((await received.next()).message.id).toBe(after.id);
	}, 20_000);

	test('an event Discord delivers twice is emitted once', async () => {
		const { received } = await listen();
		const raw = discord.sendDm({ content: 'once' });
		await received.next();
		discord.redeliver(raw.id);
		await expectNothingEmittedBefore(received);
	});

	test('a token reset while connected ends the trigger with advice (4004 is not recoverable)', async () => {
		const fatal: DiscordApiError[] = [];
		await listen({}, { onFatalError: (error) => fatal.push(error) });
		discord.closeConnections(4004, 'Authentication failed.');
		await discord.nextGatewayEvent('close');
		await until(() => fatal.length > 0);
		expect(fatal.map((error) => error.message)).toEqual([expect.stringMatching(/closed the gateway connection for good \(code 4004\).*Reset Token/)]);
	});

	test('closing sends a normal close and nothing reconnects afterwards', async () => {
		const { listener, received } = await listen();
		const connection = discord.connections.at(-1)!;
		await listener.close();
		expect(connection.closeCode).toBe(1000);
		const connections = discord.connections.length;
		discord.sendDm({ content: 'after close' });
		await sleep(800);
		expect(discord.connections).toHaveLength(connections);
		expect(received.items).toHaveLength(0);
	});

	test('closing while @discordjs/ws waits to reconnect leaves no connection open', async () => {
		const { listener } = await listen();
		discord.dropConnections();
		await discord.nextGatewayEvent('close');
		await sleep(50);
		await listener.close();
		await sleep(800);
		expect(discord.openSockets).toBe(0);
		expect(discord.connections.at(-1)!.closeCode).not.toBeNull();
	});
});

describe('normalising Discord payloads', () => {
	test('a payload without id, channel or author is rejected as invalid, not a crash', () => {
		expect(() => normalizeDiscordMessage({ content: 'x' } as unknown as DiscordMessagePayload, { botUserId: '1' })).toThrow(InvalidPayloadError);
	});

	test('system messages (joins, pins, thread notices) are not emitted', () => {
		const discord = new DiscordEmulator();
		const dm = { ...discord.sendDm({ content: 'pinned a message' }), type: 6 } as unknown as DiscordMessagePayload;
		expect(normalizeDiscordMessage(dm, { botUserId: discord.bot.id })).toBeNull();
	});

	test('a server message that arrives empty (what Discord sends without the Message Content intent) is not emitted', () => {
		const discord = new DiscordEmulator();
		const blank = { ...discord.sendGuildMessage({ content: 'secret' }), content: '' } as unknown as DiscordMessagePayload;
		expect(normalizeDiscordMessage(blank, { botUserId: discord.bot.id, options: { allGuildMessages: true } })).toBeNull();
	});

	test('the IDs of recently emitted messages are remembered, the oldest forgotten first', () => {
		const recent = new RecentKeys(60_000, 2);
		expect(recent.remember('1')).toBe(true);
		expect(recent.remember('1')).toBe(false);
		recent.remember('2');
		recent.remember('3');
		expect(recent.remember('1')).toBe(true);
		expect(recent.remember('3')).toBe(false);
	});
});

describe('sending with @discordjs/rest against the emulator', () => {
	const discord = new DiscordEmulator();
	const rest = () => createDiscordRest({ botToken: discord.token, baseUrl: discord.apiBase });
	const general = () => discord.channels.general.id;
	const messagePosts = () => discord.calls('POST', /^\/channels\/\d+\/messages$/);

	beforeAll(() => discord.start());
	afterAll(() => discord.stop());

	test('sends text with mentions turned off and the question quoted, and returns the message IDs', async () => {
		const question = discord.mentionBot('capital of France?');
		const sent = await sendDiscordText(await rest(), { channelId: general(), text: 'Paris, <@' + discord.users.bob.id + '> @everyone', replyToMessageId: question.id });
		const call = messagePosts().at(-1)!;
		expect(call.headers.authorization).toBe(`Bot ${discord.token}`);
		expect(call.body).toEqual({
			content: `Paris, <@${discord.users.bob.id}> @everyone`,
			allowed_mentions: { parse: [], replied_user: false },
		flags: 4, // SUPPRESS_EMBEDS: no link previews of model text unless asked
			message_reference: { message_id: question.id, fail_if_not_exists: false },
		});
		expect(sent).toEqual({ chatId: general(), messageIds: [discord.sent.at(-1)!.id] });
	});

	test('with Allow Mentions, users and roles are notified and the quoted author pinged, never @everyone', async () => {
		await sendDiscordText(await rest(), { channelId: general(), text: 'hi', allowMentions: true });
		expect(messagePosts().at(-1)!.body.allowed_mentions).toEqual({ parse: ['users', 'roles'], replied_user: true });
	});

	test('long text is split at 2,000 characters, each message a closed code block, and only the first quotes the question', async () => {
		const code = Array.from({ length: 150 }, (_, i) => `console.log("line ${String(i).padStart(3, '0')} of the example");`);
		const text = `Here is the script:\n\n\`\`\`js\n${code.join('\n')}\n\`\`\`\n\nRun it with node.`;
		const question = discord.sendDm({ content: 'write me a script' });
		const before = messagePosts().length;
		const { messageIds } = await sendDiscordText(await rest(), { channelId: question.channel_id, text, replyToMessageId: question.id, maxLines: 0 });

		const bodies = messagePosts().slice(before).map((call) => call.body as { content: string; message_reference?: unknown });
		expect(bodies.length).toBeGreaterThan(2);
		expect(messageIds).toHaveLength(bodies.length);
		for (const { content } of bodies) {
			expect(content.length).toBeLessThanOrEqual(2000);
			expect(content.match(/^```/gm)!.length % 2).toBe(0);
		}
		expect(bodies.map((body) => Boolean(body.message_reference))).toEqual([true, ...bodies.slice(1).map(() => false)]);
		const lines = bodies.flatMap(({ content }) => content.split('\n')).filter((line) => line.startsWith('console.log'));
		expect(lines).toEqual(code);
		expect(bodies.at(-1)!.content.endsWith('Run it with node.')).toBe(true);
	});

	test('messages are also split at the line limit (17 by default), keeping code fences', async () => {
		const text = ['```', ...Array.from({ length: 30 }, (_, i) => `row ${i}`), '```'].join('\n');
		const before = messagePosts().length;
		await sendDiscordText(await rest(), { channelId: general(), text });
		const contents = messagePosts().slice(before).map((call) => String(call.body.content));
		expect(contents.length).toBeGreaterThan(1);
		for (const content of contents) {
			expect(content.split('\n').length).toBeLessThanOrEqual(17);
			expect(content.startsWith('```') && content.endsWith('```')).toBe(true);
		}
	});

	test('a 429 is waited out and the message is sent once', async () => {
		discord.rateLimitNext({ retryAfter: 0.4 });
		const before = messagePosts().length;
		const sentBefore = discord.sent.length;
		const started = Date.now();
		await sendDiscordText(await rest(), { channelId: general(), text: 'after the wait' });
		expect(Date.now() - started).toBeGreaterThanOrEqual(400);
		expect(messagePosts().length - before).toBe(2);
		expect(discord.sent.slice(sentBefore).map((message) => message.content)).toEqual(['after the wait']);
	});

	test('a global 429 is waited out too', async () => {
		discord.rateLimitNext({ retryAfter: 0.2, global: true });
		await sendDiscordText(await rest(), { channelId: general(), text: 'after a global limit' });
		expect(discord.sent.at(-1)!.content).toBe('after a global limit');
	});

	test('an empty bucket (X-RateLimit-Remaining 0) is waited for before sending, without a 429', async () => {
		discord.messageBucket = { limit: 2, resetAfterSeconds: 1 };
		try {
			const channel = discord.channels.random.id;
			const before = messagePosts().length;
			const started = Date.now();
			await sendDiscordText(await rest(), { channelId: channel, text: 'one\ntwo\nthree', maxLines: 1 });
			expect(Date.now() - started).toBeGreaterThanOrEqual(800);
			// A 429 would have made it four calls.
			expect(messagePosts().length - before).toBe(3);
			expect(discord.sentTo(channel).slice(-3).map((message) => message.content)).toEqual(['one', 'two', 'three']);
		} finally {
			discord.messageBucket = { limit: 10_000, resetAfterSeconds: 5 };
		}
	});

	test('a rate limit longer than Clawgate waits fails at once, saying why', async () => {
		discord.rateLimitNext({ retryAfter: 120 });
		const started = Date.now();
		await expect(sendDiscordText(await rest(), { channelId: general(), text: 'x' })).rejects.toThrow(/rate-limiting.*asked to wait 120 s, longer than Clawgate waits \(30 s\)/);
		expect(Date.now() - started).toBeLessThan(2000);
	});

	test('a channel where the bot may not post fails with the permission to grant', async () => {
		const channel = discord.channels.news.id;
		await expect(sendDiscordText(await rest(), { channelId: channel, text: 'hi' })).rejects.toThrow(
			`Discord refused to send to channel ${channel} (50013 Missing Permissions): give the bot the Send Messages permission in that channel (Send Messages in Threads for a thread).`,
		);
	});

	test('an unknown channel fails with advice on finding the right ID', async () => {
		await expect(sendDiscordText(await rest(), { channelId: '123456789012345678', text: 'hi' })).rejects.toThrow(/\(10003 Unknown Channel\): check the channel ID.*Copy Channel ID/);
	});

	test('a wrong bot token fails with advice to check the credential, without the token anywhere in the error', async () => {
		const wrongToken = makeDiscordToken();
		const failure = sendDiscordText(await createDiscordRest({ botToken: wrongToken, baseUrl: discord.apiBase }), { channelId: general(), text: 'hi' });
		await expect(failure).rejects.toThrow(/^Discord refused to send to channel \d+ \(401: Unauthorized\): check the bot token in the Clawgate Discord credential/);
		await failure.catch((error: Error) => {
			expect(error).toBeInstanceOf(DiscordApiError);
			expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(wrongToken);
		});
	});

	test('a token pasted with its "Bot " prefix still works', async () => {
		await sendDiscordText(await createDiscordRest({ botToken: `Bot ${discord.token}`, baseUrl: `${discord.apiBase}/` }), { channelId: general(), text: 'prefixed' });
		expect(discord.sent.at(-1)!.content).toBe('prefixed');
	});

	test('an unreachable API names the base URL as the thing to check', async () => {
		const offline = await createDiscordRest({ botToken: discord.token, baseUrl: 'http://127.0.0.1:9/api' });
		await expect(sendDiscordText(offline, { channelId: general(), text: 'x' })).rejects.toThrow(/Could not reach the Discord API.*base URL/);
	});

	test('empty text, a missing channel and a channel name instead of an ID are refused before any call', async () => {
		const before = discord.rest.requests.length;
		await expect(sendDiscordText(await rest(), { channelId: general(), text: '  ' })).rejects.toThrow(/no text to send/);
		await expect(sendDiscordText(await rest(), { channelId: '', text: 'x' })).rejects.toThrow(/There is no channel ID/);
		await expect(sendDiscordText(await rest(), { channelId: '#general', text: 'x' })).rejects.toThrow(/"#general" is not a Discord channel ID.*Copy ID/);
		expect(discord.rest.requests).toHaveLength(before);
	});

	test('a reply to a message deleted meanwhile is sent as a plain message', async () => {
		await sendDiscordText(await rest(), { channelId: general(), text: 'still here', replyToMessageId: '123456789012345678' });
		expect(discord.sent.at(-1)!.content).toBe('still here');
	});

	test('the typing indicator is shown in the channel', async () => {
		expect(await sendDiscordTyping(await rest(), general())).toEqual({ chatId: general(), messageIds: [] });
		expect(discord.calls('POST', new RegExp(`^/channels/${general()}/typing$`))).toHaveLength(1);
	});

	test('edits replace the text of the bot\'s message; others\' messages and overlong text are refused with reasons', async () => {
		const { messageIds } = await sendDiscordText(await rest(), { channelId: general(), text: 'draft' });
		expect(await editDiscordMessage(await rest(), { channelId: general(), messageId: messageIds[0], text: 'final' })).toEqual({ chatId: general(), messageIds });
		expect(discord.sent.find((message) => message.id === messageIds[0])).toMatchObject({ content: 'final', edits: ['draft'] });
		expect(discord.calls('PATCH', /\/messages\/\d+$/).at(-1)!.body).toEqual({ content: 'final', allowed_mentions: { parse: [], replied_user: false } });

		const theirs = discord.sendGuildMessage({ content: 'mine' });
		await expect(editDiscordMessage(await rest(), { channelId: general(), messageId: theirs.id, text: 'x' })).rejects.toThrow(/50005.*only edit messages it posted itself/);
		await expect(editDiscordMessage(await rest(), { channelId: general(), messageId: messageIds[0], text: 'x'.repeat(2001) })).rejects.toThrow(/does not fit in one Discord message/);
	});
});
