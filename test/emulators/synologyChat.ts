/**
 * Synology Chat on loopback, both directions:
 * - the NAS's `webapi/entry.cgi?api=SYNO.Chat.External` (method `chatbot` with a bot token and
 *   `payload={"text","user_ids"}`, method `incoming` with an incoming webhook token and
 *   `payload={"text"}`), answering `{ success, data }` or `{ success: false, error: { code, errors } }`;
 * - the integrations' posts to n8n: form fields (token, user_id, username, post_id, timestamp,
 *   text; channel_id, channel_name and trigger_word for an outgoing webhook) as Synology documents
 *   them (https://kb.synology.com/en-global/DSM/help/Chat/chat_integration).
 * Synology documents no rate-limit answer; a reverse proxy's 429 with Retry-After stands in for it.
 */
import { randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface SynologyPosted {
	via: 'chatbot' | 'incoming';
	/** A user ID for the chatbot, `channel:<ID>` of the incoming webhook's channel. */
	to: string;
	text: string;
	postId: string;
}

export interface SynologyPerson {
	userId: number;
	username: string;
}

const failure = (code: number, errors: string): EmulatorReply => ({ status: 200, body: { success: false, error: { code, errors } } });

export class SynologyChatEmulator {
	readonly server: EmulatorServer;
	readonly botToken = randomBytes(24).toString('base64url');
	readonly outgoingToken = randomBytes(24).toString('base64url');
	readonly incomingToken = randomBytes(24).toString('base64url');
	/** The channel the incoming webhook posts into. */
	readonly incomingChannelId = 3;
	readonly posted: SynologyPosted[] = [];
	private postSeq = 12_884_901_000;
	private rateLimits: number[] = [];

	constructor() {
		this.server = new EmulatorServer('Synology Chat', (request) => this.handle(request));
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
		return { baseUrl: this.baseUrl, botToken: this.botToken, outgoingToken: this.outgoingToken, incomingToken: this.incomingToken };
	}

	/** The next send is answered 429 with this Retry-After, as a proxy in front of DSM does. */
	rateLimitNext(seconds: number): void {
		this.rateLimits.push(seconds);
	}

	sendCalls(): RecordedRequest[] {
		return this.server.matching((request) => request.path === '/webapi/entry.cgi');
	}

	textsTo(chatId: string): string[] {
		return this.posted.filter((post) => post.to === chatId).map((post) => post.text);
	}

	private nextPostId(): string {
		this.postSeq += 1 + Math.floor(Math.random() * 50);
		return String(this.postSeq);
	}

	// ------------------------------------------------------------------------------------------
	// Posts to n8n

	/** A direct message to the chatbot, as the bot's Outgoing URL receives it. */
	botPost(from: SynologyPerson, text: string): Record<string, string> {
		return { token: this.botToken, user_id: String(from.userId), username: from.username, post_id: this.nextPostId(), timestamp: String(Date.now()), text };
	}

	/** A channel message matched by an outgoing webhook; `triggerWord` is set when it started with one. */
	channelPost(from: SynologyPerson, text: string, { channelId = 3, channelName = 'general', triggerWord }: { channelId?: number; channelName?: string; triggerWord?: string } = {}): Record<string, string> {
		return {
			token: this.outgoingToken,
			channel_id: String(channelId),
			channel_name: channelName,
			user_id: String(from.userId),
			username: from.username,
			post_id: this.nextPostId(),
			timestamp: String(Date.now()),
			text: triggerWord ? `${triggerWord} ${text}` : text,
			...(triggerWord ? { trigger_word: triggerWord } : {}),
		};
	}

	/** The form body of a post; `token` replaced (a forger's) or left out. */
	formOf(fields: Record<string, string>, { token, unsigned = false }: { token?: string; unsigned?: boolean } = {}): string {
		const copy: Record<string, string> = { ...fields };
		if (unsigned) delete copy.token;
		else if (token !== undefined) copy.token = token;
		return new URLSearchParams(copy).toString();
	}

	/** POSTs a form like the NAS does. */
	async deliver(url: string, fields: Record<string, string>, options: { token?: string; unsigned?: boolean } = {}): Promise<number> {
		const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: this.formOf(fields, options) });
		await response.text();
		return response.status;
	}

	// ------------------------------------------------------------------------------------------
	// SYNO.Chat.External

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.path !== '/webapi/entry.cgi' || request.query.get('api') !== 'SYNO.Chat.External') return { status: 404, body: { success: false, error: { code: 102 } } };
		const wait = this.rateLimits.shift();
		if (wait !== undefined) return { status: 429, headers: { 'retry-after': String(wait) }, body: '<html><body>429 Too Many Requests</body></html>' };
		// Synology's examples quote the token; the NAS takes it with or without quotes.
		const token = (request.query.get('token') ?? '').replace(/^"|"$/g, '');
		let payload: Record<string, unknown>;
		try {
			payload = JSON.parse(String(request.body.payload ?? ''));
		} catch {
			return failure(120, 'payload format error');
		}
		const text = typeof payload.text === 'string' ? payload.text : '';
		if (!text) return failure(120, 'text is required');
		const method = request.query.get('method');
		if (method === 'incoming') {
			if (token !== this.incomingToken) return failure(404, 'not found');
			this.posted.push({ via: 'incoming', to: `channel:${this.incomingChannelId}`, text, postId: this.nextPostId() });
			return { status: 200, body: { success: true } };
		}
		if (method === 'chatbot') {
			if (token !== this.botToken) return failure(404, 'not found');
			const userIds = Array.isArray(payload.user_ids) ? payload.user_ids : [];
			if (userIds.length === 0 || !userIds.every((id) => Number.isInteger(id))) return failure(120, 'user_ids is required');
			const map: Record<string, string> = {};
			for (const id of userIds) {
				const postId = this.nextPostId();
				map[String(id)] = postId;
				this.posted.push({ via: 'chatbot', to: String(id), text, postId });
			}
			return { status: 200, body: { success: true, data: { fail: {}, succ: { user_id_post_map: map } } } };
		}
		return failure(103, 'method does not exist');
	}
}
