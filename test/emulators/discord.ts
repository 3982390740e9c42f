/**
 * Discord emulator: the REST API (`/api/v10/...`) and the gateway WebSocket, on loopback, speaking
 * the payloads Discord sends, fields included (discord.js drops a DM whose MESSAGE_CREATE has no
 * `channel_type`, and reads `resume_gateway_url`, `session_id` and sequence numbers to resume).
 *
 * REST answers with Discord's error bodies (`{ message, code }`), its rate-limit headers and its
 * 429s; the gateway does HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay
 * of the events a session missed, INVALID_SESSION, and the close codes Discord uses. Like Discord,
 * it filters events by intents, blanks guild message content without the MESSAGE_CONTENT intent,
 * and sends the bot a MESSAGE_CREATE for every message the bot itself posts.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { WebSocketServer, type WebSocket } from 'ws';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

// ---------------------------------------------------------------------------------------------
// Identifiers

const DISCORD_EPOCH = 1_420_070_400_000n;
let snowflakeIncrement = 0n;

/** A snowflake like Discord's: milliseconds since 2015 in the high bits, an increment in the low 12. */
export function snowflake(at = Date.now()): string {
	snowflakeIncrement = (snowflakeIncrement + 1n) & 0xfffn;
	return (((BigInt(at) - DISCORD_EPOCH) << 22n) | (1n << 17n) | snowflakeIncrement).toString();
}

/** A bot token in Discord's shape: base64 of the bot's user ID, a timestamp part and an HMAC part. */
export function makeDiscordToken(botId: string = snowflake()): string {
	return `${Buffer.from(botId).toString('base64url')}.${randomBytes(4).toString('base64url')}.${randomBytes(28).toString('base64url')}`;
}

/** Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents). */
export const INTENTS = { guilds: 1 << 0, guildMessages: 1 << 9, directMessages: 1 << 12, messageContent: 1 << 15 } as const;

/** Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types). */
export const CHANNEL_TYPE = { guildText: 0, dm: 1, guildAnnouncement: 5, announcementThread: 10, publicThread: 11, privateThread: 12 } as const;

const THREAD_TYPES = new Set<number>([CHANNEL_TYPE.announcementThread, CHANNEL_TYPE.publicThread, CHANNEL_TYPE.privateThread]);

// ---------------------------------------------------------------------------------------------
// Shapes

export interface DiscordUser {
	id: string;
	username: string;
	global_name: string | null;
	discriminator: string;
	avatar: string | null;
	public_flags: number;
	bot?: boolean;
}

export interface DiscordChannel {
	id: string;
	type: number;
	name: string;
	guild_id?: string;
	parent_id?: string | null;
	position?: number;
	/** Only for the emulator: the bot may not post here (403 Missing Permissions). */
	readOnly?: boolean;
}

export interface DiscordGuild {
	id: string;
	name: string;
	channels: DiscordChannel[];
	threads: DiscordChannel[];
}

export type DiscordMessage = Record<string, unknown> & { id: string; channel_id: string; content: string; author: DiscordUser };

export interface AttachmentInput {
	filename: string;
	content_type?: string;
	size?: number;
	/** Set for a voice message (the message gets the IS_VOICE_MESSAGE flag). */
	duration_secs?: number;
	/**
	 * The file itself: the attachment's `url` then points at this emulator's CDN stand-in
	 * (`/attachments/...` beside the API, signed query and no token needed, like Discord's CDN) and
	 * `size` is its length. Without it the URL is a made-up cdn.discordapp.com address.
	 */
	bytes?: Buffer;
}

/** A message the bot posted or edited through REST, as the emulator keeps it. */
export interface BotMessage {
	id: string;
	channelId: string;
	content: string;
	allowedMentions: unknown;
	messageReference: Record<string, unknown> | null;
	edits: string[];
	/** When the emulator took the message (ms since the epoch). */
	sentAt: number;
	/** When each edit was taken, in order: the channel's edit rate as Discord saw it. */
	editedAt: number[];
	/** When the bot deleted it, or null while it is in the channel. */
	deletedAt: number | null;
}

interface GatewayEvent {
	s: number;
	t: string;
	d: unknown;
}

interface GatewaySession {
	id: string;
	intents: number;
	seq: number;
	events: GatewayEvent[];
	socket: WebSocket | null;
}

export interface GatewayConnection {
	/** Path and query the client connected with (`/?v=10&encoding=json`, `/resume?...`). */
	url: string;
	socket: WebSocket;
	/** What the client sent to start the session: IDENTIFY (op 2) or RESUME (op 6). */
	start: { op: 2 | 6; d: Record<string, unknown> } | null;
	heartbeats: number;
	/** The close code once the socket is closed (by either side). */
	closeCode: number | null;
}

