/**
 * IRC as a Clawgate channel plugin: a listener (the trigger holds one connection that joins the
 * credential's channels), PRIVMSG in and out. IRC keeps no history and numbers no messages, so a
 * message's ID is the server's IRCv3 `msgid` tag where it sends one, else one made on arrival;
 * nothing is ever delivered twice, and what is said while the trigger is disconnected is lost.
 */
import type { ChannelPlugin } from '../core/channel';
import { buildSessionId, commandForBot, type Envelope, type SessionScope } from '../core/envelope';
import { nameMention } from '../core/name-mention';
import { plainRenderer } from '../core/text/renderer';
import { BorrowedConnection, holdConnection, type HeardMessage } from '../shared/held-connection';
import type { ChannelListenerInput, ListenerTriggerDeclaration, RunningListener } from '../shared/listener-trigger';
import { ircAccountOf, IrcConnection, IrcError, ircServerOf, nickOfCredential, type IrcCredential } from './irc.connection';
import { identOf, isChannelName, isCtcp, nickOf, privmsgTextBudget, sameNick, type IrcLine } from './irc.protocol';

/** Connections the triggers of this process hold, by account: a send node in the same process speaks through them. */
const liveConnections = new Map<string, IrcConnection>();

/** What a send node talks through: the trigger's live connection, else a short one of its own. */
export interface IrcClient {
	account: string;
	connection: BorrowedConnection<IrcConnection>;
}

let arrivals = 0;

export interface IrcNormalizeContext {
	account: string;
	/** The nick the connection has now (the fallback nick_ when the configured one was taken). */
	ownNick: string;
	configuredNick: string;
	sessionScope?: SessionScope;
	now?: number;
}

/** Why a PRIVMSG starts nothing before the access policy looks at it (CTCP, empty), or null. */
export function whyIrcLineIsNoMessage(line: IrcLine): string | null {
	if (line.command !== 'PRIVMSG') return `it is ${line.command}, not PRIVMSG`;
	const [target, text] = line.params;
	if (!target || text === undefined) return 'it has no target or text';
	if (isCtcp(text)) return 'it is a CTCP request (ACTION, VERSION, …)';
	if (!text.trim()) return 'it is empty';
	return null;
}

/** A PRIVMSG as the envelope; `fromSelf` when our own nick sent it (servers with echo-message do). */
export function ircEnvelopeOf(line: IrcLine, context: IrcNormalizeContext): { envelope: Envelope; fromSelf: boolean } {
	const [target, rawText] = line.params;
	const from = nickOf(line.prefix);
	const { user } = identOf(line.prefix);
	const inChannel = isChannelName(target);
	const ownNames = [context.ownNick, context.configuredNick];
	const addressed = inChannel ? ownNames.map((nick) => nameMention(rawText, nick)).find((candidate) => candidate.mentions) ?? { mentions: false, text: rawText } : { mentions: true, text: rawText };
	const chat = { id: inChannel ? target : from, type: inChannel ? ('group' as const) : ('dm' as const), threadId: null, title: inChannel ? target : null };
	const serverTime = line.tags.time ? Date.parse(line.tags.time) : NaN;
	const timestamp = new Date(Number.isNaN(serverTime) ? (context.now ?? Date.now()) : serverTime).toISOString();
	const text = addressed.text.trim();
	return {
		fromSelf: ownNames.some((nick) => sameNick(nick, from)),
		envelope: {
			sessionId: buildSessionId({ channel: 'irc', accountId: context.account, chat, senderId: from, scope: context.sessionScope }),
			channel: 'irc',
			accountId: context.account,
			event: 'message',
			chat,
			sender: { id: from, name: from, username: user?.replace(/^~/, '') ?? null, isBot: 'bot' in line.tags },
			message: {
				// `<nick>!<id>`: the sender is part of the ID, so an answer quoting it can address them (IRC has no quotes).
				id: `${from}!${line.tags.msgid || `${timestamp}-${++arrivals}`}`,
				text,
				replyToId: line.tags['+draft/reply'] || null,
				mentionsBot: addressed.mentions,
				command: commandForBot(text, context.configuredNick),
				attachments: [],
				timestamp,
			},
			raw: { tags: line.tags, prefix: line.prefix, command: line.command, params: line.params },
		},
	};
}

