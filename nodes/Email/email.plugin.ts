/**
 * Email as a Clawgate channel plugin: IMAP in (imapflow, IDLE with a polling fallback), SMTP out
 * (nodemailer). Mail is parsed with mailparser; only text/plain (or text/html made text) reaches
 * the envelope, capped, and attachments are listed, not downloaded.
 *
 * Conversations: `chat.id` is the sender's address (the send node's default recipient), and
 * `chat.threadId` the Message-ID that started the thread (the first of References), so each email
 * thread is a session of its own: `email:<account>:dm:<address>:<thread root>`.
 *
 * Only mail that arrives after activation is answered: the trigger keeps a high-water mark
 * (UIDVALIDITY and the next UID) in its static data, moved past a mail once its execution ended,
 * and marks the mail with the keyword `$ClawgateDone` on the server at the same moment, so mail
 * that arrived while n8n was down is answered once after the restart, and none twice.
 */
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import type { AddressObject, ParsedMail } from 'mailparser';
import type { createTransport } from 'nodemailer';
import type { IDataObject } from 'n8n-workflow';

import type { ChannelPlugin } from '../core/channel';
import { buildSessionId, commandForBot, type Envelope, type EnvelopeAttachment, type SessionScope } from '../core/envelope';
import { FatalConnectionError, keepConnected, type OpenConnection } from '../core/keep-connected';
import { onFirstUse } from '../core/on-first-use';
import { plainRenderer } from '../core/text/renderer';
import type { ChannelListenerInput, ListenerTriggerDeclaration, RunningListener } from '../shared/listener-trigger';

export interface EmailCredential {
	imapHost?: string;
	imapPort?: number;
	smtpHost?: string;
	smtpPort?: number;
	user?: string;
	password?: string;
	/** TLS from the first byte (IMAPS 993, SMTPS 465); off uses STARTTLS, required unless the server is this machine. */
	secure?: boolean;
	/** The address mail is sent from; empty uses the user name. */
	address?: string;
	/** Unused: mail servers are named by host and port. Present like on every Clawgate credential. */
	baseUrl?: string;
}

export class EmailError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'EmailError';
	}
}

/** The keyword a handled mail gets on the server (RFC 3501 §2.3.2 keywords; most servers keep them). */
export const DONE_KEYWORD = '$ClawgateDone';
/** Bytes of a mail fetched at most: larger mails are read up to here (their text first, attachments cut). */
export const MAX_MAIL_BYTES = 1024 * 1024;
/** Characters of the body that reach the envelope. */
export const MAX_BODY_CHARS = 20_000;
const STATE_KEY = 'clawgateEmail';
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

export function addressOf(credential: EmailCredential): string {
	const address = (credential.address?.trim() || credential.user?.trim() || '').toLowerCase();
	if (!/^[^@\s]+@[^@\s]+$/.test(address)) throw new EmailError('The Clawgate Email credential needs the mailbox address: set "Email Address" (or use the full address as the user name).');
	return address;
}

function required(value: string | undefined, field: string): string {
	if (!value?.trim()) throw new EmailError(`The Clawgate Email credential has no ${field}.`);
	return value.trim();
}

// imapflow, mailparser and nodemailer are loaded on first use, not on import: n8n loads every node
// file of a community package at startup, Email used or not.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadMailparser = onFirstUse(() => require('mailparser') as typeof import('mailparser'));

function imapClient(credential: EmailCredential): ImapFlow {
	const host = required(credential.imapHost, 'IMAP host');
	const secure = credential.secure !== false;
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { ImapFlow } = require('imapflow') as typeof import('imapflow');
	return new ImapFlow({
		host,
		port: Number(credential.imapPort) || (secure ? 993 : 143),
		secure,
		// Without TLS from the start, STARTTLS is required, except to this machine.
		doSTARTTLS: secure ? undefined : LOOPBACK.test(host) ? undefined : true,
		auth: { user: required(credential.user, 'user name'), pass: credential.password ?? '' },
		logger: false,
		disableCompression: true,
		connectionTimeout: 30_000,
		// IDLE is re-issued within this, and servers without IDLE are polled this often.
		maxIdleTime: 60_000,
	});
}

