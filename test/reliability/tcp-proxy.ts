/**
 * A loopback TCP proxy between a client and a real server (Redis, Postgres), for outages on cue:
 * `cut()` drops every open connection and refuses new ones, as a server that went down does;
 * `restore()` accepts connections again on the same port, as the server coming back.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export class TcpProxy {
	private server: Server | null = null;
	private readonly sockets = new Set<Socket>();
	private listenPort = 0;
	/** Connections accepted since start (to see that clients came back after an outage). */
	accepted = 0;

	constructor(
		private readonly target: { host: string; port: number },
		/** 0 picks a free port on start; restore() reuses whichever port that was. */
		port = 0,
	) {
		this.listenPort = port;
	}

	get port(): number {
		return this.listenPort;
	}

	/** Whether new connections are accepted now. */
	get up(): boolean {
		return this.server !== null;
	}

	async start(): Promise<number> {
		if (this.server) return this.listenPort;
		const server = createServer((client) => {
			// A connection the kernel accepted just before the cut is dropped like the others.
			if (this.server !== server) client.resetAndDestroy();
			else this.pipe(client);
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(this.listenPort, '127.0.0.1', () => {
				server.off('error', reject);
				resolve();
			});
		});
		this.server = server;
		this.listenPort = (server.address() as AddressInfo).port;
		return this.listenPort;
	}

	/** The outage: open connections are reset and the port refuses new ones (ECONNREFUSED). */
	async cut(): Promise<void> {
		const server = this.server;
		this.server = null;
		server?.close();
		for (const socket of this.sockets) socket.resetAndDestroy();
		this.sockets.clear();
		// Let the clients see the resets before anything else happens.
		await new Promise((resolve) => setImmediate(resolve));
	}

	/** The server is back: the same port accepts connections again. */
	restore(): Promise<number> {
		return this.start();
	}

	stop(): Promise<void> {
		return this.cut();
	}

	private pipe(client: Socket): void {
		this.accepted++;
		const upstream = connect(this.target.port, this.target.host);
		for (const socket of [client, upstream]) {
			this.sockets.add(socket);
			socket.setNoDelay(true);
			socket.on('error', () => undefined);
			socket.on('close', () => {
				this.sockets.delete(socket);
				// One side gone: the other follows, as on a real connection.
				(socket === client ? upstream : client).destroy();
			});
		}
		client.pipe(upstream);
		upstream.pipe(client);
	}
}
