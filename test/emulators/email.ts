/**
 * A mail server on loopback: IMAP4rev1 (RFC 3501) with IDLE (RFC 2177) over one INBOX, and SMTP
 * (RFC 5321) with AUTH PLAIN/LOGIN (RFC 4954). Without TLS: clients allow that only to this
 * machine. Enough of IMAP for a real client (imapflow): CAPABILITY, LOGIN, LIST, SELECT with
 * UIDVALIDITY/UIDNEXT/PERMANENTFLAGS, UID SEARCH, UID FETCH with partial BODY[], UID STORE of
 * keywords, IDLE with EXISTS, NOOP, LOGOUT. `deliver()` puts a mail in the INBOX as an MTA would;
 * `sent` holds what clients submitted over SMTP.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface StoredMail {
	uid: number;
	flags: Set<string>;
	raw: Buffer;
}

export interface SubmittedMail {
	from: string;
	to: string[];
	raw: string;
	at: number;
}

export interface OutgoingMail {
	from: string;
	to: string;
	subject: string;
	text: string;
	messageId?: string;
	inReplyTo?: string;
	references?: string[];
	headers?: Record<string, string>;
	date?: Date;
}

export function composeMail(mail: OutgoingMail): string {
	const headers = [
		`From: ${mail.from}`,
		`To: ${mail.to}`,
		`Subject: ${mail.subject}`,
		`Date: ${(mail.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
		`Message-ID: ${mail.messageId ?? `<${randomBytes(8).toString('hex')}@people.clawgate.test>`}`,
		...(mail.inReplyTo ? [`In-Reply-To: ${mail.inReplyTo}`] : []),
		...(mail.references ? [`References: ${mail.references.join(' ')}`] : []),
		...Object.entries(mail.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
		'MIME-Version: 1.0',
		'Content-Type: text/plain; charset=utf-8',
		'Content-Transfer-Encoding: 8bit',
	];
	return `${headers.join('\r\n')}\r\n\r\n${mail.text.replace(/\r?\n/g, '\r\n')}\r\n`;
}

interface ImapSession {
	socket: Socket;
	authenticated: boolean;
	selected: boolean;
	idleTag: string | null;
	/** Messages this session was told exist. */
	known: number;
}

export class MailEmulator {
	private imap: Server | null = null;
	private smtp: Server | null = null;
	readonly mailbox: StoredMail[] = [];
	readonly sent: SubmittedMail[] = [];
	readonly sessions = new Set<ImapSession>();
	/** IMAP commands received, with their tags stripped ("UID SEARCH …"). */
	readonly commands: string[] = [];
	readonly logouts: number[] = [];
	readonly disconnects: number[] = [];
	uidValidity = 1_700_000_000;
	uidNext = 1;
	imapPort = 0;
	smtpPort = 0;

	constructor(readonly accounts: Record<string, string> = {}) {}