// ---------------------------------------------------------------------------------------------
// Inbound

function firstAddress(field: AddressObject | AddressObject[] | undefined): { address: string; name: string | null } | null {
	const list = Array.isArray(field) ? field.flatMap((entry) => entry.value) : (field?.value ?? []);
	const first = list.find((entry) => entry.address);
	return first?.address ? { address: first.address.toLowerCase(), name: first.name || null } : null;
}

function referencesOf(mail: ParsedMail): string[] {
	const references = Array.isArray(mail.references) ? mail.references : mail.references ? mail.references.split(/\s+/) : [];
	return references.filter(Boolean);
}

/**
 * HTML as text in one pass, for the HTML parts mailparser leaves unconverted (an HTML part beside
 * attachments): tags dropped (block ends become line breaks), the common entities decoded.
 */
export function htmlAsText(html: string): string {
	let out = '';
	let tag: string | null = null;
	for (const char of html.slice(0, MAX_BODY_CHARS * 4)) {
		if (tag !== null) {
			if (char !== '>') {
				if (tag.length < 8) tag += char;
				continue;
			}
			if (/^\/?(p|div|br|li|tr|h\d)\b/i.test(tag)) out += '\n';
			tag = null;
		} else if (char === '<') tag = '';
		else out += char;
	}
	const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
	return out.replace(/&(amp|lt|gt|quot|apos|nbsp);/g, (_match, name: string) => entities[name]).replace(/[ \t]+/g, ' ').replace(/\n\s*\n+/g, '\n\n');
}

/** The text a person wrote: text/plain, else the HTML made text; without the quoted history below "On … wrote:". */
export function bodyTextOf(mail: ParsedMail): string {
	const full = (mail.text || (typeof mail.html === 'string' ? htmlAsText(mail.html) : '')).slice(0, MAX_BODY_CHARS * 2);
	const lines = full.split(/\r?\n/);
	const cut = lines.findIndex((line, index) => /^On .{1,200} wrote:\s*$/.test(line) || (line.startsWith('>') && lines.slice(index).every((rest) => rest.startsWith('>') || !rest.trim())));
	return (cut >= 0 ? lines.slice(0, cut) : lines).join('\n').trim().slice(0, MAX_BODY_CHARS);
}

function attachmentsOf(mail: ParsedMail): EnvelopeAttachment[] {
	return mail.attachments.map((attachment, index) => {
		const type = attachment.contentType.split('/')[0];
		const kind = type === 'image' ? 'image' : type === 'audio' ? 'audio' : type === 'video' ? 'video' : 'document';
		return { kind, id: attachment.contentId || attachment.checksum || String(index), mimeType: attachment.contentType, name: attachment.filename ?? null, size: attachment.size ?? null };
	});
}

export interface EmailNormalizeContext {
	account: string;
	uidValidity: string;
	uid: number;
	sessionScope?: SessionScope;
}

/** Why a mail starts nothing (no sender, an automatic reply, a bounce), or null. */
export function whyMailIsNoMessage(mail: ParsedMail): string | null {
	if (!firstAddress(mail.from)) return 'it has no sender address';
	const auto = String(mail.headers.get('auto-submitted') ?? 'no').toLowerCase();
	if (auto !== 'no') return `it was sent automatically (Auto-Submitted: ${auto}), and answering could start a mail loop`;
	const precedence = String(mail.headers.get('precedence') ?? '').toLowerCase();
	if (['bulk', 'junk', 'list', 'auto_reply'].includes(precedence)) return `it is bulk or list mail (Precedence: ${precedence})`;
	// mailparser gathers the List-* headers under "list".
	if (mail.headers.has('list') || mail.headers.has('list-id') || mail.headers.has('list-unsubscribe')) return 'it comes from a mailing list';
	return null;
}

