/**
 * A Mattermost server on loopback, written from the API v4 reference
 * (https://developers.mattermost.com/api-documentation/) and the WebSocket docs
 * (https://developers.mattermost.com/integrate/reference/websocket/):
 * - REST with `Authorization: Bearer <token>`: users/me, the bot's channels across teams, a
 *   channel's posts `?since=`, create a post (root_id for threads), patch a post, typing; errors
 *   as `{ id, message, status_code }`, 429 with Retry-After;
 * - `/api/v4/websocket` on the same port: `authentication_challenge` answered `{ status, seq_reply }`,
 *   then `hello`, and a `posted` event per new post in the bot's channels, whose `data.post` (and
 *   `data.mentions`) are JSON strings, as the server sends them.
 * People post through `say`; a post made while no socket is connected is only stored, as the
 * server stores what a disconnected client misses.
 */
import { randomBytes } from 'node:crypto';

import { WebSocketServer, type WebSocket } from 'ws';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface MattermostUser {
	id: string;
	username: string;
	isBot?: boolean;
}

export interface MattermostChannel {
	id: string;
	type: 'D' | 'G' | 'O' | 'P';
	name: string;
	display_name: string;
	last_post_at: number;
}

export type MattermostPostRecord = Record<string, unknown> & { id: string; channel_id: string; user_id: string; message: string; root_id: string; create_at: number };

/** Mattermost IDs: 26 lower-case base32 characters. */
export function mattermostId(): string {
	const alphabet = 'abcdefghijkmnopqrstuwxyz13456789';
	return Array.from(randomBytes(26), (byte) => alphabet[byte % 32]).join('');
}

const mmError = (status: number, id: string, message: string): EmulatorReply => ({ status, body: { id, message, detailed_error: '', request_id: mattermostId(), status_code: status } });

export class MattermostEmulator {
	readonly server: EmulatorServer;
	readonly token = mattermostId();
	readonly bot: MattermostUser = { id: mattermostId(), username: 'clawgate', isBot: true };
	readonly channels = new Map<string, MattermostChannel>();
	readonly posts: MattermostPostRecord[] = [];
	readonly typing: Array<{ channelId: string; parentId: string | null }> = [];
	/** Everyone who can post, by ID (the bot too). */
	readonly users = new Map<string, MattermostUser>([[this.bot.id, this.bot]]);
	private readonly wss = new WebSocketServer({ noServer: true });
	private readonly sockets = new Set<WebSocket>();
	private rateLimits: number[] = [];
	private seq = 1;
	private lastTime = 0;

