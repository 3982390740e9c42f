/**
 * LINE on loopback, both directions:
 * - the Messaging API (`/v2/bot/...`, Bearer channel access token, `{ message, details }` errors,
 *   429 with an optional Retry-After): bot info, push, loading animation, webhook endpoint;
 * - the webhook sender: `{ destination, events }` bodies shaped like LINE's, signed like LINE signs
 *   them (`X-Line-Signature`: base64 HMAC-SHA256 of the body with the channel secret), and
 *   redelivered with the same webhookEventId and `deliveryContext.isRedelivery: true`.
 * The signature code here is written from LINE's documentation, independently of the plugin.
 */
import { createHmac, randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface LineEmulatorOptions {
	channelAccessToken?: string;
	channelSecret?: string;
	botUserId?: string;
}

export interface LineFault {
	/** Only a call of this path (`/v2/bot/message/push`) consumes the fault. */
	path: string;
	/** A 429 with this Retry-After in seconds (null: a 429 without the header, as LINE documents it). */
	rateLimitSeconds?: number | null;
	/** Another error answer: status and LINE's message. */
	status?: number;
	message?: string;
}

/** One message object of a push request, as the chat shows it. */
export interface PushedMessage {
	to: string;
	id: string;
	type: string;
	text: string;
	quoteToken: string | null;
	/** Which push request carried it (0-based), since one request holds up to five messages. */
	request: number;
}

export interface LineDeliveryOptions {
	/** Signs with another secret (a forger's). */
	channelSecret?: string;
	/** Leaves X-Line-Signature out. */
	unsigned?: boolean;
	/** Sends this body instead of the signed one (tampering in transit). */
	bodyOverride?: string;
}

export interface LineSource {
	userId?: string;
	groupId?: string;
	roomId?: string;
}

/** LINE's signature of a webhook body: base64 of HMAC-SHA256 keyed with the channel secret. */
export function signLineBody(channelSecret: string, body: string): string {
	return createHmac('sha256', channelSecret).update(body).digest('base64');
}

const lineId = (prefix: 'U' | 'C' | 'R') => `${prefix}${randomBytes(16).toString('hex')}`;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** webhookEventId is a ULID: 26 Crockford base32 characters. */
function ulid(): string {
	return Array.from(randomBytes(26), (byte) => CROCKFORD[byte % 32]).join('');
}

const error = (status: number, message: string, details?: Array<{ property: string; message: string }>): EmulatorReply => ({
	status,
	body: details ? { message, details } : { message },
});

export class LineEmulator {
	readonly server: EmulatorServer;
	readonly channelAccessToken: string;
	readonly channelSecret: string;
	readonly bot: { userId: string; basicId: string; displayName: string };
	/** Every message object pushed, in order. */
	readonly pushed: PushedMessage[] = [];
	/** Every accepted loading animation request. */
	readonly loadings: Array<{ chatId: string; loadingSeconds: number }> = [];
	/** The webhook URL set through the API, and whether "Use webhook" is on in the console. */
	webhook: { endpoint: string | null; active: boolean } = { endpoint: null, active: true };
	private faults: LineFault[] = [];
	private pushRequests = 0;
	private messageSeq = 470_000_000_000_000_000n;
	/** Quote tokens LINE issued with inbound and pushed messages; a push may quote only these. */
	private readonly quoteTokens = new Set<string>();

	constructor({ channelAccessToken = randomBytes(96).toString('base64'), channelSecret = randomBytes(16).toString('hex'), botUserId = lineId('U') }: LineEmulatorOptions = {}) {
		this.channelAccessToken = channelAccessToken;
		this.channelSecret = channelSecret;
		this.bot = { userId: botUserId, basicId: '@123clawg', displayName: 'Clawgate' };
		this.server = new EmulatorServer('LINE', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	/** The value for the credential's `baseUrl`, like https://api.line.me. */
	get apiUrl(): string {
		return this.server.url;
	}

	/** Scripts the next calls of a path to fail, one fault per call, in order. */
	fail(...faults: LineFault[]): this {
		this.faults.push(...faults);
		return this;
	}

	/** API calls received for one path (accepted or not), in order. */
	calls(path: string): RecordedRequest[] {
		return this.server.matching((request) => request.path === path);
	}

	/** Texts pushed to a chat, in order. */
	textsTo(chatId: string): string[] {
		return this.pushed.filter((message) => message.to === chatId).map((message) => message.text);
	}

	newUserId(): string {
		return lineId('U');
	}

	newGroupId(): string {
		return lineId('C');
	}

	newRoomId(): string {
		return lineId('R');
	}

	// ------------------------------------------------------------------------------------------
	// Webhook bodies, shaped like LINE's

	private nextMessageId(): string {
		this.messageSeq += BigInt(1 + Math.floor(Math.random() * 1000));
		return String(this.messageSeq);
	}

	private issueQuoteToken(): string {
		const token = `q${randomBytes(40).toString('base64url')}`;
		this.quoteTokens.add(token);
		return token;
	}

	/** The fields every webhook event has. */
	event(type: string, source: LineSource, fields: Record<string, unknown> = {}): Record<string, unknown> {
		const kind = source.roomId ? 'room' : source.groupId ? 'group' : 'user';
		return {
			type,
			...fields,
			webhookEventId: ulid(),
			deliveryContext: { isRedelivery: false },
			timestamp: Date.now(),
			source: { type: kind, ...source },
			...(type === 'unfollow' || type === 'leave' ? {} : { replyToken: randomBytes(16).toString('hex') }),
			mode: 'active',
		};
	}

	/** A text message; `mentionBot` puts "@Clawgate " in front with a mentionee whose isSelf is true. */
	textEvent({ text, source, mentionBot = false, mentionAll = false, quotedMessageId }: { text: string; source: LineSource; mentionBot?: boolean; mentionAll?: boolean; quotedMessageId?: string }): Record<string, unknown> {
		const mentionees: Array<Record<string, unknown>> = [];
		let body = text;
		if (mentionBot) {
			body = `@${this.bot.displayName} ${body}`;
			mentionees.push({ index: 0, length: this.bot.displayName.length + 1, userId: this.bot.userId, type: 'user', isSelf: true });
		}
		if (mentionAll) {
			mentionees.forEach((mentionee) => (mentionee.index = Number(mentionee.index) + 5));
			body = `@All ${body}`;
			mentionees.unshift({ index: 0, length: 4, type: 'all' });
		}
		return this.event('message', source, {
			message: {
				id: this.nextMessageId(),
				type: 'text',
				quoteToken: this.issueQuoteToken(),
				markAsReadToken: randomBytes(12).toString('base64url'),
				text: body,
				...(mentionees.length > 0 ? { mention: { mentionees } } : {}),
				...(quotedMessageId ? { quotedMessageId } : {}),
			},
		});
	}

	/** An image, video, audio or file message (the content is fetched by message ID). */
	contentEvent(type: 'image' | 'video' | 'audio' | 'file', source: LineSource, extra: Record<string, unknown> = {}): Record<string, unknown> {
		const fields: Record<string, unknown> = { id: this.nextMessageId(), type, ...(type === 'audio' || type === 'file' ? {} : { quoteToken: this.issueQuoteToken() }) };
		if (type !== 'file') fields.contentProvider = { type: 'line' };
		if (type === 'video' || type === 'audio') fields.duration = 60_000;
		return this.event('message', source, { message: { ...fields, ...extra } });
	}

	locationEvent(source: LineSource, { title = 'my location', address = '1-3 Kioicho, Chiyoda-ku, Tokyo', latitude = 35.67966, longitude = 139.73669 } = {}): Record<string, unknown> {
		return this.event('message', source, { message: { id: this.nextMessageId(), type: 'location', title, address, latitude, longitude } });
	}

	stickerEvent(source: LineSource, { packageId = '446', stickerId = '1988' } = {}): Record<string, unknown> {
		return this.event('message', source, {
			message: { id: this.nextMessageId(), type: 'sticker', quoteToken: this.issueQuoteToken(), packageId, stickerId, stickerResourceType: 'STATIC', keywords: ['Happy'] },
		});
	}

	postbackEvent(source: LineSource, data: string): Record<string, unknown> {
		return this.event('postback', source, { postback: { data } });
	}

	/** A webhook request body: the bot's user ID as destination, and the events. */
	body(...events: Array<Record<string, unknown>>): { destination: string; events: Array<Record<string, unknown>> } {
		return { destination: this.bot.userId, events };
	}

	/** The same body again, as LINE redelivers it: same webhookEventIds, isRedelivery true. */
	redelivery(body: { destination: string; events: Array<Record<string, unknown>> }): { destination: string; events: Array<Record<string, unknown>> } {
		return { ...body, events: body.events.map((event) => ({ ...event, deliveryContext: { isRedelivery: true } })) };
	}

	// ------------------------------------------------------------------------------------------
	// Delivering

	/** The headers and body of a delivery exactly as LINE sends them, without sending. */
	signedDelivery(body: unknown, options: LineDeliveryOptions = {}): { headers: Record<string, string>; rawBody: string } {
		const rawBody = JSON.stringify(body);
		const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'LineBotWebhook/2.0' };
		if (!options.unsigned) headers['x-line-signature'] = signLineBody(options.channelSecret ?? this.channelSecret, rawBody);
		return { headers, rawBody: options.bodyOverride ?? rawBody };
	}

	/** POSTs a delivery to a webhook URL like the LINE Platform does. */
	async deliver(url: string, body: unknown, options: LineDeliveryOptions = {}): Promise<{ status: number; body: string }> {
		const { headers, rawBody } = this.signedDelivery(body, options);
		const response = await fetch(url, { method: 'POST', headers, body: rawBody });
		return { status: response.status, body: await response.text() };
	}

	// ------------------------------------------------------------------------------------------
	// Messaging API

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.headers.authorization !== `Bearer ${this.channelAccessToken}`) {
			return error(401, 'Authentication failed. Confirm that the access token in the authorization header is valid.');
		}
		const faultIndex = this.faults.findIndex((fault) => fault.path === request.path);
		if (faultIndex >= 0) {
			const [fault] = this.faults.splice(faultIndex, 1);
			if (fault.rateLimitSeconds !== undefined) {
				const headers: Record<string, string> = fault.rateLimitSeconds === null ? {} : { 'retry-after': String(fault.rateLimitSeconds) };
				return { status: 429, headers, body: { message: fault.message ?? 'The API rate limit has been exceeded. Try again later.' } };
			}
			return error(fault.status ?? 500, fault.message ?? 'An error occurred in the LINE Platform.');
		}
		const route = `${request.method} ${request.path}`;
		switch (route) {
			case 'GET /v2/bot/info':
				return { status: 200, body: { userId: this.bot.userId, basicId: this.bot.basicId, displayName: this.bot.displayName, chatMode: 'bot', markAsReadMode: 'auto' } };
			case 'POST /v2/bot/message/push':
				return this.push(request.body);
			case 'POST /v2/bot/chat/loading/start':
				return this.startLoading(request.body);
			case 'PUT /v2/bot/channel/webhook/endpoint':
				return this.setEndpoint(request.body);
			case 'GET /v2/bot/channel/webhook/endpoint':
				return this.webhook.endpoint === null ? error(404, 'Not found') : { status: 200, body: { endpoint: this.webhook.endpoint, active: this.webhook.active } };
			default:
				return error(404, 'Not found');
		}
	}

	private push(body: Record<string, unknown>): EmulatorReply {
		const to = typeof body.to === 'string' ? body.to : '';
		if (!/^[UCR][0-9a-f]{32}$/.test(to)) return error(400, 'Failed to send messages', [{ property: 'to', message: 'The value is invalid' }]);
		const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
		if (messages.length < 1 || messages.length > 5) return error(400, 'The request body has 1 error(s)', [{ property: 'messages', message: 'Size must be between 1 and 5' }]);
		const problems = messages.flatMap((message, index) => {
			if (message.type !== 'text') return [{ property: `messages[${index}].type`, message: 'Clawgate\'s emulator takes text messages only' }];
			const text = typeof message.text === 'string' ? message.text : '';
			if (text.length < 1 || text.length > 5000) return [{ property: `messages[${index}].text`, message: 'Length must be between 1 and 5000' }];
			if (message.quoteToken !== undefined && !this.quoteTokens.has(String(message.quoteToken))) return [{ property: `messages[${index}].quoteToken`, message: 'The quote token is invalid' }];
			return [];
		});
		if (problems.length > 0) return error(400, `The request body has ${problems.length} error(s)`, problems);
		const request = this.pushRequests++;
		const sentMessages = messages.map((message) => {
			const sent = { id: this.nextMessageId(), quoteToken: this.issueQuoteToken() };
			this.pushed.push({ to, id: sent.id, type: 'text', text: String(message.text), quoteToken: message.quoteToken ? String(message.quoteToken) : null, request });
			return sent;
		});
		return { status: 200, body: { sentMessages } };
	}

	private startLoading(body: Record<string, unknown>): EmulatorReply {
		const chatId = typeof body.chatId === 'string' ? body.chatId : '';
		const seconds = body.loadingSeconds === undefined ? 20 : Number(body.loadingSeconds);
		// Only one-on-one chats: a group or room ID is refused.
		if (!/^U[0-9a-f]{32}$/.test(chatId)) return error(400, 'The request body has 1 error(s)', [{ property: 'chatId', message: 'The value is invalid' }]);
		if (!Number.isInteger(seconds) || seconds < 5 || seconds > 60 || seconds % 5 !== 0) {
			return error(400, 'The request body has 1 error(s)', [{ property: 'loadingSeconds', message: 'Must be a multiple of 5 between 5 and 60' }]);
		}
		this.loadings.push({ chatId, loadingSeconds: seconds });
		return { status: 202, body: {} };
	}

	private setEndpoint(body: Record<string, unknown>): EmulatorReply {
		const endpoint = typeof body.endpoint === 'string' ? body.endpoint : '';
		let url: URL | null = null;
		try {
			url = new URL(endpoint);
		} catch {
			url = null;
		}
		// LINE takes only https; plain http is accepted for loopback so a local n8n can be tested.
		const loopback = url?.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost');
		if (!url || (url.protocol !== 'https:' && !loopback)) return error(400, 'Invalid webhook endpoint URL');
		this.webhook = { ...this.webhook, endpoint };
		return { status: 200, body: {} };
	}
}