export function emailEnvelopeOf(mail: ParsedMail, context: EmailNormalizeContext): { envelope: Envelope; fromSelf: boolean } {
	const from = firstAddress(mail.from)!;
	const messageId = mail.messageId || `<uid-${context.uidValidity}-${context.uid}@${context.account.split('@')[1]}>`;
	const references = referencesOf(mail);
	const root = references[0] ?? (typeof mail.inReplyTo === 'string' ? mail.inReplyTo : null) ?? messageId;
	const chat = { id: from.address, type: 'dm' as const, threadId: root, title: mail.subject ?? null };
	const text = bodyTextOf(mail);
	return {
		fromSelf: from.address === context.account,
		envelope: {
			sessionId: buildSessionId({ channel: 'email', accountId: context.account, chat, senderId: from.address, scope: context.sessionScope }),
			channel: 'email',
			accountId: context.account,
			event: 'message',
			chat,
			sender: { id: from.address, name: from.name, username: from.address, isBot: false },
			message: {
				id: messageId,
				text,
				replyToId: typeof mail.inReplyTo === 'string' ? mail.inReplyTo : null,
				mentionsBot: true,
				command: commandForBot(text, null),
				attachments: attachmentsOf(mail),
				timestamp: (mail.date ?? new Date()).toISOString(),
			},
			raw: { uid: context.uid, uidValidity: context.uidValidity, subject: mail.subject ?? '', messageId, inReplyTo: mail.inReplyTo ?? null, references, date: mail.date?.toISOString() ?? null, from: from.address, text },
		},
	};
}

/** What the trigger node shows: its names, the notice above its options, how IDs are written. */
export const emailTriggerDeclaration: ListenerTriggerDeclaration = {
	displayName: 'Email',
	version: [1],
	description: 'Starts the workflow when a mail arrives in the mailbox (IMAP), as a Clawgate envelope: one conversation per email thread',
	setupNotice:
		'While the workflow is active, n8n keeps the INBOX open (IMAP IDLE) and answers mail that arrives from now on; older mail is left alone. A mailbox address is public: set <b>DM Policy</b> to Allowlist (with Allowed Senders) or Pairing, or the bot answers spam with your model budget.',
	ids: { senders: 'ada@example.org, grace@example.org', chats: 'ada@example.org', hint: 'email addresses' },
	groups: false,
};

/** The high-water mark in the trigger's static data: mail below `nextUid` (in this UIDVALIDITY) was handled. */
interface Mark {
	uidValidity: string;
	nextUid: number;
}

function readMark(staticData: IDataObject): Mark | null {
	const mark = staticData[STATE_KEY] as Partial<Mark> | undefined;
	return mark && typeof mark.uidValidity === 'string' && typeof mark.nextUid === 'number' ? { uidValidity: mark.uidValidity, nextUid: mark.nextUid } : null;
}

function describeImapError(error: unknown, host: string): Error {
	const failed = error as { authenticationFailed?: boolean; responseText?: string; code?: string; message?: string };
	if (failed?.authenticationFailed) return new FatalConnectionError(`The IMAP server ${host} refused the login${failed.responseText ? ` (${failed.responseText})` : ''}. Check the user name and password in the Clawgate Email credential (many providers want an app password).`);
	return new EmailError(`IMAP ${host}: ${failed?.responseText || failed?.message || String(error)}${failed?.code ? ` (${failed.code})` : ''}`);
}

/**
 * One IMAP session of the trigger: INBOX selected, new mail handed over one at a time in UID order
 * (each confirmed once its execution ended), woken by IDLE's EXISTS and by a poll each minute.
 */
