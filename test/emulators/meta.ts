/**
 * Meta's Graph API and webhooks on loopback, for one product at a time (WhatsApp Cloud API,
 * Messenger or Instagram), both directions:
 * - the Graph API under /v21.0 (Bearer token; `{ error: { message, type, code, error_subcode,
 *   fbtrace_id } }` refusals; OAuthException 190 for a token it does not know; scripted 429s and
 *   call-limit errors): WhatsApp's /{phone-number-id} and /{phone-number-id}/messages (text,
 *   media, templates, read receipts), Messenger's and Instagram's /me and /me/messages (text,
 *   attachments, sender actions). The 24-hour customer service window is kept per person: it opens
 *   when the emulator builds an inbound message from them; outside it WhatsApp refuses everything
 *   but templates with 131047 "Re-engagement message", Messenger and Instagram with code 10.
 * - the webhook sender: `{ object, entry[] }` bodies shaped like Meta's, signed like Meta signs
 *   them (X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the body with the app secret), the
 *   GET verification request, and redeliveries (the same body again).
 * The signature and handshake code here is written from Meta's documentation, independently of the plugins.
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export type MetaProduct = 'whatsapp' | 'messenger' | 'instagram';

const VERSION = 'v21.0';
const DAY_MS = 24 * 60 * 60 * 1000;

export interface MetaFault {
	/** Only a call of this path (without the version: "/me/messages") consumes the fault. */
	path: string;
	/** A 429 with this Retry-After in seconds (null: without the header). */
	rateLimitSeconds?: number | null;
	status?: number;
	code?: number;
	subcode?: number;
	message?: string;
}

/** One message the account sent, as the person sees it. */
export interface MetaSentMessage {
	to: string;
	id: string;
	/** text, image, template, audio, file… */
	type: string;
	/** The text of a text message; a template's name; a media URL. */
	text: string;
	/** WhatsApp's context.message_id (the message it answers). */
	replyTo: string | null;
	body: Record<string, unknown>;
}

export interface MetaDeliveryOptions {
	/** Signs with another secret (a forger's). */
	appSecret?: string;
	unsigned?: boolean;
	/** Sends this body instead of the signed one. */
	bodyOverride?: string;
}

