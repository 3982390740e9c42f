/**
 * WhatsApp Business Platform (Cloud API) as a Clawgate channel plugin: Meta's webhook scheme
 * (nodes/Meta), `messages` changes into envelopes, and the phone number's /messages endpoint for
 * text, media, templates and read receipts. Twilio's WhatsApp is the `twilio` integration; this
 * is `via: "whatsapp"`. https://developers.facebook.com/docs/whatsapp/cloud-api
 */
import type { ChannelPlugin, InboundEvent, ReceiveSettings } from '../core/channel';
import { buildSessionId, commandForBot, type ChatType, type EnvelopeAttachment, type EnvelopeMessage } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { finiteNumberOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { plainRenderer } from '../core/text/renderer';
import { callGraph, createGraphClient, describeGraphError, graphRetryAfterMs, MetaGraphError, type GraphClient } from '../Meta/meta.graph';
import { metaWebhookInbound, skippedEvent } from '../Meta/meta.webhook';

export const WHATSAPP_PUBLIC_API = 'https://graph.facebook.com';

export interface WhatsAppCredential {
	accessToken: string;
	phoneNumberId: string;
	appSecret: string;
	verifyToken: string;
	baseUrl?: string;
}

export interface WhatsAppClient extends GraphClient {
	phoneNumberId: string;
}

export function createWhatsAppClient(credential: WhatsAppCredential): WhatsAppClient {
	const client = createGraphClient('WhatsApp', WHATSAPP_PUBLIC_API, credential.accessToken, credential.baseUrl, 'Create a system user access token in Meta Business Settings with the whatsapp_business_messaging permission.');
	const phoneNumberId = String(credential.phoneNumberId ?? '').trim();
	if (!/^\d+$/.test(phoneNumberId)) {
		throw new MetaGraphError('The Clawgate WhatsApp credential has no phone number ID (digits, from the API Setup page of the WhatsApp product in the Meta App Dashboard; not the phone number itself).', null);
	}
	return { ...client, phoneNumberId };
}

// -------------------------------------------------------------------------------------------------
// Errors

const TEMPLATE_ADVICE = 'use the "Send Template" operation of the Clawgate WhatsApp Send node with a template approved for this WhatsApp Business Account';

function whatsAppSpecialError(error: MetaGraphError, action: string): Error | null {
	const said = `(code ${error.code}: ${error.message})`;
	// 131047 "Re-engagement message": the 24-hour customer service window is closed.
	if (error.code === 131047) {
		return new MetaGraphError(
			`WhatsApp refused to ${action}: more than 24 hours have passed since this person last wrote to the number ${said}. Outside the 24-hour customer service window WhatsApp delivers only message templates: ${TEMPLATE_ADVICE}.`,
			error.status,
			error.code,
		);
	}
	if (error.code === 132001 || error.code === 132000) {
		return new MetaGraphError(`WhatsApp refused to ${action} ${said}. Check the template name, its language code and its parameters in WhatsApp Manager → Message templates.`, error.status, error.code);
	}
	// Test numbers deliver only to recipients added on the API Setup page.
	if (error.code === 131030) return new MetaGraphError(`WhatsApp refused to ${action} ${said}. Add the recipient to the allowed list on the API Setup page, or use a production phone number.`, error.status, error.code);
	return null;
}

export function describeWhatsAppError(error: unknown, action: string): Error {
	return describeGraphError('WhatsApp', error, action, {
		token: 'Create a new access token (a system user token in Meta Business Settings with the whatsapp_business_messaging permission) and paste it into the Clawgate WhatsApp credential.',
		request: "Check the recipient (a WhatsApp ID: the phone number in digits, as the trigger's chat.id) and the credential's phone number ID.",
		publicApi: WHATSAPP_PUBLIC_API,
		special: whatsAppSpecialError,
	});
}

// -------------------------------------------------------------------------------------------------
// Outbound: POST /{phone-number-id}/messages https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages

/** A group of the Groups API has an opaque ID; a person is their phone number in digits. */
const recipientType = (to: string) => (/^\+?\d+$/.test(to) ? 'individual' : 'group');

/** Sends one message object (`{ type, [type]: {...} }`); returns the wamid of what was sent. */
export async function sendWhatsAppMessage(client: WhatsAppClient, to: string, content: Record<string, unknown>, replyToId: string | null = null): Promise<string[]> {
	const answer = await callGraph(client, 'POST', `/${client.phoneNumberId}/messages`, {
		messaging_product: 'whatsapp',
		recipient_type: recipientType(to),
		to: to.replace(/^\+/, ''),
		...(replyToId ? { context: { message_id: replyToId } } : {}),
		...content,
	});
	return listOf(answer.messages).flatMap((message) => nonEmptyStringOrNull(recordOrNull(message)?.id) ?? []);
}

/** Marks a received message as read (blue ticks) and, optionally, shows the typing indicator for up to 25 s or until the answer. */
export async function markWhatsAppMessageRead(client: WhatsAppClient, messageId: string, typing: boolean): Promise<void> {
	await callGraph(client, 'POST', `/${client.phoneNumberId}/messages`, {
		messaging_product: 'whatsapp',
		status: 'read',
		message_id: messageId,
		...(typing ? { typing_indicator: { type: 'text' } } : {}),
	});
}

// -------------------------------------------------------------------------------------------------
// Inbound: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components

const MEDIA_KINDS: Record<string, EnvelopeAttachment['kind']> = { image: 'image', audio: 'audio', video: 'video', document: 'document', sticker: 'sticker' };

/** What a message carries besides text; null for a type Clawgate does not read (reactions, contacts, orders). */
function contentOf(message: Record<string, unknown>): { text: string; attachments: EnvelopeAttachment[]; button: boolean } | null {
	const type = stringOr(message.type, '');
	const body = recordOrNull(message[type]);
	if (type === 'text') return { text: stringOr(body?.body, ''), attachments: [], button: false };
	if (type in MEDIA_KINDS) {
		const id = nonEmptyStringOrNull(body?.id);
		if (id === null) throw new InvalidPayloadError(`The WhatsApp ${type} message has no media ID.`);
		// The media ID is fetched with GET /{media-id} (a URL valid for 5 minutes), with the access token.
		const kind = type === 'audio' && body?.voice === true ? 'voice' : MEDIA_KINDS[type];
		const name = type === 'document' ? nonEmptyStringOrNull(body?.filename) : null;
		return { text: stringOr(body?.caption, ''), attachments: [{ kind, id, mimeType: nonEmptyStringOrNull(body?.mime_type), name, size: null }], button: false };
	}
	if (type === 'location') {
		const latitude = finiteNumberOrNull(body?.latitude);
		const longitude = finiteNumberOrNull(body?.longitude);
		if (latitude === null || longitude === null) throw new InvalidPayloadError('The WhatsApp location message has no latitude or longitude.');
		const name = nonEmptyStringOrNull(body?.name) ?? nonEmptyStringOrNull(body?.address);
		return { text: '', attachments: [{ kind: 'location', id: `${latitude},${longitude}`, mimeType: null, name, size: null, location: { latitude, longitude } }], button: false };
	}
	// A tap on a quick-reply button of a template, or on a reply button / list row of an interactive message.
	if (type === 'button') return { text: stringOr(body?.payload, '') || stringOr(body?.text, ''), attachments: [], button: true };
	if (type === 'interactive') {
		const reply = recordOrNull(body?.button_reply) ?? recordOrNull(body?.list_reply);
		return reply ? { text: stringOr(reply.id, '') || stringOr(reply.title, ''), attachments: [], button: true } : null;
	}
	return null;
}

interface WhatsAppReceiveOptions extends ReceiveSettings {
	now: number;
	/** The credential's number: a WhatsApp Business Account delivers every number of the app to every subscribed URL. */
	phoneNumberId: string;
}

function messageEvent(value: Record<string, unknown>, message: Record<string, unknown>, accountId: string, options: WhatsAppReceiveOptions): InboundEvent {
	const id = nonEmptyStringOrNull(message.id);
	const from = nonEmptyStringOrNull(message.from);
	if (id === null || from === null) throw new InvalidPayloadError('The WhatsApp message has no "id" or "from".');
	const facts = { fromSelf: false };
	if (accountId !== options.phoneNumberId) return skippedEvent(id, `it was sent to phone number ID ${accountId}, not to ${options.phoneNumberId} of this credential`);
	const content = contentOf(message);
	if (content === null) return skippedEvent(id, `WhatsApp message type ${JSON.stringify(message.type)} is not read by Clawgate`);
	const contact = listOf(value.contacts).find((entry) => isRecord(entry) && entry.wa_id === from) as Record<string, unknown> | undefined;
	const profile = recordOrNull(contact?.profile);
	// Groups exist only through the Groups API (groups the business created); they carry group_id.
	const groupId = nonEmptyStringOrNull(message.group_id);
	const chat = { id: groupId ?? from, type: (groupId ? 'group' : 'dm') as ChatType, threadId: null, title: null };
	const context = recordOrNull(message.context);
	const businessNumber = stringOr(recordOrNull(value.metadata)?.display_phone_number, '').replace(/\D/g, '');
	const seconds = Number(stringOr(message.timestamp, ''));
	const envelopeMessage: EnvelopeMessage = {
		id,
		text: content.text,
		replyToId: nonEmptyStringOrNull(context?.id),
		mentionsBot: false,
		command: content.button ? null : commandForBot(content.text, null),
		attachments: content.attachments,
		timestamp: isoTimestampOrNull(seconds * 1000) ?? new Date(options.now).toISOString(),
	};
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'whatsapp', accountId, chat, senderId: from, scope: options.sessionScope }),
			channel: 'whatsapp',
			accountId,
			event: content.button ? 'callback_query' : 'message',
			chat,
			sender: { id: from, name: nonEmptyStringOrNull(profile?.name), username: nonEmptyStringOrNull(profile?.username), isBot: false },
			message: envelopeMessage,
			raw: { metadata: value.metadata, contact: contact ?? null, message },
		},
		facts: { ...facts, repliesToBot: businessNumber !== '' && stringOr(context?.from, '').replace(/\D/g, '') === businessNumber },
		dedupeKey: id,
	};
}

