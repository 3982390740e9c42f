/**
 * One IRC client connection over `node:net`/`node:tls`: registration (RFC 2812 §3.1), SASL PLAIN
 * through IRCv3 CAP (ircv3.net/specs/extensions/sasl-3.1), nick fallback on 433, PING/PONG,
 * joining channels, and a paced send queue. The trigger holds one; a send node borrows it when it
 * runs in the same process, or opens a short one of its own.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

import { FatalConnectionError, type OpenConnection } from '../core/keep-connected';
import { isChannelName, MAX_INBOUND_LINE_BYTES, parseIrcLine, privmsgTextBudget, sameNick, splitForIrc, TokenBucket, type IrcLine } from './irc.protocol';

export interface IrcCredential {
	/** `ircs://host:6697` (TLS) or `irc://host:6667`. */
	baseUrl?: string;
	nick?: string;
	/** SASL account name; empty uses the nick. */
	saslUsername?: string;
	/** SASL password; empty connects without SASL. */
	saslPassword?: string;
	/** Channels to join, comma-separated (`#support, #dev key`). */
	channels?: string;
}

export interface IrcServer {
	host: string;
	port: number;
	tls: boolean;
}

export class IrcError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'IrcError';
	}
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i;

export function ircServerOf(credential: IrcCredential): IrcServer {
	const raw = credential.baseUrl?.trim() || '';
	if (!raw) throw new IrcError('The Clawgate IRC credential has no server. Set "Server URL", for example ircs://irc.libera.chat:6697.');
	const url = URL.canParse(raw.includes('://') ? raw : `ircs://${raw}`) ? new URL(raw.includes('://') ? raw : `ircs://${raw}`) : null;
	if (!url) throw new IrcError(`"${raw}" is not an IRC server URL. Write it as ircs://irc.libera.chat:6697 (TLS) or irc://host:6667.`);
	if (url.protocol !== 'ircs:' && url.protocol !== 'irc:') throw new IrcError(`"${raw}" is not an IRC server URL: it must start with ircs:// (TLS) or irc://.`);
	const tls = url.protocol === 'ircs:';
	return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (tls ? 6697 : 6667), tls };
}

export function nickOfCredential(credential: IrcCredential): string {
	const nick = credential.nick?.trim();
	if (!nick || !/^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/.test(nick)) {
		throw new IrcError(`The Clawgate IRC credential's nick "${nick ?? ''}" is not a valid IRC nick (letters, digits and [ ] \\ \` _ ^ { | } -, not starting with a digit).`);
	}
	return nick;
}

/** The account the envelope names: the configured nick at the server (a fallback nick_ stays the same account). */
export function ircAccountOf(credential: IrcCredential): string {
	return `${nickOfCredential(credential)}@${ircServerOf(credential).host}`;
}

export function channelsOf(credential: IrcCredential): Array<{ name: string; key: string | null }> {
	return (credential.channels ?? '')
		.split(/[,\n]+/)
		.map((entry) => entry.trim().split(/\s+/))
		.filter(([name]) => name && isChannelName(name))
		.map(([name, key]) => ({ name, key: key ?? null }));
}

export interface IrcConnectionOptions {
	credential: IrcCredential;
	/** Called for every PRIVMSG after registration. */
	onPrivmsg?(line: IrcLine, ownNick: string): void;
	log?: { debug(message: string): void; warn(message: string): void };
	/** Join the credential's channels (the trigger does; a short send connection joins only where it sends). */
	joinChannels?: boolean;
	registrationTimeoutMs?: number;
	pace?: TokenBucket;
}

const REGISTRATION_TIMEOUT_MS = 30_000;
/** Without any line from the server for this long, the connection counts as dead (we PING at half of it). */
const IDLE_TIMEOUT_MS = 240_000;
const MAX_NICK_ATTEMPTS = 5;

export class IrcConnection implements OpenConnection {
	readonly ended: Promise<Error | null>;
	private endedWith!: (error: Error | null) => void;
	private buffer = '';
	private readonly pace: TokenBucket;
	private sendChain: Promise<void> = Promise.resolve();
	private closing = false;
	private idleTimer: NodeJS.Timeout | null = null;
	private readonly joined = new Set<string>();
	nick: string;

	private constructor(
		private readonly socket: Socket,
		private readonly options: IrcConnectionOptions,
	) {
		this.nick = nickOfCredential(options.credential);
		this.pace = options.pace ?? new TokenBucket();
		this.ended = new Promise((resolve) => (this.endedWith = resolve));
	}

