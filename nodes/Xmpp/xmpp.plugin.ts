/**
 * XMPP as a Clawgate channel plugin: the trigger holds one client session (xmpp.connection.ts)
 * that receives 1:1 chats and the messages of the rooms it joined. A room replays its recent
 * history on join with a delay element (XEP-0203): never answered. A 1:1 message the server
 * stored while the bot was offline carries one too, and is answered (nothing is lost).
 */
import type { ChannelPlugin } from '../core/channel';
import { buildSessionId, commandForBot, type Envelope, type SessionScope } from '../core/envelope';
import { nameMention } from '../core/name-mention';
import { plainRenderer } from '../core/text/renderer';
import { BorrowedConnection, holdConnection } from '../shared/held-connection';
import type { ChannelListenerInput, ListenerTriggerDeclaration, RunningListener } from '../shared/listener-trigger';
import { bareJid, jidOf, resourceOf, serverOf, XmppConnection, XmppError, type XmppCredential } from './xmpp.connection';
import { child, textOf, type XmlElement } from './xmpp.xml';

/** Sessions the triggers of this process hold, by account: a send node in the same process speaks through them. */
const liveConnections = new Map<string, XmppConnection>();

export interface XmppClient {
	credential: XmppCredential;
	account: string;
	connection: BorrowedConnection<XmppConnection>;
}

/** Longer bodies are cut before they reach the envelope (stanzas are capped at 256 KiB anyway). */
const MAX_BODY_CHARS = 20_000;

let arrivals = 0;

export interface XmppNormalizeContext {
	account: string;
	/** Rooms joined, with our nick in each. */
	rooms: ReadonlyMap<string, string>;
	sessionScope?: SessionScope;
	now?: number;
}

/** Why a message stanza starts nothing (no body, an error, a room's history replay), or null. */
export function whyXmppStanzaIsNoMessage(stanza: XmlElement): string | null {
	if (stanza.name !== 'message') return `it is <${stanza.name}>, not a message`;
	const type = stanza.attrs.type ?? 'normal';
	if (type === 'error' || type === 'headline') return `it is a message of type ${type}`;
	if (!stanza.attrs.from) return 'it has no sender';
	if (!textOf(child(stanza, 'body')).trim()) return 'it has no body (a chat state, a receipt or a subject change)';
	if (type === 'groupchat' && child(stanza, 'delay', 'urn:xmpp:delay')) return "it is the room's history, replayed on join (XEP-0203 delay)";
	return null;
}

export function xmppEnvelopeOf(stanza: XmlElement, context: XmppNormalizeContext): { envelope: Envelope; fromSelf: boolean } {
	const from = stanza.attrs.from!;
	const groupchat = stanza.attrs.type === 'groupchat';
	const room = bareJid(from);
	const ownNick = groupchat ? context.rooms.get(room) : undefined;
	const speaker = groupchat ? resourceOf(from) : bareJid(from);
	const rawBody = textOf(child(stanza, 'body')).slice(0, MAX_BODY_CHARS);
	const addressed = groupchat && ownNick ? nameMention(rawBody, ownNick) : { mentions: !groupchat, text: rawBody };
	const chat = { id: groupchat ? room : bareJid(from), type: groupchat ? ('group' as const) : ('dm' as const), threadId: null, title: groupchat ? room : null };
	const senderId = groupchat ? from : bareJid(from);
	const stamp = child(stanza, 'delay', 'urn:xmpp:delay')?.attrs.stamp;
	const stamped = stamp ? Date.parse(stamp) : NaN;
	const timestamp = new Date(Number.isNaN(stamped) ? (context.now ?? Date.now()) : stamped).toISOString();
	// XEP-0359: the server's own ID for the message, when it stamps one; else the sender's, else one made here.
	const stanzaId = child(stanza, 'stanza-id', 'urn:xmpp:sid:0')?.attrs.id;
	const text = addressed.text.trim();
	return {
		fromSelf: groupchat ? ownNick !== undefined && speaker.toLowerCase() === ownNick.toLowerCase() : bareJid(from) === context.account,
		envelope: {
			sessionId: buildSessionId({ channel: 'xmpp', accountId: context.account, chat, senderId, scope: context.sessionScope }),
			channel: 'xmpp',
			accountId: context.account,
			event: 'message',
			chat,
			sender: { id: senderId, name: groupchat ? speaker : bareJid(from).split('@')[0], username: groupchat ? speaker : bareJid(from), isBot: false },
			message: {
				id: stanzaId || stanza.attrs.id || `${timestamp}-${++arrivals}`,
				text,
				replyToId: null,
				mentionsBot: addressed.mentions,
				command: commandForBot(text, ownNick ?? null),
				attachments: [],
				timestamp,
			},
			raw: { from, to: stanza.attrs.to ?? null, type: stanza.attrs.type ?? 'normal', id: stanza.attrs.id ?? null, body: rawBody, delay: stamp ?? null },
		},
	};
}