interface RateLimitFault {
	matches: (request: RecordedRequest) => boolean;
	retryAfter: number;
	global: boolean;
	scope: 'user' | 'shared' | 'global';
}

const MESSAGE_LIMIT = 2000;
const IS_VOICE_MESSAGE = 1 << 13;

function isoNow(): string {
	// Discord writes timestamps with microseconds and +00:00.
	return new Date().toISOString().replace('Z', '000+00:00');
}

function user(username: string, globalName: string | null, extra: Partial<DiscordUser> = {}): DiscordUser {
	return { id: snowflake(), username, global_name: globalName, discriminator: '0', avatar: null, public_flags: 0, ...extra };
}

const fail = (status: number, message: string, code: number, extra: Record<string, unknown> = {}): EmulatorReply => ({
	status,
	body: { message, code, ...extra },
});

// ---------------------------------------------------------------------------------------------

export class DiscordEmulator {
	readonly rest: EmulatorServer;
	readonly token: string;
	readonly bot: DiscordUser;
	/** People and another bot who write to the bot in the tests. */
	readonly users: { ada: DiscordUser; bob: DiscordUser; otherBot: DiscordUser };
	readonly guild: DiscordGuild;
	/** Shortcuts to the guild's channels. */
	readonly channels: { general: DiscordChannel; random: DiscordChannel; news: DiscordChannel; helpThread: DiscordChannel };
	/** What the Developer Portal's "Privileged Gateway Intents" switches say. */
	privilegedIntents = { messageContent: true };
	/** HELLO's heartbeat_interval in ms (Discord: 41250). */
	heartbeatIntervalMs = 41_250;
	/** Every message the bot posted, in order. */
	readonly sent: BotMessage[] = [];
	readonly connections: GatewayConnection[] = [];
	/** Gateway happenings for tests to await: `identify`, `resume`, `heartbeat`, `close`. */
	readonly gatewayEvents = new EventEmitter();
	/** False: the gateway cannot be reached (a new socket is cut at once, before HELLO), as when the host running the bot loses its network. */
	gatewayReachable = true;

	private readonly messages = new Map<string, DiscordMessage>();
	private readonly dmChannels = new Map<string, DiscordChannel>();
	private readonly extraChannels = new Map<string, DiscordChannel>();
	private readonly sessions = new Map<string, GatewaySession>();
	private readonly closedByGateway = new WeakSet<WebSocket>();
	private rateLimitFaults: RateLimitFault[] = [];
	private buckets = new Map<string, { windowStart: number; used: number }>();
	/** Per-channel message bucket (Discord: 5 per 5 s); generous by default so tests do not wait. */
	messageBucket = { limit: 10_000, resetAfterSeconds: 5 };
	private gatewayServer: Server | null = null;
	private wss: WebSocketServer | null = null;
	private gatewayBase = '';
	/** Files of attachments made with bytes, by their CDN path. */
	private readonly attachmentFiles = new Map<string, { bytes: Buffer; contentType: string }>();

	constructor({ botUsername = 'Clawgate', token }: { botUsername?: string; token?: string } = {}) {
		this.bot = user(botUsername.toLowerCase(), botUsername, { bot: true });
		this.token = token ?? makeDiscordToken(this.bot.id);
		this.users = {
			ada: user('ada', 'Ada L.'),
			bob: user('bob.b', null),
			otherBot: user('helper', 'Helper Bot', { bot: true }),
		};
		const guildId = snowflake();
		const channel = (name: string, type: number, extra: Partial<DiscordChannel> = {}): DiscordChannel => ({ id: snowflake(), type, name, guild_id: guildId, parent_id: null, position: 0, ...extra });
		const general = channel('general', CHANNEL_TYPE.guildText);
		const random = channel('random', CHANNEL_TYPE.guildText);
		const news = channel('news', CHANNEL_TYPE.guildAnnouncement, { readOnly: true });
		const helpThread = channel('help with setup', CHANNEL_TYPE.publicThread, { parent_id: general.id });
		this.guild = { id: guildId, name: 'Makers', channels: [general, random, news], threads: [helpThread] };
		this.channels = { general, random, news, helpThread };
		this.rest = new EmulatorServer('Discord', (request) => this.handle(request));
	}

	async start(): Promise<void> {
		await this.rest.start();
		const server = createServer((_request, response) => {
			response.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required');
		});
		this.wss = new WebSocketServer({ server });
		this.wss.on('connection', (socket, request) => this.accept(socket, request.url ?? '/'));
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		this.gatewayServer = server;
		this.gatewayBase = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
	}

