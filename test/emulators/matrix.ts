/**
 * A Matrix homeserver's client-server API on loopback, as much as a bot uses: `/sync` long polls
 * with stream tokens (history on the first sync, then only newer events, held open up to
 * `timeout`), room messages with transaction IDs (the same txnId gives the same event), typing,
 * whoami, profile, m.direct account data, joined members, joins of invites, and
 * `M_LIMIT_EXCEEDED` 429s. Written from the spec (https://spec.matrix.org/latest/client-server-api/).
 */
import { randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface MatrixRoom {
	id: string;
	members: Set<string>;
	encrypted: boolean;
}

interface StreamEvent {
	position: number;
	roomId: string;
	event: Record<string, unknown>;
}

export interface MatrixSent {
	roomId: string;
	txnId: string;
	eventId: string;
	content: Record<string, unknown>;
}

const json = (status: number, body: unknown): EmulatorReply => ({ status, body });
const error = (status: number, errcode: string, message: string, extra: Record<string, unknown> = {}) => json(status, { errcode, error: message, ...extra });

export class MatrixEmulator {
	readonly server: EmulatorServer;
	readonly accessToken = `syt_${randomBytes(16).toString('base64url')}`;
	readonly botUserId = '@clawbot:localhost';
	readonly displayName = 'Clawbot';
	readonly rooms = new Map<string, MatrixRoom>();
	/** Pending invites and the stream position each was made at (a sync reports an invite once). */
	readonly invites = new Map<string, number>();
	readonly direct: Record<string, string[]> = {};
	readonly sent: MatrixSent[] = [];
	readonly typing: Array<{ roomId: string; userId: string; typing: boolean }> = [];
	private readonly stream: StreamEvent[] = [];
	private position = 1;
	private readonly waiting = new Set<() => void>();
	/** Long polls open right now (a sync the client has not hung up). */
	openPolls = 0;
	private rateLimits: number[] = [];
	private loseNextSendAnswer = false;
	private failingSyncs = 0;

	constructor() {
		this.server = new EmulatorServer('Matrix', (request, connection) => this.handle(request, connection.closed));
	}

	get baseUrl(): string {
		return this.server.url;
	}

	async start(): Promise<string> {
		return await this.server.start();
	}

	async stop(): Promise<void> {
		for (const wake of this.waiting) wake();
		await this.server.stop();
	}

	credential(): { baseUrl: string; accessToken: string } {
		return { baseUrl: this.baseUrl, accessToken: this.accessToken };
	}

	createRoom({ members, direct = false, encrypted = false }: { members: string[]; direct?: boolean; encrypted?: boolean }): string {
		const id = `!${randomBytes(9).toString('base64url')}:localhost`;
		this.rooms.set(id, { id, members: new Set([this.botUserId, ...members]), encrypted });
		if (direct) (this.direct[members[0]] ??= []).push(id);
		return id;
	}

	invite(roomId: string): void {
		this.invites.set(roomId, this.position++);
		this.wake();
	}

	/** A person writes in a room: the event joins the stream and waiting syncs answer. */
	say(roomId: string, sender: string, body: string, content: Record<string, unknown> = {}): Record<string, unknown> {
		const room = this.rooms.get(roomId);
		if (!room) throw new Error(`No room ${roomId}`);
		const event = room.encrypted
			? { type: 'm.room.encrypted', content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: randomBytes(24).toString('base64'), session_id: 'x', device_id: 'DEV' } }
			: { type: 'm.room.message', content: { msgtype: 'm.text', body, ...content } };
		return this.append(roomId, sender, event);
	}

	textsIn(roomId: string): string[] {
		return this.sent.filter((sent) => sent.roomId === roomId && !(sent.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type?.includes('replace')).map((sent) => String(sent.content.body));
	}

	rateLimitNextSend(seconds: number): void {
		this.rateLimits.push(seconds);
	}

	/** The next `count` syncs are answered 502, as a homeserver behind a restarting proxy. */
	failNextSyncs(count: number): void {
		this.failingSyncs = count;
	}

	/** The next send is stored, but its answer is a 502: the client cannot know it arrived. */
	loseNextAnswer(): void {
		this.loseNextSendAnswer = true;
	}

	private append(roomId: string, sender: string, partial: Record<string, unknown>): Record<string, unknown> {
		const event = { ...partial, event_id: `$${randomBytes(12).toString('base64url')}`, sender, origin_server_ts: Date.now(), room_id: roomId };
		this.stream.push({ position: this.position++, roomId, event });
		this.wake();
		return event;
	}

	private wake(): void {
		for (const wake of [...this.waiting]) wake();
	}

	private async handle(request: RecordedRequest, closed: AbortSignal): Promise<EmulatorReply> {
		if (request.headers.authorization !== `Bearer ${this.accessToken}`) return error(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', { soft_logout: false });
		const path = decodeURIComponent(request.path.replace(/^\/_matrix\/client\/v3/, ''));
		let match: RegExpExecArray | null;
		if (path === '/account/whoami') return json(200, { user_id: this.botUserId, device_id: 'CLAWGATE' });
		if ((match = /^\/profile\/([^/]+)\/displayname$/.exec(path))) return match[1] === this.botUserId ? json(200, { displayname: this.displayName }) : error(404, 'M_NOT_FOUND', 'Profile not found');
		if (path === `/user/${this.botUserId}/account_data/m.direct`) return Object.keys(this.direct).length ? json(200, this.direct) : error(404, 'M_NOT_FOUND', 'Account data not found');
		if (path === '/sync' && this.failingSyncs > 0) {
			this.failingSyncs--;
			return { status: 502, body: '<html>Bad Gateway</html>' };
		}
		if (path === '/sync') return await this.sync(request, closed);
		if ((match = /^\/join\/(.+)$/.exec(path)) && request.method === 'POST') {
			const room = this.rooms.get(match[1]);
			if (!room || !this.invites.delete(room.id)) return error(403, 'M_FORBIDDEN', 'You are not invited to this room.');
			room.members.add(this.botUserId);
			return json(200, { room_id: room.id });
		}
		if ((match = /^\/rooms\/([^/]+)\/(.+)$/.exec(path))) {
			const room = this.rooms.get(match[1]);
			if (!room || !room.members.has(this.botUserId)) return error(403, 'M_FORBIDDEN', `User ${this.botUserId} not in room ${match[1]}`);
			return this.roomCall(room, match[2], request);
		}
		return error(404, 'M_UNRECOGNIZED', 'Unrecognized request');
	}

	private roomCall(room: MatrixRoom, rest: string, request: RecordedRequest): EmulatorReply {
		let match: RegExpExecArray | null;
		if (rest === 'joined_members') return json(200, { joined: Object.fromEntries([...room.members].map((member) => [member, { display_name: member }])) });
		if ((match = /^typing\/(.+)$/.exec(rest)) && request.method === 'PUT') {
			this.typing.push({ roomId: room.id, userId: match[1], typing: request.body.typing === true });
			return json(200, {});
		}
		if ((match = /^send\/m\.room\.message\/(.+)$/.exec(rest)) && request.method === 'PUT') {
			const limit = this.rateLimits.shift();
			if (limit !== undefined) return { status: 429, headers: { 'retry-after': String(limit) }, body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: limit * 1000 } };
			const txnId = match[1];
			// Idempotency: the same transaction ID (per access token) is the same event.
			const earlier = this.sent.find((sent) => sent.txnId === txnId);
			if (earlier) return json(200, { event_id: earlier.eventId });
			if (typeof request.body.body !== 'string' || typeof request.body.msgtype !== 'string') return error(400, 'M_BAD_JSON', 'body and msgtype are required');
			const event = this.append(room.id, this.botUserId, { type: 'm.room.message', content: request.body });
			this.sent.push({ roomId: room.id, txnId, eventId: String(event.event_id), content: request.body });
			if (this.loseNextSendAnswer) {
				this.loseNextSendAnswer = false;
				return { status: 502, body: '<html>Bad Gateway</html>' };
			}
			return json(200, { event_id: event.event_id });
		}
		return error(404, 'M_UNRECOGNIZED', 'Unrecognized request');
	}

	private async sync(request: RecordedRequest, closed: AbortSignal): Promise<EmulatorReply> {
		const since = request.query.get('since');
		const from = since ? Number(since.replace(/^s/, '')) : 0;
		if (since && !Number.isInteger(from)) return error(400, 'M_INVALID_PARAM', 'Invalid since token');
		const timeout = Math.min(Number(request.query.get('timeout') ?? 0), 60_000);
		const newer = () => this.stream.filter((entry) => entry.position > from);
		if (since && newer().length === 0 && ![...this.invites.values()].some((at) => at > from) && timeout > 0) {
			this.openPolls++;
			await new Promise<void>((resolve) => {
				const done = () => {
					clearTimeout(timer);
					this.waiting.delete(done);
					closed.removeEventListener('abort', done);
					resolve();
				};
				const timer = setTimeout(done, timeout);
				this.waiting.add(done);
				closed.addEventListener('abort', done);
			});
			this.openPolls--;
		}
		const events = newer();
		const join: Record<string, unknown> = {};
		for (const { roomId, event } of events) {
			const room = this.rooms.get(roomId)!;
			if (!room.members.has(this.botUserId)) continue;
			const entry = (join[roomId] ??= { summary: { 'm.joined_member_count': room.members.size }, timeline: { events: [], limited: false, prev_batch: `s${from}` } }) as { timeline: { events: unknown[] } };
			// /sync leaves room_id out of timeline events: the room is the key they are under.
			const withoutRoom: Record<string, unknown> = { ...event };
			delete withoutRoom.room_id;
			entry.timeline.events.push(withoutRoom);
		}
		const invite = Object.fromEntries([...this.invites].filter(([, at]) => at > from).map(([roomId]) => [roomId, { invite_state: { events: [{ type: 'm.room.member', state_key: this.botUserId, content: { membership: 'invite' }, sender: '@ada:localhost' }] } }]));
		return json(200, {
			next_batch: `s${this.position - 1}`,
			account_data: { events: since ? [] : [{ type: 'm.direct', content: this.direct }] },
			rooms: { join, invite, leave: {} },
		});
	}
}
