/**
 * The front a production n8n sits behind (a load balancer or an ingress with n8n's readiness
 * probe): a request goes through to n8n only while n8n's /healthz/readiness answers 200, and is
 * answered 503 otherwise, which every platform delivers again.
 *
 * Without one, a restart loses messages before any workflow sees them: n8n 2.40 answers every
 * request with 200 "n8n is starting up. Please wait" while it runs its database migrations at
 * start (dist/abstract-server.js), and a platform takes a 200 as delivered. The queue-mode kill
 * runs showed it on a slower machine: 1 and 2 of 1,000 messages delivered in that moment were
 * never journaled. Asking readiness per request, not polling it, leaves no stale "ready".
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { closeServer } from '../emulators/kit';

const runtime = require('../../scripts/n8n-runtime.js');

/** Headers that belong to one connection, not to the request forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length', 'upgrade', 'proxy-connection']);

export class ReadinessGate {
	private server: Server | null = null;
	/** Requests answered 503 because n8n was not ready (each one the platform delivers again). */
	heldBack = 0;

	/** n8n's own address (http://127.0.0.1:<its port>), once it is known; until then every request is held back. */
	target: string | null = null;

	constructor(readonly port: number) {}

	/** A gate on a free loopback port, listening: its URL can be n8n's WEBHOOK_URL before n8n starts. */
	static async open(): Promise<ReadinessGate> {
		const gate = new ReadinessGate(await runtime.freePort());
		await gate.start();
		return gate;
	}

	/** The address platforms are given (n8n's WEBHOOK_URL is this with a slash). */
	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/** Environment for the n8n behind the gate: its production webhook URLs are the gate's. */
	get env(): Record<string, string> {
		return { WEBHOOK_URL: `${this.url}/` };
	}

	async start(): Promise<void> {
		const server = createServer((request, response) => {
			this.handle(request, response).catch((error: Error) => {
				if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
				response.end(`the gate could not reach n8n: ${error.message}`);
			});
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(this.port, '127.0.0.1', resolve);
		});
		this.server = server;
	}

	async stop(): Promise<void> {
		const server = this.server;
		this.server = null;
		await closeServer(server);
	}

	private async ready(): Promise<boolean> {
		if (!this.target) return false;
		try {
			const response = await fetch(`${this.target}/healthz/readiness`, { signal: AbortSignal.timeout(5_000) });
			await response.arrayBuffer();
			return response.status === 200;
		} catch {
			return false;
		}
	}

	private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
		const chunks: Buffer[] = [];
		for await (const chunk of request) chunks.push(chunk as Buffer);
		if (!(await this.ready())) {
			this.heldBack++;
			response.writeHead(503, { 'content-type': 'text/plain' }).end('n8n is not ready');
			return;
		}
		const headers: Record<string, string> = {};
		for (const [name, value] of Object.entries(request.headers)) {
			if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
		}
		const method = request.method ?? 'GET';
		const forwarded = await fetch(`${this.target!}${request.url ?? '/'}`, {
			method,
			headers,
			body: method === 'GET' || method === 'HEAD' ? undefined : Buffer.concat(chunks),
			signal: AbortSignal.timeout(60_000),
		});
		const body = Buffer.from(await forwarded.arrayBuffer());
		const contentType = forwarded.headers.get('content-type');
		response.writeHead(forwarded.status, contentType ? { 'content-type': contentType } : {}).end(body);
	}
}
