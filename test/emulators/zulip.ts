/**
 * A Zulip server's REST API on loopback, as much as a bot uses: HTTP Basic auth (email:API key),
 * event queues (`POST /register`, `GET /events` long polls whose last_event_id acknowledges and
 * drops older events, BAD_EVENT_QUEUE_ID for unknown or expired queues, heartbeats), messages
 * (stream with topic, or direct), edits, typing, `/users/me`, and RATE_LIMIT_HIT 429s. Written
 * from https://zulip.com/api/.
 */
import { randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface ZulipUser {
	user_id: number;
	email: string;
	full_name: string;
}

interface Queue {
	id: string;
	nextEventId: number;
	events: Array<Record<string, unknown>>;
	waiting: Set<() => void>;
}

export interface ZulipStoredMessage {
	id: number;
	type: 'stream' | 'private';
	sender_id: number;
	content: string;
	stream_id?: number;
	topic?: string;
	/** User IDs of a direct message, the bot included. */
	recipients?: number[];
}

const ok = (body: Record<string, unknown> = {}): EmulatorReply => ({ status: 200, body: { result: 'success', msg: '', ...body } });
const fail = (status: number, code: string, msg: string, extra: Record<string, unknown> = {}): EmulatorReply => ({ status, body: { result: 'error', code, msg, ...extra } });

export class ZulipEmulator {
	readonly server: EmulatorServer;
	readonly apiKey = randomBytes(16).toString('hex');
	readonly bot: ZulipUser = { user_id: 100, email: 'clawbot-bot@zulip.test', full_name: 'Clawbot' };
	readonly people: Record<string, ZulipUser> = {
		ada: { user_id: 8, email: 'ada@zulip.test', full_name: 'Ada Lovelace' },
		eve: { user_id: 9, email: 'eve@zulip.test', full_name: 'Eve' },
		deploy: { user_id: 50, email: 'deploy-bot@zulip.test', full_name: 'Deploy' },
	};
	readonly streams: Record<string, number> = { general: 12 };
	readonly queues = new Map<string, Queue>();
	readonly messages: ZulipStoredMessage[] = [];
	readonly typing: Array<Record<string, unknown>> = [];
	/** Long polls open right now. */
	openPolls = 0;
	private nextMessageId = 1000;
	private rateLimits: number[] = [];
	/** How long GET /events waits before a heartbeat. */
	heartbeatMs = 20_000;

	constructor() {
		this.server = new EmulatorServer('Zulip', (request, connection) => this.handle(request, connection.closed));
	}

	get baseUrl(): string {
		return this.server.url;
	}

	async start(): Promise<string> {
		return await this.server.start();
	}

	async stop(): Promise<void> {
		for (const queue of this.queues.values()) for (const wake of queue.waiting) wake();
		await this.server.stop();
	}

	credential(): { baseUrl: string; email: string; apiKey: string } {
		return { baseUrl: this.baseUrl, email: this.bot.email, apiKey: this.apiKey };
	}

	/** Zulip forgets queues nobody polled for ten minutes; this forgets them all now. */
	expireQueues(): void {
		this.queues.clear();
	}

	dm(from: ZulipUser, content: string): ZulipStoredMessage {
		return this.post({ type: 'private', sender_id: from.user_id, content, recipients: [from.user_id, this.bot.user_id] });
	}

	streamMessage(from: ZulipUser, content: string, { topic = 'lunch', mention = false, stream = 'general' } = {}): ZulipStoredMessage {
		return this.post({ type: 'stream', sender_id: from.user_id, content: mention ? `@**${this.bot.full_name}** ${content}` : content, stream_id: this.streams[stream], topic });
	}

	/** What the bot sent to a chat: a stream ID (any topic) or the other person's user ID. */
	textsTo(chatId: string): string[] {
		return this.messages
			.filter((message) => message.sender_id === this.bot.user_id)
			.filter((message) => (message.type === 'stream' ? String(message.stream_id) === chatId : message.recipients!.filter((id) => id !== this.bot.user_id).join(',') === chatId))
			.map((message) => message.content);
	}

	rateLimitNextSend(seconds: number): void {
		this.rateLimits.push(seconds);
	}

	private userById(id: number): ZulipUser {
		return [this.bot, ...Object.values(this.people)].find((user) => user.user_id === id) ?? { user_id: id, email: `user${id}@zulip.test`, full_name: `User ${id}` };
	}

	/** The `message` event Zulip queues for a message, as GET /events returns it (`id` is the queue's). */
	eventOf(message: ZulipStoredMessage): Record<string, unknown> {
		const sender = this.userById(message.sender_id);
		const wire = {
			id: message.id,
			type: message.type,
			sender_id: sender.user_id,
			sender_email: sender.email,
			sender_full_name: sender.full_name,
			content: message.content,
			content_type: 'text/x-markdown',
			timestamp: Math.floor(Date.now() / 1000),
			client: 'website',
			is_me_message: false,
			reactions: [],
			submessages: [],
			...(message.type === 'stream'
				? { stream_id: message.stream_id, display_recipient: Object.keys(this.streams).find((name) => this.streams[name] === message.stream_id), subject: message.topic, topic_links: [] }
				: { display_recipient: message.recipients!.map((id) => ({ id, email: this.userById(id).email, full_name: this.userById(id).full_name, is_mirror_dummy: false })), subject: '' }),
		};
		return { type: 'message', id: 0, message: wire, flags: message.content.includes(`@**${this.bot.full_name}**`) ? ['mentioned'] : [] };
	}

	private post(partial: Omit<ZulipStoredMessage, 'id'>): ZulipStoredMessage {
		const message: ZulipStoredMessage = { id: this.nextMessageId++, ...partial };
		this.messages.push(message);
		const event = this.eventOf(message);
		for (const queue of this.queues.values()) {
			queue.events.push({ ...event, id: queue.nextEventId++ });
			for (const wake of [...queue.waiting]) wake();
		}
		return message;
	}

	private async handle(request: RecordedRequest, closed: AbortSignal): Promise<EmulatorReply> {
		const expected = `Basic ${Buffer.from(`${this.bot.email}:${this.apiKey}`).toString('base64')}`;
		if (request.headers.authorization !== expected) return fail(401, 'UNAUTHORIZED', 'Invalid API key');
		const params = { ...Object.fromEntries(request.query), ...request.body } as Record<string, string>;
		const route = `${request.method} ${request.path.replace(/^\/api\/v1/, '')}`;
		let match: RegExpExecArray | null;
		if (route === 'GET /users/me') return ok({ user_id: this.bot.user_id, email: this.bot.email, full_name: this.bot.full_name, is_bot: true });
		if (route === 'POST /register') {
			const id = `${Date.now()}:${randomBytes(3).toString('hex')}`;
			this.queues.set(id, { id, nextEventId: 0, events: [], waiting: new Set() });
			return ok({ queue_id: id, last_event_id: -1, zulip_feature_level: 300 });
		}
		if (route === 'GET /events') return await this.events(params, closed);
		if (route === 'POST /messages') return this.send(params);
		if ((match = /^PATCH \/messages\/(\d+)$/.exec(route))) {
			const message = this.messages.find((candidate) => candidate.id === Number(match![1]));
			if (!message || message.sender_id !== this.bot.user_id) return fail(400, 'BAD_REQUEST', "You don't have permission to edit this message");
			message.content = params.content;
			return ok();
		}
		if (route === 'POST /typing') {
			this.typing.push(params);
			return ok();
		}
		return fail(404, 'BAD_REQUEST', 'Endpoint not found');
	}

	private async events(params: Record<string, string>, closed: AbortSignal): Promise<EmulatorReply> {
		const queue = this.queues.get(params.queue_id ?? '');
		if (!queue) return fail(400, 'BAD_EVENT_QUEUE_ID', `Bad event queue ID: ${params.queue_id}`, { queue_id: params.queue_id });
		// last_event_id acknowledges: Zulip drops what came before it.
		const acknowledged = Number(params.last_event_id ?? -1);
		queue.events = queue.events.filter((event) => (event.id as number) > acknowledged);
		if (queue.events.length === 0 && params.dont_block !== 'true') {
			this.openPolls++;
			await new Promise<void>((resolve) => {
				const done = () => {
					clearTimeout(timer);
					queue.waiting.delete(done);
					closed.removeEventListener('abort', done);
					resolve();
				};
				const timer = setTimeout(done, this.heartbeatMs);
				queue.waiting.add(done);
				closed.addEventListener('abort', done);
			});
			this.openPolls--;
		}
		if (queue.events.length > 0) return ok({ events: queue.events, queue_id: queue.id });
		return ok({ events: [{ type: 'heartbeat', id: queue.nextEventId++ }], queue_id: queue.id });
	}

	private send(params: Record<string, string>): EmulatorReply {
		const limit = this.rateLimits.shift();
		if (limit !== undefined) return { status: 429, headers: { 'retry-after': String(limit) }, body: { result: 'error', code: 'RATE_LIMIT_HIT', msg: 'API usage exceeded rate limit', 'retry-after': limit } };
		if (!params.content) return fail(400, 'BAD_REQUEST', 'Message must not be empty');
		let to: unknown;
		try {
			to = JSON.parse(params.to);
		} catch {
			to = params.to;
		}
		if (params.type === 'stream') {
			const streamId = typeof to === 'number' ? to : this.streams[String(to)];
			if (!Object.values(this.streams).includes(streamId)) return fail(400, 'STREAM_DOES_NOT_EXIST', `Stream '${String(to)}' does not exist`);
			if (params.topic === undefined) return fail(400, 'BAD_REQUEST', 'Missing topic');
			return ok({ id: this.post({ type: 'stream', sender_id: this.bot.user_id, content: params.content, stream_id: streamId, topic: params.topic }).id });
		}
		if ((params.type === 'private' || params.type === 'direct') && Array.isArray(to) && to.every((id) => typeof id === 'number')) {
			return ok({ id: this.post({ type: 'private', sender_id: this.bot.user_id, content: params.content, recipients: [...new Set([...(to as number[]), this.bot.user_id])] }).id });
		}
		return fail(400, 'BAD_REQUEST', 'Invalid message type or recipients');
	}
}