/** Sent, delivered, read and failed notices about the business's own messages: never an execution. */
function statusEvent(status: Record<string, unknown>): InboundEvent {
	const id = stringOr(status.id, '');
	const state = stringOr(status.status, 'unknown');
	const error = recordOrNull(listOf(status.errors)[0]);
	const why = error ? ` (code ${String(error.code)}: ${stringOr(error.title, '')}${error.code === 131047 ? '; outside the 24-hour window only templates are delivered' : ''})` : '';
	return skippedEvent(`status:${id}:${state}`, `a "${state}" status of message ${id}${why} is not a message`);
}

export function whatsAppEventsOf(entries: Record<string, unknown>[], options: WhatsAppReceiveOptions): InboundEvent[] {
	const events: InboundEvent[] = [];
	for (const entry of entries) {
		for (const change of listOf(entry.changes)) {
			const field = stringOr(recordOrNull(change)?.field, '');
			const value = recordOrNull(recordOrNull(change)?.value);
			if (field !== 'messages' || value === null) {
				events.push(skippedEvent(`${field}:${stringOr(entry.id, '')}:${events.length}`, `"${field}" webhooks are not messages`));
				continue;
			}
			const accountId = nonEmptyStringOrNull(recordOrNull(value.metadata)?.phone_number_id);
			if (accountId === null) throw new InvalidPayloadError('The WhatsApp webhook has no metadata.phone_number_id.');
			for (const message of listOf(value.messages)) {
				if (!isRecord(message)) throw new InvalidPayloadError('The WhatsApp webhook has a message that is not an object.');
				events.push(messageEvent(value, message, accountId, options));
			}
			for (const status of listOf(value.statuses)) if (isRecord(status)) events.push(statusEvent(status));
		}
	}
	return events;
}

