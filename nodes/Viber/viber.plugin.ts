/**
 * Viber (REST Bot API) as a Clawgate channel plugin: callbacks signed with the auth token, the
 * webhook set and removed through the API (Viber calls the URL once while setting it), one-on-one
 * chats only, send_message with the bot's name as sender. Plain HTTPS, no SDK: four endpoints.
 * https://developers.viber.com/docs/api/rest-bot-api/
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import type { ChannelPlugin, InboundEvent, WebhookRequest } from '../core/channel';
import { buildSessionId, commandForBot, type EnvelopeAttachment, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { finiteNumberOrNull, idOrNull, isoTimestampOrNull, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { plainRenderer } from '../core/text/renderer';
import { callViber, createViberClient, describeViberError, fetchViberAccount, parseViberJson, SENDER_NAME_LIMIT, sendViberMessage, viberAccount, type ViberClient, type ViberCredential } from './viber.api';

// ---------------------------------------------------------------------------------------------
// Callbacks: https://developers.viber.com/docs/api/rest-bot-api/#callbacks

const SIGNATURE_HEADER = 'x-viber-content-signature';

function signatureOf(request: WebhookRequest): string | null {
	const value = request.headers[SIGNATURE_HEADER];
	const signature = Array.isArray(value) ? value[0] : value;
	// HMAC-SHA256 in hex: 64 characters.
	return typeof signature === 'string' && /^[0-9a-fA-F]{64}$/.test(signature) ? signature : null;
}

export function viberMissingSignature(request: WebhookRequest): string | null {
	if (signatureOf(request) === null) return 'The request carries no Viber signature (X-Viber-Content-Signature).';
	return request.rawBody === undefined ? 'The request has no body to verify.' : null;
}

/** X-Viber-Content-Signature: HMAC-SHA256 of the body, keyed with the auth token, in hex. */
export function viberSignatureDisproof(request: WebhookRequest, authToken: string | undefined): string | null {
	const token = authToken?.trim();
	if (!token) return 'The Clawgate Viber credential has no auth token, so no request can be trusted.';
	const signature = signatureOf(request);
	if (signature === null || request.rawBody === undefined) return 'The request carries no Viber signature (X-Viber-Content-Signature).';
	const expected = createHmac('sha256', token).update(request.rawBody).digest();
	const got = Buffer.from(signature, 'hex');
	if (got.length !== expected.length || !timingSafeEqual(got, expected)) return 'The request is not signed with the auth token in the Clawgate Viber credential.';
	return null;
}

export function parseViberCallback(rawBody: Buffer | undefined): Record<string, unknown> {
	let payload: unknown;
	try {
		payload = parseViberJson(rawBody?.toString('utf8') ?? '');
	} catch {
		payload = undefined;
	}
	const callback = recordOrNull(payload);
	if (callback === null) throw new InvalidPayloadError('The request body is not a JSON object. This URL receives Viber REST Bot API callbacks.');
	if (nonEmptyStringOrNull(callback.event) === null) throw new InvalidPayloadError('The request body is not a Viber callback (no "event").');
	return callback;
}

/** What a message carries besides text; null for a message type Clawgate does not read. */
function attachmentsOf(message: Record<string, unknown>): EnvelopeAttachment[] | null {
	// Media arrive as download URLs, which are the handles a workflow fetches them by.
	const media = nonEmptyStringOrNull(message.media);
	const file = (kind: EnvelopeAttachment['kind']): EnvelopeAttachment[] => {
		if (media === null) throw new InvalidPayloadError(`The Viber ${String(message.type)} message has no media URL.`);
		return [{ kind, id: media, mimeType: null, name: stringOr(message.file_name, null), size: finiteNumberOrNull(message.size) }];
	};
	switch (message.type) {
		case 'text':
		case 'url':
			return [];
		case 'picture':
			return file('image');
		case 'video':
			return file('video');
		case 'file':
			return file('document');
		case 'sticker':
			return [{ kind: 'sticker', id: idOrNull(message.sticker_id) ?? '', mimeType: null, name: null, size: null }];
		case 'location': {
			const location = recordOrNull(message.location);
			const latitude = finiteNumberOrNull(location?.lat);
			const longitude = finiteNumberOrNull(location?.lon);
			if (latitude === null || longitude === null) throw new InvalidPayloadError('The Viber location message has no lat or lon.');
			return [{ kind: 'location', id: `${latitude},${longitude}`, mimeType: null, name: null, size: null, location: { latitude, longitude } }];
		}
		case 'contact': {
			const contact = recordOrNull(message.contact);
			return [{ kind: 'other', id: stringOr(contact?.phone_number, ''), mimeType: null, name: stringOr(contact?.name, null), size: null }];
		}
		default:
			return null;
	}
}

export interface ViberReceiveOptions {
	sessionScope: SessionScope;
	now: number;
}

