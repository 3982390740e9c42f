/**
 * An XMPP server on loopback (RFC 6120/6121 with XEP-0045 rooms): a stream without TLS (clients
 * allow that only to this machine), SASL SCRAM-SHA-1 and PLAIN checked against its accounts,
 * resource binding, 1:1 message routing, and rooms that send occupants' presence, replay history
 * with a delay element on join, and reflect groupchat messages to every occupant (the sender too).
 * People are simulated: `chat()` and `roomSay()` deliver stanzas from JIDs that have no socket.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import { child, escapeXml, textOf, xml, XmlStreamParser, type XmlElement } from '../../nodes/Xmpp/xmpp.xml';

interface Session {
	id: number;
	socket: Socket;
	user: string | null;
	jid: string | null;
	authenticated: boolean;
	/** Sent its initial presence (RFC 6121 §4.2): 1:1 messages are routed to it from then on. */
	available: boolean;
}

export interface XmppEmulatorOptions {
	domain?: string;
	/** Accounts: local part → password. */
	accounts?: Record<string, string>;
	/** Mechanisms offered, in order. */
	mechanisms?: string[];
}

export class XmppEmulator {
	private server: Server | null = null;
	private nextId = 1;
	readonly sessions = new Map<number, Session>();
	readonly domain: string;
	readonly mucDomain: string;
	/** Every stanza clients sent after login, in order. */
	readonly received: Array<{ session: number; element: XmlElement }> = [];
	/** Rooms: room JID → occupant nick → full JID of a connected session (null for simulated people). */
	readonly rooms = new Map<string, Map<string, string | null>>();
	/** History each room replays on join. */
	readonly history = new Map<string, Array<{ nick: string; text: string; stamp: string }>>();
	readonly disconnects: Array<{ session: number; jid: string | null; at: number; cleanly: boolean }> = [];
	readonly authentications: string[] = [];
	port = 0;

	constructor(private readonly options: XmppEmulatorOptions = {}) {
		this.domain = options.domain ?? 'clawgate.test';
		this.mucDomain = `conference.${this.domain}`;
	}

	get url(): string {
		return `xmpp://127.0.0.1:${this.port}`;
	}

	async start(): Promise<void> {
		this.server = createServer((socket) => this.accept(socket));
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.port = (this.server.address() as AddressInfo).port;
	}

	async stop(): Promise<void> {
		for (const session of this.sessions.values()) session.socket.destroy();
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}

	dropAll(): void {
		for (const session of this.sessions.values()) session.socket.destroy();
	}

	/** Bare JIDs with a bound session now. */
	online(): string[] {
		return [...this.sessions.values()].filter((session) => session.jid).map((session) => session.jid!.split('/')[0]);
	}

	/**
	 * A person's 1:1 message to a bare JID, delivered to each of its available sessions. With none
	 * the server stores it (RFC 6121 §8.5.2.1.1, XEP-0160) and delivers it with a delay element
	 * (XEP-0203) to the next session that sends its initial presence. `delay` marks it as stored offline.
	 */
	chat({ from, to, text, id = `m${randomBytes(4).toString('hex')}`, delay }: { from: string; to: string; text: string; id?: string; delay?: string }): string {
		const stanza = xml('message', { from, to, type: 'chat', id }, xml('body', {}, escapeXml(text)), delay ? xml('delay', { xmlns: 'urn:xmpp:delay', from: this.domain, stamp: delay }) : null);
		const bare = to.split('/')[0];
		const online = [...this.sessions.values()].filter((session) => session.available && session.jid?.split('/')[0] === bare);
		if (online.length === 0 && !delay) {
			this.offline.push({ bare, from, text, id, stamp: new Date().toISOString() });
			return id;
		}
		for (const session of online) session.socket.write(stanza);
		return id;
	}

	/** Messages stored for accounts that were offline, not delivered yet. */
	readonly offline: Array<{ bare: string; from: string; text: string; id: string; stamp: string }> = [];

	private deliverOffline(session: Session): void {
		const bare = session.jid?.split('/')[0];
		for (const stored of this.offline.filter((message) => message.bare === bare)) {
			this.offline.splice(this.offline.indexOf(stored), 1);
			this.chat({ from: stored.from, to: bare!, text: stored.text, id: stored.id, delay: stored.stamp });
		}
	}