/** What the trigger node shows: its names, the notice above its options, how IDs are written. */
export const ircTriggerDeclaration: ListenerTriggerDeclaration = {
	displayName: 'IRC',
	version: [1],
	description: 'Starts the workflow when someone writes to your IRC bot, or says its nick in a channel it joined, as a Clawgate envelope',
	setupNotice:
		'While the workflow is active, n8n holds one connection to the IRC server with the credential\'s nick and joins its channels. In channels the bot answers when a message starts with its nick ("clawbot: hi") or names it; private messages always reach it.',
	ids: { senders: 'ada, grace', chats: '#support, #dev', hint: 'nicks for people, channel names for chats' },
};

/** What the trigger's connection does with each PRIVMSG: skip what is no message, normalise the rest for the shared admission. */
function privmsgListener(log: { debug(message: string): void }, context: Omit<IrcNormalizeContext, 'ownNick'>, hear: (message: HeardMessage) => void) {
	return (line: IrcLine, ownNick: string) => {
		const skipped = whyIrcLineIsNoMessage(line);
		if (skipped) return log.debug(`IRC line starts nothing: ${skipped}`);
		const { envelope, fromSelf } = ircEnvelopeOf(line, { ...context, ownNick });
		hear({ envelope, facts: { fromSelf } });
	};
}

/** The trigger's connection: held open, reconnected with backoff, every PRIVMSG through the shared admission. */
export async function startIrcListener(input: ChannelListenerInput<IrcCredential>): Promise<RunningListener> {
	const { credential, logger } = input;
	const server = ircServerOf(credential);
	const context = { account: ircAccountOf(credential), configuredNick: nickOfCredential(credential), sessionScope: input.sessionScope };
	const open = async (hear: (message: HeardMessage) => void) => await IrcConnection.open({ credential, log: logger, onPrivmsg: privmsgListener(logger, context, hear) });
	return await holdConnection(input, { name: `IRC ${server.host}:${server.port}`, account: context.account, live: liveConnections, open });
}

/** Logs in once and leaves (the credential's Test button). */
export async function checkIrcCredential(credential: IrcCredential): Promise<void> {
	const connection = await IrcConnection.open({ credential, joinChannels: false });
	await connection.close();
}

export const ircPlugin: ChannelPlugin<IrcCredential, IrcClient> = {
	id: 'irc',
	name: 'IRC',
	channels: ['irc'],
	credentialType: 'clawgateIrcApi',
	capabilities: {
		// A PRIVMSG to the longest channel name still fits 512 bytes once the server adds our prefix; the renderer counts bytes.
		textLimit: privmsgTextBudget('#'.padEnd(50, 'x')),
		captionLimit: null,
		renderer: { ...plainRenderer, name: 'IRC plain text', measure: (text: string) => Buffer.byteLength(text) },
		edit: false,
		typing: false,
		threads: false,
		media: false,
		// IRC has no quoting; in channels the answer starts with the asker's nick instead (see postMessage).
		quote: 'groups',
		inbound: ['listener'],
	},
	createClient: (credential) => ({
		account: ircAccountOf(credential),
		connection: new BorrowedConnection(liveConnections, ircAccountOf(credential), () => IrcConnection.open({ credential, joinChannels: false })),
	}),
	accountOf: async (credential) => ircAccountOf(credential),
	outbound: {
		async postMessage(client, { chatId, text, replyToId }) {
			const target = chatId.trim();
			if (!target || /[\s,\0]/.test(target)) throw new IrcError(`"${chatId}" is not an IRC nick or channel.`);
			const { connection } = await client.connection.get();
			if (isChannelName(target) && !connection.isIn(target)) await connection.join(target);
			// A quoted answer in a channel addresses the asker ("ada: …"), the way people answer on IRC.
			const asker = replyToId?.includes('!') ? replyToId.slice(0, replyToId.indexOf('!')) : undefined;
			const lines = await connection.say(target, asker ? `${asker}: ${text}` : text);
			return Array.from({ length: lines }, (_unused, index) => `${target}:${Date.now()}:${index}`);
		},
	},
	retryAfterMs: () => null,
	describeError: (error, action) => {
		const message = error instanceof Error ? error.message : String(error);
		return new IrcError(message.startsWith('IRC') || error instanceof IrcError ? `IRC: could not ${action}: ${message}` : `IRC: could not ${action}: ${message}. Check the server URL and nick in the Clawgate IRC credential.`);
	},
};