	/** Connects, registers and joins; rejects with an IrcError (FatalConnectionError for a refused login). */
	static async open(options: IrcConnectionOptions): Promise<IrcConnection> {
		const server = ircServerOf(options.credential);
		const socket = server.tls ? connectTls({ host: server.host, port: server.port, servername: server.host }) : connectTcp({ host: server.host, port: server.port });
		socket.setEncoding('utf8');
		const connection = new IrcConnection(socket, options);
		return await connection.register(server);
	}

	private write(line: string): void {
		if (!this.socket.destroyed) this.socket.write(`${line}\r\n`);
	}

	private register(server: IrcServer): Promise<IrcConnection> {
		const { credential } = this.options;
		const password = credential.saslPassword ?? '';
		const wantsSasl = password !== '';
		if (wantsSasl && !server.tls && !LOOPBACK.test(server.host)) {
			this.socket.destroy();
			return Promise.reject(new FatalConnectionError(`The SASL password would cross the network unencrypted to ${server.host}. Use an ircs:// server URL.`));
		}
		const configured = this.nick;
		let nickAttempts = 0;
		const channels = this.options.joinChannels === false ? [] : channelsOf(credential);
		return new Promise<IrcConnection>((resolve, reject) => {
			let registered = false;
			const pendingJoins = new Set(channels.map((channel) => channel.name.toLowerCase()));
			const timer = setTimeout(() => fail(new IrcError(`${server.host} did not finish the IRC login within ${REGISTRATION_TIMEOUT_MS / 1000} s.`)), this.options.registrationTimeoutMs ?? REGISTRATION_TIMEOUT_MS);
			const ready = () => {
				if (pendingJoins.size > 0) return;
				clearTimeout(timer);
				resolve(this);
			};
			const fail = (error: Error) => {
				clearTimeout(timer);
				this.socket.destroy();
				reject(error);
			};
			this.socket.on('error', (error) => (registered ? this.finish(new IrcError(`the connection to ${server.host} failed: ${error.message}`)) : fail(new IrcError(`Could not connect to the IRC server ${server.host}:${server.port}: ${error.message}. Check the credential's server URL.`))));
			this.socket.on('close', () => (registered ? this.finish(this.closing ? null : new IrcError(`${server.host} closed the connection`)) : fail(new IrcError(`${server.host} closed the connection during the IRC login.`))));
			this.socket.on('data', (chunk: string) => {
				this.touch();
				this.buffer += chunk;
				if (this.buffer.length > MAX_INBOUND_LINE_BYTES && !this.buffer.slice(0, MAX_INBOUND_LINE_BYTES).includes('\n')) {
					// No IRC server sends such a line; reading on would only grow the buffer.
					this.socket.destroy();
					return;
				}
				let newline: number;
				while ((newline = this.buffer.indexOf('\n')) >= 0) {
					const raw = this.buffer.slice(0, newline).replace(/\r$/, '');
					this.buffer = this.buffer.slice(newline + 1);
					const line = parseIrcLine(raw);
					if (line) handle(line);
				}
			});
			const handle = (line: IrcLine) => {
				const [first, second] = line.params;
				switch (line.command) {
					case 'PING':
						return this.write(`PONG :${line.params.at(-1) ?? ''}`);
					case 'CAP':
						if (second === 'LS') return this.write(wantsSasl && /(^|\s)sasl(=|\s|$)/i.test(line.params.at(-1) ?? '') ? 'CAP REQ :sasl' : 'CAP END');
						if (second === 'ACK') return this.write('AUTHENTICATE PLAIN');
						if (second === 'NAK') return fail(new FatalConnectionError(`${server.host} does not offer SASL. Clear the SASL password in the credential, or use a server that has SASL.`));
						return;
					case 'AUTHENTICATE':
						if (first === '+') {
							const account = credential.saslUsername?.trim() || configured;
							return this.write(`AUTHENTICATE ${Buffer.from(`${account}\0${account}\0${password}`).toString('base64')}`);
						}
						return;
					case '903':
						return this.write('CAP END');
					case '902':
					case '904':
					case '905':
						return fail(new FatalConnectionError(`${server.host} refused the SASL login (${line.command}). Check the SASL username and password in the Clawgate IRC credential.`));
					case '001':
						registered = true;
						this.nick = first ?? this.nick;
						if (!sameNick(this.nick, configured)) this.options.log?.warn(`IRC: the nick ${configured} is taken on ${server.host}; using ${this.nick}.`);
						for (const { name, key } of channels) this.write(`JOIN ${name}${key ? ` ${key}` : ''}`);
						this.startIdleCheck();
						return ready();
					case '432':
					case '433':
					case '436':
						if (registered) return;
						if (++nickAttempts > MAX_NICK_ATTEMPTS) return fail(new IrcError(`${server.host} refused the nick ${configured} and ${MAX_NICK_ATTEMPTS} variants of it. Choose another nick in the credential.`));
						this.nick = `${configured}${'_'.repeat(nickAttempts)}`;
						return this.write(`NICK ${this.nick}`);
					case 'NICK':
						if (sameNick(line.prefix?.split('!')[0] ?? '', this.nick) && first) this.nick = first;
						return;
					case 'JOIN':
						if (sameNick(line.prefix?.split('!')[0] ?? '', this.nick) && first) {
							this.joined.add(first.toLowerCase());
							pendingJoins.delete(first.toLowerCase());
							if (registered) ready();
						}
						return;
					case '403':
					case '471':
					case '473':
					case '474':
					case '475':
						if (second && pendingJoins.delete(second.toLowerCase())) {
							this.options.log?.warn(`IRC: could not join ${second} on ${server.host}: ${line.params.at(-1) ?? line.command}.`);
							if (registered) ready();
						}
						return;
					case '465':
						return fail(new FatalConnectionError(`${server.host} banned this connection: ${line.params.at(-1) ?? ''}`));
					case 'ERROR':
						if (!registered) return fail(new IrcError(`${server.host} ended the IRC login: ${first ?? ''}`));
						return;
					case 'PRIVMSG':
						if (registered) this.options.onPrivmsg?.(line, this.nick);
						return;
				}
			};
			if (wantsSasl) this.write('CAP LS 302');
			this.write(`NICK ${this.nick}`);
			this.write(`USER ${this.nick.slice(0, 10)} 0 * :Clawgate`);
		});
	}

