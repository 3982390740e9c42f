/**
 * The envelope every Clawgate trigger emits: one item per inbound message, the same shape on
 * every channel, so that AI Session, Reply and the send nodes work with their defaults.
 * Field names are stable API (DESIGN.md "The envelope"): add fields, never rename them.
 */

export type ChatType = 'dm' | 'group' | 'channel';

export type AttachmentKind = 'image' | 'audio' | 'voice' | 'video' | 'document' | 'sticker' | 'location' | 'other';

export interface EnvelopeAttachment {
	kind: AttachmentKind;
	/** The platform's handle for the file, enough for the send/download helpers of its adapter ("lat,lon" for a location). */
	id: string;
	mimeType: string | null;
	name: string | null;
	size: number | null;
	/** Set for `kind: "location"`: where the sender pointed. */
	location?: { latitude: number; longitude: number };
	/** Seconds of a voice note, audio or video, when the platform says (Telegram `duration`, Discord `duration_secs`). */
	durationSeconds?: number | null;
	/**
	 * Where the file can be fetched without the bot's credential, when the platform gives such an
	 * address (Discord's signed CDN URL). Never set when the address would hold a secret (Telegram's
	 * file URL holds the bot token): the plugin's `downloadAttachment` fetches those.
	 */
	url?: string | null;
}

export interface EnvelopeChat {
	id: string;
	type: ChatType;
	threadId: string | null;
	title: string | null;
}

export interface EnvelopeSender {
	id: string;
	name: string | null;
	username: string | null;
	isBot: boolean;
}

export interface EnvelopeMessage {
	id: string;
	text: string;
	replyToId: string | null;
	mentionsBot: boolean;
	/** The command word without slash or `@botname` ("new" for "/new@mybot hi"), or null. */
	command: string | null;
	attachments: EnvelopeAttachment[];
	/** ISO 8601, UTC. */
	timestamp: string;
	/** ISO 8601, UTC: when the sender edited the message; set only on `edited_message` events. */
	editedAt?: string | null;
}

/**
 * What happened. A trigger emits `message` unless the user asked for more: an edit of an earlier
 * message (same `message.id`, `message.editedAt` set) or a button press (`message.text` holds
 * the button's data, `message.replyToId` the message that carried the button).
 */
export type EnvelopeEvent = 'message' | 'edited_message' | 'callback_query';

export interface Envelope {
	sessionId: string;
	channel: string;
	/** The integration that received it ("twilio" for channel "whatsapp"); Reply routes by it. Absent on items made before it existed. */
	via?: string;
	accountId: string;
	/** Absent means `message` (triggers written before events existed). */
	event?: EnvelopeEvent;
	chat: EnvelopeChat;
	sender: EnvelopeSender;
	message: EnvelopeMessage;
	/** The platform's own payload, untouched, for anything the envelope does not carry. */
	raw: unknown;
}

export type SessionScope = 'chat' | 'user';

export interface SessionKeyParts {
	channel: string;
	accountId: string;
	chat: Pick<EnvelopeChat, 'id' | 'type' | 'threadId'>;
	senderId: string;
	/** "user" gives every member of a group a session of their own; DMs are per user already. */
	scope?: SessionScope;
}

/**
 * `channel:accountId:chat.type:chat.id`, then `:threadId` when threaded, then `:user:<senderId>`
 * for per-user sessions in groups. n8n's memory nodes read `$json.sessionId`, so this is the
 * one key that follows a conversation everywhere.
 */
export function buildSessionId({ channel, accountId, chat, senderId, scope = 'chat' }: SessionKeyParts): string {
	const parts = [channel, accountId, chat.type, chat.id];
	if (chat.threadId) parts.push(chat.threadId);
	if (scope === 'user' && chat.type !== 'dm') parts.push('user', senderId);
	return parts.join(':');
}

/**
 * The idempotency key of a message: the same message redelivered by its platform gets the same
 * key. It holds the chat because Telegram and Slack number messages per chat (two chats can
 * both have a message 5); DESIGN.md's `channel:accountId:message.id` would make the second one
 * look like a redelivery. An edit keeps the message's ID, so its key adds the edit time.
 */
export function buildMessageKey(envelope: Pick<Envelope, 'channel' | 'accountId' | 'message'> & { chat: Pick<EnvelopeChat, 'id'> }): string {
	const key = `${envelope.channel}:${envelope.accountId}:${envelope.chat.id}:${envelope.message.id}`;
	return envelope.message.editedAt ? `${key}:edited:${envelope.message.editedAt}` : key;
}

const COMMAND_PATTERN = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)/;

export interface ParsedCommand {
	command: string;
	/** The `@botname` suffix, if any; a command addressed to another bot is not ours. */
	addressee: string | null;
	args: string;
}

/** Reads a bot command ("/new", "/usage@mybot extra") at the start of a message. */
export function parseCommand(text: string): ParsedCommand | null {
	const match = COMMAND_PATTERN.exec(text.trim());
	if (!match) return null;
	return {
		command: match[1].toLowerCase(),
		addressee: match[2] ?? null,
		args: text.trim().slice(match[0].length).trim(),
	};
}

/**
 * The command of a message as the envelope carries it: null when there is none, or when it is
 * addressed to a different bot (`/new@otherbot`).
 */
export function commandForBot(text: string, botUsername: string | null): string | null {
	const parsed = parseCommand(text);
	if (!parsed) return null;
	if (parsed.addressee && botUsername && parsed.addressee.toLowerCase() !== botUsername.toLowerCase()) return null;
	return parsed.command;
}

/** The envelope as the integration `via` emits it: `via` right after `channel`, where people look for it. */
export function stampVia(envelope: Envelope, via: string): Envelope {
	const { sessionId, channel, ...rest } = envelope;
	return { sessionId, channel, via, ...rest };
}