	constructor() {
		this.server = new EmulatorServer('Mattermost', (request) => this.handle(request));
		this.server.onUpgrade((request, socket, head) => {
			if (!request.url?.startsWith('/api/v4/websocket')) return false;
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
		return { baseUrl: this.baseUrl, botToken: this.token };
	}

	/** Authenticated WebSocket connections open now. */
	get openSockets(): number {
		return [...this.sockets].filter((socket) => (socket as WebSocket & { authenticated?: boolean }).authenticated).length;
	}

	/** Every WebSocket connection ever authenticated. */
	connections = 0;

	/** Ends every WebSocket connection, as a server restart or a proxy timeout does. */
	dropConnections(): void {
		for (const socket of this.sockets) socket.terminate();
	}

	rateLimitNext(seconds: number): void {
		this.rateLimits.push(seconds);
	}

	calls(method: string, path: string | RegExp): RecordedRequest[] {
		return this.server.matching((request) => request.method === method && (typeof path === 'string' ? request.path === path : path.test(request.path)));
	}

	/** Posts in a channel (by anyone), oldest first. */
	postsIn(channelId: string, { byBot }: { byBot?: boolean } = {}): MattermostPostRecord[] {
		return this.posts.filter((post) => post.channel_id === channelId && (byBot === undefined || (post.user_id === this.bot.id) === byBot));
	}

	botTextsIn(channelId: string): string[] {
		return this.postsIn(channelId, { byBot: true }).map((post) => post.message);
	}

	// ------------------------------------------------------------------------------------------
	// People and channels

	/** The direct channel of the bot with a person (created on first use), as Mattermost names it. */
	dmWith(person: MattermostUser): MattermostChannel {
		const name = [this.bot.id, person.id].sort().join('__');
		const existing = [...this.channels.values()].find((channel) => channel.name === name);
		if (existing) return existing;
		const channel: MattermostChannel = { id: mattermostId(), type: 'D', name, display_name: person.username, last_post_at: 0 };
		this.channels.set(channel.id, channel);
		return channel;
	}

	openChannel(displayName = 'Town Square'): MattermostChannel {
		const channel: MattermostChannel = { id: mattermostId(), type: 'O', name: displayName.toLowerCase().replace(/\W+/g, '-'), display_name: displayName, last_post_at: 0 };
		this.channels.set(channel.id, channel);
		return channel;
	}

	person(username: string, isBot = false): MattermostUser {
		const user = { id: mattermostId(), username, isBot };
		this.users.set(user.id, user);
		return user;
	}

	/** A post by someone: stored, and sent as a `posted` event to every connected socket. */
	say(from: MattermostUser, channel: MattermostChannel, text: string, { rootId = '' }: { rootId?: string } = {}): MattermostPostRecord {
		const post = this.createPost(from, channel, text, rootId);
		this.broadcastPosted(post, from);
		return post;
	}

	/** A post event sent again to the sockets (a server replaying after a network blip). */
	replay(post: MattermostPostRecord, from: MattermostUser): void {
		this.broadcastPosted(post, from);
	}

	private now(): number {
		// Strictly increasing, like posts created one after another on a real server.
		this.lastTime = Math.max(Date.now(), this.lastTime + 1);
		return this.lastTime;
	}

	private createPost(from: MattermostUser, channel: MattermostChannel, text: string, rootId: string): MattermostPostRecord {
		const at = this.now();
		const post: MattermostPostRecord = {
			id: mattermostId(),
			create_at: at,
			update_at: at,
			edit_at: 0,
			delete_at: 0,
			is_pinned: false,
			user_id: from.id,
			channel_id: channel.id,
			root_id: rootId,
			original_id: '',
			message: text,
			type: '',
			props: from.isBot ? { from_bot: 'true' } : {},
			hashtags: '',
			pending_post_id: '',
			reply_count: 0,
			metadata: {},
		};
		this.posts.push(post);
		channel.last_post_at = at;
		return post;
	}

	private broadcastPosted(post: MattermostPostRecord, from: MattermostUser): void {
		const channel = this.channels.get(post.channel_id)!;
		const mentions = post.message.includes(`@${this.bot.username}`) && from.id !== this.bot.id ? [this.bot.id] : [];
		const event = {
			event: 'posted',
			data: {
				channel_display_name: channel.type === 'D' ? `@${from.username}` : channel.display_name,
				channel_name: channel.name,
				channel_type: channel.type,
				...(mentions.length > 0 ? { mentions: JSON.stringify(mentions) } : {}),
				post: JSON.stringify(post),
				sender_name: `@${from.username}`,
				set_online: true,
				team_id: channel.type === 'D' ? '' : 'team0clawgate0000000000000',
			},
			broadcast: { omit_users: null, user_id: '', channel_id: channel.id, team_id: '' },
		};
		for (const socket of this.sockets) {
			if ((socket as WebSocket & { authenticated?: boolean }).authenticated) socket.send(JSON.stringify({ ...event, seq: this.seq++ }));
		}
	}

	// ------------------------------------------------------------------------------------------
	// WebSocket

	private accept(ws: WebSocket): void {
		this.sockets.add(ws);
		ws.on('close', () => this.sockets.delete(ws));
		ws.on('message', (data) => {
			let frame: Record<string, unknown>;
			try {
				frame = JSON.parse(data.toString());
			} catch {
				return;
			}
			if (frame.action !== 'authentication_challenge') return;
			const token = (frame.data as { token?: unknown } | undefined)?.token;
			if (token !== this.token) {
				ws.send(JSON.stringify({ status: 'FAIL', seq_reply: frame.seq, error: { id: 'api.web_socket_router.not_authenticated.app_error', message: 'Invalid or expired session.' } }));
				ws.close();
				return;
			}
			(ws as WebSocket & { authenticated?: boolean }).authenticated = true;
			this.connections++;
			ws.send(JSON.stringify({ status: 'OK', seq_reply: frame.seq }));
			ws.send(JSON.stringify({ event: 'hello', data: { connection_id: mattermostId(), server_version: '10.5.0' }, broadcast: { user_id: this.bot.id }, seq: 0 }));
		});
	}

	// ------------------------------------------------------------------------------------------
	// REST

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.headers.authorization !== `Bearer ${this.token}`) return mmError(401, 'api.context.session_expired.app_error', 'Invalid or expired session, please login again.');
		const route = `${request.method} ${request.path}`;
		if (route === 'GET /api/v4/users/me') return { status: 200, body: { id: this.bot.id, username: this.bot.username, is_bot: true, roles: 'system_user' } };
		if (route === 'POST /api/v4/users/ids') {
			const ids: unknown[] = Array.isArray(request.body) ? (request.body as unknown[]) : [];
			return { status: 200, body: ids.flatMap((id) => (this.users.has(String(id)) ? [{ id, username: this.users.get(String(id))!.username, is_bot: this.users.get(String(id))!.isBot === true }] : [])) };
		}
		if (route === `GET /api/v4/users/${this.bot.id}/channels`) return { status: 200, body: [...this.channels.values()].map((channel) => ({ ...channel, team_id: '' })) };
		const channelPosts = /^GET \/api\/v4\/channels\/([a-z0-9]{26})\/posts$/.exec(route);
		if (channelPosts) {
			if (!this.channels.has(channelPosts[1])) return mmError(404, 'app.channel.get.existing.app_error', 'Unable to find the existing channel.');
			const since = Number(request.query.get('since') ?? 0);
			const posts = this.postsIn(channelPosts[1]).filter((post) => Number(post.update_at) >= since);
			return { status: 200, body: { order: posts.map((post) => post.id).reverse(), posts: Object.fromEntries(posts.map((post) => [post.id, post])), next_post_id: '', prev_post_id: '' } };
		}
		if (route === 'POST /api/v4/posts') {
			const wait = this.rateLimits.shift();
			if (wait !== undefined) return { status: 429, headers: { 'retry-after': String(wait), 'x-ratelimit-reset': String(wait) }, body: { id: 'api.context.rate_limit.app_error', message: 'limit exceeded', status_code: 429 } };
			const channel = this.channels.get(String(request.body.channel_id ?? ''));
			if (!channel) return mmError(403, 'api.context.permissions.app_error', 'You do not have the appropriate permissions.');
			const text = typeof request.body.message === 'string' ? request.body.message : '';
			if (text.length > 16_383) return mmError(400, 'model.post.is_valid.msg.app_error', 'Invalid Message.');
			const rootId = typeof request.body.root_id === 'string' ? request.body.root_id : '';
			if (rootId && !this.posts.some((post) => post.id === rootId && post.root_id === '')) return mmError(400, 'api.post.create_post.root_id.app_error', 'Invalid RootId parameter.');
			const post = this.createPost(this.bot, channel, text, rootId);
			// The server sends the bot its own posts too.
			this.broadcastPosted(post, this.bot);
			return { status: 201, body: post };
		}
		const patch = /^PUT \/api\/v4\/posts\/([a-z0-9]{26})\/patch$/.exec(route);
		if (patch) {
			const post = this.posts.find((candidate) => candidate.id === patch[1]);
			if (!post) return mmError(404, 'app.post.get.app_error', 'Unable to get the post.');
			if (post.user_id !== this.bot.id) return mmError(403, 'api.context.permissions.app_error', 'You do not have the appropriate permissions.');
			post.message = String(request.body.message ?? post.message);
			post.edit_at = post.update_at = this.now();
			return { status: 200, body: post };
		}
		if (route === 'POST /api/v4/users/me/typing') {
			this.typing.push({ channelId: String(request.body.channel_id ?? ''), parentId: typeof request.body.parent_id === 'string' ? request.body.parent_id : null });
			return { status: 200, body: { status: 'OK' } };
		}
		return mmError(404, 'api.context.404.app_error', 'Sorry, we could not find the page.');
	}
}
