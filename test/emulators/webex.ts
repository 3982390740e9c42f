/**
 * Webex on loopback, both directions:
 * - the REST API (`/v1/...`, Bearer token, `{ message, errors, trackingId }` errors, 429 with
 *   Retry-After): people/me, messages (create, get), webhooks (list, create, delete);
 * - the webhook sender: `messages:created` notifications shaped like Webex's, carrying only IDs
 *   (the text stays behind GET /messages/{id}), signed like Webex signs them (`X-Spark-Signature`:
 *   hex HMAC-SHA1 of the body keyed with the webhook's secret).
 * The signature code here is written from Webex's documentation, independently of the plugin.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

/** Webex IDs: base64 (no padding) of a ciscospark:// URI. */
export function webexId(kind: 'PEOPLE' | 'ROOM' | 'MESSAGE' | 'WEBHOOK' | 'ORGANIZATION' | 'APPLICATION'): string {
	return Buffer.from(`ciscospark://us/${kind}/${randomUUID()}`).toString('base64').replace(/=+$/, '');
}

/** Webex's signature of a webhook body: hex of HMAC-SHA1 keyed with the webhook's secret. */
export function signWebexBody(secret: string, body: string): string {
	return createHmac('sha1', secret).update(body).digest('hex');
}

export interface WebexPerson {
	id: string;
	email: string;
	displayName: string;
}

export interface WebexRoom {
	id: string;
	type: 'direct' | 'group';
	title: string;
}

export interface WebexWebhook {
	id: string;
	name: string;
	targetUrl: string;
	resource: string;
	event: string;
	secret: string;
	status: string;
	created: string;
}

export interface WebexFault {
	/** Only a call of this method and path prefix (`POST /v1/messages`) consumes the fault. */
	route: string;
	/** A 429 with this Retry-After in seconds. */
	rateLimitSeconds?: number;
	status?: number;
	message?: string;
}

export interface WebexDeliveryOptions {
	/** Signs with this secret instead of the registered webhook's (a forger's). */
	secret?: string;
	unsigned?: boolean;
	bodyOverride?: string;
}

const error = (status: number, message: string): EmulatorReply => ({
	status,
	body: { message, errors: [{ description: message }], trackingId: `ROUTER_${randomUUID().toUpperCase()}` },
});

export class WebexEmulator {
	readonly server: EmulatorServer;
	readonly token: string;
	readonly bot: WebexPerson = { id: webexId('PEOPLE'), email: 'clawgate@webex.bot', displayName: 'Clawgate' };
	readonly orgId = webexId('ORGANIZATION');
	readonly appId = webexId('APPLICATION');
	/** Every message by ID: what people wrote and what the bot posted. */
	readonly messages = new Map<string, Record<string, unknown>>();
	/** Messages the bot posted, in order. */
	readonly posted: Array<Record<string, unknown>> = [];
	readonly webhooks: WebexWebhook[] = [];
	readonly rooms = new Map<string, WebexRoom>();
	private faults: WebexFault[] = [];
	private readonly directRooms = new Map<string, WebexRoom>();