	async stop(): Promise<void> {
		for (const socket of this.wss?.clients ?? []) socket.terminate();
		await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
		const server = this.gatewayServer;
		this.gatewayServer = null;
		if (server) {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
		await this.rest.stop();
	}

	/** The value for the credential's `baseUrl`, like `https://discord.com/api`. */
	get apiBase(): string {
		return `${this.rest.url}/api`;
	}

	/** What `GET /gateway/bot` hands out; @discordjs/ws appends `?v=10&encoding=json`. */
	get gatewayUrl(): string {
		return this.gatewayBase;
	}

	/** Where READY tells the client to resume (Discord gives a regional host here). */
	get resumeGatewayUrl(): string {
		return `${this.gatewayBase}/resume`;
	}

	/** Whether a bot session (identified) is connected now: only then does a message reach a bot, as on Discord. */
	get botConnected(): boolean {
		return [...this.sessions.values()].some((session) => session.socket?.readyState === session.socket?.OPEN && session.socket !== null);
	}

	/** Sockets that are open right now. */
	get openSockets(): number {
		return [...(this.wss?.clients ?? [])].filter((socket) => socket.readyState === socket.OPEN).length;
	}

	/** REST calls to a path under `/api/v10`, e.g. `calls('POST', /\/channels\/\d+\/messages$/)`. */
	calls(method: string, path: RegExp): RecordedRequest[] {
		return this.rest.matching((request) => request.method === method && path.test(routeOf(request)));
	}

	waitForCall(method: string, path: RegExp, timeoutMs?: number): Promise<RecordedRequest> {
		return this.rest.waitFor((request) => request.method === method && path.test(routeOf(request)), { timeoutMs, description: `${method} ${path}` });
	}

	/** Resolves with the next gateway happening (`identify`, `resume`, `heartbeat`, `close`) that matches. */
	async nextGatewayEvent<T = unknown>(name: 'identify' | 'resume' | 'heartbeat' | 'close', timeoutMs = 10_000): Promise<T> {
		const [value] = await once(this.gatewayEvents, name, { signal: AbortSignal.timeout(timeoutMs) });
		return value as T;
	}

	sentTo(channelId: string): BotMessage[] {
		return this.sent.filter((message) => message.channelId === channelId);
	}

	/** The next `count` matching REST calls get a 429 with Discord's headers and body. */
	rateLimitNext(
		{ method = 'POST', path = /\/channels\/\d+\/messages$/, retryAfter = 0.3, global = false, scope = 'user' }: Partial<Omit<RateLimitFault, 'matches'>> & { method?: string; path?: RegExp } = {},
		count = 1,
	): void {
		for (let i = 0; i < count; i++) {
			this.rateLimitFaults.push({ matches: (request) => request.method === method && path.test(routeOf(request)), retryAfter, global, scope });
		}
	}

	// -------------------------------------------------------------------------------------------
	// People writing to the bot

	/** The DM channel between the bot and a user, created on first use like Discord does. */
	dmChannelOf(person: DiscordUser): DiscordChannel {
		let channel = this.dmChannels.get(person.id);
		if (!channel) {
			channel = { id: snowflake(), type: CHANNEL_TYPE.dm, name: '' };
			this.dmChannels.set(person.id, channel);
		}
		return channel;
	}

	/** A direct message from `from` to the bot, dispatched as MESSAGE_CREATE. */
	sendDm({ from = this.users.ada, content, attachments = [] }: { from?: DiscordUser; content: string; attachments?: AttachmentInput[] }): DiscordMessage {
		const channel = this.dmChannelOf(from);
		const message = this.buildMessage({ channel, author: from, content, attachments });
		return this.publishMessage(message);
	}

	/**
	 * A message in a server channel or thread. Mentions are read from `<@id>` in the content, and a
	 * reply (`replyTo`) mentions the replied-to author unless `pingRepliedUser` is false, as in
	 * Discord's client.
	 */
	sendGuildMessage({
		from = this.users.ada,
		content,
		channel = this.channels.general,
		replyTo,
		pingRepliedUser = true,
		attachments = [],
	}: {
		from?: DiscordUser;
		content: string;
		channel?: DiscordChannel;
		replyTo?: string;
		pingRepliedUser?: boolean;
		attachments?: AttachmentInput[];
	}): DiscordMessage {
		const referenced = replyTo ? this.messages.get(replyTo) : undefined;
		if (replyTo && !referenced) throw new Error(`The Discord emulator has no message ${replyTo} to reply to.`);
		const message = this.buildMessage({ channel, author: from, content, attachments, referenced, pingRepliedUser });
		return this.publishMessage(message);
	}

	/** A server message that starts with a mention of the bot. */
	mentionBot(text: string, options: Omit<Parameters<DiscordEmulator['sendGuildMessage']>[0], 'content'> = {}): DiscordMessage {
		return this.sendGuildMessage({ ...options, content: `<@${this.bot.id}> ${text}` });
	}

	/**
	 * A thread the bot was not told about at startup (not in GUILD_CREATE): with `announce`, Discord
	 * sends THREAD_CREATE; without, the bot first learns of it from a message in it.
	 */
	createThread({ parent = this.channels.general, name = 'new thread', announce = false }: { parent?: DiscordChannel; name?: string; announce?: boolean } = {}): DiscordChannel {
		const thread: DiscordChannel = { id: snowflake(), type: CHANNEL_TYPE.publicThread, name, guild_id: this.guild.id, parent_id: parent.id, position: 0 };
		this.extraChannels.set(thread.id, thread);
		if (announce) this.dispatch('THREAD_CREATE', { ...this.channelPayload(thread), newly_created: true }, INTENTS.guilds);
		return thread;
	}

	// -------------------------------------------------------------------------------------------
	// Gateway control

	/** Closes every open gateway socket with a close code (4000 "Unknown error": the client resumes). */
	closeConnections(code = 4000, reason = 'Unknown error.'): void {
		for (const socket of this.wss?.clients ?? []) {
			this.closedByGateway.add(socket);
			socket.close(code, reason);
		}
	}

	/** Cuts every socket without a close frame, like a network drop (the client sees 1006). */
	dropConnections(): void {
		for (const socket of this.wss?.clients ?? []) socket.terminate();
	}

	/** Sends op 7 RECONNECT, as Discord does before moving a session to another server. */
	requestReconnect(): void {
		for (const session of this.sessions.values()) this.sendOp(session.socket, { op: 7, d: null });
	}

	/** Forgets every session, so a RESUME gets INVALID_SESSION (op 9) and the client identifies again. */
	invalidateSessions(): void {
		this.sessions.clear();
	}

	/** Sends a dispatch again with its original sequence number, as a buggy network path might. */
	redeliver(messageId: string): void {
		for (const session of this.sessions.values()) {
			const event = session.events.find((candidate) => candidate.t === 'MESSAGE_CREATE' && (candidate.d as DiscordMessage).id === messageId);
			if (event && session.socket) this.sendOp(session.socket, { op: 0, ...event });
		}
	}

	// -------------------------------------------------------------------------------------------
	// Gateway protocol

	private accept(socket: WebSocket, url: string): void {
		const connection: GatewayConnection = { url, socket, start: null, heartbeats: 0, closeCode: null };
		this.connections.push(connection);
		socket.on('close', (code) => {
			connection.closeCode = code;
			// A client that closes with 1000 or 1001 ends its session; any other close, or none, keeps it resumable.
			const ended = (code === 1000 || code === 1001) && !this.closedByGateway.has(socket);
			for (const [id, session] of this.sessions) {
				if (session.socket !== socket) continue;
				session.socket = null;
				if (ended) this.sessions.delete(id);
			}
			this.gatewayEvents.emit('close', connection);
		});
		if (!this.gatewayReachable) return void socket.terminate();
		const query = new URL(url, 'ws://gateway').searchParams;
		if (query.get('v') !== '10') return void socket.close(4012, 'Invalid API version.');
		if (query.get('encoding') !== 'json') return void socket.close(4002, 'Error while decoding payload.');
		this.sendOp(socket, { op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs, _trace: ['["gateway-emulator",{"micros":0}]'] } });
		socket.on('message', (data) => {
			let payload: { op?: number; d?: unknown };
			try {
				payload = JSON.parse(data.toString());
			} catch {
				return void socket.close(4002, 'Error while decoding payload.');
			}
			this.receive(connection, payload);
		});
	}

