import { buildMessageKey, parseCommand } from '../envelope';
import { EXTERNAL_SESSION_PREFIX } from '../origin';
import type { InboundMessage } from './engine';

interface SessionFields {
	/** The resolved "Session Key" parameter. */
	sessionId: unknown;
	/** Whether the item is an envelope a Clawgate trigger signed (`isTriggerEnvelope`). */
	fromTrigger: boolean;
}

interface ItemFields extends SessionFields {
	/** The resolved "Message Text" parameter. */
	text: unknown;
}

type EnvelopeFields = {
	channel?: unknown;
	accountId?: unknown;
	chat?: { id?: unknown };
	sender?: { id?: unknown };
	message?: { id?: unknown; command?: unknown };
};

function isSignedEnvelope(json: Record<string, unknown>, fromTrigger: boolean): boolean {
	const envelope = json as EnvelopeFields;
	return (
		fromTrigger &&
		typeof envelope.channel === 'string' &&
		typeof envelope.accountId === 'string' &&
		typeof envelope.chat?.id === 'string' &&
		typeof envelope.message?.id === 'string'
	);
}

function sessionKeyOf(value: unknown): string {
	const sessionId = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
	if (!sessionId) {
		throw new Error('The item has no session key. Connect a Clawgate trigger or n8n\'s Chat Trigger, or set "Session Key" (default {{ $json.sessionId }}).');
	}
	return sessionId;
}

/**
 * The store's session of an item: the Session Key of an envelope a Clawgate trigger signed, and
 * `chat:` + the key for any other item. AI Session and Clawgate Chat Memory both read sessions
 * through here, so a conversation moves between them, and an unsigned item can never name a
 * platform conversation.
 */
export function sessionIdOfItem(json: Record<string, unknown>, fields: SessionFields): string {
	const sessionId = sessionKeyOf(fields.sessionId);
	return isSignedEnvelope(json, fields.fromTrigger) ? sessionId : `${EXTERNAL_SESSION_PREFIX}${sessionId}`;
}

/**
 * Reads what the engine needs from an item: an envelope a Clawgate trigger signed gives
 * idempotency and sender limits; n8n's Chat Trigger item (`sessionId`, `chatInput`) and any other
 * item work through the resolved parameters alone, in a namespace of their own (`chat:` + their
 * session key), so whatever fields they carry they never reach a platform conversation or claim
 * its message keys.
 */
export function inboundFromItem(json: Record<string, unknown>, fields: ItemFields): InboundMessage {
	const sessionId = sessionIdOfItem(json, fields);
	const text = typeof fields.text === 'string' ? fields.text : fields.text === undefined || fields.text === null ? '' : String(fields.text);
	if (isSignedEnvelope(json, fields.fromTrigger)) {
		const envelope = json as EnvelopeFields;
		const senderId = typeof envelope.sender?.id === 'string' ? envelope.sender.id : null;
		return {
			sessionId,
			text,
			messageKey: buildMessageKey(json as Parameters<typeof buildMessageKey>[0]),
			senderKey: senderId ? `${envelope.channel}:${envelope.accountId}:${senderId}` : sessionId,
			command: typeof envelope.message?.command === 'string' ? envelope.message.command : null,
		};
	}
	return { sessionId, text, messageKey: null, senderKey: sessionId, command: parseCommand(text)?.command ?? null };
}