	constructor({ token = `${randomBytes(48).toString('base64url')}_PF84_${randomUUID()}` } = {}) {
		this.token = token;
		this.server = new EmulatorServer('Webex', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	/** The value for the credential's `baseUrl`, like https://webexapis.com. */
	get apiUrl(): string {
		return this.server.url;
	}

	fail(...faults: WebexFault[]): this {
		this.faults.push(...faults);
		return this;
	}

	calls(route: string): RecordedRequest[] {
		return this.server.matching((request) => `${request.method} ${request.path}`.startsWith(route));
	}

	/** Markdown the bot posted to a room, in order. */
	textsTo(roomId: string): string[] {
		return this.posted.filter((message) => message.roomId === roomId).map((message) => String(message.markdown ?? message.text ?? ''));
	}

	newPerson(displayName = 'Ada Lovelace', email = `${displayName.split(' ')[0].toLowerCase()}.${randomBytes(3).toString('hex')}@example.com`): WebexPerson {
		return { id: webexId('PEOPLE'), email, displayName };
	}

	/** The one-on-one room of a person with the bot. */
	directRoom(person: WebexPerson): WebexRoom {
		let room = this.directRooms.get(person.id);
		if (!room) {
			room = { id: webexId('ROOM'), type: 'direct', title: person.displayName };
			this.directRooms.set(person.id, room);
			this.rooms.set(room.id, room);
		}
		return room;
	}

	newGroupRoom(title = 'Project Unicorn'): WebexRoom {
		const room: WebexRoom = { id: webexId('ROOM'), type: 'group', title };
		this.rooms.set(room.id, room);
		return room;
	}

	// ------------------------------------------------------------------------------------------
	// Messages people write, and the notifications Webex sends for them

	/**
	 * A message someone posts, kept where GET /messages/{id} finds it, and the `messages:created`
	 * notification for it. `mentionBot` writes the bot's name first, as the Webex app does.
	 */
	post({ from, room, text, mentionBot = false, parentId, files }: { from: WebexPerson; room: WebexRoom; text: string; mentionBot?: boolean; parentId?: string; files?: string[] }): Record<string, unknown> {
		const id = webexId('MESSAGE');
		const created = new Date().toISOString();
		const mention = `<spark-mention data-object-type="person" data-object-id="${this.bot.id}">${this.bot.displayName}</spark-mention>`;
		const message: Record<string, unknown> = {
			id,
			...(parentId ? { parentId } : {}),
			roomId: room.id,
			roomType: room.type,
			text: mentionBot ? `${this.bot.displayName} ${text}` : text,
			...(mentionBot ? { html: `<p>${mention} ${text}</p>`, mentionedPeople: [this.bot.id] } : {}),
			...(files ? { files } : {}),
			personId: from.id,
			personEmail: from.email,
			created,
		};
		this.messages.set(id, message);
		return this.notification(message);
	}

	/** The `messages:created` notification of a stored message: metadata only, as Webex sends it. */
	notification(message: Record<string, unknown>, resource = 'messages', event = 'created'): Record<string, unknown> {
		const webhook = this.webhooks[0];
		const data: Record<string, unknown> = {
			id: message.id,
			roomId: message.roomId,
			roomType: message.roomType,
			personId: message.personId,
			personEmail: message.personEmail,
			...(message.mentionedPeople ? { mentionedPeople: message.mentionedPeople } : {}),
			created: message.created,
		};
		return {
			id: webhook?.id ?? webexId('WEBHOOK'),
			name: webhook?.name ?? 'Clawgate',
			targetUrl: webhook?.targetUrl ?? 'https://n8n.example.com/webhook',
			resource,
			event,
			orgId: this.orgId,
			createdBy: this.bot.id,
			appId: this.appId,
			ownedBy: 'creator',
			status: 'active',
			created: webhook?.created ?? new Date().toISOString(),
			actorId: message.personId,
			data,
		};
	}

	// ------------------------------------------------------------------------------------------
	// Delivering

	signedDelivery(body: unknown, secret: string | null, options: WebexDeliveryOptions = {}): { headers: Record<string, string>; rawBody: string } {
		const rawBody = JSON.stringify(body);
		const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Webex Webhooks' };
		const key = options.secret ?? secret;
		if (!options.unsigned && key) headers['x-spark-signature'] = signWebexBody(key, rawBody);
		return { headers, rawBody: options.bodyOverride ?? rawBody };
	}

	/** POSTs a notification to a URL like Webex does, signed with the secret of the webhook registered for it. */
	async deliver(url: string, body: unknown, options: WebexDeliveryOptions = {}): Promise<{ status: number; body: string }> {
		const secret = this.webhooks.find((webhook) => webhook.targetUrl === url)?.secret ?? null;
		const { headers, rawBody } = this.signedDelivery(body, secret, options);
		const response = await fetch(url, { method: 'POST', headers, body: rawBody, signal: AbortSignal.timeout(30_000) });
		return { status: response.status, body: await response.text() };
	}

	// ------------------------------------------------------------------------------------------
	// REST API

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.headers.authorization !== `Bearer ${this.token}`) return error(401, 'The request requires a valid access token set in the Authorization request header.');
		const route = `${request.method} ${request.path}`;
		const faultIndex = this.faults.findIndex((fault) => route.startsWith(fault.route));
		if (faultIndex >= 0) {
			const [fault] = this.faults.splice(faultIndex, 1);
			if (fault.rateLimitSeconds !== undefined) return { status: 429, headers: { 'retry-after': String(fault.rateLimitSeconds) }, body: { message: 'Too Many Requests', trackingId: 'ROUTER_429' } };
			return error(fault.status ?? 500, fault.message ?? 'Internal Server Error');
		}
		const [, version, collection, id] = request.path.split('/');
		if (version !== 'v1') return error(404, 'The requested resource could not be found.');
		if (route === 'GET /v1/people/me') {
			return { status: 200, body: { id: this.bot.id, emails: [this.bot.email], displayName: this.bot.displayName, nickName: this.bot.displayName, orgId: this.orgId, type: 'bot', created: '2026-01-01T00:00:00.000Z' } };
		}
		if (collection === 'messages' && request.method === 'GET' && id) {
			const message = this.messages.get(decodeURIComponent(id));
			return message ? { status: 200, body: message } : error(404, 'Unable to find message.');
		}
		if (route === 'POST /v1/messages') return this.createMessage(request.body);
		if (route === 'GET /v1/webhooks') return { status: 200, body: { items: this.webhooks } };
		if (route === 'POST /v1/webhooks') return this.createWebhook(request.body);
		if (collection === 'webhooks' && request.method === 'DELETE' && id) {
			const index = this.webhooks.findIndex((webhook) => webhook.id === decodeURIComponent(id));
			if (index < 0) return error(404, 'Webhook not found.');
			this.webhooks.splice(index, 1);
			return { status: 204 };
		}
		return error(404, 'The requested resource could not be found.');
	}

