/**
 * The Messenger Platform's messaging model, which Instagram messaging shares: `entry[].messaging[]`
 * events (message, postback, echo, read, delivery), one-to-one conversations with a person's
 * page- or app-scoped ID, and the Send API (`POST /me/messages`: text, attachments, sender
 * actions). The Messenger and Instagram plugins are this with their own names, credential and limits.
 * https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
 */
import type { ChannelPlugin, InboundEvent } from '../core/channel';
import { buildSessionId, commandForBot, type EnvelopeAttachment, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { finiteNumberOrNull, idOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { plainRenderer, type TextRenderer } from '../core/text/renderer';
import { callGraph, createGraphClient, describeGraphError, graphRetryAfterMs, MetaGraphError, type GraphClient } from './meta.graph';
import { metaWebhookInbound, skippedEvent, type MetaWebhookCredential } from './meta.webhook';

export type SenderAction = 'typing_on' | 'typing_off' | 'mark_seen';

export interface MessagingClient extends GraphClient {
	/** Fields every message (not sender action) carries besides recipient and message: Messenger's messaging_type. */
	messageFields: Record<string, unknown>;
}

/** An attachment of the Send API: by public URL; the platform fetches it. */
export type OutboundAttachmentType = 'image' | 'audio' | 'video' | 'file';

export interface MessagingSpec<Credential extends MetaWebhookCredential> {
	/** "Messenger": the integration id and envelope channel are its lower case, the credential `clawgate<Name>Api` (DESIGN.md "Names"). */
	name: string;
	/** The webhook's `object`. */
	object: string;
	publicApi: string;
	tokenOf(credential: Credential): string | undefined;
	/** Where a user gets a token, for errors. */
	tokenAdvice: string;
	textLimit: number;
	/** Default plain text: neither shows Markdown. */
	renderer?: TextRenderer;
	/** The account ID as webhooks name it (`recipient.id`), read with the token. */
	accountIdOf(client: GraphClient): Promise<string | null>;
	/** The subcode Meta answers when the 24-hour messaging window is closed. */
	windowClosedSubcode: number;
	/** Fields every message carries besides recipient and message (Messenger's messaging_type). */
	messageFields: Record<string, unknown>;
}

// -------------------------------------------------------------------------------------------------
// Inbound

export interface MessagingReceiveOptions {
	channel: string;
	sessionScope: SessionScope;
	/** "Emit Button Presses": postbacks become `callback_query` envelopes. */
	postbacks: boolean;
	now: number;
}

const ATTACHMENT_KINDS: Record<string, EnvelopeAttachment['kind']> = { image: 'image', audio: 'audio', video: 'video', file: 'document' };

function attachmentOf(attachment: Record<string, unknown>): EnvelopeAttachment | null {
	const type = stringOr(attachment.type, '');
	const payload = recordOrNull(attachment.payload);
	if (type === 'location') {
		const coordinates = recordOrNull(payload?.coordinates);
		const latitude = finiteNumberOrNull(coordinates?.lat);
		const longitude = finiteNumberOrNull(coordinates?.long);
		if (latitude === null || longitude === null) return null;
		return { kind: 'location', id: `${latitude},${longitude}`, mimeType: null, name: nonEmptyStringOrNull(attachment.title), size: null, location: { latitude, longitude } };
	}
	const url = nonEmptyStringOrNull(payload?.url);
	// Stickers come as images with a sticker_id; the URL (valid for a while) is the handle to fetch it.
	const kind = payload?.sticker_id !== undefined ? 'sticker' : ATTACHMENT_KINDS[type];
	return url && kind ? { kind, id: url, mimeType: null, name: nonEmptyStringOrNull(attachment.title), size: null } : null;
}

const ADDRESSING_KEYS = new Set(['sender', 'recipient', 'timestamp']);

function messagingEvent(event: Record<string, unknown>, options: MessagingReceiveOptions): InboundEvent {
	const senderId = idOrNull(recordOrNull(event.sender)?.id);
	const recipientId = idOrNull(recordOrNull(event.recipient)?.id);
	const message = recordOrNull(event.message);
	const postback = recordOrNull(event.postback);
	const timestamp = finiteNumberOrNull(event.timestamp);
	const mid = nonEmptyStringOrNull(message?.mid) ?? nonEmptyStringOrNull(postback?.mid);
	// What the event is (message, postback, read, delivery, reaction…): its keys besides the addressing ones.
	const kinds = Object.keys(event).filter((key) => !ADDRESSING_KEYS.has(key));
	const dedupeKey = mid ?? `${kinds.join('+')}:${senderId}:${timestamp}`;
	if (message === null && postback === null) return skippedEvent(dedupeKey, `${kinds.join(', ') || 'an empty'} event is not a message`);
	if (senderId === null || recipientId === null) throw new InvalidPayloadError(`The ${options.channel} event has no sender or recipient ID.`);
	// An echo is a message the account sent (through any app or a person in the inbox): its person is the recipient.
	const echo = message?.is_echo === true;
	const personId = echo ? recipientId : senderId;
	const accountId = echo ? senderId : recipientId;
	if (message?.is_deleted === true) return skippedEvent(dedupeKey, 'the person deleted the message');
	if (postback && !options.postbacks) return skippedEvent(dedupeKey, 'it is a button press (postback) and "Emit Button Presses" is off');
	if (mid === null && message !== null) throw new InvalidPayloadError(`The ${options.channel} message has no "mid".`);

	const attachments = listOf(message?.attachments).flatMap((attachment) => (isRecord(attachment) ? (attachmentOf(attachment) ?? []) : []));
	const text = postback ? stringOr(postback.payload, '') || stringOr(postback.title, '') : stringOr(message?.text, '');
	if (!postback && text === '' && attachments.length === 0 && !echo) return skippedEvent(dedupeKey, `a ${options.channel} message Clawgate cannot read (no text, no attachment it knows)`);
	const chat = { id: personId, type: 'dm' as const, threadId: null, title: null };
	return {
		envelope: {
			sessionId: buildSessionId({ channel: options.channel, accountId, chat, senderId, scope: options.sessionScope }),
			channel: options.channel,
			accountId,
			event: postback ? 'callback_query' : 'message',
			chat,
			// Webhooks carry no names; a profile lookup per message would cost a call each.
			sender: { id: senderId, name: null, username: null, isBot: false },
			message: {
				id: mid ?? `postback:${dedupeKey}`,
				text,
				replyToId: nonEmptyStringOrNull(recordOrNull(message?.reply_to)?.mid),
				mentionsBot: false,
				command: postback ? null : commandForBot(text, null),
				attachments,
				timestamp: isoTimestampOrNull(timestamp ?? Number.NaN) ?? new Date(options.now).toISOString(),
			},
			raw: event,
		},
		facts: { fromSelf: echo },
		dedupeKey,
	};
}

export function messagingEventsOf(entries: Record<string, unknown>[], options: MessagingReceiveOptions): InboundEvent[] {
	return entries.flatMap((entry) => {
		const entryId = idOrNull(entry.id) ?? '';
		// `standby` holds events of conversations another app of the Page answers (handover protocol).
		const standby = listOf(entry.standby).map((_event, index) => skippedEvent(`standby:${entryId}:${String(entry.time)}:${index}`, 'another app has control of this conversation (standby)'));
		const events = listOf(entry.messaging).map((event) => {
			if (!isRecord(event)) throw new InvalidPayloadError(`The ${options.channel} webhook has a messaging event that is not an object.`);
			return messagingEvent(event, options);
		});
		// Instagram's comments, mentions and story insights arrive as `changes` of fields the trigger does not read.
		const changes = listOf(entry.changes).map((change, index) => skippedEvent(`change:${entryId}:${String(entry.time)}:${index}`, `"${stringOr(recordOrNull(change)?.field, '')}" changes are not messages`));
		return [...events, ...standby, ...changes];
	});
}

// -------------------------------------------------------------------------------------------------
// Outbound: POST /me/messages https://developers.facebook.com/docs/messenger-platform/reference/send-api/

async function sendMessaging(client: GraphClient, recipientId: string, body: Record<string, unknown>): Promise<string[]> {
	const answer = await callGraph(client, 'POST', '/me/messages', { recipient: { id: recipientId }, ...body });
	return nonEmptyStringOrNull(answer.message_id) ? [String(answer.message_id)] : [];
}

export const sendSenderAction = (client: GraphClient, recipientId: string, action: SenderAction) => sendMessaging(client, recipientId, { sender_action: action }).then(() => undefined);

/** Sends one message object (`{ text }` or `{ attachment }`); returns its message ID. */
export const sendMessagingMessage = (client: MessagingClient, recipientId: string, message: Record<string, unknown>) => sendMessaging(client, recipientId, { ...client.messageFields, message });

export const sendAttachment = (client: MessagingClient, recipientId: string, type: OutboundAttachmentType, url: string) =>
	sendMessagingMessage(client, recipientId, { attachment: { type, payload: { url, is_reusable: false } } });

export function describeMessagingError<Credential extends MetaWebhookCredential>(spec: MessagingSpec<Credential>, error: unknown, action: string): Error {
	return describeGraphError(spec.name, error, action, {
		token: spec.tokenAdvice,
		request: `Check the recipient (the ID in the trigger's chat.id, scoped to this ${spec.name} account); the person may have blocked the account or deleted the conversation.`,
		publicApi: spec.publicApi,
		special(graphError, doing) {
			if (graphError.subcode !== spec.windowClosedSubcode) return null;
			return new MetaGraphError(
				`${spec.name} refused to ${doing}: more than 24 hours have passed since this person last wrote (code ${graphError.code}, subcode ${graphError.subcode}: ${graphError.message}). ${spec.name} lets an account answer only within 24 hours of the person's last message.`,
				graphError.status,
				graphError.code,
			);
		},
	});
}

/** A Messenger-model channel plugin: the webhook, the envelope and the Send API with one spec. */
export function messagingPlugin<Credential extends MetaWebhookCredential & { baseUrl?: string }>(spec: MessagingSpec<Credential>): ChannelPlugin<Credential, MessagingClient> {
	const createClient = (credential: Credential): MessagingClient => ({
		...createGraphClient(spec.name, spec.publicApi, spec.tokenOf(credential), credential.baseUrl, spec.tokenAdvice),
		messageFields: spec.messageFields,
	});
	const describe = (error: unknown, action: string) => describeMessagingError(spec, error, action);
	const id = spec.name.toLowerCase();
	return {
		id,
		name: spec.name,
		channels: [id],
		credentialType: `clawgate${spec.name}Api`,
		// Sender action typing_on: the indicator is turned off after 20 seconds.
		capabilities: { textLimit: spec.textLimit, captionLimit: null, renderer: spec.renderer ?? plainRenderer, edit: false, typing: true, typingLastsMs: 20_000, threads: false, media: true, quote: 'never', inbound: ['webhook'] },
		createClient,
		accountOf: (_credential, client) => spec.accountIdOf(client).catch(() => null),
		webhook: metaWebhookInbound<Credential>({
			platform: spec.name,
			object: spec.object,
			// Button presses are how a person starts ("Get Started") or answers a menu: on unless turned off.
			eventsOf: (entries, _credential, context, settings) =>
				messagingEventsOf(entries, { channel: id, sessionScope: settings.sessionScope, postbacks: context.options.emitCallbackQueries !== false, now: context.now }),
			async checkCredential(credential) {
				const account = await spec.accountIdOf(createClient(credential)).catch((error: unknown) => {
					throw describe(error, 'read the account of the credential');
				});
				if (account === null) throw new MetaGraphError(`${spec.name} did not name the account of the credential's access token. ${spec.tokenAdvice}`, null);
			},
		}),
		outbound: {
			postMessage: (client, { chatId, text }) => sendMessagingMessage(client, chatId, { text }),
			sendTyping: (client, { chatId }) => sendSenderAction(client, chatId, 'typing_on'),
		},
		retryAfterMs: graphRetryAfterMs,
		describeError: describe,
	};
}
