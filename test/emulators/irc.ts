/**
 * An IRC server on loopback, speaking the client protocol of RFC 2812 with the IRCv3 CAP and SASL
 * PLAIN extensions: registration, nick collisions (433), JOIN with NAMES, PRIVMSG routing, PING.
 * People are simulated: `say()` delivers a PRIVMSG from a nick that has no socket. Every line a
 * client sends is recorded with its arrival time, so tests can check the pace of a bot's lines.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import { parseIrcLine, sameNick, type IrcLine } from '../../nodes/Irc/irc.protocol';

export interface IrcClientLine {
	client: number;
	nick: string;
	line: IrcLine;
	raw: string;
	at: number;
}

interface Client {
	id: number;
	socket: Socket;
	nick: string | null;
	user: string | null;
	registered: boolean;
	capNegotiating: boolean;
	account: string | null;
	channels: Set<string>;
}

export interface IrcEmulatorOptions {
	/** SASL accounts: name → password. */
	accounts?: Record<string, string>;
	/** Nicks held by someone else already (a collision on registration). */
	takenNicks?: string[];
	host?: string;
}

export class IrcEmulator {
	private server: Server | null = null;
	private nextId = 1;
	readonly clients = new Map<number, Client>();
	/** Every line clients sent, in order. */
	readonly received: IrcClientLine[] = [];
	/** Client connections that ended (a QUIT or a dropped socket), with the nick they had. */
	readonly disconnects: Array<{ client: number; nick: string | null; quit: boolean; at: number }> = [];
	readonly host: string;
	port = 0;

	constructor(private readonly options: IrcEmulatorOptions = {}) {
		this.host = options.host ?? 'irc.clawgate.test';
	}

	get url(): string {
		return `irc://127.0.0.1:${this.port}`;
	}

	async start(): Promise<void> {
		this.server = createServer((socket) => this.accept(socket));
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.port = (this.server.address() as AddressInfo).port;
	}

	async stop(): Promise<void> {
		for (const client of this.clients.values()) client.socket.destroy();
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
		this.server = null;
	}

	/** Registered clients connected now, by nick. */
	connectedNicks(): string[] {
		return [...this.clients.values()].filter((client) => client.registered).map((client) => client.nick!);
	}

	/** Members of a channel that hold a connection. */
	membersOf(channel: string): string[] {
		return [...this.clients.values()].filter((client) => client.channels.has(channel.toLowerCase())).map((client) => client.nick!);
	}

	/** A person's PRIVMSG (to a channel or to a nick), as the server relays it to connected clients. */
	say({ from, to, text, tags = {} }: { from: string; to: string; text: string; tags?: Record<string, string> }): string {
		const tagText = Object.entries(tags).map(([key, value]) => (value ? `${key}=${value}` : key)).join(';');
		const line = `${tagText ? `@${tagText} ` : ''}:${from}!~${from.slice(0, 9)}@people.clawgate.test PRIVMSG ${to} :${text}`;
		this.deliver(line, to, null);
		return line;
	}

	/** A NOTICE, which bots must never answer (RFC 2812 §3.3.2). */
	notice({ from, to, text }: { from: string; to: string; text: string }): void {
		this.deliver(`:${from}!~${from}@people.clawgate.test NOTICE ${to} :${text}`, to, null);
	}

	/** PRIVMSG texts a client sent to `target`, in order. */
	textsTo(target: string): string[] {
		return this.received.filter(({ line }) => line.command === 'PRIVMSG' && sameNick(line.params[0] ?? '', target)).map(({ line }) => line.params[1] ?? '');
	}

	/** The arrival times of a client's PRIVMSG lines to `target`. */
	privmsgTimes(target: string): number[] {
		return this.received.filter(({ line }) => line.command === 'PRIVMSG' && sameNick(line.params[0] ?? '', target)).map(({ at }) => at);
	}

	/** Drops every client connection without a word, as a netsplit or a server restart does. */
	dropAll(): void {
		for (const client of this.clients.values()) client.socket.destroy();
	}

	private deliver(line: string, to: string, except: Client | null): void {
		for (const client of this.clients.values()) {
			if (client === except || !client.registered) continue;
			const member = to.startsWith('#') ? client.channels.has(to.toLowerCase()) : sameNick(client.nick ?? '', to);
			if (member) client.socket.write(`${line}\r\n`);
		}
	}

