/**
 * A Rocket.Chat server on loopback, written from https://developer.rocket.chat/apidocs:
 * - REST `/api/v1/...` with X-Auth-Token and X-User-Id: me, rooms.get?updatedSince=,
 *   chat.syncMessages?roomId&lastUpdate=, chat.sendMessage (tmid for threads), chat.update;
 *   `{ success: false, error }` answers, 401 `{ status: "error", message }`, 429 with
 *   X-RateLimit-Reset (and Retry-After);
 * - DDP on `/websocket` (same port): connect → connected, method login with `{ resume: token }`,
 *   sub `stream-room-messages` `__my_messages__` → ready, server pings answered by pongs, and a
 *   `changed` frame per message of the bot's rooms: `fields.args` = [message, { roomParticipant, roomType, roomName }],
 *   with `ts` as EJSON `{ $date }`.
 */
import { randomBytes } from 'node:crypto';

import { WebSocketServer, type WebSocket } from 'ws';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface RocketUser {
	_id: string;
	username: string;
	name: string;
	bot?: boolean;
}

export interface RocketRoom {
	_id: string;
	t: 'd' | 'c' | 'p';
	name: string | null;
	updatedAt: number;
}

export interface RocketMessage {
	_id: string;
	rid: string;
	msg: string;
	ts: number;
	u: { _id: string; username: string; name: string };
	mentions: Array<{ _id: string; username: string }>;
	tmid?: string;
	bot?: { i: string };
	editedAt?: number;
	_updatedAt: number;
}

type DdpSocket = WebSocket & { subscribed?: boolean };

/** Meteor-style IDs: 17 characters. */
export function rocketId(): string {
	const alphabet = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
	return Array.from(randomBytes(17), (byte) => alphabet[byte % alphabet.length]).join('');
}

const failed = (status: number, error: string): EmulatorReply => ({ status, body: { success: false, error } });

export class RocketChatEmulator {
	readonly server: EmulatorServer;
	readonly bot: RocketUser = { _id: rocketId(), username: 'clawgate', name: 'Clawgate' };
	readonly token = randomBytes(32).toString('base64url');
	readonly rooms = new Map<string, RocketRoom>();
	readonly messages: RocketMessage[] = [];
	private readonly wss = new WebSocketServer({ noServer: true });
	private readonly sockets = new Set<DdpSocket>();
	private rateLimits: number[] = [];
	private lastTime = 0;
	/** Every realtime session that subscribed to the bot's messages. */
	subscriptions = 0;

	constructor() {
		this.server = new EmulatorServer('Rocket.Chat', (request) => this.handle(request));
		this.server.onUpgrade((request, socket, head) => {
			if (!request.url?.startsWith('/websocket')) return false;
			this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
			return true;
		});
	}

	start(): Promise<string> {
		return this.server.start();
	}

	async stop(): Promise<void> {
		for (const socket of this.sockets) socket.terminate();
		await this.server.stop();
	}

	get baseUrl(): string {
		return this.server.url;
	}

	credential(): Record<string, string> {
		return { baseUrl: this.baseUrl, userId: this.bot._id, authToken: this.token };
	}

	get openSockets(): number {
		return [...this.sockets].filter((socket) => socket.subscribed).length;
	}

	dropConnections(): void {
		for (const socket of this.sockets) socket.terminate();
	}

	rateLimitNext(seconds: number): void {
		this.rateLimits.push(seconds);
	}

	calls(path: string): RecordedRequest[] {
		return this.server.matching((request) => request.path === `/api/v1/${path}`);
	}

	person(username: string, bot = false): RocketUser {
		return { _id: rocketId(), username, name: username[0].toUpperCase() + username.slice(1), bot };
	}

	/** The direct room of the bot and a person: its ID is both user IDs, sorted, as Rocket.Chat makes it. */
	dmWith(person: RocketUser): RocketRoom {
		const id = [this.bot._id, person._id].sort().join('');
		let room = this.rooms.get(id);
		if (!room) {
			room = { _id: id, t: 'd', name: null, updatedAt: this.now() };
			this.rooms.set(id, room);
		}
		return room;
	}

	channel(name = 'general'): RocketRoom {
		const room: RocketRoom = { _id: rocketId(), t: 'c', name, updatedAt: this.now() };
		this.rooms.set(room._id, room);
		return room;
	}

	textsIn(roomId: string, { byBot }: { byBot?: boolean } = {}): string[] {
		return this.messages.filter((message) => message.rid === roomId && (byBot === undefined || (message.u._id === this.bot._id) === byBot)).map((message) => message.msg);
	}

	/** A message by someone; `@clawgate` in the text is a mention of the bot. Streamed to subscribed sessions. */
	say(from: RocketUser, room: RocketRoom, text: string, { tmid }: { tmid?: string } = {}): RocketMessage {
		const message = this.store(from, room, text, tmid);
		this.stream(message, room);
		return message;
	}

	private now(): number {
		this.lastTime = Math.max(Date.now(), this.lastTime + 1);
		return this.lastTime;
	}

	private store(from: RocketUser, room: RocketRoom, text: string, tmid?: string): RocketMessage {
		const at = this.now();
		const mentions = [...text.matchAll(/@([\w.-]+)/g)].flatMap(([, username]) => (username === this.bot.username ? [{ _id: this.bot._id, username }] : []));
		const message: RocketMessage = {
			_id: rocketId(),
			rid: room._id,
			msg: text,
			ts: at,
			u: { _id: from._id, username: from.username, name: from.name },
			mentions,
			...(tmid ? { tmid } : {}),
			...(from.bot ? { bot: { i: 'integration' } } : {}),
			_updatedAt: at,
		};
		this.messages.push(message);
		room.updatedAt = at;
		return message;
	}

