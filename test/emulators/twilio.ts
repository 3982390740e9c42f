/**
 * Twilio on loopback, both directions:
 * - the REST API the Clawgate nodes call (`/2010-04-01/Accounts/{sid}.json` and
 *   `/2010-04-01/Accounts/{sid}/Messages.json`): HTTP basic auth with the auth token or an API
 *   key, form-encoded parameters, Twilio's JSON error bodies (`code`, `message`, `more_info`,
 *   `status`), validation errors of the Messages resource, and scripted 429s with Retry-After;
 * - the webhook sender: inbound SMS/MMS and WhatsApp messages posted the way Twilio posts them
 *   (form-encoded, the same parameter names), signed with `X-Twilio-Signature`.
 * The signature code here is written from Twilio's documentation, independently of the adapter
 * (which uses the SDK's validateRequest).
 */
import { createHmac, randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export const TWILIO_API_VERSION = '2010-04-01';
/** Twilio's shared WhatsApp sandbox sender. */
export const WHATSAPP_SANDBOX_NUMBER = '+14155238886';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
export const makeAccountSid = () => `AC${hex(16)}`;
export const makeAuthToken = () => hex(16);
export const makeApiKeySid = () => `SK${hex(16)}`;
export const makeMessagingServiceSid = () => `MG${hex(16)}`;
const makeSid = (prefix: 'SM' | 'MM' | 'ME') => `${prefix}${hex(16)}`;

/**
 * The `X-Twilio-Signature` of a request (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
 * the full URL, then each POST parameter's name and value with no delimiters, sorted by name
 * (case-sensitive), HMAC-SHA1 with the auth token as key, base64.
 */
export function twilioSignature(authToken: string, url: string, params: Record<string, string | string[]>): string {
	const data = Object.keys(params)
		.sort()
		.reduce((acc, name) => {
			const value = params[name];
			const values = Array.isArray(value) ? [...value].sort() : [value];
			return acc + values.map((one) => `${name}${one}`).join('');
		}, url);
	return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** A message the API accepted, as the emulator keeps it. */
export interface EmulatedMessage {
	sid: string;
	from: string | null;
	to: string;
	body: string;
	mediaUrls: string[];
	statusCallback: string | null;
	messagingServiceSid: string | null;
	numSegments: number;
	/** Who authenticated the call: the account SID or the API key SID. */
	authenticatedAs: string;
}

export interface InboundMedia {
	contentType: string;
	/** Defaults to a media URL on api.twilio.com, like Twilio's. */
	url?: string;
}

export interface InboundMessageInput {
	/** The sender: +15551234567 (the emulator adds whatsapp: for WhatsApp). */
	from?: string;
	/** The receiving number; defaults to the account's first number (the sandbox for WhatsApp). */
	to?: string;
	body?: string;
	media?: InboundMedia[];
	messagingServiceSid?: string;
}

export interface WebhookDeliveryOptions {
	/** Signs with another auth token (a forger's). */
	authToken?: string;
	/** Signs over this URL instead of the one posted to (what Twilio does behind a proxy). */
	signatureUrl?: string;
	/** Posts these parameters instead of the signed ones (tampering in transit). */
	paramsOverride?: Record<string, string>;
	/** Leaves X-Twilio-Signature out. */
	unsigned?: boolean;
}

export interface WebhookDeliveryResult {
	status: number;
	body: string;
	contentType: string | null;
}

export interface TwilioEmulatorOptions {
	accountSid?: string;
	authToken?: string;
	/** SMS-capable numbers of the account, E.164. */
	numbers?: string[];
	/** WhatsApp senders of the account, E.164 (without whatsapp:). */
	whatsappSenders?: string[];
}

type Operation = 'messages.create' | 'accounts.fetch' | 'messages.fetch';

function twilioError(status: number, code: number, message: string): EmulatorReply {
	return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}

const RFC2822 = (date: Date) => date.toUTCString().replace('GMT', '+0000');
const E164 = /^\+[1-9]\d{6,14}$/;
const GSM7 = /^[A-Za-z0-9 \r\n@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!"#¤%&'()*+,\-./:;<=>?¡ÄÖÑÜ§¿äöñüà^{}\\[~\]|€]*$/;

export class TwilioEmulator {
	readonly server: EmulatorServer;
	readonly accountSid: string;
	readonly authToken: string;
	readonly apiKey = { sid: makeApiKeySid(), secret: hex(16) };
	readonly numbers: string[];
	readonly whatsappSenders: string[];
	/** Every message the Messages API accepted, in order. */
	readonly sent: EmulatedMessage[] = [];
	private faults = new Map<Operation, EmulatorReply[]>();

	constructor({ accountSid = makeAccountSid(), authToken = makeAuthToken(), numbers = ['+14155550100'], whatsappSenders = [WHATSAPP_SANDBOX_NUMBER] }: TwilioEmulatorOptions = {}) {
		this.accountSid = accountSid;
		this.authToken = authToken;
		this.numbers = numbers;
		this.whatsappSenders = whatsappSenders;
		this.server = new EmulatorServer('Twilio', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	/** The value for the credential's `baseUrl`, standing in for https://api.twilio.com. */
	get apiUrl(): string {
		return this.server.url;
	}

	/** A credential for this account: auth token, or the API key too when asked. */
	credential({ apiKey = false }: { apiKey?: boolean } = {}) {
		return {
			accountSid: this.accountSid,
			authToken: this.authToken,
			...(apiKey ? { apiKeySid: this.apiKey.sid, apiKeySecret: this.apiKey.secret } : {}),
			baseUrl: this.apiUrl,
		};
	}

	/** REST calls received for one operation (accepted or not), in order. */
	calls(operation: Operation): RecordedRequest[] {
		return this.server.matching((request) => operationOf(request) === operation);
	}

	/** The next `count` calls of `operation` get this reply instead of being served. */
	failNext(operation: Operation, reply: EmulatorReply, count = 1): void {
		const queue = this.faults.get(operation) ?? [];
		for (let i = 0; i < count; i++) queue.push(reply);
		this.faults.set(operation, queue);
	}

	/** The next `count` message sends get Twilio's 429 (error 20429), with Retry-After when given. */
	rateLimitNext(count = 1, retryAfterSeconds?: number): void {
		const reply = twilioError(429, 20429, 'Too Many Requests');
		if (retryAfterSeconds !== undefined) reply.headers = { 'retry-after': String(retryAfterSeconds) };
		this.failNext('messages.create', reply, count);
	}

	// ------------------------------------------------------------------------------------------
	// Inbound webhooks, shaped like Twilio's

	private mediaParams(messageSid: string, media: InboundMedia[]): Record<string, string> {
		const params: Record<string, string> = { NumMedia: String(media.length) };
		media.forEach((item, index) => {
			params[`MediaContentType${index}`] = item.contentType;
			params[`MediaUrl${index}`] = item.url ?? `https://api.twilio.com/${TWILIO_API_VERSION}/Accounts/${this.accountSid}/Messages/${messageSid}/Media/${makeSid('ME')}`;
		});
		return params;
	}

	/** What Twilio posts to a number's "A message comes in" webhook for an SMS (or MMS, with media). */
	inboundSms({ from = '+15551230001', to = this.numbers[0], body = '', media = [], messagingServiceSid }: InboundMessageInput = {}): Record<string, string> {
		const messageSid = makeSid(media.length > 0 ? 'MM' : 'SM');
		return {
			ToCountry: 'US',
			ToState: 'CA',
			SmsMessageSid: messageSid,
			ToCity: 'SAN FRANCISCO',
			FromZip: '',
			SmsSid: messageSid,
			FromState: '',
			SmsStatus: 'received',
			FromCity: '',
			Body: body,
			FromCountry: 'US',
			To: to,
			...(messagingServiceSid ? { MessagingServiceSid: messagingServiceSid } : {}),
			ToZip: '94105',
			NumSegments: String(segmentsOf(body, 'sms')),
			MessageSid: messageSid,
			AccountSid: this.accountSid,
			From: from,
			ApiVersion: TWILIO_API_VERSION,
			...this.mediaParams(messageSid, media),
		};
	}

	/** What Twilio posts for a WhatsApp message: whatsapp: addresses, ProfileName, WaId, MessageType. */
	inboundWhatsApp({
		from = '+15551230002',
		to = this.whatsappSenders[0],
		body = '',
		media = [],
		messagingServiceSid,
		profileName = 'Ada Lovelace',
		location,
		repliedTo,
	}: InboundMessageInput & {
		profileName?: string;
		location?: { latitude: number; longitude: number; label?: string; address?: string };
		/** The SID of a message this one replies to (WhatsApp reply context). */
		repliedTo?: string;
	} = {}): Record<string, string> {
		const messageSid = makeSid(media.length > 0 ? 'MM' : 'SM');
		const waId = from.replace(/^\+/, '');
		const messageType = location ? 'location' : media.length > 0 ? media[0].contentType.split('/')[0] : 'text';
		return {
			SmsMessageSid: messageSid,
			ProfileName: profileName,
			MessageType: messageType,
			SmsSid: messageSid,
			WaId: waId,
			SmsStatus: 'received',
			Body: body,
			To: `whatsapp:${to}`,
			...(messagingServiceSid ? { MessagingServiceSid: messagingServiceSid } : {}),
			NumSegments: '1',
			ReferralNumMedia: '0',
			MessageSid: messageSid,
			AccountSid: this.accountSid,
			From: `whatsapp:${from}`,
			ApiVersion: TWILIO_API_VERSION,
			ChannelMetadata: JSON.stringify({ type: 'whatsapp', data: { context: { ProfileName: profileName, WaId: waId } } }),
			...(location
				? {
						Latitude: String(location.latitude),
						Longitude: String(location.longitude),
						...(location.label ? { Label: location.label } : {}),
						...(location.address ? { Address: location.address } : {}),
					}
				: {}),
			...(repliedTo ? { OriginalRepliedMessageSender: `whatsapp:${to}`, OriginalRepliedMessageSid: repliedTo } : {}),
			...this.mediaParams(messageSid, media),
		};
	}

	/** What Twilio posts to a message's StatusCallback when its delivery status changes. */
	statusCallback(message: Pick<EmulatedMessage, 'sid' | 'from' | 'to'>, status: 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'read'): Record<string, string> {
		return {
			SmsSid: message.sid,
			SmsStatus: status,
			MessageStatus: status,
			To: message.to,
			MessageSid: message.sid,
			AccountSid: this.accountSid,
			From: message.from ?? '',
			ApiVersion: TWILIO_API_VERSION,
		};
	}

	/** The signature Twilio would send for these parameters posted to `url`. */
	sign(url: string, params: Record<string, string>, authToken = this.authToken): string {
		return twilioSignature(authToken, url, params);
	}

	/** Posts a webhook like Twilio: form-encoded, X-Twilio-Signature over the exact URL and parameters. */
	async deliver(url: string, params: Record<string, string>, options: WebhookDeliveryOptions = {}): Promise<WebhookDeliveryResult> {
		const signature = this.sign(options.signatureUrl ?? url, params, options.authToken);
		const response = await fetch(url, {
			method: 'POST',
			headers: {
				'content-type': 'application/x-www-form-urlencoded',
				'user-agent': 'TwilioProxy/1.1',
				'i-twilio-idempotency-token': randomBytes(16).toString('hex'),
				...(options.unsigned ? {} : { 'x-twilio-signature': signature }),
			},
			body: new URLSearchParams(options.paramsOverride ?? params).toString(),
		});
		return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') };
	}

	// ------------------------------------------------------------------------------------------
	// The REST API

	private authenticate(request: RecordedRequest): string | null {
		const header = String(request.headers.authorization ?? '');
		if (!header.startsWith('Basic ')) return null;
		const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
		const [user, ...rest] = decoded.split(':');
		const password = rest.join(':');
		if (user === this.accountSid && password === this.authToken) return user;
		if (user === this.apiKey.sid && password === this.apiKey.secret) return user;
		return null;
	}

	private handle(request: RecordedRequest): EmulatorReply {
		const operation = operationOf(request);
		if (!operation) return twilioError(404, 20404, `The requested resource ${request.path} was not found`);
		const authenticatedAs = this.authenticate(request);
		if (!authenticatedAs) return twilioError(401, 20003, 'Authenticate');
		const accountSid = /^\/2010-04-01\/Accounts\/([^/.]+)/.exec(request.path)![1];
		if (accountSid !== this.accountSid) return twilioError(404, 20404, `The requested resource ${request.path} was not found`);
		const fault = this.faults.get(operation)?.shift();
		if (fault) return fault;
		switch (operation) {
			case 'accounts.fetch':
				return { status: 200, body: this.accountShape() };
			case 'messages.fetch': {
				const sid = /\/Messages\/([^/.]+)\.json$/.exec(request.path)![1];
				const message = this.sent.find((one) => one.sid === sid);
				return message ? { status: 200, body: this.messageShape(message) } : twilioError(404, 20404, `The requested resource ${request.path} was not found`);
			}
			case 'messages.create':
				return this.createMessage(new URLSearchParams(request.rawBody.toString('utf8')), authenticatedAs);
		}
	}

	private createMessage(form: URLSearchParams, authenticatedAs: string): EmulatorReply {
		const to = form.get('To') ?? '';
		const from = form.get('From') ?? '';
		const messagingServiceSid = form.get('MessagingServiceSid') ?? '';
		const body = form.get('Body') ?? '';
		const mediaUrls = form.getAll('MediaUrl');
		const statusCallback = form.get('StatusCallback');
		if (!to) return twilioError(400, 21604, "A 'To' phone number is required.");
		if (!from && !messagingServiceSid) return twilioError(400, 21603, "A 'From' phone number is required.");
		if (!body && mediaUrls.length === 0) return twilioError(400, 21602, 'Message body is required.');
		const channel = to.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
		if (from && (from.startsWith('whatsapp:') ? 'whatsapp' : 'sms') !== channel) {
			return twilioError(400, 21910, 'Invalid From and To pair. From and To should be of the same channel');
		}
		if (!E164.test(to.replace(/^whatsapp:/, ''))) return twilioError(400, 21211, `Invalid 'To' Phone Number: ${to.replace(/^whatsapp:/, '')}`);
		if (from && channel === 'whatsapp' && !this.whatsappSenders.includes(from.slice('whatsapp:'.length))) {
			return twilioError(400, 63007, 'Twilio could not find a Channel with the specified From address');
		}
		if (from && channel === 'sms' && !this.numbers.includes(from)) {
			return twilioError(400, 21606, `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`);
		}
		if (body.length > 1600) return twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
		if (mediaUrls.some((url) => !/^https?:\/\/[^\s/]+/.test(url))) return twilioError(400, 21620, 'Invalid media URL(s).');
		if (statusCallback !== null && !/^https?:\/\/[^\s/]+/.test(statusCallback)) return twilioError(400, 21609, 'Invalid StatusCallback url');

		const message: EmulatedMessage = {
			sid: makeSid(mediaUrls.length > 0 ? 'MM' : 'SM'),
			from: from || null,
			to,
			body,
			mediaUrls,
			statusCallback,
			messagingServiceSid: messagingServiceSid || null,
			numSegments: segmentsOf(body, channel),
			authenticatedAs,
		};
		this.sent.push(message);
		return { status: 201, body: this.messageShape(message) };
	}

	private accountShape(): Record<string, unknown> {
		const now = RFC2822(new Date());
		return {
			auth_token: this.authToken,
			date_created: now,
			date_updated: now,
			friendly_name: 'Clawgate test account',
			owner_account_sid: this.accountSid,
			sid: this.accountSid,
			status: 'active',
			subresource_uris: { messages: `/${TWILIO_API_VERSION}/Accounts/${this.accountSid}/Messages.json` },
			type: 'Full',
			uri: `/${TWILIO_API_VERSION}/Accounts/${this.accountSid}.json`,
		};
	}

	private messageShape(message: EmulatedMessage): Record<string, unknown> {
		const now = RFC2822(new Date());
		const uri = `/${TWILIO_API_VERSION}/Accounts/${this.accountSid}/Messages/${message.sid}`;
		return {
			account_sid: this.accountSid,
			api_version: TWILIO_API_VERSION,
			body: message.body,
			date_created: now,
			date_sent: null,
			date_updated: now,
			direction: 'outbound-api',
			error_code: null,
			error_message: null,
			from: message.from,
			messaging_service_sid: message.messagingServiceSid,
			num_media: String(message.mediaUrls.length),
			num_segments: String(message.numSegments),
			price: null,
			price_unit: 'USD',
			sid: message.sid,
			// Through a Messaging Service without From, Twilio first accepts, then picks a sender.
			status: message.from ? 'queued' : 'accepted',
			subresource_uris: { media: `${uri}/Media.json`, feedback: `${uri}/Feedback.json` },
			to: message.to,
			uri: `${uri}.json`,
		};
	}
}

/** SMS segments as Twilio bills them: GSM-7 160 (153 when split), else UCS-2 70 (67); WhatsApp is one. */
function segmentsOf(body: string, channel: 'sms' | 'whatsapp'): number {
	if (channel === 'whatsapp' || body.length === 0) return 1;
	const [single, part] = GSM7.test(body) ? [160, 153] : [70, 67];
	return body.length <= single ? 1 : Math.ceil(body.length / part);
}

function operationOf(request: RecordedRequest): Operation | null {
	if (request.method === 'GET' && /^\/2010-04-01\/Accounts\/[^/]+\.json$/.test(request.path)) return 'accounts.fetch';
	if (request.method === 'POST' && /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/.test(request.path)) return 'messages.create';
	if (request.method === 'GET' && /^\/2010-04-01\/Accounts\/[^/]+\/Messages\/[^/]+\.json$/.test(request.path)) return 'messages.fetch';
	return null;
}
