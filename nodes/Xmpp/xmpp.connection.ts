/**
 * One XMPP client session over `node:net`/`node:tls` (RFC 6120): stream, STARTTLS where offered
 * (plain only to this machine), SASL SCRAM-SHA-1 (RFC 5802) or PLAIN (RFC 4616), resource
 * binding, initial presence (RFC 6121 §4.2), and joining rooms (XEP-0045 §7.2) with a fallback
 * nick on a conflict. Stanzas are capped in size before they are parsed (xmpp.xml.ts).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

import { FatalConnectionError, type OpenConnection } from '../core/keep-connected';
import { child, childrenOf, escapeXml, textOf, xml, XmlStreamParser, type XmlElement } from './xmpp.xml';

export interface XmppCredential {
	jid?: string;
	password?: string;
	/** `xmpp://host:port`; empty connects to the JID's domain on 5222. */
	baseUrl?: string;
	/** Rooms to join, comma-separated; `room@conference.example.org/nick` sets the nick there. */
	rooms?: string;
	/** The nick in rooms; empty uses the JID's local part. */
	nick?: string;
}

export class XmppError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'XmppError';
	}
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;
const NS = {
	tls: 'urn:ietf:params:xml:ns:xmpp-tls',
	sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
	bind: 'urn:ietf:params:xml:ns:xmpp-bind',
	session: 'urn:ietf:params:xml:ns:xmpp-session',
	muc: 'http://jabber.org/protocol/muc',
	mucUser: 'http://jabber.org/protocol/muc#user',
	stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
};

export function bareJid(jid: string): string {
	return jid.split('/')[0].toLowerCase();
}

export function resourceOf(jid: string): string {
	const slash = jid.indexOf('/');
	return slash < 0 ? '' : jid.slice(slash + 1);
}

export function jidOf(credential: XmppCredential): { local: string; domain: string; bare: string } {
	const jid = credential.jid?.trim() ?? '';
	const match = /^([^@/\s]+)@([^@/\s]+)$/.exec(bareJid(jid));
	if (!match) throw new XmppError(`The Clawgate XMPP credential's JID "${jid}" is not an address like bot@example.org.`);
	return { local: match[1], domain: match[2], bare: `${match[1]}@${match[2]}` };
}

export function serverOf(credential: XmppCredential): { host: string; port: number; tls: boolean } {
	const raw = credential.baseUrl?.trim();
	if (!raw) return { host: jidOf(credential).domain, port: 5222, tls: false };
	const written = raw.includes('://') ? raw : `xmpp://${raw}`;
	const url = URL.canParse(written) ? new URL(written) : null;
	if (!url) throw new XmppError(`"${raw}" is not a server address. Write it as xmpp://host:5222 or xmpps://host:5223, or leave it empty.`);
	if (url.protocol !== 'xmpp:' && url.protocol !== 'xmpps:') throw new XmppError(`"${raw}" must start with xmpp:// (STARTTLS) or xmpps:// (direct TLS).`);
	const tls = url.protocol === 'xmpps:';
	return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (tls ? 5223 : 5222), tls };
}

export function nickOfCredential(credential: XmppCredential): string {
	return credential.nick?.trim() || jidOf(credential).local;
}

export function roomsOf(credential: XmppCredential): Array<{ room: string; nick: string }> {
	return (credential.rooms ?? '')
		.split(/[,\s]+/)
		.filter((entry) => entry.includes('@'))
		.map((entry) => ({ room: bareJid(entry), nick: resourceOf(entry) || nickOfCredential(credential) }));
}

// ---------------------------------------------------------------------------------------------
// SASL SCRAM-SHA-1 (RFC 5802 §3)

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest();
const hmac = (key: Buffer, data: string) => createHmac('sha1', key).update(data).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((byte, index) => byte ^ b[index]));
const saslName = (name: string) => name.replace(/=/g, '=3D').replace(/,/g, '=2C');

export function scramClientFirst(user: string, nonce = randomBytes(18).toString('base64')): { message: string; bare: string; nonce: string } {
	const bare = `n=${saslName(user)},r=${nonce}`;
	return { message: `n,,${bare}`, bare, nonce };
}

