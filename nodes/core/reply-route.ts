import type { Envelope } from './envelope';

/** What the Reply node asks of a platform: answer the chat an envelope came from. */
export interface ReplyRequest {
	envelope: Pick<Envelope, 'channel' | 'accountId' | 'chat' | 'message'>;
	text: string;
	/** Quote the incoming message where the platform shows replies (the platform decides where it fits). */
	quote: boolean;
	/** Stay in the thread or topic the message came from. */
	inThread: boolean;
}

export interface ReplySent {
	channel: string;
	chatId: string;
	messageIds: string[];
}

/**
 * One platform's way of answering, as data the Reply node looks up by `channel`, so routing
 * needs no `if (channel === ...)` outside the platform folders.
 */
export interface ReplyRoute<Credential = unknown> {
	/** Envelope channels this route answers ("whatsapp" and "sms" share Twilio). */
	channels: readonly string[];
	/** The n8n credential type the route needs, and its name in the editor for error messages. */
	credentialType: string;
	credentialName: string;
	send(credential: Credential, request: ReplyRequest): Promise<ReplySent>;
}
