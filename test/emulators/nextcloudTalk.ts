/**
 * Nextcloud Talk on loopback, both directions, written from https://nextcloud-talk.readthedocs.io/en/latest/bots/:
 * - the bot API `POST /ocs/v2.php/apps/spreed/api/v1/bot/{token}/message` (`OCS-APIRequest: true`,
 *   X-Nextcloud-Talk-Bot-Random and X-Nextcloud-Talk-Bot-Signature = hex HMAC-SHA256 of random +
 *   message with the bot secret; 201 on success, 401 for a bad signature, 400 where the bot is not
 *   enabled) and the room API `GET /ocs/v2.php/apps/spreed/api/v4/room/{token}` (Basic auth; type 1
 *   for one-to-one);
 * - the webhook sender: Activity Streams `Create`/`Note` bodies whose content is JSON with message
 *   and parameters, signed with X-Nextcloud-Talk-Random and X-Nextcloud-Talk-Signature.
 */
import { createHmac, randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface TalkPerson {
	id: string;
	name: string;
}

export interface TalkPosted {
	conversation: string;
	message: string;
	replyTo: number | null;
	referenceId: string | null;
}

/** Talk's signature, as its documentation's PHP computes it: hash_hmac('sha256', RANDOM . body, secret). */
export function signTalkBody(secret: string, random: string, body: string): string {
	return createHmac('sha256', secret).update(random + body).digest('hex');
}

const ocs = (status: number, message: string, data: unknown = []): EmulatorReply => ({ status, body: { ocs: { meta: { status: status < 300 ? 'ok' : 'failure', statuscode: status, message }, data } } });

export class NextcloudTalkEmulator {
	readonly server: EmulatorServer;
	readonly botSecret = randomBytes(40).toString('hex');
	readonly botName = 'Clawgate';
	readonly apiUser = 'clawgate-api';
	readonly appPassword = randomBytes(20).toString('hex');
	readonly posted: TalkPosted[] = [];
	/** Conversations by token: one-to-one (type 1) or group (type 2), and whether the bot is enabled there. */
	private readonly rooms = new Map<string, { type: number; name: string }>();
	private messageSeq = 1500;
	private rateLimits: number[] = [];

	constructor() {
		this.server = new EmulatorServer('Nextcloud Talk', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	get baseUrl(): string {
		return this.server.url;
	}

	credential(): Record<string, string> {
		return { baseUrl: this.baseUrl, botSecret: this.botSecret, botName: this.botName, apiUser: this.apiUser, appPassword: this.appPassword };
	}

	/** A new conversation with the bot enabled: one-to-one or a group. */
	newConversation(kind: 'one-to-one' | 'group', name = kind === 'group' ? 'Team' : 'Ada Lovelace'): string {
		const token = randomBytes(6).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, 'x');
		this.rooms.set(token, { type: kind === 'group' ? 2 : 1, name });
		return token;
	}

	rateLimitNext(seconds: number): void {
		this.rateLimits.push(seconds);
	}

	sendCalls(): RecordedRequest[] {
		return this.server.matching((request) => request.method === 'POST' && /\/bot\/[^/]+\/message$/.test(request.path));
	}

	messagesIn(conversation: string): string[] {
		return this.posted.filter((post) => post.conversation === conversation).map((post) => post.message);
	}

	// ------------------------------------------------------------------------------------------
	// Activities to n8n

	/** A chat message; `mentionBot` writes "@Clawgate" first as Talk's rich-object mention. */
	message(conversation: string, from: TalkPerson, text: string, { mentionBot = false }: { mentionBot?: boolean } = {}): Record<string, unknown> {
		const parameters: Record<string, unknown> = {};
		let message = text;
		if (mentionBot) {
			message = `{mention-user1} ${text}`;
			parameters['mention-user1'] = { type: 'user', id: this.botName, name: this.botName };
		}
		const room = this.rooms.get(conversation);
		return {
			type: 'Create',
			actor: { type: 'Person', id: from.id, name: from.name },
			object: { type: 'Note', id: String(++this.messageSeq), name: 'message', content: JSON.stringify({ message, parameters }), mediaType: 'text/markdown' },
			target: { type: 'Collection', id: conversation, name: room?.name ?? conversation },
		};
	}

	/** The bot was added to a conversation. */
	join(conversation: string): Record<string, unknown> {
		return { type: 'Join', actor: { type: 'Application', id: 'bots/clawgate', name: this.botName }, object: { type: 'Collection', id: conversation, name: this.rooms.get(conversation)?.name ?? '' } };
	}

	/** Headers and body of a delivery as Talk sends them. */
	signedDelivery(activity: unknown, { secret = this.botSecret, unsigned = false }: { secret?: string; unsigned?: boolean } = {}): { headers: Record<string, string>; rawBody: string } {
		const rawBody = JSON.stringify(activity);
		const random = randomBytes(32).toString('hex');
		const headers: Record<string, string> = { 'content-type': 'application/json', 'x-nextcloud-talk-backend': this.baseUrl };
		if (!unsigned) Object.assign(headers, { 'x-nextcloud-talk-random': random, 'x-nextcloud-talk-signature': signTalkBody(secret, random, rawBody) });
		return { headers, rawBody };
	}

	async deliver(url: string, activity: unknown, options: { secret?: string; unsigned?: boolean } = {}): Promise<number> {
		const { headers, rawBody } = this.signedDelivery(activity, options);
		const response = await fetch(url, { method: 'POST', headers, body: rawBody });
		await response.text();
		return response.status;
	}

	// ------------------------------------------------------------------------------------------
	// OCS API

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.headers['ocs-apirequest'] !== 'true') return ocs(412, 'CSRF check failed');
		const room = /^\/ocs\/v2\.php\/apps\/spreed\/api\/v4\/room\/([^/]+)$/.exec(request.path);
		if (room && request.method === 'GET') {
			const expected = `Basic ${Buffer.from(`${this.apiUser}:${this.appPassword}`).toString('base64')}`;
			if (request.headers.authorization !== expected) return ocs(401, 'Unauthorised');
			const found = this.rooms.get(decodeURIComponent(room[1]));
			return found ? ocs(200, 'OK', { token: room[1], type: found.type, displayName: found.name }) : ocs(404, 'Not Found');
		}
		const bot = /^\/ocs\/v2\.php\/apps\/spreed\/api\/v1\/bot\/([^/]+)\/message$/.exec(request.path);
		if (bot && request.method === 'POST') {
			const random = String(request.headers['x-nextcloud-talk-bot-random'] ?? '');
			const signature = String(request.headers['x-nextcloud-talk-bot-signature'] ?? '');
			const message = typeof request.body.message === 'string' ? request.body.message : '';
			if (!random || signature !== signTalkBody(this.botSecret, random, message)) return ocs(401, 'Unauthorised');
			const wait = this.rateLimits.shift();
			if (wait !== undefined) return { ...ocs(429, 'Too Many Requests'), headers: { 'retry-after': String(wait) } };
			const conversation = decodeURIComponent(bot[1]);
			if (!this.rooms.has(conversation)) return ocs(400, 'Bad Request');
			if (message.length === 0 || message.length > 32_000) return ocs(413, 'Message too long');
			const replyTo = typeof request.body.replyTo === 'number' ? request.body.replyTo : null;
			this.posted.push({ conversation, message, replyTo, referenceId: typeof request.body.referenceId === 'string' ? request.body.referenceId : null });
			return ocs(201, 'Created');
		}
		return ocs(404, 'Not Found');
	}
}
