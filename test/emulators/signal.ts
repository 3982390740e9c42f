/**
 * signal-cli-rest-api (bbernhard) on loopback: `POST /v2/send`, the typing indicator,
 * `GET /v1/accounts`, `GET /v1/about`, and `/v1/receive/<number>` as the container's MODE has it:
 * - json-rpc: a WebSocket on the same port, which forwards each received envelope as one text
 *   frame ({ envelope, account }). Like the real API it keeps nothing for a client that is not
 *   connected: a message received meanwhile is gone (`dropped`).
 * - normal / native: a GET that runs `signal-cli receive`. Signal's servers keep each envelope until
 *   a receive takes it; a receive answers the JSON array of what it took once `timeout` seconds pass
 *   without a new envelope, or `max_messages` came. One receive runs at a time (signal-cli locks the
 *   account). A receive whose client hung up still takes envelopes until it ends, as the real
 *   signal-cli process does, and they are lost (`dropped`).
 * Written from https://bbernhard.github.io/signal-cli-rest-api/, the API's src/api/api.go and
 * signal-cli's JSON output and receive loop.
 */
import { randomUUID } from 'node:crypto';

import { WebSocketServer, type WebSocket } from 'ws';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export type SignalApiMode = 'json-rpc' | 'normal' | 'native';

export interface SignalPerson {
	number: string;
	uuid: string;
	name: string;
}

export interface SignalSent {
	message: string;
	recipients: string[];
	quoteTimestamp: number | null;
	quoteAuthor: string | null;
	timestamp: number;
}

export class SignalEmulator {
	readonly server: EmulatorServer;
	/** The Signal number registered on this signal-cli-rest-api. */
	readonly account: string;
	readonly people: Record<'ada' | 'eve', SignalPerson> = {
		ada: { number: '+4915100000042', uuid: randomUUID(), name: 'Ada' },
		eve: { number: '+4915100000666', uuid: randomUUID(), name: 'Eve' },
	};
	/** A group as signal-cli names it inside envelopes (the API's group.<base64> wraps this). */
	readonly groupInternalId = 'Y2xhd2dhdGUtZ3JvdXAtaWQtMDAwMDAwMDAwMDA=';
	readonly sent: SignalSent[] = [];
	readonly typing: Array<{ recipient: string }> = [];
	/** Envelopes that reached nobody: no WebSocket connected (json-rpc), or taken by a receive whose client hung up (normal, native). */
	dropped = 0;
	/** Envelopes Signal's servers keep until a receive takes them (normal, native). */
	readonly queued: Record<string, unknown>[] = [];
	/** Receives running now, also those whose client hung up. */
	openPolls = 0;
	private wss: WebSocketServer | null = null;
	private clock = Date.now();
	private rateLimits: number[] = [];
	private arrivals = new Set<() => void>();
	private receiving: Promise<void> = Promise.resolve();
	private stopped = false;
	private failingReceives = 0;

	constructor(
		readonly mode: SignalApiMode = 'json-rpc',
		{ account = '+4915100000001' }: { account?: string } = {},
	) {
		this.account = account;
		this.server = new EmulatorServer(`signal-cli-rest-api (${mode})`, (request, connection) => this.handle(request, connection));
	}

	get polls(): boolean {
		return this.mode !== 'json-rpc';
	}

	get baseUrl(): string {
		return this.server.url;
	}

	/** The API's name of the group, as /v2/send recipients take it. */
	get groupRecipient(): string {
		return `group.${Buffer.from(this.groupInternalId).toString('base64')}`;
	}

	async start(): Promise<void> {
		await this.server.start();
		this.wss = new WebSocketServer({ noServer: true });
		this.server.onUpgrade((request, socket, head) => {
			// In normal and native mode /v1/receive is a plain GET: the handshake fails.
			if (this.polls || request.url !== `/v1/receive/${encodeURIComponent(this.account)}`) return false;
			this.wss!.handleUpgrade(request, socket, head, (client) => this.wss!.emit('connection', client, request));
			return true;
		});
	}

	async stop(): Promise<void> {
		this.stopped = true;
		for (const wake of [...this.arrivals]) wake();
		for (const socket of this.wss?.clients ?? []) socket.terminate();
		await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
		await this.server.stop();
	}

	credential(): { baseUrl: string; account: string } {
		return { baseUrl: this.baseUrl, account: this.account };
	}

	get openSockets(): number {
		return [...(this.wss?.clients ?? [])].filter((socket: WebSocket) => socket.readyState === socket.OPEN).length;
	}

	/** Drops every open receive socket, as a restarting container does. */
	dropConnections(): void {
		for (const socket of this.wss?.clients ?? []) socket.terminate();
	}

	private nextTimestamp(): number {
		this.clock = Math.max(this.clock + 1, Date.now());
		return this.clock;
	}

	/**
	 * The frame for a data message from `from`; a group message when `group`, mentioning the bot when
	 * `mention`; stamped `sentAt` (the sender's clock, which names the message) or by this emulator's clock.
	 */
	envelope(
		from: SignalPerson,
		text: string,
		{ group = false, mention = false, quote, sentAt }: { group?: boolean; mention?: boolean; quote?: { timestamp: number; author: string }; sentAt?: number } = {},
	): Record<string, unknown> {
		const timestamp = sentAt ?? this.nextTimestamp();
		const message = mention ? `\uFFFC ${text}` : text;
		return {
			envelope: {
				source: from.number,
				sourceNumber: from.number,
				sourceUuid: from.uuid,
				sourceName: from.name,
				sourceDevice: 1,
				timestamp,
				serverReceivedTimestamp: timestamp + 5,
				serverDeliveredTimestamp: timestamp + 9,
				dataMessage: {
					timestamp,
					message,
					expiresInSeconds: 0,
					viewOnce: false,
					...(mention ? { mentions: [{ name: this.account, number: this.account, uuid: randomUUID(), start: 0, length: 1 }] } : {}),
					...(group ? { groupInfo: { groupId: this.groupInternalId, groupName: 'Makers', revision: 3, type: 'DELIVER' } } : {}),
					...(quote ? { quote: { id: quote.timestamp, author: quote.author, authorNumber: quote.author, authorUuid: randomUUID(), text: 'earlier', attachments: [] } } : {}),
				},
			},
			account: this.account,
		};
	}

