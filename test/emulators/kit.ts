/**
 * A loopback HTTP server that records every request and answers like a platform's API. Tests
 * assert on what reached the "platform" by awaiting a recorded request matching a predicate.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: IncomingHttpHeaders;
	rawBody: Buffer;
	/** JSON or form bodies parsed into an object; other bodies stay only in rawBody. */
	body: Record<string, unknown>;
	receivedAt: number;
}

export interface EmulatorReply {
	status: number;
	headers?: Record<string, string>;
	/** JSON (an object), text, bytes (a Buffer: a file), or text written piece by piece as an async iterable yields it (a streamed answer). */
	body?: unknown;
}

function isPieceByPiece(body: unknown): body is AsyncIterable<string> {
	return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

/** `closed` aborts when the client hangs up before the answer (a long poll ended by the client). */
export type EmulatorHandler = (request: RecordedRequest, connection: { closed: AbortSignal }) => EmulatorReply | Promise<EmulatorReply>;

/** Closes an HTTP server at once, open keep-alive connections included. */
export async function closeServer(server: Server | null): Promise<void> {
	if (!server) return;
	server.closeAllConnections();
	await new Promise<void>((resolve) => server.close(() => resolve()));
}

export function parseBody(rawBody: Buffer, contentType: string | undefined): Record<string, unknown> {
	if (rawBody.length === 0) return {};
	const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
	const text = rawBody.toString('utf8');
	if (type === 'application/json') {
		try {
			const parsed = JSON.parse(text);
			return typeof parsed === 'object' && parsed !== null ? parsed : { value: parsed };
		} catch {
			return {};
		}
	}
	if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
	return {};
}

function readBody(request: IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => resolve(Buffer.concat(chunks)));
		request.on('error', reject);
	});
}

interface Waiter {
	predicate: (request: RecordedRequest) => boolean;
	resolve: (request: RecordedRequest) => void;
}

export class EmulatorServer {
	readonly requests: RecordedRequest[] = [];
	private server: Server | null = null;
	private waiters = new Set<Waiter>();
	private baseUrl = '';
	private upgrades: Array<(request: IncomingMessage, socket: Socket, head: Buffer) => boolean> = [];

	constructor(
		readonly name: string,
		private readonly handler: EmulatorHandler,
	) {}

	get url(): string {
		if (!this.baseUrl) throw new Error(`The ${this.name} emulator is not started.`);
		return this.baseUrl;
	}

	async start(): Promise<string> {
		const server = createServer((req, res) => void this.serve(req, res));
		// WebSocket APIs (Mattermost, Rocket.Chat) share the port of the HTTP API, as on the real servers.
		server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
			if (!this.upgrades.some((handle) => handle(request, socket, head))) socket.destroy();
		});
		// Platform APIs keep idle connections open for a minute or more; Node's default of 5 s would
		// close a client's pooled socket just as it is reused after a pause (a reset nobody sees in production).
		server.keepAliveTimeout = 75_000;
		server.headersTimeout = 76_000;
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		this.server = server;
		this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		return this.baseUrl;
	}

	async stop(): Promise<void> {
		const server = this.server;
		this.server = null;
		await closeServer(server);
	}

	/** Takes WebSocket upgrades: the handler returns true for a request it took (e.g. through `ws`'s handleUpgrade). */
	onUpgrade(handler: (request: IncomingMessage, socket: Socket, head: Buffer) => boolean): void {
		this.upgrades.push(handler);
	}

	/** Requests matching the predicate received so far. */
	matching(predicate: (request: RecordedRequest) => boolean): RecordedRequest[] {
		return this.requests.filter(predicate);
	}

	/** Resolves with the first request (already received or still to come) that matches. */
	waitFor(predicate: (request: RecordedRequest) => boolean, { timeoutMs = 15_000, description = 'a matching request' } = {}): Promise<RecordedRequest> {
		const seen = this.requests.find(predicate);
		if (seen) return Promise.resolve(seen);
		return new Promise((resolve, reject) => {
			const waiter: Waiter = {
				predicate,
				resolve: (request) => {
					clearTimeout(timer);
					this.waiters.delete(waiter);
					resolve(request);
				},
			};
			const timer = setTimeout(() => {
				this.waiters.delete(waiter);
				const seenPaths = this.requests.map((request) => `${request.method} ${request.path}`).slice(-10);
				reject(new Error(`The ${this.name} emulator did not receive ${description} within ${timeoutMs} ms. Last requests: ${seenPaths.join(', ') || 'none'}`));
			}, timeoutMs);
			this.waiters.add(waiter);
		});
	}

	private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://emulator');
		const rawBody = await readBody(req);
		const recorded: RecordedRequest = {
			method: req.method ?? 'GET',
			path: url.pathname,
			query: url.searchParams,
			headers: req.headers,
			rawBody,
			body: parseBody(rawBody, req.headers['content-type']),
			receivedAt: Date.now(),
		};
		this.requests.push(recorded);
		const hangUp = new AbortController();
		res.on('close', () => {
			if (!res.writableEnded) hangUp.abort();
		});
		let reply: EmulatorReply;
		try {
			reply = await this.handler(recorded, { closed: hangUp.signal });
		} catch (error) {
			reply = { status: 500, body: { error: (error as Error).message } };
		}
		if (hangUp.signal.aborted) return;
		if (isPieceByPiece(reply.body)) {
			res.writeHead(reply.status, reply.headers);
			try {
				for await (const piece of reply.body) {
					if (hangUp.signal.aborted) return;
					res.write(piece);
				}
			} catch {
				// The body ends in a dropped connection (a scripted network cut) after what was written, not in a clean end.
				res.socket?.destroySoon();
				return;
			}
			res.end();
			for (const waiter of [...this.waiters]) if (waiter.predicate(recorded)) waiter.resolve(recorded);
			return;
		}
		const isJson = reply.body !== undefined && typeof reply.body !== 'string' && !Buffer.isBuffer(reply.body);
		res.writeHead(reply.status, { ...(isJson ? { 'content-type': 'application/json' } : {}), ...reply.headers });
		res.end(isJson ? JSON.stringify(reply.body) : (reply.body as string | Buffer | undefined));
		for (const waiter of [...this.waiters]) if (waiter.predicate(recorded)) waiter.resolve(recorded);
	}
}
