/**
 * Viber on loopback, both directions:
 * - the REST Bot API (`POST /pa/<method>`, `X-Viber-Auth-Token`, HTTP 200 with `status` != 0 for
 *   every refusal): get_account_info, set_webhook (which calls the URL with a signed `webhook`
 *   callback and fails unless it is answered 200, as Viber does), send_message;
 * - the callback sender: bodies shaped like Viber's, with 64-bit message tokens written as JSON
 *   numbers, signed like Viber signs them (`X-Viber-Content-Signature`: hex HMAC-SHA256 of the
 *   body keyed with the auth token), and retried with the same body.
 * The signature code here is written from Viber's documentation, independently of the plugin.
 */
import { createHmac, randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

/** Viber's failure statuses, https://developers.viber.com/docs/api/rest-bot-api/#error-codes */
export const VIBER_STATUS = { ok: 0, invalidUrl: 1, invalidAuthToken: 2, badData: 3, missingData: 4, receiverNotRegistered: 5, receiverNotSubscribed: 6, tooManyRequests: 12 } as const;

export interface ViberFault {
	/** Only a call of this method (`send_message`) consumes the fault. */
	method: string;
	status: number;
	message: string;
}

export interface ViberSent {
	receiver: string;
	senderName: string;
	type: string;
	text: string;
	media: string | null;
	body: Record<string, unknown>;
	token: string;
}

export interface ViberDeliveryOptions {
	/** Signs with another token (a forger's). */
	authToken?: string;
	unsigned?: boolean;
	/** Sends this body instead of the signed one (tampering in transit). */
	bodyOverride?: string;
}

/** Viber's signature of a callback body: hex of HMAC-SHA256 keyed with the auth token. */
export function signViberBody(authToken: string, body: string): string {
	return createHmac('sha256', authToken).update(body).digest('hex');
}

/** A callback body as Viber writes it: message tokens are JSON numbers too large for a double (kept as strings here). */
export function viberJson(body: unknown): string {
	return JSON.stringify(body).replace(/"message_token":"(\d+)"/g, '"message_token":$1');
}

const reply = (status: number, message: string, extra: Record<string, unknown> = {}): EmulatorReply => ({
	status: 200,
	headers: { 'content-type': 'application/json' },
	body: viberJson({ status, status_message: message, ...extra }),
});

export class ViberEmulator {
	readonly server: EmulatorServer;
	readonly authToken: string;
	readonly bot = { id: `pa:${5_253_986_655_490_529_213n + BigInt(Math.floor(Math.random() * 1e6))}`, name: 'Clawgate Bot', uri: 'clawgatebot' };
	/** Every message accepted by send_message, in order. */
	readonly sent: ViberSent[] = [];
	/** The webhook URL set through the API ('' when none), and the event types asked for. */
	webhook: { url: string; eventTypes: string[] } = { url: '', eventTypes: [] };
	/** What the URL answered to the `webhook` callback of each set_webhook call. */
	readonly webhookChecks: Array<{ url: string; status: number }> = [];
	/** People who wrote to the bot: send_message reaches only subscribers. */
	private readonly subscribers = new Set<string>();
	private faults: ViberFault[] = [];
	private tokenSeq = 5_741_311_803_571_721_087n;

	constructor({ authToken = `${randomBytes(8).toString('hex')}-${randomBytes(8).toString('hex')}-${randomBytes(8).toString('hex')}` } = {}) {
		this.authToken = authToken;
		this.server = new EmulatorServer('Viber', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	/** The value for the credential's `baseUrl`, like https://chatapi.viber.com. */
	get apiUrl(): string {
		return this.server.url;
	}

	fail(...faults: ViberFault[]): this {
		this.faults.push(...faults);
		return this;
	}

	/** The next send_message calls are refused with "tooManyRequests" (status 12), as when a person got 100 messages without replying. */
	rateLimitNext(count = 1): this {
		for (let i = 0; i < count; i++) this.fail({ method: 'send_message', status: VIBER_STATUS.tooManyRequests, message: 'tooManyRequests' });
		return this;
	}

	calls(method: string): RecordedRequest[] {
		return this.server.matching((request) => request.path === `/pa/${method}`);
	}

	textsTo(receiver: string): string[] {
		return this.sent.filter((message) => message.receiver === receiver && message.type === 'text').map((message) => message.text);
	}

	/** A Viber user ID (16 random bytes, base64), subscribed once they write. */
	newUserId(): string {
		return randomBytes(16).toString('base64');
	}

	private nextToken(): string {
		this.tokenSeq += 1n;
		return String(this.tokenSeq);
	}

	// ------------------------------------------------------------------------------------------
	// Callbacks, shaped like Viber's

	/** A `message` callback; the sender becomes a subscriber, as a first message makes them. */
	message(from: { id: string; name?: string }, message: Record<string, unknown>): Record<string, unknown> {
		this.subscribers.add(from.id);
		return {
			event: 'message',
			timestamp: Date.now(),
			chat_hostname: 'SN-376_',
			message_token: this.nextToken(),
			sender: { id: from.id, name: from.name ?? 'Ada L.', avatar: 'https://media-direct.cdn.viber.com/download_photo?dlid=abc', country: 'UK', language: 'en', api_version: 10 },
			message,
			silent: false,
		};
	}

	text(from: { id: string; name?: string }, text: string): Record<string, unknown> {
		return this.message(from, { type: 'text', text });
	}

	/** A callback of another event; `user` carries the person for subscribed and conversation_started, `user_id` for the others. */
	event(event: 'subscribed' | 'unsubscribed' | 'conversation_started' | 'delivered' | 'seen' | 'failed' | 'webhook', userId?: string): Record<string, unknown> {
		const base = { event, timestamp: Date.now(), chat_hostname: 'SN-376_', message_token: this.nextToken() };
		if (event === 'webhook' || userId === undefined) return base;
		if (event === 'subscribed' || event === 'conversation_started') {
			const user = { id: userId, name: 'Ada L.', avatar: 'https://media-direct.cdn.viber.com/download_photo?dlid=abc', country: 'UK', language: 'en', api_version: 10 };
			return event === 'subscribed' ? (this.subscribers.add(userId), { ...base, user }) : { ...base, type: 'open', context: '', user, subscribed: false };
		}
		if (event === 'unsubscribed') this.subscribers.delete(userId);
		return { ...base, user_id: userId, ...(event === 'failed' ? { desc: 'failure description' } : {}) };
	}

	// ------------------------------------------------------------------------------------------
	// Delivering

	signedDelivery(body: unknown, options: ViberDeliveryOptions = {}): { headers: Record<string, string>; rawBody: string } {
		const rawBody = viberJson(body);
		const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Viber' };
		if (!options.unsigned) headers['x-viber-content-signature'] = signViberBody(options.authToken ?? this.authToken, rawBody);
		return { headers, rawBody: options.bodyOverride ?? rawBody };
	}

	/** POSTs a callback like Viber does; a retry is the same body again. */
	async deliver(url: string, body: unknown, options: ViberDeliveryOptions = {}): Promise<{ status: number; body: string }> {
		const { headers, rawBody } = this.signedDelivery(body, options);
		const response = await fetch(url, { method: 'POST', headers, body: rawBody, signal: AbortSignal.timeout(30_000) });
		return { status: response.status, body: await response.text() };
	}

	// ------------------------------------------------------------------------------------------
	// REST Bot API

	private async handle(request: RecordedRequest): Promise<EmulatorReply> {
		if (request.method !== 'POST' || !request.path.startsWith('/pa/')) return { status: 404, body: 'Not found' };
		if (request.headers['x-viber-auth-token'] !== this.authToken) return reply(VIBER_STATUS.invalidAuthToken, 'invalidAuthToken');
		const method = request.path.slice('/pa/'.length);
		const faultIndex = this.faults.findIndex((fault) => fault.method === method);
		if (faultIndex >= 0) {
			const [fault] = this.faults.splice(faultIndex, 1);
			return reply(fault.status, fault.message, { message_token: this.nextToken(), chat_hostname: 'SN-CHAT-05_' });
		}
		switch (method) {
			case 'get_account_info':
				return reply(VIBER_STATUS.ok, 'ok', {
					id: this.bot.id,
					chat_hostname: 'SN-CHAT-05_',
					name: this.bot.name,
					uri: this.bot.uri,
					icon: 'https://media-direct.cdn.viber.com/pg_download?pgtp=icons',
					category: 'Companies, Brands & Products',
					subcategory: 'IT',
					country: 'UK',
					webhook: this.webhook.url,
					event_types: this.webhook.eventTypes,
					subscribers_count: this.subscribers.size,
					members: [{ id: 'E4Ux8N0j3HcXEbrzF+nK5Q==', name: 'Owner', role: 'admin' }],
				});
			case 'set_webhook':
				return await this.setWebhook(request.body);
			case 'send_message':
				return this.send(request.body);
			default:
				return reply(VIBER_STATUS.badData, 'badData');
		}
	}

	private async setWebhook(body: Record<string, unknown>): Promise<EmulatorReply> {
		const url = typeof body.url === 'string' ? body.url : null;
		if (url === null) return reply(VIBER_STATUS.missingData, 'missingData');
		if (url === '') {
			this.webhook = { url: '', eventTypes: [] };
			return reply(VIBER_STATUS.ok, 'ok', { chat_hostname: 'SN-CHAT-05_' });
		}
		let parsed: URL | null = null;
		try {
			parsed = new URL(url);
		} catch {
			parsed = null;
		}
		// Viber takes only https with a trusted certificate; plain http is accepted for loopback so a local n8n can be tested.
		const loopback = parsed?.protocol === 'http:' && (parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost');
		if (!parsed || (parsed.protocol !== 'https:' && !loopback)) return reply(VIBER_STATUS.invalidUrl, 'invalidUrl');
		// "Once a set_webhook request is sent Viber will send a callback to the webhook to check its availability."
		const status = await this.deliver(url, this.event('webhook')).then(
			(answer) => answer.status,
			() => 0,
		);
		this.webhookChecks.push({ url, status });
		if (status !== 200) return reply(VIBER_STATUS.invalidUrl, `Result[HttpResponse[${status}]]`);
		const eventTypes = Array.isArray(body.event_types) ? body.event_types.map(String) : ['delivered', 'seen', 'failed', 'subscribed', 'unsubscribed', 'conversation_started'];
		this.webhook = { url, eventTypes };
		return reply(VIBER_STATUS.ok, 'ok', { chat_hostname: 'SN-CHAT-05_', event_types: eventTypes });
	}

	private send(body: Record<string, unknown>): EmulatorReply {
		const receiver = typeof body.receiver === 'string' ? body.receiver : '';
		const sender = body.sender as Record<string, unknown> | undefined;
		const senderName = typeof sender?.name === 'string' ? sender.name : '';
		const type = typeof body.type === 'string' ? body.type : '';
		if (!receiver || !type || !senderName) return reply(VIBER_STATUS.missingData, 'missingData');
		if (senderName.length > 28) return reply(VIBER_STATUS.badData, 'badData');
		if (!this.subscribers.has(receiver)) return reply(VIBER_STATUS.receiverNotSubscribed, 'receiverNotSubscribed');
		const text = typeof body.text === 'string' ? body.text : '';
		const media = typeof body.media === 'string' ? body.media : null;
		if (type === 'text' && (text.length < 1 || text.length > 7000)) return reply(VIBER_STATUS.badData, 'badData');
		if (['picture', 'video', 'file'].includes(type) && !media) return reply(VIBER_STATUS.missingData, 'missingData');
		if ((type === 'video' || type === 'file') && typeof body.size !== 'number') return reply(VIBER_STATUS.missingData, 'missingData');
		if (type === 'file' && typeof body.file_name !== 'string') return reply(VIBER_STATUS.missingData, 'missingData');
		if (type === 'picture' && text.length > 768) return reply(VIBER_STATUS.badData, 'badData');
		if (!['text', 'picture', 'video', 'file'].includes(type)) return reply(VIBER_STATUS.badData, 'badData');
		const token = this.nextToken();
		this.sent.push({ receiver, senderName, type, text, media, body, token });
		return reply(VIBER_STATUS.ok, 'ok', { message_token: token, chat_hostname: 'SN-CHAT-05_', billing_status: 1 });
	}
}