	private receive(connection: GatewayConnection, payload: { op?: number; d?: unknown }): void {
		const { socket } = connection;
		switch (payload.op) {
			case 1:
				connection.heartbeats++;
				this.sendOp(socket, { op: 11 });
				this.gatewayEvents.emit('heartbeat', connection);
				return;
			case 2:
				if (connection.start) return void socket.close(4005, 'Already authenticated.');
				return this.identify(connection, payload.d as Record<string, unknown>);
			case 6:
				if (connection.start) return void socket.close(4005, 'Already authenticated.');
				return this.resume(connection, payload.d as Record<string, unknown>);
			case 3:
			case 4:
			case 8:
				if (!connection.start) socket.close(4003, 'Not authenticated.');
				return;
			default:
				socket.close(4001, 'Unknown opcode.');
		}
	}

	private identify(connection: GatewayConnection, data: Record<string, unknown>): void {
		const { socket } = connection;
		connection.start = { op: 2, d: data };
		this.gatewayEvents.emit('identify', connection);
		if (data?.token !== this.token) return void socket.close(4004, 'Authentication failed.');
		const intents = Number(data.intents);
		if (!Number.isInteger(intents) || intents < 0 || intents >= 1 << 26) return void socket.close(4013, 'Invalid intent(s).');
		if (intents & INTENTS.messageContent && !this.privilegedIntents.messageContent) return void socket.close(4014, 'Disallowed intent(s).');
		const session: GatewaySession = { id: randomBytes(16).toString('hex'), intents, seq: 0, events: [], socket };
		this.sessions.set(session.id, session);
		this.send(session, 'READY', {
			v: 10,
			user: { ...this.bot, verified: true, mfa_enabled: false, flags: 0, email: null },
			guilds: [{ id: this.guild.id, unavailable: true }],
			session_id: session.id,
			session_type: 'normal',
			resume_gateway_url: this.resumeGatewayUrl,
			shard: [0, 1],
			application: { id: this.bot.id, flags: 1 << 19 },
			private_channels: [],
			presences: [],
			relationships: [],
			guild_join_requests: [],
			user_settings: {},
			geo_ordered_rtc_regions: ['frankfurt'],
			auth: {},
			_trace: ['["gateway-emulator",{"micros":0}]'],
		});
		if (intents & INTENTS.guilds) this.send(session, 'GUILD_CREATE', this.guildPayload());
	}