// -------------------------------------------------------------------------------------------------

export const whatsAppPlugin: ChannelPlugin<WhatsAppCredential, WhatsAppClient> = {
	id: 'whatsapp',
	name: 'WhatsApp',
	channels: ['whatsapp'],
	credentialType: 'clawgateWhatsAppApi',
	capabilities: {
		// text.body: "Maximum 4096 characters". https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages#text-object
		textLimit: 4096,
		captionLimit: 1024,
		renderer: plainRenderer,
		edit: false,
		// The typing indicator needs the ID of the message being answered: the Mark as Read operation shows it.
		typing: false,
		threads: false,
		media: true,
		quote: 'groups',
		inbound: ['webhook'],
	},
	createClient: createWhatsAppClient,
	// The envelope's accountId is the phone number ID the credential names.
	accountOf: async (_credential, client) => client.phoneNumberId,
	idReading: { separators: /[,;\n]+/, normalize: (id) => (/^[\s+\d\-().]+$/.test(id) ? id.replace(/\D/g, '') : id) },
	webhook: metaWebhookInbound<WhatsAppCredential>({
		platform: 'WhatsApp',
		object: 'whatsapp_business_account',
		eventsOf: (entries, credential, context, settings) => whatsAppEventsOf(entries, { ...settings, now: context.now, phoneNumberId: String(credential.phoneNumberId ?? '').trim() }),
		async checkCredential(credential) {
			const client = createWhatsAppClient(credential);
			await callGraph(client, 'GET', `/${client.phoneNumberId}?fields=display_phone_number,verified_name`).catch((error: unknown) => {
				throw describeWhatsAppError(error, 'read the phone number of the credential');
			});
		},
	}),
	outbound: {
		postMessage: (client, { chatId, text, replyToId, linkPreviews }) => sendWhatsAppMessage(client, chatId, { type: 'text', text: { body: text, preview_url: linkPreviews } }, replyToId),
	},
	retryAfterMs: graphRetryAfterMs,
	describeError: describeWhatsAppError,
};