	/**
	 * A frame arriving from Signal: in json-rpc mode pushed to every connected receive socket (without
	 * one it is lost, as in the real API); in normal and native mode kept until a receive takes it.
	 */
	receive(frame: Record<string, unknown>): Record<string, unknown> {
		if (this.polls) {
			this.queued.push(frame);
			for (const wake of [...this.arrivals]) wake();
			return frame;
		}
		const clients = [...(this.wss?.clients ?? [])].filter((socket) => socket.readyState === socket.OPEN);
		if (clients.length === 0) this.dropped++;
		for (const socket of clients) socket.send(JSON.stringify(frame));
		return frame;
	}

	textsTo(recipient: string): string[] {
		return this.sent.filter((sent) => sent.recipients.includes(recipient)).map((sent) => sent.message);
	}

	/** The next `count` receives fail as signal-cli does when it cannot reach Signal (normal, native). */
	failNextReceives(count: number): void {
		this.failingReceives += count;
	}

	rateLimitNextSend(seconds: number): void {
		this.rateLimits.push(seconds);
	}

	/** Resolves true when a frame arrives within `ms`, false otherwise. */
	private nextArrival(ms: number): Promise<boolean> {
		return new Promise((resolve) => {
			const done = (arrived: boolean) => {
				clearTimeout(timer);
				this.arrivals.delete(wake);
				resolve(arrived);
			};
			const wake = () => done(true);
			const timer = setTimeout(() => done(false), ms);
			this.arrivals.add(wake);
		});
	}

	/** `signal-cli receive -t <timeout> [--max-messages <n>]`, answered as the API joins its JSON lines into an array. */
	private async receiveEnvelopes(request: RecordedRequest, closed: AbortSignal): Promise<EmulatorReply> {
		const timeout = request.query.get('timeout') ?? '1';
		const maxMessages = request.query.get('max_messages') ?? '0';
		if (!/^\d+$/.test(timeout)) return { status: 400, body: { error: "Couldn't process request - timeout needs to be numeric!" } };
		if (!/^\d+$/.test(maxMessages)) return { status: 400, body: { error: "Couldn't process request - max_messages needs to be numeric!" } };
		if (this.failingReceives > 0) {
			this.failingReceives--;
			return { status: 400, body: { error: `Error while checking account ${this.account}: Connection closed!\n` } };
		}
		this.openPolls++;
		const before = this.receiving;
		let release = () => undefined as void;
		this.receiving = new Promise<void>((resolve) => (release = resolve));
		await before;
		try {
			const taken: Record<string, unknown>[] = [];
			const full = () => Number(maxMessages) > 0 && taken.length >= Number(maxMessages);
			// Each envelope starts the wait anew; the receive ends after `timeout` seconds without one.
			while (!full() && !this.stopped) {
				const next = this.queued.shift();
				if (next) taken.push(next);
				else if (!(await this.nextArrival(Number(timeout) * 1000))) break;
			}
			if (closed.aborted) this.dropped += taken.length;
			return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: JSON.stringify(taken) };
		} finally {
			this.openPolls--;
			release();
		}
	}

	private handle(request: RecordedRequest, { closed }: { closed: AbortSignal }): EmulatorReply | Promise<EmulatorReply> {
		const route = `${request.method} ${request.path}`;
		if (route === 'GET /v1/about') return { status: 200, body: { versions: ['v1', 'v2'], build: 2, mode: this.mode, version: 'emulated', capabilities: { 'v2/send': ['quotes', 'mentions'] } } };
		if (route === `GET /v1/receive/${encodeURIComponent(this.account)}` || route === `GET /v1/receive/${this.account}`) {
			if (!this.polls) return { status: 400, body: { error: "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header" } };
			return this.receiveEnvelopes(request, closed);
		}
		if (route === 'GET /v1/accounts') return { status: 200, body: [this.account] };
		if (route === 'POST /v2/send') {
			const limit = this.rateLimits.shift();
			if (limit !== undefined) return { status: 429, headers: { 'retry-after': String(limit) }, body: { error: 'Rate limit exceeded' } };
			const body = request.body as { message?: string; number?: string; recipients?: string[]; quote_timestamp?: number; quote_author?: string };
			if (body.number !== this.account) return { status: 400, body: { error: `User ${String(body.number)} is not registered.` } };
			if (!Array.isArray(body.recipients) || body.recipients.length === 0 || typeof body.message !== 'string') return { status: 400, body: { error: "Couldn't process request - invalid request" } };
			const timestamp = this.nextTimestamp();
			this.sent.push({ message: body.message, recipients: body.recipients, quoteTimestamp: body.quote_timestamp ?? null, quoteAuthor: body.quote_author ?? null, timestamp });
			return { status: 201, body: { timestamp: String(timestamp) } };
		}
		if (request.method === 'PUT' && request.path === `/v1/typing-indicator/${encodeURIComponent(this.account)}`) {
			this.typing.push({ recipient: String(request.body.recipient) });
			return { status: 204 };
		}
		return { status: 404, body: { error: 'Not found' } };
	}
}
