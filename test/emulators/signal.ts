/**
 * signal-cli-rest-api (bbernhard) in json-rpc mode on loopback: `POST /v2/send`, the typing
 * indicator, `GET /v1/accounts`, and the receive WebSocket `/v1/receive/<number>` on the same
 * port, which forwards each received envelope as one text frame ({ envelope, account }). Like the
 * real API it keeps nothing for a client that is not connected: a message received meanwhile is
 * gone. Written from https://bbernhard.github.io/signal-cli-rest-api/ and signal-cli's JSON output.
 */
import { randomUUID } from 'node:crypto';

import { WebSocketServer, type WebSocket } from 'ws';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

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
	readonly account = '+4915100000001';
	readonly people: Record<'ada' | 'eve', SignalPerson> = {
		ada: { number: '+4915100000042', uuid: randomUUID(), name: 'Ada' },
		eve: { number: '+4915100000666', uuid: randomUUID(), name: 'Eve' },
	};
	/** A group as signal-cli names it inside envelopes (the API's group.<base64> wraps this). */
	readonly groupInternalId = 'Y2xhd2dhdGUtZ3JvdXAtaWQtMDAwMDAwMDAwMDA=';
	readonly sent: SignalSent[] = [];
	readonly typing: Array<{ recipient: string }> = [];
	/** Frames that reached no client (nobody connected), as the real API drops them. */
	dropped = 0;
	private wss: WebSocketServer | null = null;
	private clock = Date.now();
	private rateLimits: number[] = [];

	constructor() {
		this.server = new EmulatorServer('signal-cli-rest-api', (request) => this.handle(request));
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
			if (request.url !== `/v1/receive/${encodeURIComponent(this.account)}`) return false;
			this.wss!.handleUpgrade(request, socket, head, (client) => this.wss!.emit('connection', client, request));
			return true;
		});
	}

	async stop(): Promise<void> {
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

	/** The frame for a data message from `from`; a group message when `group`, mentioning the bot when `mention`. */
	envelope(from: SignalPerson, text: string, { group = false, mention = false, quote }: { group?: boolean; mention?: boolean; quote?: { timestamp: number; author: string } } = {}): Record<string, unknown> {
		const timestamp = this.nextTimestamp();
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

	/** Pushes a frame to every connected receive socket; without one it is lost, as in the real API. */
	receive(frame: Record<string, unknown>): Record<string, unknown> {
		const clients = [...(this.wss?.clients ?? [])].filter((socket) => socket.readyState === socket.OPEN);
		if (clients.length === 0) this.dropped++;
		for (const socket of clients) socket.send(JSON.stringify(frame));
		return frame;
	}

	textsTo(recipient: string): string[] {
		return this.sent.filter((sent) => sent.recipients.includes(recipient)).map((sent) => sent.message);
	}

	rateLimitNextSend(seconds: number): void {
		this.rateLimits.push(seconds);
	}

	private handle(request: RecordedRequest): EmulatorReply {
		const route = `${request.method} ${request.path}`;
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