export function scramClientFinal(password: string, clientFirstBare: string, clientNonce: string, serverFirst: string): { message: string; serverSignature: Buffer } {
	const fields = Object.fromEntries(serverFirst.split(',').map((field) => [field[0], field.slice(2)]));
	const iterations = Number(fields.i);
	if (!fields.r?.startsWith(clientNonce) || !fields.s || !Number.isInteger(iterations) || iterations < 1 || iterations > 1_000_000) {
		throw new FatalConnectionError('The XMPP server answered the SCRAM-SHA-1 login with something that is not SCRAM; not sending the password.');
	}
	const salted = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(fields.s, 'base64'), iterations, 20, 'sha1');
	const clientKey = hmac(salted, 'Client Key');
	const withoutProof = `c=biws,r=${fields.r}`;
	const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
	const proof = xor(clientKey, hmac(sha1(clientKey), authMessage));
	return { message: `${withoutProof},p=${proof.toString('base64')}`, serverSignature: hmac(hmac(salted, 'Server Key'), authMessage) };
}

// ---------------------------------------------------------------------------------------------

export interface XmppConnectionOptions {
	credential: XmppCredential;
	onMessage?(stanza: XmlElement, connection: XmppConnection): void;
	/** Join the credential's rooms (the trigger does; a short send connection does not). */
	joinRooms?: boolean;
	log?: { warn(message: string): void };
	timeoutMs?: number;
}

const TIMEOUT_MS = 30_000;
const KEEPALIVE_MS = 60_000;

export class XmppConnection implements OpenConnection {
	readonly ended: Promise<Error | null>;
	private endedWith!: (error: Error | null) => void;
	private socket: Socket;
	private readonly parser = new XmlStreamParser();
	private waiters: Array<{ match: (stanza: XmlElement) => boolean; resolve: (stanza: XmlElement) => void }> = [];
	private opened: (() => void) | null = null;
	private closing = false;
	private keepalive: NodeJS.Timeout | null = null;
	private ids = 0;
	jid = '';
	/** Rooms joined, with the nick the room gave us. */
	readonly rooms = new Map<string, string>();

	private constructor(
		socket: Socket,
		private readonly options: XmppConnectionOptions,
		private readonly domain: string,
	) {
		this.socket = socket;
		this.ended = new Promise((resolve) => (this.endedWith = resolve));
	}

	static async open(options: XmppConnectionOptions): Promise<XmppConnection> {
		const { domain } = jidOf(options.credential);
		const server = serverOf(options.credential);
		const socket = server.tls ? connectTls({ host: server.host, port: server.port, servername: domain }) : connectTcp({ host: server.host, port: server.port });
		const connection = new XmppConnection(socket, options, domain);
		const timeout = options.timeoutMs ?? TIMEOUT_MS;
		let timer: NodeJS.Timeout | undefined;
		const timedOut = new Promise<never>((_resolve, reject) => {
			timer = setTimeout(() => reject(new XmppError(`${server.host} did not finish the XMPP login within ${timeout / 1000} s.`)), timeout);
		});
		const login = Promise.race([connection.login(server), timedOut]).finally(() => clearTimeout(timer));
		// A failed login leaves no socket behind.
		login.catch(() => connection.socket.destroy());
		return await login;
	}

	private attach(socket: Socket): void {
		socket.setEncoding('utf8');
		socket.on('data', (chunk: string) => {
			let events;
			try {
				events = this.parser.feed(chunk);
			} catch (error) {
				this.socket.destroy(new XmppError(`the server sent XML that cannot be read: ${(error as Error).message}`));
				return;
			}
			for (const event of events) {
				if (event.kind === 'open') this.opened?.();
				else if (event.kind === 'close') this.socket.end();
				else this.route(event.element);
			}
		});
		socket.on('error', (error) => this.finish(error));
		socket.on('close', () => this.finish(this.closing ? null : new XmppError('the server closed the connection')));
	}

	private finish(error: Error | null): void {
		if (this.keepalive) clearInterval(this.keepalive);
		for (const waiter of this.waiters) waiter.resolve({ name: 'closed', attrs: {}, children: [] });
		this.waiters = [];
		this.endedWith(error);
	}