	/** A simulated person speaks in a room: reflected to every occupant with a session. */
	roomSay({ room, nick, text, id = `g${randomBytes(4).toString('hex')}` }: { room: string; nick: string; text: string; id?: string }): string {
		this.occupants(room).set(nick, this.occupants(room).get(nick) ?? null);
		this.broadcast(room, xml('message', { from: `${room}/${nick}`, type: 'groupchat', id }, xml('body', {}, escapeXml(text))));
		return id;
	}

	/** Bodies a client sent to `to` (a bare JID or a room), in order. */
	bodiesTo(to: string): string[] {
		return this.received.filter(({ element }) => element.name === 'message' && (element.attrs.to ?? '').split('/')[0] === to).map(({ element }) => textOf(child(element, 'body')));
	}

	private occupants(room: string): Map<string, string | null> {
		let occupants = this.rooms.get(room);
		if (!occupants) this.rooms.set(room, (occupants = new Map()));
		return occupants;
	}

	private broadcast(room: string, stanza: string): void {
		for (const fullJid of this.occupants(room).values()) {
			if (!fullJid) continue;
			const session = [...this.sessions.values()].find((candidate) => candidate.jid === fullJid);
			session?.socket.write(stanza.replace('<message ', `<message to="${escapeXml(fullJid)}" `));
		}
	}

	private accept(socket: Socket): void {
		const session: Session = { id: this.nextId++, socket, user: null, jid: null, authenticated: false, available: false };
		this.sessions.set(session.id, session);
		let parser = new XmlStreamParser();
		let scram: { user: string; clientFirstBare: string; serverFirst: string; nonce: string } | null = null;
		let cleanly = false;
		socket.setEncoding('utf8');
		socket.on('error', () => undefined);
		socket.on('close', () => {
			this.sessions.delete(session.id);
			for (const occupants of this.rooms.values()) for (const [nick, jid] of occupants) if (jid && jid === session.jid) occupants.delete(nick);
			this.disconnects.push({ session: session.id, jid: session.jid, at: Date.now(), cleanly });
		});
		const open = () => {
			socket.write(`<?xml version='1.0'?><stream:stream from='${this.domain}' id='${randomBytes(6).toString('hex')}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`);
			if (!session.authenticated) {
				const mechanisms = (this.options.mechanisms ?? ['SCRAM-SHA-1', 'PLAIN']).map((name) => xml('mechanism', {}, name)).join('');
				socket.write(`<stream:features>${xml('mechanisms', { xmlns: 'urn:ietf:params:xml:ns:xmpp-sasl' }, mechanisms)}</stream:features>`);
			} else {
				socket.write(`<stream:features>${xml('bind', { xmlns: 'urn:ietf:params:xml:ns:xmpp-bind' })}</stream:features>`);
			}
		};
		const failure = (condition: string) => socket.write(xml('failure', { xmlns: 'urn:ietf:params:xml:ns:xmpp-sasl' }, xml(condition)));
		const succeed = (user: string, additional?: string) => {
			session.user = user;
			session.authenticated = true;
			this.authentications.push(user);
			socket.write(xml('success', { xmlns: 'urn:ietf:params:xml:ns:xmpp-sasl' }, additional));
			parser = new XmlStreamParser();
		};
		const handle = (element: XmlElement) => {
			if (element.name === 'auth') {
				const mechanism = element.attrs.mechanism;
				const decoded = Buffer.from(textOf(element), 'base64').toString('utf8');
				if (mechanism === 'PLAIN') {
					const [, user, password] = decoded.split('\0');
					return this.options.accounts?.[user] === password ? succeed(user) : failure('not-authorized');
				}
				if (mechanism === 'SCRAM-SHA-1') {
					const bare = decoded.replace(/^n,,/, '');
					const user = /n=([^,]*)/.exec(bare)?.[1] ?? '';
					const nonce = `${/r=([^,]*)/.exec(bare)?.[1] ?? ''}${randomBytes(12).toString('base64')}`;
					const serverFirst = `r=${nonce},s=${Buffer.from(`salt-${user}`).toString('base64')},i=4096`;
					scram = { user, clientFirstBare: bare, serverFirst, nonce };
					return socket.write(xml('challenge', { xmlns: 'urn:ietf:params:xml:ns:xmpp-sasl' }, Buffer.from(serverFirst).toString('base64')));
				}
				return failure('invalid-mechanism');
			}
			if (element.name === 'response' && scram) {
				const final = Buffer.from(textOf(element), 'base64').toString('utf8');
				const withoutProof = final.replace(/,p=[^,]*$/, '');
				const proof = Buffer.from(/p=([^,]*)$/.exec(final)?.[1] ?? '', 'base64');
				const password = this.options.accounts?.[scram.user];
				if (password === undefined) return failure('not-authorized');
				const salted = pbkdf2Sync(password, Buffer.from(`salt-${scram.user}`), 4096, 20, 'sha1');
				const clientKey = createHmac('sha1', salted).update('Client Key').digest();
				const authMessage = `${scram.clientFirstBare},${scram.serverFirst},${withoutProof}`;
				const signature = createHmac('sha1', createHash('sha1').update(clientKey).digest()).update(authMessage).digest();
				const expected = Buffer.from(clientKey.map((byte, index) => byte ^ signature[index]));
				if (!proof.equals(expected)) return failure('not-authorized');
				const serverSignature = createHmac('sha1', createHmac('sha1', salted).update('Server Key').digest()).update(authMessage).digest();
				return succeed(scram.user, Buffer.from(`v=${serverSignature.toString('base64')}`).toString('base64'));
			}
			if (!session.authenticated) return socket.destroy();
			this.received.push({ session: session.id, element });
			if (element.name === 'iq') {
				const bind = child(element, 'bind', 'urn:ietf:params:xml:ns:xmpp-bind');
				if (bind) {
					session.jid = `${session.user}@${this.domain}/${textOf(child(bind, 'resource')) || randomBytes(4).toString('hex')}`;
					return socket.write(xml('iq', { type: 'result', id: element.attrs.id }, xml('bind', { xmlns: 'urn:ietf:params:xml:ns:xmpp-bind' }, xml('jid', {}, escapeXml(session.jid)))));
				}
				return socket.write(xml('iq', { type: 'result', id: element.attrs.id }));
			}
			if (element.name === 'presence' && element.attrs.to) return this.joinRoom(session, element.attrs.to);
			if (element.name === 'presence') {
				session.available = element.attrs.type !== 'unavailable';
				if (session.available) this.deliverOffline(session);
				return undefined;
			}
			if (element.name === 'message' && element.attrs.to) {
				const to = element.attrs.to;
				if (element.attrs.type === 'groupchat') {
					const nick = [...this.occupants(to).entries()].find(([, jid]) => jid === session.jid)?.[0];
					if (nick) this.broadcast(to, xml('message', { from: `${to}/${nick}`, type: 'groupchat', id: element.attrs.id }, xml('body', {}, escapeXml(textOf(child(element, 'body'))))));
				}
			}
			return undefined;
		};
		socket.on('data', (chunk: string) => {
			let events;
			try {
				events = parser.feed(chunk);
			} catch {
				socket.destroy();
				return;
			}
			for (const event of events) {
				if (event.kind === 'open') open();
				else if (event.kind === 'close') {
					cleanly = true;
					socket.end('</stream:stream>');
				} else handle(event.element);
			}
		});
	}