	private touch(): void {
		if (this.idleTimer) this.idleTimer.refresh();
	}

	private startIdleCheck(): void {
		let pinged = false;
		this.idleTimer = setInterval(() => {
			if (pinged) {
				this.socket.destroy(new Error(`no answer from the server for ${IDLE_TIMEOUT_MS / 1000} s`));
				return;
			}
			pinged = true;
			this.write(`PING :clawgate-${Date.now()}`);
		}, IDLE_TIMEOUT_MS / 2);
		this.idleTimer.unref();
		this.socket.on('data', () => (pinged = false));
	}

	private finish(error: Error | null): void {
		if (this.idleTimer) clearInterval(this.idleTimer);
		this.endedWith(error);
	}

	/** Whether this connection is in the channel (a PRIVMSG to a channel with mode +n needs it). */
	isIn(channel: string): boolean {
		return this.joined.has(channel.toLowerCase());
	}

	/** Joins a channel and waits for the server's JOIN (or 5 s). */
	async join(channel: string): Promise<void> {
		if (this.isIn(channel)) return;
		this.write(`JOIN ${channel}`);
		const deadline = Date.now() + 5_000;
		while (!this.isIn(channel) && Date.now() < deadline && !this.socket.destroyed) await new Promise((resolve) => setTimeout(resolve, 50));
	}

	/** Sends text as PRIVMSG lines, paced by the flood control; resolves once every line is written. */
	say(target: string, text: string): Promise<number> {
		const lines = splitForIrc(text, privmsgTextBudget(target));
		const run = this.sendChain.then(async () => {
			for (const line of lines) {
				if (this.socket.destroyed) throw new IrcError('the IRC connection closed before the message was sent');
				for (let wait = this.pace.take(); wait > 0; wait = this.pace.take()) await new Promise((resolve) => setTimeout(resolve, wait));
				this.write(`PRIVMSG ${target} :${line}`);
			}
		});
		this.sendChain = run.catch(() => undefined);
		return run.then(() => lines.length);
	}

	async close(): Promise<void> {
		if (this.closing) return await this.ended.then(() => undefined);
		this.closing = true;
		await this.sendChain;
		if (!this.socket.destroyed) {
			this.write('QUIT :Clawgate stops listening');
			this.socket.end();
			const timer = setTimeout(() => this.socket.destroy(), 2_000);
			await this.ended;
			clearTimeout(timer);
		}
	}
}