	private accept(socket: Socket): void {
		const client: Client = { id: this.nextId++, socket, nick: null, user: null, registered: false, capNegotiating: false, account: null, channels: new Set() };
		this.clients.set(client.id, client);
		socket.setEncoding('utf8');
		let buffer = '';
		let quit = false;
		socket.on('data', (chunk: string) => {
			buffer += chunk;
			let newline: number;
			while ((newline = buffer.indexOf('\n')) >= 0) {
				const raw = buffer.slice(0, newline).replace(/\r$/, '');
				buffer = buffer.slice(newline + 1);
				const line = parseIrcLine(raw);
				if (!line) continue;
				this.received.push({ client: client.id, nick: client.nick ?? '', line, raw, at: Date.now() });
				if (line.command === 'QUIT') quit = true;
				this.handle(client, line);
			}
		});
		socket.on('error', () => undefined);
		socket.on('close', () => {
			this.clients.delete(client.id);
			this.disconnects.push({ client: client.id, nick: client.nick, quit, at: Date.now() });
		});
	}

	private send(client: Client, line: string): void {
		if (!client.socket.destroyed) client.socket.write(`${line}\r\n`);
	}

	private numeric(client: Client, code: string, ...params: string[]): void {
		const last = params.pop() ?? '';
		this.send(client, `:${this.host} ${code} ${client.nick ?? '*'}${params.length ? ` ${params.join(' ')}` : ''} :${last}`);
	}

	private nickTaken(nick: string, self: Client): boolean {
		return (this.options.takenNicks ?? []).some((taken) => sameNick(taken, nick)) || [...this.clients.values()].some((other) => other !== self && sameNick(other.nick ?? '', nick));
	}

	private tryRegister(client: Client): void {
		if (client.registered || client.capNegotiating || !client.nick || !client.user) return;
		client.registered = true;
		this.numeric(client, '001', `Welcome to the Clawgate test network ${client.nick}`);
		this.numeric(client, '376', 'End of /MOTD command.');
	}

	private handle(client: Client, line: IrcLine): void {
		const [first, second] = line.params;
		switch (line.command) {
			case 'CAP':
				if (first === 'LS') {
					client.capNegotiating = true;
					return this.send(client, `:${this.host} CAP * LS :sasl=PLAIN multi-prefix`);
				}
				if (first === 'REQ') return this.send(client, `:${this.host} CAP * ${second === 'sasl' ? 'ACK' : 'NAK'} :${second ?? ''}`);
				if (first === 'END') {
					client.capNegotiating = false;
					return this.tryRegister(client);
				}
				return;
			case 'AUTHENTICATE': {
				if (first === 'PLAIN') return this.send(client, 'AUTHENTICATE +');
				const [, name, password] = Buffer.from(first ?? '', 'base64').toString('utf8').split('\0');
				if (name && this.options.accounts?.[name] === password) {
					client.account = name;
					this.numeric(client, '900', `${client.nick}!${client.user}@clawgate`, name, `You are now logged in as ${name}`);
					return this.numeric(client, '903', 'SASL authentication successful');
				}
				return this.numeric(client, '904', 'SASL authentication failed');
			}
			case 'NICK':
				if (!first) return this.numeric(client, '431', 'No nickname given');
				if (this.nickTaken(first, client)) return this.send(client, `:${this.host} 433 ${client.nick ?? '*'} ${first} :Nickname is already in use`);
				client.nick = first;
				return this.tryRegister(client);
			case 'USER':
				client.user = first ?? null;
				return this.tryRegister(client);
			case 'PING':
				return this.send(client, `:${this.host} PONG ${this.host} :${line.params.at(-1) ?? ''}`);
			case 'JOIN':
				for (const channel of (first ?? '').split(',')) {
					client.channels.add(channel.toLowerCase());
					this.send(client, `:${client.nick}!~${client.user}@bots.clawgate.test JOIN ${channel}`);
					this.numeric(client, '353', '=', channel, this.membersOf(channel).join(' '));
					this.numeric(client, '366', channel, 'End of /NAMES list.');
				}
				return;
			case 'PRIVMSG':
			case 'NOTICE':
				if (first && second !== undefined) this.deliver(`:${client.nick}!~${client.user}@bots.clawgate.test ${line.command} ${first} :${second}`, first, client);
				return;
			case 'QUIT':
				this.send(client, `ERROR :Closing Link: ${client.nick} (Quit: ${first ?? ''})`);
				client.socket.end();
				return;
		}
	}
}