	private createMessage(body: Record<string, unknown>): EmulatorReply {
		const roomId = typeof body.roomId === 'string' ? body.roomId : '';
		const room = this.rooms.get(roomId);
		if (!room) return error(404, 'Could not find a room with provided ID.');
		const markdown = typeof body.markdown === 'string' ? body.markdown : null;
		const text = typeof body.text === 'string' ? body.text : null;
		const content = markdown ?? text ?? '';
		if (!content.trim()) return error(400, 'Message must contain text, markdown or a file.');
		if (Buffer.byteLength(content, 'utf8') > 7439) return error(400, 'Message length exceeds the maximum of 7439 bytes.');
		const parentId = typeof body.parentId === 'string' ? body.parentId : null;
		if (parentId !== null) {
			const parent = this.messages.get(parentId);
			if (!parent || parent.roomId !== roomId) return error(400, 'Invalid parentId.');
			if (parent.parentId) return error(400, 'Replies to replies are not supported: use the thread\'s first message as parentId.');
		}
		const message: Record<string, unknown> = {
			id: webexId('MESSAGE'),
			...(parentId ? { parentId } : {}),
			roomId,
			roomType: room.type,
			text: content,
			...(markdown !== null ? { markdown } : {}),
			personId: this.bot.id,
			personEmail: this.bot.email,
			created: new Date().toISOString(),
		};
		this.messages.set(String(message.id), message);
		this.posted.push(message);
		return { status: 200, body: message };
	}

	private createWebhook(body: Record<string, unknown>): EmulatorReply {
		const { name, targetUrl, resource, event, secret } = body as Record<string, string | undefined>;
		if (!name || !targetUrl || !resource || !event) return error(400, 'name, targetUrl, resource and event are required.');
		try {
			new URL(targetUrl);
		} catch {
			return error(400, 'targetUrl is not a valid URL.');
		}
		const webhook: WebexWebhook = { id: webexId('WEBHOOK'), name, targetUrl, resource, event, secret: secret ?? '', status: 'active', created: new Date().toISOString() };
		this.webhooks.push(webhook);
		return { status: 200, body: { ...webhook, orgId: this.orgId, createdBy: this.bot.id, appId: this.appId, ownedBy: 'creator' } };
	}
}