	private stream(message: RocketMessage, room: RocketRoom): void {
		const ejson = { ...message, ts: { $date: message.ts }, _updatedAt: { $date: message._updatedAt } };
		const frame = JSON.stringify({
			msg: 'changed',
			collection: 'stream-room-messages',
			id: 'id',
			fields: { eventName: '__my_messages__', args: [ejson, { roomParticipant: true, roomType: room.t, ...(room.name ? { roomName: room.name } : {}) }] },
		});
		for (const socket of this.sockets) if (socket.subscribed) socket.send(frame);
	}

	private rest(message: RocketMessage): Record<string, unknown> {
		return { ...message, ts: new Date(message.ts).toISOString(), _updatedAt: new Date(message._updatedAt).toISOString() };
	}

	// ------------------------------------------------------------------------------------------
	// DDP

	private accept(ws: DdpSocket): void {
		this.sockets.add(ws);
		ws.on('close', () => this.sockets.delete(ws));
		let loggedIn = false;
		ws.on('message', (data) => {
			let frame: Record<string, unknown>;
			try {
				frame = JSON.parse(data.toString());
			} catch {
				return;
			}
			const send = (value: unknown) => ws.send(JSON.stringify(value));
			if (frame.msg === 'connect') return send({ msg: 'connected', session: rocketId() });
			if (frame.msg === 'ping') return send({ msg: 'pong' });
			if (frame.msg === 'method' && frame.method === 'login') {
				const resume = (Array.isArray(frame.params) ? (frame.params[0] as { resume?: unknown }) : undefined)?.resume;
				if (resume !== this.token) return send({ msg: 'result', id: frame.id, error: { isClientSafe: true, error: 403, reason: "You've been logged out by the server. Please log in again.", message: "You've been logged out by the server. Please log in again. [403]", errorType: 'Meteor.Error' } });
				loggedIn = true;
				// The server pings every so often; a client that does not answer is dropped.
				send({ msg: 'ping' });
				return send({ msg: 'result', id: frame.id, result: { id: this.bot._id, token: this.token, tokenExpires: { $date: Date.now() + 90 * 86_400_000 }, type: 'resume' } });
			}
			if (frame.msg === 'sub' && frame.name === 'stream-room-messages') {
				if (!loggedIn) return send({ msg: 'nosub', id: frame.id, error: { error: 'not-allowed', reason: 'Not allowed' } });
				ws.subscribed = true;
				this.subscriptions++;
				return send({ msg: 'ready', subs: [frame.id] });
			}
		});
	}

	// ------------------------------------------------------------------------------------------
	// REST

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.headers['x-auth-token'] !== this.token || request.headers['x-user-id'] !== this.bot._id) {
			return { status: 401, body: { status: 'error', message: 'You must be logged in to do this.' } };
		}
		const route = `${request.method} ${request.path.replace(/^\/api\/v1\//, '')}`;
		switch (route) {
			case 'GET me':
				return { status: 200, body: { _id: this.bot._id, username: this.bot.username, name: this.bot.name, roles: ['bot'], success: true } };
			case 'GET rooms.get': {
				const since = Date.parse(request.query.get('updatedSince') ?? '') || 0;
				const update = [...this.rooms.values()].filter((room) => room.updatedAt >= since).map((room) => ({ _id: room._id, t: room.t, ...(room.name ? { name: room.name } : {}), _updatedAt: new Date(room.updatedAt).toISOString() }));
				return { status: 200, body: { update, remove: [], success: true } };
			}
			case 'GET chat.syncMessages': {
				const roomId = request.query.get('roomId') ?? '';
				if (!this.rooms.has(roomId)) return failed(400, 'error-not-allowed');
				const since = Date.parse(request.query.get('lastUpdate') ?? '');
				if (!Number.isFinite(since)) return failed(400, 'The "lastUpdate" query parameter must be a valid date.');
				const updated = this.messages.filter((message) => message.rid === roomId && message._updatedAt >= since).map((message) => this.rest(message));
				return { status: 200, body: { result: { updated, deleted: [] }, success: true } };
			}
			case 'POST chat.sendMessage': {
				const wait = this.rateLimits.shift();
				if (wait !== undefined) {
					return { status: 429, headers: { 'x-ratelimit-reset': String(Date.now() + wait * 1000), 'retry-after': String(wait) }, body: { success: false, error: `Error, too many requests. Please slow down. You must wait ${wait} seconds before trying this endpoint again. [error-too-many-requests]` } };
				}
				const message = (request.body.message ?? {}) as { rid?: unknown; msg?: unknown; tmid?: unknown };
				const room = this.rooms.get(String(message.rid ?? ''));
				if (!room) return failed(400, 'error-invalid-room');
				const text = typeof message.msg === 'string' ? message.msg : '';
				if (text.length > 5000) return failed(400, 'error-message-size-exceeded');
				if (message.tmid !== undefined && !this.messages.some((candidate) => candidate._id === message.tmid)) return failed(400, 'error-invalid-message');
				const stored = this.store(this.bot, room, text, typeof message.tmid === 'string' ? message.tmid : undefined);
				// The bot receives its own messages on __my_messages__ too.
				this.stream(stored, room);
				return { status: 200, body: { message: this.rest(stored), success: true } };
			}
			case 'POST chat.update': {
				const message = this.messages.find((candidate) => candidate._id === request.body.msgId && candidate.rid === request.body.roomId);
				if (!message || message.u._id !== this.bot._id) return failed(400, 'error-action-not-allowed');
				message.msg = String(request.body.text ?? '');
				message.editedAt = message._updatedAt = this.now();
				return { status: 200, body: { message: this.rest(message), success: true } };
			}
			default:
				return { status: 404, body: { success: false, error: 'Not found' } };
		}
	}
}