async function openMailbox(input: ChannelListenerInput<EmailCredential>, account: string): Promise<OpenConnection> {
	const client = imapClient(input.credential);
	const host = input.credential.imapHost ?? '';
	try {
		await client.connect();
	} catch (error) {
		client.close();
		throw describeImapError(error, host);
	}
	let endedWith: (error: Error | null) => void = () => undefined;
	const ended = new Promise<Error | null>((resolve) => (endedWith = resolve));
	let closing = false;
	client.on('error', (error: Error) => input.logger.warn(`IMAP ${host}: ${error.message}`));
	client.on('close', () => endedWith(closing ? null : new EmailError(`the IMAP server ${host} closed the connection`)));
	const lock = await client.getMailboxLock('INBOX');
	const mailbox = client.mailbox as { uidValidity: bigint; uidNext: number; permanentFlags?: Set<string> };
	const uidValidity = String(mailbox.uidValidity);
	const stored = readMark(input.staticData);
	// First activation, or the mailbox was rebuilt (a new UIDVALIDITY): only mail from now on.
	let mark: Mark = stored && stored.uidValidity === uidValidity ? stored : { uidValidity, nextUid: mailbox.uidNext };
	input.staticData[STATE_KEY] = { ...mark };
	const keywords = !mailbox.permanentFlags || mailbox.permanentFlags.has('\\*');
	lock.release();

	const confirm = async (uid: number) => {
		mark = { uidValidity, nextUid: Math.max(mark.nextUid, uid + 1) };
		input.staticData[STATE_KEY] = { ...mark };
		if (keywords) await client.messageFlagsAdd(String(uid), [DONE_KEYWORD], { uid: true }).catch(() => undefined);
	};

	const handle = async (message: FetchMessageObject) => {
		if (!message.source) return;
		const mail = await loadMailparser().simpleParser(message.source, { skipImageLinks: true, skipTextToHtml: true });
		const skipped = whyMailIsNoMessage(mail);
		if (skipped) return input.logger.debug(`Mail ${message.uid} starts nothing: ${skipped}`);
		const { envelope, fromSelf } = emailEnvelopeOf(mail, { account, uidValidity, uid: message.uid, sessionScope: input.sessionScope });
		if (!(await input.admit(envelope, { fromSelf }))) return;
		await input.emitAndWait(envelope);
	};

	let running: Promise<void> | null = null;
	let again = false;
	const fetchNew = async (): Promise<void> => {
		const search = keywords ? { uid: `${mark.nextUid}:*`, unKeyword: DONE_KEYWORD } : { uid: `${mark.nextUid}:*` };
		const found = ((await client.search(search, { uid: true })) || []).filter((uid) => uid >= mark.nextUid).sort((a, b) => a - b);
		for (const uid of found) {
			if (closing) return;
			const message = await client.fetchOne(String(uid), { uid: true, source: { maxLength: MAX_MAIL_BYTES } }, { uid: true });
			try {
				if (message) await handle(message);
			} catch (error) {
				input.logger.warn(`Mail ${uid}: ${(error as Error).message}. It is not answered again.`);
			}
			if (!closing) await confirm(uid);
		}
	};
	const wake = () => {
		if (running) {
			again = true;
			return;
		}
		running = (async () => {
			do {
				again = false;
				const lock = await client.getMailboxLock('INBOX');
				try {
					await fetchNew();
				} finally {
					lock.release();
				}
			} while (again && !closing);
			// IDLE until the next command: the server tells of new mail meanwhile (RFC 2177).
			if (!closing) void client.idle().catch(() => undefined);
		})()
			.catch((error: unknown) => input.logger.warn(describeImapError(error, host).message))
			.finally(() => (running = null));
	};
	client.on('exists', wake);
	const poll = setInterval(wake, 60_000);
	poll.unref();
	wake();
	return {
		ended,
		async close() {
			closing = true;
			clearInterval(poll);
			await running;
			await client.logout().catch(() => client.close());
			await ended;
		},
	};
}

/** Logs in to IMAP and SMTP once (the credential's Test button). */
export async function checkEmailCredential(credential: EmailCredential): Promise<void> {
	const client = imapClient(credential);
	const host = credential.imapHost ?? '';
	const connected = await client.connect().then(
		() => null,
		(error: unknown) => describeImapError(error, host),
	);
	if (connected) throw connected;
	await client.logout().catch(() => client.close());
	const { transport } = emailPlugin.createClient(credential) as EmailClient;
	const verified = await transport.verify().then(
		() => null,
		(error: unknown) => emailPlugin.describeError(error, 'log in to the SMTP server'),
	);
	transport.close();
	if (verified) throw verified;
}

