import { buildMessageKey, parseCommand } from '../envelope';
import { EXTERNAL_SESSION_PREFIX } from '../origin';
import type { InboundMessage } from './engine';

interface ItemFields {
	/** The resolved "Session Key" parameter. */
	sessionId: unknown;
	/** The resolved "Message Text" parameter. */
	text: unknown;
	/** Whether the item is an envelope a Clawgate trigger signed (`isTriggerEnvelope`). */
	fromTrigger: boolean;
}

/**
 * Reads what the engine needs from an item: an envelope a Clawgate trigger signed gives
 * idempotency and sender limits; n8n's Chat Trigger item (`sessionId`, `chatInput`) and any other
 * item work through the resolved parameters alone, in a namespace of their own (`chat:` + their
 * session key), so whatever fields they carry they never reach a platform conversation or claim
 * its message keys.
 */
export function inboundFromItem(json: Record<string, unknown>, fields: ItemFields): InboundMessage {
	const sessionId = typeof fields.sessionId === 'string' || typeof fields.sessionId === 'number' ? String(fields.sessionId).trim() : '';
	if (!sessionId) {
		throw new Error('The item has no session key. Connect a Clawgate trigger or n8n\'s Chat Trigger, or set "Session Key" (default {{ $json.sessionId }}).');
	}
	const text = typeof fields.text === 'string' ? fields.text : fields.text === undefined || fields.text === null ? '' : String(fields.text);

	const envelope = json as {
		channel?: unknown;
		accountId?: unknown;
		chat?: { id?: unknown };
		sender?: { id?: unknown };
		message?: { id?: unknown; command?: unknown };
	};
	const isEnvelope =
		fields.fromTrigger &&
		typeof envelope.channel === 'string' &&
		typeof envelope.accountId === 'string' &&
		typeof envelope.chat?.id === 'string' &&
		typeof envelope.message?.id === 'string';
	if (isEnvelope) {
		const senderId = typeof envelope.sender?.id === 'string' ? envelope.sender.id : null;
		return {
			sessionId,
			text,
			messageKey: buildMessageKey(json as Parameters<typeof buildMessageKey>[0]),
			senderKey: senderId ? `${envelope.channel}:${envelope.accountId}:${senderId}` : sessionId,
			command: typeof envelope.message?.command === 'string' ? envelope.message.command : null,
		};
	}
	const external = `${EXTERNAL_SESSION_PREFIX}${sessionId}`;
	return { sessionId: external, text, messageKey: null, senderKey: external, command: parseCommand(text)?.command ?? null };
}