/** What the trigger node shows: its names, the notice above its options, how IDs are written. */
export const xmppTriggerDeclaration: ListenerTriggerDeclaration = {
	displayName: 'XMPP',
	version: [1],
	description: 'Starts the workflow when someone chats with your XMPP (Jabber) account, or names it in a room it joined, as a Clawgate envelope',
	setupNotice:
		'While the workflow is active, n8n stays logged in with the credential\'s JID and joins its rooms. In rooms the bot answers when a message starts with its nick ("clawbot: hi") or names it; the history a room replays on join is never answered.',
	ids: { senders: 'ada@example.org, team@conference.example.org/ada', chats: 'team@conference.example.org', hint: 'JIDs for people (in rooms: room/nick), room JIDs for chats' },
};

export async function startXmppListener(input: ChannelListenerInput<XmppCredential>): Promise<RunningListener> {
	const { credential } = input;
	const account = jidOf(credential).bare;
	const server = serverOf(credential);
	return await holdConnection(input, {
		name: `XMPP ${server.host}:${server.port}`,
		account,
		live: liveConnections,
		open: async (hear) =>
			await XmppConnection.open({
				credential,
				log: input.logger,
				onMessage: (stanza, connection) => {
					const skipped = whyXmppStanzaIsNoMessage(stanza);
					if (skipped) return input.logger.debug(`XMPP stanza starts nothing: ${skipped}`);
					const { envelope, fromSelf } = xmppEnvelopeOf(stanza, { account, rooms: connection.rooms, sessionScope: input.sessionScope });
					hear({ envelope, facts: { fromSelf } });
				},
			}),
	});
}

/** Logs in once and leaves (the credential's Test button). */
export async function checkXmppCredential(credential: XmppCredential): Promise<void> {
	const connection = await XmppConnection.open({ credential, joinRooms: false });
	await connection.close();
}

/** Whether a chat ID is a room this account joined or is configured to join (rooms get groupchat messages). */
function isRoom(client: XmppClient, chatId: string): boolean {
	const rooms = (client.credential.rooms ?? '').split(/[,\s]+/).map((entry) => bareJid(entry));
	return rooms.includes(bareJid(chatId)) || (liveConnections.get(client.account)?.rooms.has(bareJid(chatId)) ?? false);
}

export const xmppPlugin: ChannelPlugin<XmppCredential, XmppClient> = {
	id: 'xmpp',
	name: 'XMPP',
	channels: ['xmpp'],
	credentialType: 'clawgateXmppApi',
	capabilities: {
		// XMPP sets no limit; servers cap stanzas (often 64 KiB), and clients show long bodies poorly.
		textLimit: 4_000,
		captionLimit: null,
		renderer: plainRenderer,
		edit: false,
		typing: false,
		threads: false,
		media: false,
		quote: 'never',
		inbound: ['listener'],
	},
	createClient: (credential) => ({
		credential,
		account: jidOf(credential).bare,
		connection: new BorrowedConnection(liveConnections, jidOf(credential).bare, () => XmppConnection.open({ credential, joinRooms: false })),
	}),
	accountOf: async (credential) => jidOf(credential).bare,
	outbound: {
		async postMessage(client, { chatId, text }) {
			const to = bareJid(chatId.trim());
			if (!/^[^@/\s]+@[^@/\s]+$/.test(to)) throw new XmppError(`"${chatId}" is not an XMPP address (user@example.org, or room@conference.example.org for a room).`);
			const groupchat = isRoom(client, to);
			const { connection } = await client.connection.get();
			if (groupchat && !connection.rooms.has(to)) await connection.join(to, client.credential.nick?.trim() || jidOf(client.credential).local);
			return [connection.message(to, groupchat ? 'groupchat' : 'chat', text)];
		},
	},
	retryAfterMs: () => null,
	describeError: (error, action) => {
		const message = error instanceof Error ? error.message : String(error);
		return new XmppError(`XMPP: could not ${action}: ${message}${error instanceof XmppError ? '' : '. Check the JID, password and server address in the Clawgate XMPP credential.'}`);
	},
};