export async function startEmailListener(input: ChannelListenerInput<EmailCredential>): Promise<RunningListener> {
	const account = addressOf(input.credential);
	const kept = await keepConnected({ name: `IMAP ${input.credential.imapHost ?? ''}`, log: input.logger, onFatalError: input.onFatalError, connect: () => openMailbox(input, account) });
	return { close: () => kept.close() };
}

// ---------------------------------------------------------------------------------------------
// Outbound

export interface EmailClient {
	credential: EmailCredential;
	transport: ReturnType<typeof createTransport>;
	address: string;
}

function replySubject(subject: string): string {
	const clean = subject.trim() || '(no subject)';
	return /^re:/i.test(clean) ? clean : `Re: ${clean}`;
}

function quoted(raw: Record<string, unknown>): string {
	const text = typeof raw.text === 'string' ? raw.text : '';
	if (!text) return '';
	const date = typeof raw.date === 'string' ? new Date(raw.date).toUTCString() : 'earlier';
	return `\n\nOn ${date}, ${String(raw.from ?? 'you')} wrote:\n${text.split('\n').map((line) => `> ${line}`).join('\n')}`;
}

export const emailPlugin: ChannelPlugin<EmailCredential, EmailClient> = {
	id: 'email',
	name: 'Email',
	channels: ['email'],
	credentialType: 'clawgateEmailApi',
	capabilities: {
		// One mail per answer: mail has no practical limit, and several mails for one answer would confuse.
		textLimit: 100_000,
		captionLimit: null,
		renderer: plainRenderer,
		edit: false,
		typing: false,
		threads: true,
		media: false,
		quote: 'always',
		inbound: ['listener'],
	},
	createClient: (credential) => {
		const host = required(credential.smtpHost, 'SMTP host');
		const secure = credential.secure !== false;
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { createTransport } = require('nodemailer') as typeof import('nodemailer');
		return {
			credential,
			address: addressOf(credential),
			transport: createTransport({
				host,
				port: Number(credential.smtpPort) || (secure ? 465 : 587),
				secure,
				requireTLS: !secure && !LOOPBACK.test(host),
				auth: { user: required(credential.user, 'user name'), pass: credential.password ?? '' },
				connectionTimeout: 30_000,
			}),
		};
	},
	accountOf: async (credential) => addressOf(credential),
	outbound: {
		async postMessage(client, { chatId, text, replyToId, threadId, answers }) {
			const to = chatId.trim();
			if (!/^[^@\s<>]+@[^@\s<>]+$/.test(to)) throw new EmailError(`"${chatId}" is not an email address.`);
			const raw = (answers?.raw ?? {}) as Record<string, unknown>;
			const references = Array.isArray(raw.references) ? (raw.references as string[]) : threadId ? [threadId] : [];
			const inReplyTo = replyToId ?? null;
			const info = await client.transport.sendMail({
				from: client.address,
				to,
				subject: answers ? replySubject(String(raw.subject ?? '')) : 'Message from Clawgate',
				text: answers ? `${text}${quoted(raw)}` : text,
				...(inReplyTo ? { inReplyTo, references: [...references.filter((id) => id !== inReplyTo), inReplyTo] } : {}),
				headers: { 'Auto-Submitted': 'auto-replied' },
			});
			return [info.messageId];
		},
	},
	retryAfterMs: () => null,
	describeError: (error, action) => {
		const failed = error as { code?: string; responseCode?: number; response?: string; message?: string };
		if (failed?.code === 'EAUTH') return new EmailError(`Email: the SMTP server refused the login (${failed.responseCode ?? ''}). Check the user name and password in the Clawgate Email credential.`);
		return new EmailError(`Email: could not ${action}: ${failed?.response || failed?.message || String(error)}`);
	},
};