/** A `message` callback as the trigger pipeline takes it. Viber bots talk one-on-one only: every chat is a DM with the sender. */
export function viberMessageToInbound(callback: Record<string, unknown>, accountId: string, options: ViberReceiveOptions): InboundEvent {
	const token = idOrNull(callback.message_token);
	const sender = recordOrNull(callback.sender);
	const senderId = nonEmptyStringOrNull(sender?.id);
	const message = recordOrNull(callback.message);
	if (token === null || senderId === null || message === null) throw new InvalidPayloadError('The Viber message callback has no message_token, sender.id or message.');
	// The same message_token on every retry of the callback.
	const dedupeKey = `message:${token}`;
	const facts = { fromSelf: false };
	const attachments = attachmentsOf(message);
	if (attachments === null) return { envelope: null, skipped: `Viber message type ${JSON.stringify(message.type)} is not read by Clawgate`, facts, dedupeKey };
	const text = stringOr(message.text, '') || (message.type === 'url' ? stringOr(message.media, '') : '');
	const chat = { id: senderId, type: 'dm' as const, threadId: null, title: null };
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'viber', accountId, chat, senderId, scope: options.sessionScope }),
			channel: 'viber',
			accountId,
			event: 'message',
			chat,
			sender: { id: senderId, name: nonEmptyStringOrNull(sender?.name), username: null, isBot: false },
			message: {
				id: token,
				text,
				replyToId: null,
				mentionsBot: false,
				command: commandForBot(text, null),
				attachments,
				timestamp: isoTimestampOrNull(finiteNumberOrNull(callback.timestamp) ?? Number.NaN) ?? new Date(options.now).toISOString(),
			},
			// tracking_data (set by the bot's own keyboards) and the sender's country and language are there.
			raw: callback,
		},
		facts,
		dedupeKey,
	};
}

/** The welcome message of a conversation_started callback, answered in the callback's response (no execution). */
export function viberWelcome(text: string, senderName: string): Record<string, unknown> {
	return { sender: { name: senderName.slice(0, SENDER_NAME_LIMIT) || 'Bot' }, type: 'text', text };
}

// ---------------------------------------------------------------------------------------------

export const viberPlugin: ChannelPlugin<ViberCredential, ViberClient> = {
	id: 'viber',
	name: 'Viber',
	channels: ['viber'],
	credentialType: 'clawgateViberApi',
	capabilities: {
		// Text message: "Max length 7,000 characters". https://developers.viber.com/docs/api/rest-bot-api/#text-message
		textLimit: 7000,
		// Picture message: "text … Max 768 characters".
		captionLimit: 768,
		// Viber documents no markup for bot messages: Markdown is sent as readable plain text.
		renderer: plainRenderer,
		edit: false,
		// No typing indicator in the Bot API.
		typing: false,
		// Bots chat one-on-one: no threads, no groups, and no quoting of a message.
		threads: false,
		media: true,
		quote: 'never',
		inbound: ['webhook'],
	},
	createClient: createViberClient,
	async accountOf(_credential, client) {
		return (await viberAccount(client).catch(() => null))?.id ?? null;
	},
	webhook: {
		missingProof: (request) => viberMissingSignature(request),
		disproof: (request, credential) => viberSignatureDisproof(request, credential.authToken),
		async receive(request, credential, context, settings) {
			const callback = parseViberCallback(request.rawBody);
			const event = String(callback.event);
			const dedupeKey = `${event}:${idOrNull(callback.message_token) ?? ''}`;
			// set_webhook checks the URL with this callback and fails unless it is answered 200.
			if (event === 'webhook') return { kind: 'answer', answer: { status: 200, body: {} }, reason: 'Viber\'s webhook check (set_webhook)' };
			if (event === 'conversation_started') {
				// The one message a bot may send before the person subscribes: the answer to this callback.
				const greeting = stringOr(context.options.welcomeMessage, '').trim();
				if (!greeting) return { kind: 'answer', answer: { status: 200, body: {} }, reason: 'a conversation was opened (no Welcome Message set)' };
				// The greeting needs the bot's name; without it the callback is still answered, as no greeting.
				const account = await viberAccount(createViberClient(credential)).catch(() => null);
				if (account === null) return { kind: 'answer', answer: { status: 200, body: {} }, reason: 'a conversation was opened; the Welcome Message was not sent: get_account_info failed' };
				return { kind: 'answer', answer: { status: 200, body: viberWelcome(greeting, account.name) }, reason: 'a conversation was opened: answered with the Welcome Message' };
			}
			if (event !== 'message') {
				const why = event === 'failed' ? `Viber could not deliver a message (${stringOr(callback.desc, 'no description')})` : `"${event}" callbacks are not messages`;
				return { kind: 'events', events: [{ envelope: null, skipped: why, facts: { fromSelf: false }, dedupeKey }] };
			}
			const account = await viberAccount(createViberClient(credential)).catch((error: unknown) => {
				throw describeViberError(error, 'identify the bot (get_account_info)');
			});
			return { kind: 'events', events: [viberMessageToInbound(callback, account.id, { sessionScope: settings.sessionScope, now: context.now })] };
		},
		acknowledgement: { status: 200, body: {} },
		async register(credential, url) {
			const client = createViberClient(credential);
			// Message, subscribed and unsubscribed callbacks always come; of the others only conversation_started is read.
			await callViber(client, 'set_webhook', { url, event_types: ['conversation_started'], send_name: true, send_photo: false }).catch((error: unknown) => {
				throw describeViberError(error, `set the webhook to ${url}`);
			});
		},
		async unregister(credential, url) {
			const client = createViberClient(credential);
			// Another workflow (or another n8n) may have taken the bot's webhook since: that one stays.
			const account = await fetchViberAccount(client).catch((error: unknown) => {
				throw describeViberError(error, 'read the webhook (get_account_info)');
			});
			if (account.webhook !== url) return;
			await callViber(client, 'set_webhook', { url: '' }).catch((error: unknown) => {
				throw describeViberError(error, 'remove the webhook');
			});
		},
	},
	outbound: {
		postMessage: (client, { chatId, text }) => sendViberMessage(client, chatId, { type: 'text', text }),
	},
	// Viber's only rate limit answer (status 12) lasts until the person replies: no wait within an execution ends it.
	retryAfterMs: () => null,
	describeError: (error, action) => describeViberError(error, action),
};