	private resume(connection: GatewayConnection, data: Record<string, unknown>): void {
		connection.start = { op: 6, d: data };
		this.gatewayEvents.emit('resume', connection);
		const session = this.sessions.get(String(data?.session_id));
		if (!session || data.token !== this.token) {
			// d: false — the session cannot be resumed; the client must identify again.
			this.sendOp(connection.socket, { op: 9, d: false });
			return;
		}
		session.socket = connection.socket;
		const after = Number(data.seq);
		for (const event of session.events) if (event.s > after) this.sendOp(connection.socket, { op: 0, ...event });
		this.send(session, 'RESUMED', { _trace: ['["gateway-emulator",{"micros":0}]'] });
	}

	/** Sends a dispatch to every session whose intents include `intent` (buffered while disconnected, for RESUME). */
	private dispatch(t: string, d: unknown, intent: number, adapt: (session: GatewaySession) => unknown = () => d): void {
		for (const session of this.sessions.values()) if (session.intents & intent) this.send(session, t, adapt(session));
	}

	private send(session: GatewaySession, t: string, d: unknown): void {
		const event = { s: ++session.seq, t, d };
		session.events.push(event);
		if (session.events.length > 1000) session.events.shift();
		this.sendOp(session.socket, { op: 0, ...event });
	}

	private sendOp(socket: WebSocket | null, payload: Record<string, unknown>): void {
		if (socket && socket.readyState === socket.OPEN) socket.send(JSON.stringify({ s: null, t: null, ...payload }));
	}

	// -------------------------------------------------------------------------------------------
	// Payloads

	private channelById(id: string): DiscordChannel | undefined {
		return (
			this.guild.channels.find((channel) => channel.id === id) ??
			this.guild.threads.find((channel) => channel.id === id) ??
			this.extraChannels.get(id) ??
			[...this.dmChannels.values()].find((channel) => channel.id === id)
		);
	}

