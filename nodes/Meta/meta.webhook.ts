/**
 * Meta's webhook scheme, shared by WhatsApp Cloud API, Messenger and Instagram: the GET
 * verification request (hub.mode=subscribe, hub.verify_token, answer hub.challenge), the
 * X-Hub-Signature-256 header on every POST (hex HMAC-SHA256 of the raw body keyed with the app
 * secret) and `{ object, entry[] }` batches. Written once; each plugin adds how its entries read.
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import type { InboundEvent, ReceiveSettings, WebhookAnswer, WebhookContext, WebhookInbound, WebhookRequest } from '../core/channel';
import { InvalidPayloadError } from '../core/errors';
import { isRecord, recordOrNull, stringOr } from '../core/payload';

/** The fields of a Meta credential the webhook needs. */
export interface MetaWebhookCredential {
	appSecret?: string;
	verifyToken?: string;
}

function queryValue(request: WebhookRequest, name: string): string | null {
	// Express keeps "hub.mode" as one key; a parser that splits dots makes { hub: { mode } }.
	const flat = request.query[`hub.${name}`];
	const nested = recordOrNull(request.query.hub)?.[name];
	const value = flat ?? nested;
	const first = Array.isArray(value) ? value[0] : value;
	return typeof first === 'string' ? first : null;
}

function signatureOf(request: WebhookRequest): Buffer | null {
	const value = request.headers['x-hub-signature-256'];
	const header = Array.isArray(value) ? value[0] : value;
	const match = typeof header === 'string' ? /^sha256=([0-9a-f]{64})$/i.exec(header) : null;
	return match ? Buffer.from(match[1], 'hex') : null;
}

/** The verification request Meta sends when the callback URL is saved in the App Dashboard. */
const isHandshake = (request: WebhookRequest) => request.method === 'GET';

/** Compares two strings in constant time, whatever their lengths (the digests are always 32 bytes). */
function sameSecret(a: string, b: string): boolean {
	return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export function metaMissingProof(request: WebhookRequest): string | null {
	if (isHandshake(request)) {
		if (queryValue(request, 'mode') !== 'subscribe') return 'The request is not a Meta webhook verification (hub.mode is not "subscribe").';
		return queryValue(request, 'verify_token') ? null : 'The verification request carries no hub.verify_token.';
	}
	if (signatureOf(request) === null) return 'The request carries no Meta signature (X-Hub-Signature-256).';
	return request.rawBody === undefined ? 'The request has no body to verify.' : null;
}

export function metaDisproof(platform: string, request: WebhookRequest, credential: MetaWebhookCredential): string | null {
	if (isHandshake(request)) {
		const expected = credential.verifyToken?.trim();
		if (!expected) return `The Clawgate ${platform} credential has no verify token, so no verification request can be answered.`;
		return sameSecret(queryValue(request, 'verify_token') ?? '', expected) ? null : `The hub.verify_token does not match the verify token in the Clawgate ${platform} credential.`;
	}
	const secret = credential.appSecret?.trim();
	if (!secret) return `The Clawgate ${platform} credential has no app secret, so no request can be trusted.`;
	const signature = signatureOf(request);
	if (signature === null || request.rawBody === undefined) return 'The request carries no Meta signature (X-Hub-Signature-256).';
	const expected = createHmac('sha256', secret).update(request.rawBody).digest();
	return timingSafeEqual(signature, expected) ? null : `The request is not signed with the app secret in the Clawgate ${platform} credential.`;
}

/** The challenge echoed as Meta expects: the bare value, as text. Meta sends a number; anything else is no verification. */
function handshakeAnswer(request: WebhookRequest): WebhookAnswer {
	const challenge = queryValue(request, 'challenge') ?? '';
	if (!/^[A-Za-z0-9_.-]{1,256}$/.test(challenge)) throw new InvalidPayloadError('The verification request carries no usable hub.challenge.');
	return { status: 200, body: challenge, contentType: 'text/plain' };
}

/** The entries of a signed POST whose `object` is this platform's; anything else is a body Meta would not send here. */
export function parseMetaDelivery(rawBody: Buffer | undefined, object: string, platform: string): Record<string, unknown>[] {
	let payload: unknown;
	try {
		payload = JSON.parse(rawBody?.toString('utf8') ?? '');
	} catch {
		payload = undefined;
	}
	if (payload === undefined) throw new InvalidPayloadError(`The request body is not JSON. This URL receives ${platform} webhooks.`);
	const delivery = recordOrNull(payload);
	const kind = stringOr(delivery?.object, null);
	if (kind === null || !Array.isArray(delivery?.entry)) throw new InvalidPayloadError(`The request body is not a Meta webhook (no "object" and "entry").`);
	if (kind !== object) throw new InvalidPayloadError(`The webhook is for "${kind}", not "${object}": this URL receives ${platform} webhooks. Subscribe the ${platform} product of the app to it.`);
	if (!delivery.entry.every(isRecord)) throw new InvalidPayloadError('The Meta webhook has an entry that is not an object.');
	return delivery.entry as Record<string, unknown>[];
}

export interface MetaWebhookSpec<Credential extends MetaWebhookCredential> {
	platform: string;
	/** The webhook's `object`: "whatsapp_business_account", "page", "instagram". */
	object: string;
	/** The events of a delivery's entries, normalised. */
	eventsOf(entries: Record<string, unknown>[], credential: Credential, context: WebhookContext, settings: ReceiveSettings): InboundEvent[];
	/** A cheap Graph call on activation: Meta has no API to set the callback URL per trigger. */
	checkCredential(credential: Credential): Promise<void>;
}

/** The webhook side of a Meta channel plugin: handshake, signature, batches; the plugin reads the entries. */
export function metaWebhookInbound<Credential extends MetaWebhookCredential>(spec: MetaWebhookSpec<Credential>): WebhookInbound<Credential> {
	return {
		httpMethods: ['POST', 'GET'],
		missingProof: (request) => metaMissingProof(request),
		disproof: (request, credential) => metaDisproof(spec.platform, request, credential),
		async receive(request, credential, context, settings) {
			if (isHandshake(request)) return { kind: 'answer', answer: handshakeAnswer(request), reason: 'the webhook verification request (hub.challenge answered)' };
			const entries = parseMetaDelivery(request.rawBody, spec.object, spec.platform);
			return { kind: 'events', events: spec.eventsOf(entries, credential, context, settings) };
		},
		// Meta redelivers anything not answered 200 within seconds, for up to a day or more.
		acknowledgement: { status: 200, body: 'EVENT_RECEIVED', contentType: 'text/plain' },
		checkCredential: (credential) => spec.checkCredential(credential),
	};
}

/** One skipped event, for entries that hold no message. */
export function skippedEvent(dedupeKey: string, skipped: string): InboundEvent {
	return { envelope: null, skipped, facts: { fromSelf: false }, dedupeKey };
}