	private joinRoom(session: Session, to: string): void {
		const [room, nick] = [to.split('/')[0], to.split('/').slice(1).join('/')];
		const occupants = this.occupants(room);
		const holder = occupants.get(nick);
		if (holder !== undefined && holder !== session.jid) {
			session.socket.write(xml('presence', { from: to, to: session.jid!, type: 'error' }, xml('error', { type: 'cancel' }, xml('conflict', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))));
			return;
		}
		for (const [other] of occupants) session.socket.write(xml('presence', { from: `${room}/${other}`, to: session.jid! }, xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' }, xml('item', { affiliation: 'member', role: 'participant' }))));
		occupants.set(nick, session.jid);
		session.socket.write(xml('presence', { from: to, to: session.jid! }, xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' }, xml('item', { affiliation: 'member', role: 'participant' }), xml('status', { code: '110' }))));
		// XEP-0045 §7.2.15: history comes after presence, each with a delay; this server ignores maxstanzas='0' on purpose.
		for (const past of this.history.get(room) ?? []) {
			session.socket.write(xml('message', { from: `${room}/${past.nick}`, to: session.jid!, type: 'groupchat', id: randomBytes(4).toString('hex') }, xml('body', {}, escapeXml(past.text)), xml('delay', { xmlns: 'urn:xmpp:delay', from: room, stamp: past.stamp })));
		}
	}
}