	async start(): Promise<void> {
		this.imap = createServer((socket) => this.acceptImap(socket));
		this.smtp = createServer((socket) => this.acceptSmtp(socket));
		await Promise.all([this.imap, this.smtp].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
		this.imapPort = (this.imap.address() as AddressInfo).port;
		this.smtpPort = (this.smtp.address() as AddressInfo).port;
	}

	async stop(): Promise<void> {
		for (const session of this.sessions) session.socket.destroy();
		await Promise.all([this.imap, this.smtp].map((server) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))));
	}

	credential(user: string): Record<string, unknown> {
		return { imapHost: '127.0.0.1', imapPort: this.imapPort, smtpHost: '127.0.0.1', smtpPort: this.smtpPort, user, password: this.accounts[user], secure: false, baseUrl: '' };
	}

	/** A mail arrives in the INBOX; IDLE sessions hear of it at once. Returns its UID. */
	deliver(mail: OutgoingMail | string): number {
		const uid = this.uidNext++;
		this.mailbox.push({ uid, flags: new Set(), raw: Buffer.from(typeof mail === 'string' ? mail : composeMail(mail)) });
		for (const session of this.sessions) {
			if (session.selected && session.idleTag) {
				session.socket.write(`* ${this.mailbox.length} EXISTS\r\n`);
				session.known = this.mailbox.length;
			}
		}
		return uid;
	}

	/** The mailbox was rebuilt: every UID is new (RFC 3501 §2.3.1.1). */
	resetUidValidity(): void {
		this.uidValidity++;
	}

	dropAll(): void {
		for (const session of this.sessions) session.socket.destroy();
	}

	// -------------------------------------------------------------------------------------------
	// IMAP

	private acceptImap(socket: Socket): void {
		const session: ImapSession = { socket, authenticated: false, selected: false, idleTag: null, known: 0 };
		this.sessions.add(session);
		socket.on('error', () => undefined);
		socket.on('close', () => {
			this.sessions.delete(session);
			this.disconnects.push(Date.now());
		});
		socket.write('* OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] Clawgate test IMAP ready\r\n');
		let buffer = '';
		socket.on('data', (chunk: Buffer) => {
			buffer += chunk.toString('utf8');
			let newline: number;
			while ((newline = buffer.indexOf('\r\n')) >= 0) {
				const line = buffer.slice(0, newline);
				buffer = buffer.slice(newline + 2);
				this.imapLine(session, line);
			}
		});
	}

	private imapLine(session: ImapSession, line: string): void {
		const { socket } = session;
		if (session.idleTag) {
			if (line.trim().toUpperCase() === 'DONE') {
				socket.write(`${session.idleTag} OK IDLE terminated\r\n`);
				session.idleTag = null;
			}
			return;
		}
		const match = /^(\S+) (\S+)(?: (.*))?$/.exec(line);
		if (!match) return void socket.write('* BAD no command\r\n');
		const [, tag, verb, rest = ''] = match;
		let command = verb.toUpperCase();
		let args = rest;
		let byUid = false;
		if (command === 'UID') {
			byUid = true;
			const space = args.indexOf(' ');
			command = args.slice(0, space).toUpperCase();
			args = args.slice(space + 1);
		}
		this.commands.push(`${byUid ? 'UID ' : ''}${command}${command === 'LOGIN' ? '' : ` ${args}`}`);
		const ok = (text = `${command} completed`) => void socket.write(`${tag} OK ${text}\r\n`);
		switch (command) {
			case 'CAPABILITY':
				socket.write('* CAPABILITY IMAP4rev1 IDLE UIDPLUS\r\n');
				return ok();
			case 'NOOP':
				this.announce(session);
				return ok();
			case 'LOGIN': {
				const [user, password] = [...args.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((part) => (part[1] ?? part[2]).replace(/\\(.)/g, '$1'));
				if (this.accounts[user] !== undefined && this.accounts[user] === password) {
					session.authenticated = true;
					return ok('[CAPABILITY IMAP4rev1 IDLE UIDPLUS] LOGIN completed');
				}
				return void socket.write(`${tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n`);
			}
			case 'LOGOUT':
				this.logouts.push(Date.now());
				socket.write('* BYE Clawgate test IMAP logging out\r\n');
				ok();
				return void socket.end();
		}
		if (!session.authenticated) return void socket.write(`${tag} NO not logged in\r\n`);
		switch (command) {
			case 'LIST':
				if (/INBOX|\*|%/i.test(args)) socket.write('* LIST (\\HasNoChildren) "/" INBOX\r\n');
				return ok();
			case 'SELECT':
			case 'EXAMINE':
				if (!/INBOX/i.test(args)) return void socket.write(`${tag} NO no such mailbox\r\n`);
				session.selected = true;
				session.known = this.mailbox.length;
				socket.write(
					[
						'* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
						'* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
						`* ${this.mailbox.length} EXISTS`,
						'* 0 RECENT',
						`* OK [UIDVALIDITY ${this.uidValidity}] UIDs valid`,
						`* OK [UIDNEXT ${this.uidNext}] Predicted next UID`,
						'',
					].join('\r\n'),
				);
				return ok(`[${command === 'SELECT' ? 'READ-WRITE' : 'READ-ONLY'}] ${command} completed`);
			case 'IDLE':
				session.idleTag = tag;
				socket.write('+ idling\r\n');
				return this.announce(session);
			case 'SEARCH': {
				const found = this.search(args).map((mail) => (byUid ? mail.uid : this.mailbox.indexOf(mail) + 1));
				socket.write(`* SEARCH${found.map((id) => ` ${id}`).join('')}\r\n`);
				return ok();
			}
			case 'FETCH':
				return this.fetch(session, tag, args, byUid);
			case 'STORE':
				return this.store(session, tag, args, byUid);
			case 'CLOSE':
				session.selected = false;
				return ok();
		}
		socket.write(`${tag} BAD unknown command ${command}\r\n`);
	}

	private announce(session: ImapSession): void {
		if (session.selected && this.mailbox.length > session.known) {
			session.socket.write(`* ${this.mailbox.length} EXISTS\r\n`);
			session.known = this.mailbox.length;
		}
	}

	/** Mails in a UID or sequence set ("3:*", "1,4:6"); "n:*" always holds the last mail (RFC 3501 §6.4.8). */
	private inSet(set: string, byUid: boolean): StoredMail[] {
		const last = byUid ? (this.mailbox.at(-1)?.uid ?? 0) : this.mailbox.length;
		const ranges = set.split(',').map((part) => {
			const [from, to = from] = part.split(':').map((value) => (value === '*' ? last : Number(value)));
			return [Math.min(from, to), Math.max(from, to)];
		});
		return this.mailbox.filter((mail, index) => ranges.some(([from, to]) => (byUid ? mail.uid : index + 1) >= from && (byUid ? mail.uid : index + 1) <= to));
	}

	private search(criteria: string): StoredMail[] {
		let mails = [...this.mailbox];
		const tokens = criteria.match(/\S+/g) ?? [];
		for (let index = 0; index < tokens.length; index++) {
			const token = tokens[index].toUpperCase();
			if (token === 'UID') {
				const set = new Set(this.inSet(tokens[++index], true));
				mails = mails.filter((mail) => set.has(mail));
			} else if (token === 'UNKEYWORD' || token === 'KEYWORD') {
				const keyword = tokens[++index];
				mails = mails.filter((mail) => mail.flags.has(keyword) === (token === 'KEYWORD'));
			} else if (token === 'UNSEEN') mails = mails.filter((mail) => !mail.flags.has('\\Seen'));
		}
		return mails;
	}

	private fetch(session: ImapSession, tag: string, args: string, byUid: boolean): void {
		const space = args.indexOf(' ');
		const mails = this.inSet(args.slice(0, space), byUid);
		const items = args.slice(space + 1).toUpperCase();
		for (const mail of mails) {
			const parts: Array<string | Buffer> = [`UID ${mail.uid}`];
			if (items.includes('FLAGS')) parts.push(`FLAGS (${[...mail.flags].join(' ')})`);
			if (items.includes('RFC822.SIZE')) parts.push(`RFC822.SIZE ${mail.raw.length}`);
			const body = /BODY(?:\.PEEK)?\[\](?:<(\d+)\.(\d+)>)?/.exec(items);
			if (body) {
				const start = Number(body[1] ?? 0);
				const data = body[2] ? mail.raw.subarray(start, start + Number(body[2])) : mail.raw;
				parts.push(`BODY[]${body[1] !== undefined ? `<${start}>` : ''} {${data.length}}\r\n`, data);
			}
			const seq = this.mailbox.indexOf(mail) + 1;
			const chunks: Array<string | Buffer> = [`* ${seq} FETCH (`];
			parts.forEach((part, index) => chunks.push(index > 0 && !(Buffer.isBuffer(part)) && !String(parts[index - 1]).endsWith('\r\n') ? ` ${part}` : part));
			chunks.push(')\r\n');
			session.socket.write(Buffer.concat(chunks.map((part) => (Buffer.isBuffer(part) ? part : Buffer.from(part)))));
		}
		session.socket.write(`${tag} OK FETCH completed\r\n`);
	}

	private store(session: ImapSession, tag: string, args: string, byUid: boolean): void {
		const match = /^(\S+) ([+-]?)FLAGS(\.SILENT)? \(?([^)]*)\)?$/i.exec(args);
		if (!match) return void session.socket.write(`${tag} BAD bad STORE\r\n`);
		const [, set, sign, silent, list] = match;
		const flags = list.split(/\s+/).filter(Boolean);
		for (const mail of this.inSet(set, byUid)) {
			if (sign === '') mail.flags = new Set(flags);
			for (const flag of flags) {
				if (sign === '-') mail.flags.delete(flag);
				else mail.flags.add(flag);
			}
			if (!silent) session.socket.write(`* ${this.mailbox.indexOf(mail) + 1} FETCH (UID ${mail.uid} FLAGS (${[...mail.flags].join(' ')}))\r\n`);
		}
		session.socket.write(`${tag} OK STORE completed\r\n`);
	}

	// -------------------------------------------------------------------------------------------
	// SMTP

	private acceptSmtp(socket: Socket): void {
		let buffer = '';
		let authenticated = false;
		let from = '';
		let to: string[] = [];
		let data: string | null = null;
		let login: 'user' | 'password' | null = null;
		let loginUser = '';
		const reply = (line: string) => socket.write(`${line}\r\n`);
		socket.on('error', () => undefined);
		reply('220 smtp.clawgate.test ESMTP Clawgate test');
		const drain = (): void => {
			if (data !== null) {
				const end = buffer.indexOf('\r\n.\r\n');
				if (end < 0) return;
				data = buffer.slice(0, end + 2).replace(/\r\n\.\./g, '\r\n.');
				buffer = buffer.slice(end + 5);
				this.sent.push({ from, to, raw: data, at: Date.now() });
				data = null;
				reply(`250 2.0.0 Ok: queued as ${randomBytes(5).toString('hex')}`);
			}
			let newline: number;
			while (data === null && (newline = buffer.indexOf('\r\n')) >= 0) {
				const line = buffer.slice(0, newline);
				buffer = buffer.slice(newline + 2);
				if (login) {
					const value = Buffer.from(line, 'base64').toString('utf8');
					if (login === 'user') {
						loginUser = value;
						login = 'password';
						reply('334 UGFzc3dvcmQ6');
					} else {
						login = null;
						authenticated = this.accounts[loginUser] === value;
						reply(authenticated ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication credentials invalid');
					}
					continue;
				}
				const verb = line.slice(0, 4).toUpperCase();
				if (verb === 'EHLO') reply('250-smtp.clawgate.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8');
				else if (verb === 'HELO') reply('250 smtp.clawgate.test');
				else if (verb === 'AUTH') {
					const [, mechanism, initial] = line.split(' ');
					if (mechanism.toUpperCase() === 'PLAIN') {
						const [, user, password] = Buffer.from(initial ?? '', 'base64').toString('utf8').split('\0');
						authenticated = this.accounts[user] !== undefined && this.accounts[user] === password;
						reply(authenticated ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication credentials invalid');
					} else {
						login = 'user';
						reply('334 VXNlcm5hbWU6');
					}
				} else if (verb === 'MAIL') {
					if (!authenticated) reply('530 5.7.0 Authentication required');
					else {
						from = /<([^>]*)>/.exec(line)?.[1] ?? '';
						to = [];
						reply('250 2.1.0 Ok');
					}
				} else if (verb === 'RCPT') {
					to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
					reply('250 2.1.5 Ok');
				} else if (verb === 'DATA') {
					data = '';
					reply('354 End data with <CR><LF>.<CR><LF>');
				} else if (verb === 'RSET') reply('250 2.0.0 Ok');
				else if (verb === 'NOOP') reply('250 2.0.0 Ok');
				else if (verb === 'QUIT') {
					reply('221 2.0.0 Bye');
					socket.end();
				} else reply('502 5.5.2 Command not recognized');
			}
			if (data !== null && buffer.includes('\r\n.\r\n')) drain();
		};
		socket.on('data', (chunk: Buffer) => {
			buffer += chunk.toString('utf8');
			drain();
		});
	}
}