	private channelPayload(channel: DiscordChannel): Record<string, unknown> {
		const fields = omit(channel, ['readOnly']);
		if (channel.type === CHANNEL_TYPE.dm) {
			const recipient = [...this.dmChannels.entries()].find(([, dm]) => dm.id === channel.id)?.[0];
			const person = Object.values(this.users).find((candidate) => candidate.id === recipient);
			return { id: channel.id, type: channel.type, last_message_id: null, flags: 0, recipients: person ? [person] : [] };
		}
		if (THREAD_TYPES.has(channel.type)) {
			return {
				...fields,
				owner_id: this.users.ada.id,
				last_message_id: null,
				rate_limit_per_user: 0,
				flags: 0,
				message_count: 0,
				member_count: 1,
				total_message_sent: 0,
				thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: isoNow(), locked: false, create_timestamp: isoNow() },
			};
		}
		return { ...fields, topic: null, nsfw: false, last_message_id: null, rate_limit_per_user: 0, flags: 0, permission_overwrites: [] };
	}

	private guildPayload(): Record<string, unknown> {
		const { guild } = this;
		return {
			id: guild.id,
			name: guild.name,
			icon: null,
			description: null,
			owner_id: this.users.ada.id,
			afk_channel_id: null,
			afk_timeout: 300,
			verification_level: 1,
			default_message_notifications: 1,
			explicit_content_filter: 2,
			mfa_level: 0,
			nsfw_level: 0,
			premium_tier: 0,
			premium_subscription_count: 0,
			preferred_locale: 'en-US',
			system_channel_id: this.channels.general.id,
			system_channel_flags: 0,
			rules_channel_id: null,
			public_updates_channel_id: null,
			vanity_url_code: null,
			max_members: 500000,
			features: [],
			roles: [{ id: guild.id, name: '@everyone', permissions: '2248473465835073', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
			emojis: [],
			stickers: [],
			joined_at: isoNow(),
			large: false,
			unavailable: false,
			member_count: 3,
			members: [this.memberPayload(this.bot, true)],
			channels: guild.channels.map((channel) => omit(this.channelPayload(channel), ['guild_id'])),
			threads: guild.threads.map((thread) => this.channelPayload(thread)),
			presences: [],
			voice_states: [],
			stage_instances: [],
			guild_scheduled_events: [],
			soundboard_sounds: [],
			embedded_activities: [],
			application_command_counts: {},
		};
	}

	private memberPayload(person: DiscordUser, withUser = false): Record<string, unknown> {
		return {
			...(withUser ? { user: person } : {}),
			roles: [],
			nick: null,
			avatar: null,
			banner: null,
			premium_since: null,
			joined_at: isoNow(),
			deaf: false,
			mute: false,
			flags: 0,
			pending: false,
			communication_disabled_until: null,
		};
	}

	private attachmentPayload(channelId: string, input: AttachmentInput): Record<string, unknown> {
		const id = snowflake();
		const path = `/attachments/${channelId}/${id}/${encodeURIComponent(input.filename)}`;
		const cdn = input.bytes ? this.rest.url : 'https://cdn.discordapp.com';
		const url = `${cdn}${path}?ex=6789abcd&is=6788abcd&hm=${randomBytes(32).toString('hex')}&`;
		if (input.bytes) this.attachmentFiles.set(path, { bytes: input.bytes, contentType: input.content_type ?? 'application/octet-stream' });
		return {
			id,
			filename: input.filename,
			size: input.size ?? input.bytes?.length ?? 1024,
			url,
			proxy_url: url.replace('cdn.discordapp.com', 'media.discordapp.net'),
			...(input.content_type ? { content_type: input.content_type } : {}),
			...(input.content_type?.startsWith('image/') ? { width: 640, height: 480, placeholder: 'abc', placeholder_version: 1 } : {}),
			...(input.duration_secs !== undefined ? { duration_secs: input.duration_secs, waveform: 'AAAA' } : {}),
		};
	}

	private buildMessage({
		channel,
		author,
		content,
		attachments = [],
		referenced,
		pingRepliedUser = true,
	}: {
		channel: DiscordChannel;
		author: DiscordUser;
		content: string;
		attachments?: AttachmentInput[];
		referenced?: DiscordMessage;
		pingRepliedUser?: boolean;
	}): DiscordMessage {
		const inGuild = channel.type !== CHANNEL_TYPE.dm;
		const known = [this.bot, ...Object.values(this.users)];
		const mentioned = known.filter((person) => content.includes(`<@${person.id}>`) || content.includes(`<@!${person.id}>`));
		if (referenced && pingRepliedUser && !mentioned.some((person) => person.id === referenced.author.id)) mentioned.push(referenced.author);
		const isVoice = attachments.some((attachment) => attachment.duration_secs !== undefined);
		const message: DiscordMessage = {
			type: referenced ? 19 : 0,
			content,
			mentions: mentioned.map((person) => (inGuild ? { ...person, member: this.memberPayload(person) } : person)),
			mention_roles: [],
			attachments: attachments.map((attachment) => this.attachmentPayload(channel.id, attachment)),
			embeds: [],
			timestamp: isoNow(),
			edited_timestamp: null,
			flags: isVoice ? IS_VOICE_MESSAGE : 0,
			components: [],
			id: snowflake(),
			channel_id: channel.id,
			author,
			pinned: false,
			mention_everyone: false,
			tts: false,
			nonce: snowflake(),
		};
		if (referenced) {
			message.message_reference = { type: 0, channel_id: referenced.channel_id, message_id: referenced.id, ...(inGuild ? { guild_id: this.guild.id } : {}) };
			message.referenced_message = this.storedShape(referenced);
		}
		return message;
	}

	/** A message as REST returns it and `referenced_message` carries it: without the gateway-only fields. */
	private storedShape(message: DiscordMessage): DiscordMessage {
		return omit(message, ['guild_id', 'member', 'channel_type', 'nonce', 'referenced_message']) as DiscordMessage;
	}

	/** Stores a message and dispatches MESSAGE_CREATE with the gateway's extra fields. */
	private publishMessage(message: DiscordMessage): DiscordMessage {
		this.messages.set(message.id, message);
		const channel = this.channelById(message.channel_id);
		if (!channel) throw new Error(`The Discord emulator has no channel ${message.channel_id}.`);
		const inGuild = channel.type !== CHANNEL_TYPE.dm;
		const event: DiscordMessage = {
			...message,
			channel_type: channel.type,
			...(inGuild ? { guild_id: this.guild.id, member: this.memberPayload(message.author) } : {}),
		};
		const intent = inGuild ? INTENTS.guildMessages : INTENTS.directMessages;
		this.dispatch('MESSAGE_CREATE', event, intent, (session) => {
			const mentionsBot = (event.mentions as DiscordUser[]).some((person) => person.id === this.bot.id);
			// Without MESSAGE_CONTENT, guild messages arrive blank unless they mention the bot or are its own.
			if (!inGuild || session.intents & INTENTS.messageContent || mentionsBot || event.author.id === this.bot.id) return event;
			return { ...event, content: '', embeds: [], attachments: [], components: [] };
		});
		return event;
	}

	// -------------------------------------------------------------------------------------------
	// REST

	/** Requests for attachment files (the CDN stand-in), in order. */
	attachmentDownloads(): RecordedRequest[] {
		return this.rest.matching((request) => request.path.startsWith('/attachments/'));
	}

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.path.startsWith('/attachments/')) {
			const file = this.attachmentFiles.get(request.path);
			// Discord's CDN refuses a URL without its signature (ex, is, hm).
			if (!file || !request.query.get('hm')) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'This content is no longer available.' };
			return { status: 200, headers: { 'content-type': file.contentType, 'content-length': String(file.bytes.length) }, body: file.bytes };
		}
		const route = routeOf(request);
		if (!request.path.startsWith('/api/v10/')) return fail(404, '404: Not Found', 0);
		if (route === '/gateway' && request.method === 'GET') return { status: 200, body: { url: this.gatewayUrl } };
		if (request.headers.authorization !== `Bot ${this.token}`) return fail(401, '401: Unauthorized', 0);

		const fault = this.rateLimitFaults.findIndex((candidate) => candidate.matches(request));
		if (fault >= 0) {
			const [{ retryAfter, global, scope }] = this.rateLimitFaults.splice(fault, 1);
			return this.tooManyRequests(route, retryAfter, global, scope);
		}

		let match: RegExpExecArray | null;
		if (request.method === 'GET' && route === '/users/@me') return { status: 200, body: { ...this.bot, verified: true, mfa_enabled: false, flags: 0, bio: '' } };
		if (request.method === 'GET' && route === '/gateway/bot') {
			return {
				status: 200,
				body: { url: this.gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } },
			};
		}
		if ((match = /^\/channels\/(\d+)$/.exec(route)) && request.method === 'GET') {
			const channel = this.channelById(match[1]);
			return channel ? { status: 200, body: this.channelPayload(channel) } : fail(404, 'Unknown Channel', 10003);
		}
		if ((match = /^\/channels\/(\d+)\/typing$/.exec(route)) && request.method === 'POST') {
			const channel = this.channelById(match[1]);
			if (!channel) return fail(404, 'Unknown Channel', 10003);
			return { status: 204 };
		}
		if ((match = /^\/channels\/(\d+)\/messages$/.exec(route)) && request.method === 'POST') return this.createMessage(match[1], request.body);
		if ((match = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(route)) && request.method === 'PATCH') return this.editMessage(match[1], match[2], request.body);
		if ((match = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(route)) && request.method === 'DELETE') return this.deleteMessage(match[1], match[2]);
		return fail(404, '404: Not Found', 0);
	}

	private tooManyRequests(route: string, retryAfter: number, global: boolean, scope: string): EmulatorReply {
		return {
			status: 429,
			headers: {
				// The header is whole seconds; the body has the precise float.
				'retry-after': String(Math.max(1, Math.ceil(retryAfter))),
				'x-ratelimit-limit': '5',
				'x-ratelimit-remaining': '0',
				'x-ratelimit-reset': String(Date.now() / 1000 + retryAfter),
				'x-ratelimit-reset-after': String(retryAfter),
				'x-ratelimit-bucket': bucketHash(route),
				'x-ratelimit-scope': global ? 'global' : scope,
				...(global ? { 'x-ratelimit-global': 'true' } : {}),
			},
			body: { message: 'You are being rate limited.', retry_after: retryAfter, global, ...(global ? {} : { code: 20028 }) },
		};
	}

	/** Counts a call against its channel's bucket; returns the headers, or a 429 once the bucket is empty. */
	private takeFromBucket(route: string, channelId: string): { headers: Record<string, string> } | { limited: EmulatorReply } {
		const { limit, resetAfterSeconds } = this.messageBucket;
		const key = `${bucketHash(route)}:${channelId}`;
		const now = Date.now();
		let bucket = this.buckets.get(key);
		if (!bucket || now - bucket.windowStart >= resetAfterSeconds * 1000) {
			bucket = { windowStart: now, used: 0 };
			this.buckets.set(key, bucket);
		}
		const resetAfter = Math.max(0, (bucket.windowStart + resetAfterSeconds * 1000 - now) / 1000);
		if (bucket.used >= limit) return { limited: this.tooManyRequests(route, resetAfter, false, 'user') };
		bucket.used++;
		return {
			headers: {
				'x-ratelimit-limit': String(limit),
				'x-ratelimit-remaining': String(limit - bucket.used),
				'x-ratelimit-reset': String((bucket.windowStart + resetAfterSeconds * 1000) / 1000),
				'x-ratelimit-reset-after': resetAfter.toFixed(3),
				'x-ratelimit-bucket': bucketHash(route),
			},
		};
	}

	private checkContent(content: unknown): EmulatorReply | null {
		if (typeof content === 'string' && content.length > MESSAGE_LIMIT) {
			return fail(400, 'Invalid Form Body', 50035, {
				errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${MESSAGE_LIMIT} or fewer in length.` }] } },
			});
		}
		if (typeof content !== 'string' || content.trim() === '') return fail(400, 'Cannot send an empty message', 50006);
		return null;
	}

	private createMessage(channelId: string, body: Record<string, unknown>): EmulatorReply {
		const channel = this.channelById(channelId);
		if (!channel) return fail(404, 'Unknown Channel', 10003);
		if (channel.readOnly) return fail(403, 'Missing Permissions', 50013);
		const invalid = this.checkContent(body.content);
		if (invalid) return invalid;
		const bucket = this.takeFromBucket('/channels/:id/messages', channelId);
		if ('limited' in bucket) return bucket.limited;

		const reference = (body.message_reference ?? null) as Record<string, unknown> | null;
		let referenced: DiscordMessage | undefined;
		if (reference) {
			referenced = this.messages.get(String(reference.message_id));
			if (!referenced && reference.fail_if_not_exists !== false) {
				return fail(400, 'Invalid Form Body', 50035, {
					errors: { message_reference: { _errors: [{ code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', message: 'Unknown message' }] } },
				});
			}
		}
		const allowed = body.allowed_mentions as { replied_user?: boolean } | undefined;
		const message = this.buildMessage({
			channel,
			author: this.bot,
			content: String(body.content),
			referenced,
			pingRepliedUser: allowed ? allowed.replied_user === true : true,
		});
		this.sent.push({ id: message.id, channelId, content: message.content, allowedMentions: body.allowed_mentions ?? null, messageReference: reference, edits: [], sentAt: Date.now(), editedAt: [], deletedAt: null });
		this.publishMessage(message);
		return { status: 200, headers: bucket.headers, body: this.storedShape(message) };
	}

	private editMessage(channelId: string, messageId: string, body: Record<string, unknown>): EmulatorReply {
		if (!this.channelById(channelId)) return fail(404, 'Unknown Channel', 10003);
		const message = this.messages.get(messageId);
		if (!message || message.channel_id !== channelId) return fail(404, 'Unknown Message', 10008);
		if (message.author.id !== this.bot.id) return fail(403, 'Cannot edit a message authored by another user', 50005);
		const invalid = this.checkContent(body.content);
		if (invalid) return invalid;
		const sent = this.sent.find((candidate) => candidate.id === messageId);
		sent?.edits.push(sent.content);
		sent?.editedAt.push(Date.now());
		if (sent) sent.content = String(body.content);
		message.content = String(body.content);
		message.edited_timestamp = isoNow();
		return { status: 200, body: this.storedShape(message) };
	}

	private deleteMessage(channelId: string, messageId: string): EmulatorReply {
		if (!this.channelById(channelId)) return fail(404, 'Unknown Channel', 10003);
		const message = this.messages.get(messageId);
		if (!message || message.channel_id !== channelId) return fail(404, 'Unknown Message', 10008);
		if (message.author.id !== this.bot.id) return fail(403, 'Missing Permissions', 50013);
		this.messages.delete(messageId);
		const sent = this.sent.find((candidate) => candidate.id === messageId);
		if (sent) sent.deletedAt = Date.now();
		return { status: 204 };
	}
}

function omit<T extends object>(object: T, keys: string[]): Record<string, unknown> {
	return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}

/** The route under `/api/v10`. */
function routeOf(request: RecordedRequest): string {
	return request.path.replace(/^\/api\/v10/, '');
}

function bucketHash(route: string): string {
	return Buffer.from(route.replace(/\d{17,20}/g, ':id')).toString('hex').slice(0, 32);
}