	private route(stanza: XmlElement): void {
		const waiter = this.waiters.find((candidate) => candidate.match(stanza));
		if (waiter) {
			this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
			return waiter.resolve(stanza);
		}
		if (stanza.name === 'message') return this.options.onMessage?.(stanza, this);
		if (stanza.name === 'iq' && (stanza.attrs.type === 'get' || stanza.attrs.type === 'set')) {
			// XEP-0199 pings get a result; any other request an error, as RFC 6120 §8.2.3 asks.
			const ping = child(stanza, 'ping', 'urn:xmpp:ping');
			this.send(
				ping
					? xml('iq', { type: 'result', id: stanza.attrs.id, to: stanza.attrs.from })
					: xml('iq', { type: 'error', id: stanza.attrs.id, to: stanza.attrs.from }, xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: NS.stanzas }))),
			);
		}
	}

	send(stanza: string): void {
		if (!this.socket.destroyed) this.socket.write(stanza);
	}

	private next(match: (stanza: XmlElement) => boolean): Promise<XmlElement> {
		return new Promise((resolve) => this.waiters.push({ match, resolve }));
	}

	private async openStream(): Promise<XmlElement> {
		const opened = new Promise<void>((resolve) => (this.opened = resolve));
		const features = this.next((stanza) => stanza.name === 'stream:features' || stanza.name === 'features');
		this.send(`<?xml version='1.0'?><stream:stream to='${this.domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`);
		await opened;
		return await features;
	}

	private async login(server: { host: string; tls: boolean }): Promise<XmppConnection> {
		this.attach(this.socket);
		let features = await this.openStream();
		let secure = server.tls;
		if (!secure && child(features, 'starttls', NS.tls)) {
			const answer = this.next((stanza) => stanza.attrs.xmlns === NS.tls);
			this.send(xml('starttls', { xmlns: NS.tls }));
			if ((await answer).name !== 'proceed') throw new XmppError(`${server.host} refused STARTTLS.`);
			this.socket.removeAllListeners('data').removeAllListeners('close').removeAllListeners('error');
			const plain = this.socket;
			this.socket = connectTls({ socket: plain, servername: this.domain });
			await new Promise<void>((resolve, reject) => {
				this.socket.once('secureConnect', resolve);
				this.socket.once('error', (error) => reject(new XmppError(`TLS with ${server.host} failed: ${error.message}`)));
			});
			this.parser.reset();
			this.attach(this.socket);
			features = await this.openStream();
			secure = true;
		}
		if (!secure && !LOOPBACK.test(server.host)) {
			throw new FatalConnectionError(`${server.host} offers no STARTTLS; the password would cross the network unencrypted. Use a server with TLS (or xmpps:// in the credential's server address).`);
		}
		await this.authenticate(features);
		this.parser.reset();
		features = await this.openStream();
		const bound = await this.iq(xml('bind', { xmlns: NS.bind }, xml('resource', {}, `clawgate-${randomBytes(4).toString('hex')}`)));
		this.jid = textOf(child(child(bound, 'bind', NS.bind) ?? bound, 'jid')) || `${jidOf(this.options.credential).bare}/clawgate`;
		const session = child(features, 'session', NS.session);
		if (session && !child(session, 'optional')) await this.iq(xml('session', { xmlns: NS.session }));
		this.send(xml('presence'));
		if (this.options.joinRooms !== false) for (const { room, nick } of roomsOf(this.options.credential)) await this.join(room, nick);
		this.keepalive = setInterval(() => this.send(' '), KEEPALIVE_MS);
		this.keepalive.unref();
		return this;
	}

	private async authenticate(features: XmlElement): Promise<void> {
		const { credential } = this.options;
		const offered = childrenOf(child(features, 'mechanisms', NS.sasl) ?? features).map((mechanism) => textOf(mechanism).trim());
		const { local } = jidOf(credential);
		const password = credential.password ?? '';
		const reply = () => this.next((stanza) => stanza.attrs.xmlns === NS.sasl);
		const refused = (answer: XmlElement) => new FatalConnectionError(`The XMPP server refused the login (${childrenOf(answer)[0]?.name ?? answer.name}). Check the JID and password in the Clawgate XMPP credential.`);
		if (offered.includes('SCRAM-SHA-1')) {
			const first = scramClientFirst(local);
			let answer = reply();
			this.send(xml('auth', { xmlns: NS.sasl, mechanism: 'SCRAM-SHA-1' }, Buffer.from(first.message).toString('base64')));
			let challenge = await answer;
			if (challenge.name !== 'challenge') throw refused(challenge);
			const final = scramClientFinal(password, first.bare, first.nonce, Buffer.from(textOf(challenge), 'base64').toString('utf8'));
			answer = reply();
			this.send(xml('response', { xmlns: NS.sasl }, Buffer.from(final.message).toString('base64')));
			challenge = await answer;
			if (challenge.name !== 'success') throw refused(challenge);
			const verifier = /v=([^,]+)/.exec(Buffer.from(textOf(challenge), 'base64').toString('utf8'))?.[1] ?? '';
			const signature = Buffer.from(verifier, 'base64');
			if (signature.length !== final.serverSignature.length || !timingSafeEqual(signature, final.serverSignature)) {
				throw new FatalConnectionError('The XMPP server could not prove it knows the password (SCRAM server signature); not continuing.');
			}
			return;
		}
		if (offered.includes('PLAIN')) {
			const answer = reply();
			this.send(xml('auth', { xmlns: NS.sasl, mechanism: 'PLAIN' }, Buffer.from(`\0${local}\0${password}`).toString('base64')));
			const result = await answer;
			if (result.name !== 'success') throw refused(result);
			return;
		}
		throw new FatalConnectionError(`The XMPP server offers no login Clawgate speaks (it offers ${offered.join(', ') || 'none'}; Clawgate speaks SCRAM-SHA-1 and PLAIN).`);
	}

	/** Sends an IQ set and waits for its result; an error IQ rejects. */
	async iq(payload: string): Promise<XmlElement> {
		const id = `cg${++this.ids}`;
		const answer = this.next((stanza) => stanza.name === 'iq' && stanza.attrs.id === id);
		this.send(xml('iq', { type: 'set', id }, payload));
		const result = await answer;
		if (result.attrs.type !== 'result') throw new XmppError(`the server refused a request (${childrenOf(child(result, 'error') ?? result)[0]?.name ?? result.name})`);
		return result;
	}

	/** Joins a room without its history (XEP-0045 §7.2.15); on a nick conflict (409) tries nick_. */
	async join(room: string, nick: string): Promise<void> {
		for (let attempt = 0; attempt < 4; attempt++) {
			const tryNick = `${nick}${'_'.repeat(attempt)}`;
			const occupant = `${room}/${tryNick}`.toLowerCase();
			const answer = this.next(
				(stanza) =>
					stanza.name === 'presence' &&
					(stanza.attrs.from ?? '').toLowerCase() === occupant &&
					(stanza.attrs.type === 'error' || childrenOf(child(stanza, 'x', NS.mucUser) ?? stanza).some((status) => status.name === 'status' && status.attrs.code === '110')),
			);
			this.send(xml('presence', { to: `${room}/${tryNick}` }, xml('x', { xmlns: NS.muc }, xml('history', { maxstanzas: '0' }))));
			const presence = await answer;
			if (presence.name === 'closed') throw new XmppError('the connection closed while joining rooms');
			if (presence.attrs.type !== 'error') {
				this.rooms.set(room, tryNick);
				return;
			}
			const conflict = child(child(presence, 'error') ?? presence, 'conflict', NS.stanzas);
			if (!conflict) {
				this.options.log?.warn(`XMPP: could not join ${room}: ${childrenOf(child(presence, 'error') ?? presence)[0]?.name ?? 'refused'}.`);
				return;
			}
		}
		this.options.log?.warn(`XMPP: the nick ${nick} and its variants are taken in ${room}; not joining it.`);
	}

	/** Sends a message stanza; returns its ID. */
	message(to: string, type: 'chat' | 'groupchat', body: string): string {
		const id = `cg-${Date.now().toString(36)}-${++this.ids}`;
		// Control characters are not allowed in XML 1.0 (§2.2): left out rather than breaking the stream.
		this.send(xml('message', { to, type, id }, xml('body', {}, escapeXml(body.replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/g, '')))));
		return id;
	}

	async close(): Promise<void> {
		if (this.closing) return void (await this.ended);
		this.closing = true;
		if (!this.socket.destroyed) {
			this.send(xml('presence', { type: 'unavailable' }));
			this.send('</stream:stream>');
			this.socket.end();
			const timer = setTimeout(() => this.socket.destroy(), 2_000);
			await this.ended;
			clearTimeout(timer);
		}
	}
}