/** Meta's signature of a webhook body: "sha256=" and the hex HMAC-SHA256 keyed with the app secret. */
export function signMetaBody(appSecret: string, body: string): string {
	return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

const digits = (length: number) => Array.from({ length }, (_, index) => (index === 0 ? randomInt(1, 10) : randomInt(0, 10))).join('');

const graphError = (status: number, message: string, code: number, subcode?: number, type = 'OAuthException'): EmulatorReply => ({
	status,
	body: { error: { message, type, code, ...(subcode === undefined ? {} : { error_subcode: subcode }), fbtrace_id: `A${randomBytes(8).toString('base64url')}` } },
});

export class MetaEmulator {
	readonly server: EmulatorServer;
	readonly accessToken = `EAAG${randomBytes(60).toString('base64url')}`;
	readonly appSecret = randomBytes(16).toString('hex');
	readonly verifyToken = `verify-${randomBytes(12).toString('hex')}`;
	/** The business account: WhatsApp's phone number (ID and display number), the Page, or the Instagram account. */
	readonly account: { id: string; wabaId: string; displayNumber: string; name: string };
	/** Templates approved for the WhatsApp Business Account: name → languages. */
	readonly templates = new Map<string, string[]>([['hello_world', ['en_US']]]);
	readonly sent: MetaSentMessage[] = [];
	readonly readReceipts: Array<{ messageId: string; typing: boolean }> = [];
	readonly senderActions: Array<{ to: string; action: string }> = [];
	/** When each person last wrote, for the 24-hour window. */
	private readonly lastInbound = new Map<string, number>();
	private faults: MetaFault[] = [];
	private seq = 0;

	constructor(readonly product: MetaProduct) {
		const id = product === 'whatsapp' ? digits(15) : digits(17);
		this.account = { id, wabaId: digits(15), displayNumber: `1555${digits(7)}`, name: { whatsapp: 'Clawgate Support', messenger: 'Clawgate Page', instagram: 'clawgate.shop' }[product] };
		this.server = new EmulatorServer(`Meta ${product}`, (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	/** The credential's baseUrl (the emulator adds the version, as graph.facebook.com does). */
	get apiUrl(): string {
		return this.server.url;
	}

	/** The credential as n8n holds it for this product. */
	credential(overrides: Record<string, unknown> = {}): Record<string, unknown> {
		const token = this.product === 'messenger' ? { pageAccessToken: this.accessToken } : { accessToken: this.accessToken };
		const number = this.product === 'whatsapp' ? { phoneNumberId: this.account.id } : {};
		return { ...token, ...number, appSecret: this.appSecret, verifyToken: this.verifyToken, baseUrl: this.apiUrl, ...overrides };
	}

	fail(...faults: MetaFault[]): this {
		this.faults.push(...faults);
		return this;
	}

	/** API calls of one path (without the version), accepted or not. */
	calls(path: string): RecordedRequest[] {
		return this.server.matching((request) => request.path === `/${VERSION}${path}`);
	}

	get sendPath(): string {
		return this.product === 'whatsapp' ? `/${this.account.id}/messages` : '/me/messages';
	}

	textsTo(to: string): string[] {
		return this.sent.filter((message) => message.to === to && message.type === 'text').map((message) => message.text);
	}

	/** A person's ID as the platform names them: a phone number in digits, or a page/app-scoped ID. */
	newPersonId(): string {
		return this.product === 'whatsapp' ? `1650${digits(7)}` : digits(16);
	}

	/** Moves a person's last message 25 hours back: the customer service window is closed. */
	closeWindow(personId: string): void {
		this.lastInbound.set(personId, Date.now() - DAY_MS - 60 * 60 * 1000);
	}

	// ------------------------------------------------------------------------------------------
	// Webhook bodies

	private nextMessageId(): string {
		this.seq++;
		if (this.product === 'whatsapp') return `wamid.${Buffer.from(`${this.account.displayNumber}${Date.now()}${this.seq}${randomBytes(6).toString('hex')}`).toString('base64')}`;
		return `m_${randomBytes(30).toString('base64url')}`;
	}

	private opened(personId: string): void {
		this.lastInbound.set(personId, Date.now());
	}

	/** WhatsApp: a `messages` change carrying one message from a person. */
	whatsAppMessage(from: string, message: Record<string, unknown>, { name = 'Sheena Nelson' } = {}): Record<string, unknown> {
		this.opened(from);
		const full = { from, id: this.nextMessageId(), timestamp: String(Math.floor(Date.now() / 1000)), ...message };
		return this.whatsAppChange({ contacts: [{ profile: { name }, wa_id: from }], messages: [full] });
	}

	whatsAppText(from: string, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
		return this.whatsAppMessage(from, { type: 'text', text: { body: text }, ...extra });
	}

	/** A sent/delivered/read/failed notice about a message the business sent. */
	whatsAppStatus(recipient: string, status: 'sent' | 'delivered' | 'read' | 'failed', messageId = this.nextMessageId()): Record<string, unknown> {
		const failed = status === 'failed' ? { errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' } }] } : {};
		return this.whatsAppChange({
			statuses: [{ id: messageId, status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: recipient, ...failed, pricing: { billable: true, pricing_model: 'PMP', category: 'service' } }],
		});
	}

	private whatsAppChange(value: Record<string, unknown>): Record<string, unknown> {
		return {
			object: 'whatsapp_business_account',
			entry: [{ id: this.account.wabaId, changes: [{ value: { messaging_product: 'whatsapp', metadata: { display_phone_number: this.account.displayNumber, phone_number_id: this.account.id }, ...value }, field: 'messages' }] }],
		};
	}

	/** Messenger/Instagram: one messaging event in an entry of the account. */
	messagingEvent(event: Record<string, unknown>): Record<string, unknown> {
		return { object: this.product === 'messenger' ? 'page' : 'instagram', entry: [{ id: this.account.id, time: Date.now(), messaging: [{ timestamp: Date.now(), ...event }] }] };
	}

	messagingText(from: string, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
		this.opened(from);
		return this.messagingEvent({ sender: { id: from }, recipient: { id: this.account.id }, message: { mid: this.nextMessageId(), text, ...extra } });
	}

	messagingPostback(from: string, payload: string, title = 'Get Started'): Record<string, unknown> {
		this.opened(from);
		return this.messagingEvent({ sender: { id: from }, recipient: { id: this.account.id }, postback: { mid: this.nextMessageId(), title, payload } });
	}

	/** The echo of a message the account sent (is_echo): sender is the account. */
	messagingEcho(to: string, text: string, appId = 1517776481860111): Record<string, unknown> {
		return this.messagingEvent({ sender: { id: this.account.id }, recipient: { id: to }, message: { mid: this.nextMessageId(), is_echo: true, app_id: appId, text } });
	}

	/** A text message from a person, whatever the product. */
	text(from: string, text: string): Record<string, unknown> {
		return this.product === 'whatsapp' ? this.whatsAppText(from, text) : this.messagingText(from, text);
	}

	// ------------------------------------------------------------------------------------------
	// Delivering

	signedDelivery(body: unknown, options: MetaDeliveryOptions = {}): { headers: Record<string, string>; rawBody: string } {
		const rawBody = JSON.stringify(body);
		const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'facebookexternalua' };
		if (!options.unsigned) headers['x-hub-signature-256'] = signMetaBody(options.appSecret ?? this.appSecret, rawBody);
		return { headers, rawBody: options.bodyOverride ?? rawBody };
	}

	async deliver(url: string, body: unknown, options: MetaDeliveryOptions = {}): Promise<{ status: number; body: string }> {
		const { headers, rawBody } = this.signedDelivery(body, options);
		const response = await fetch(url, { method: 'POST', headers, body: rawBody });
		return { status: response.status, body: await response.text() };
	}

	/** The verification request the App Dashboard sends when a callback URL is saved. */
	async verify(url: string, { verifyToken = this.verifyToken, challenge = String(randomInt(1_000_000_000, 2_000_000_000)) } = {}): Promise<{ status: number; body: string; challenge: string; contentType: string | null }> {
		const query = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.challenge': challenge, 'hub.verify_token': verifyToken });
		const response = await fetch(`${url}?${query}`, { method: 'GET' });
		return { status: response.status, body: await response.text(), challenge, contentType: response.headers.get('content-type') };
	}

	// ------------------------------------------------------------------------------------------
	// The Graph API

	private handle(request: RecordedRequest): EmulatorReply {
		if (!request.path.startsWith(`/${VERSION}/`)) return graphError(400, 'Unknown path components', 2500);
		const path = request.path.slice(VERSION.length + 1);
		if (request.headers.authorization !== `Bearer ${this.accessToken}`) return graphError(400, 'Invalid OAuth access token - Cannot parse access token', 190);
		const faultIndex = this.faults.findIndex((fault) => fault.path === path);
		if (faultIndex >= 0) {
			const [fault] = this.faults.splice(faultIndex, 1);
			if (fault.rateLimitSeconds !== undefined) {
				const reply = graphError(429, fault.message ?? '(#130429) Rate limit hit', fault.code ?? 130429, undefined, 'OAuthException');
				return { ...reply, headers: fault.rateLimitSeconds === null ? {} : { 'retry-after': String(fault.rateLimitSeconds) } };
			}
			return graphError(fault.status ?? 500, fault.message ?? 'An unexpected error has occurred. Please retry your request later.', fault.code ?? 2, fault.subcode);
		}
		const route = `${request.method} ${path}`;
		if (this.product === 'whatsapp') {
			if (route === `GET /${this.account.id}`) return { status: 200, body: { verified_name: this.account.name, display_phone_number: `+1 555-${this.account.displayNumber.slice(4, 7)}-${this.account.displayNumber.slice(7)}`, id: this.account.id, quality_rating: 'GREEN' } };
			if (route === `POST /${this.account.id}/messages`) return this.whatsAppSend(request.body);
		} else {
			if (route === 'GET /me') {
				const fields = request.query.get('fields') ?? '';
				if (this.product === 'instagram') return { status: 200, body: { id: digits(17), ...(fields.includes('user_id') ? { user_id: this.account.id } : {}), username: this.account.name } };
				return { status: 200, body: { id: this.account.id, name: this.account.name } };
			}
			if (route === 'POST /me/messages') return this.messagingSend(request.body);
		}
		return graphError(400, `Unsupported ${request.method} request. Object with ID '${path.split('/')[1]}' does not exist`, 100, 33, 'GraphMethodException');
	}

	private windowOpen(personId: string): boolean {
		return Date.now() - (this.lastInbound.get(personId) ?? 0) < DAY_MS;
	}

	private record(to: string, type: string, text: string, replyTo: string | null, body: Record<string, unknown>): string {
		const id = this.nextMessageId();
		this.sent.push({ to, id, type, text, replyTo, body });
		return id;
	}

	private whatsAppSend(body: Record<string, unknown>): EmulatorReply {
		if (body.messaging_product !== 'whatsapp') return graphError(400, '(#100) The parameter messaging_product is required.', 100);
		if (body.status === 'read') {
			if (typeof body.message_id !== 'string' || !body.message_id.startsWith('wamid.')) return graphError(400, '(#100) Invalid parameter', 100);
			this.readReceipts.push({ messageId: body.message_id, typing: (body.typing_indicator as { type?: string } | undefined)?.type === 'text' });
			return { status: 200, body: { success: true } };
		}
		const to = typeof body.to === 'string' ? body.to : '';
		if (!/^\d{7,15}$/.test(to)) return graphError(400, '(#100) Invalid parameter', 100);
		const type = String(body.type ?? 'text');
		const content = (body[type] ?? {}) as Record<string, unknown>;
		const replyTo = ((body.context as { message_id?: string } | undefined)?.message_id as string | undefined) ?? null;
		let text: string;
		if (type === 'template') {
			const name = String(content.name ?? '');
			const language = String((content.language as { code?: string } | undefined)?.code ?? '');
			if (!this.templates.get(name)?.includes(language)) return graphError(404, '(#132001) Template name does not exist in the translation', 132001);
			text = name;
		} else {
			if (!this.windowOpen(to)) {
				return {
					status: 400,
					body: {
						error: {
							message: '(#131047) Re-engagement message',
							type: 'OAuthException',
							code: 131047,
							error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' },
							fbtrace_id: `A${randomBytes(8).toString('base64url')}`,
						},
					},
				};
			}
			if (type === 'text') {
				text = String(content.body ?? '');
				if (text.length === 0 || text.length > 4096) return graphError(400, '(#100) Param text[\'body\'] must be at most 4096 characters long.', 100);
			} else if (['image', 'audio', 'video', 'document', 'sticker'].includes(type)) {
				if (typeof content.link !== 'string' && typeof content.id !== 'string') return graphError(400, `(#100) Param ${type} must have a link or an id`, 100);
				text = String(content.link ?? content.id);
			} else return graphError(400, `(#100) Param type must be one of {TEXT, IMAGE, AUDIO, VIDEO, DOCUMENT, STICKER, TEMPLATE, ...} - got "${type}".`, 100);
		}
		const id = this.record(to, type, text, replyTo, body);
		return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id }] } };
	}

	private messagingSend(body: Record<string, unknown>): EmulatorReply {
		const to = String((body.recipient as { id?: unknown } | undefined)?.id ?? '');
		if (!/^\d{5,20}$/.test(to)) return graphError(400, '(#100) The parameter recipient is required', 100);
		if (typeof body.sender_action === 'string') {
			if (!['typing_on', 'typing_off', 'mark_seen'].includes(body.sender_action)) return graphError(400, '(#100) Param sender_action must be one of {MARK_SEEN, TYPING_ON, TYPING_OFF}', 100);
			this.senderActions.push({ to, action: body.sender_action });
			return { status: 200, body: { recipient_id: to } };
		}
		if (this.product === 'messenger' && body.messaging_type === undefined) return graphError(400, '(#100) The parameter messaging_type is required', 100);
		// A message tag (Messenger) lets an account write outside the window; plain answers may not.
		if (!this.windowOpen(to) && body.tag === undefined) {
			return graphError(400, '(#10) This message is sent outside of allowed window.', 10, this.product === 'messenger' ? 2018278 : 2534022);
		}
		const message = (body.message ?? {}) as Record<string, unknown>;
		const attachment = message.attachment as { type?: string; payload?: { url?: string } } | undefined;
		if (typeof message.text === 'string') {
			const size = this.product === 'instagram' ? Buffer.byteLength(message.text, 'utf8') : message.text.length;
			if (size === 0 || size > (this.product === 'instagram' ? 1000 : 2000)) return graphError(400, '(#100) Length of param message[text] must be less than or equal to the limit', 100);
			return { status: 200, body: { recipient_id: to, message_id: this.record(to, 'text', message.text, null, body) } };
		}
		if (attachment?.type && attachment.payload?.url) return { status: 200, body: { recipient_id: to, message_id: this.record(to, attachment.type, attachment.payload.url, null, body) } };
		return graphError(400, '(#100) Must send either message or sender action', 100);
	}
}
