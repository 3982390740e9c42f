/**
 * Microsoft Teams (Bot Framework) on loopback, both directions:
 * - what a bot calls: the OpenID metadata and its JWKS (`/v1/.well-known/...`), the Entra ID token
 *   endpoint (`/{tenant}/oauth2/v2.0/token`, client credentials), and the Bot Connector
 *   (`/v3/conversations/{id}/activities[/{activityId}]`: post, reply, edit, typing; 429 with
 *   Retry-After);
 * - the Bot Connector's deliveries: activities shaped like Teams' (personal, groupChat, channel;
 *   mention entities with `<at>…</at>`), with an RS256 JWT signed by the emulator's own key in
 *   the Authorization header, as the Bot Connector signs them.
 * The JWT code here is written from the Bot Framework's documentation, independently of the plugin.
 */
import { createSign, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface SignOptions {
	/** Another key (a forger's): its own kid unless `kid` says otherwise. */
	privateKey?: KeyObject;
	kid?: string;
	alg?: string;
	iss?: string;
	aud?: string;
	/** Seconds from now; negative for an expired token. */
	expiresIn?: number;
	notBefore?: number;
	serviceUrl?: string;
	/** Leaves the signature as it is but swaps the payload (tampering). */
	tamper?: Record<string, unknown>;
}

export interface TeamsActivityOptions {
	text: string;
	conversationType?: 'personal' | 'groupChat' | 'channel';
	conversationId?: string;
	from?: { id: string; name: string };
	mentionBot?: boolean;
	replyToId?: string;
}

export interface PostedActivity {
	conversationId: string;
	/** The activity it replies to, when posted to `/activities/{id}`. */
	replyToId: string | null;
	id: string;
	type: string;
	text: string;
	textFormat: string | null;
	edited: number;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact RS256 JWT (`alg` may be overridden to forge an `alg: none` token). */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: KeyObject): string {
	const input = `${b64(header)}.${b64(payload)}`;
	if (header.alg === 'none') return `${input}.`;
	const signature = createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url');
	return `${input}.${signature}`;
}

export class TeamsEmulator {
	readonly server: EmulatorServer;
	readonly appId = randomUUID();
	readonly appPassword = randomBytes(24).toString('base64url');
	readonly tenantId = randomUUID();
	readonly kid = `kid-${randomBytes(6).toString('hex')}`;
	private readonly keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
	/** Every activity the bot posted or edited, in order. */
	readonly posted: PostedActivity[] = [];
	readonly typing: string[] = [];
	/** Bot tokens the token endpoint issued. */
	readonly issuedTokens: string[] = [];
	private faults: Array<{ rateLimitSeconds: number }> = [];
	private activitySeq = 1_700_000_000_000;

	constructor() {
		this.server = new EmulatorServer('Teams', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	/** The credential's Base URL, and the serviceUrl of every activity. */
	get url(): string {
		return this.server.url;
	}

	get serviceUrl(): string {
		return `${this.server.url}/`;
	}

	credential(): { appId: string; appPassword: string; tenantId: string; baseUrl: string } {
		return { appId: this.appId, appPassword: this.appPassword, tenantId: this.tenantId, baseUrl: this.url };
	}

	rateLimitNextSend(seconds: number): void {
		this.faults.push({ rateLimitSeconds: seconds });
	}

	calls(pathPart: string): RecordedRequest[] {
		return this.server.matching((request) => request.path.includes(pathPart));
	}

	sendCalls(): number {
		return this.server.matching((request) => request.method === 'POST' && request.path.startsWith('/v3/conversations/') && request.body.type === 'message').length;
	}

	/** Texts posted to a conversation, named by its ID or by the `<serviceUrl>|<ID>` address the send pipeline uses. */
	textsTo(conversation: string): string[] {
		const conversationId = /^https?:\/\//.test(conversation) ? conversation.slice(conversation.indexOf('|') + 1) : conversation;
		return this.posted.filter((activity) => activity.conversationId === conversationId).map((activity) => activity.text);
	}

	newUserId(): string {
		return `29:1${randomBytes(20).toString('base64url')}`;
	}

	// ------------------------------------------------------------------------------------------
	// Activities, shaped like Teams'

	activity({ text, conversationType = 'personal', conversationId, from = { id: '29:1ada', name: 'Ada Lovelace' }, mentionBot = false, replyToId }: TeamsActivityOptions): Record<string, unknown> {
		const botName = 'Clawgate';
		const id = String(this.activitySeq++);
		const conversation: Record<string, unknown> =
			conversationType === 'personal'
				? { conversationType, tenantId: this.tenantId, id: conversationId ?? `a:1${randomBytes(24).toString('base64url')}` }
				: conversationType === 'groupChat'
					? { isGroup: true, conversationType, tenantId: this.tenantId, id: conversationId ?? `19:${randomBytes(16).toString('hex')}@thread.v2` }
					: { isGroup: true, conversationType, tenantId: this.tenantId, id: conversationId ?? `19:${randomBytes(16).toString('hex')}@thread.tacv2;messageid=${id}` };
		const mention = `<at>${botName}</at>`;
		return {
			text: mentionBot ? `${mention} ${text}` : text,
			textFormat: 'plain',
			type: 'message',
			timestamp: new Date().toISOString(),
			localTimestamp: new Date().toISOString(),
			id,
			channelId: 'msteams',
			serviceUrl: this.serviceUrl,
			from: { ...from, aadObjectId: randomUUID() },
			conversation,
			recipient: { id: `28:${this.appId}`, name: botName },
			entities: [
				...(mentionBot ? [{ mentioned: { id: `28:${this.appId}`, name: botName }, text: mention, type: 'mention' }] : []),
				{ locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/London', type: 'clientInfo' },
			],
			channelData: { tenant: { id: this.tenantId }, ...(conversationType === 'channel' ? { teamsChannelId: String(conversation.id).split(';')[0], channel: { id: String(conversation.id).split(';')[0] } } : {}) },
			locale: 'en-US',
			...(replyToId ? { replyToId } : {}),
		};
	}

	conversationUpdate(): Record<string, unknown> {
		const activity = this.activity({ text: '' });
		return { ...activity, type: 'conversationUpdate', text: undefined, membersAdded: [{ id: `28:${this.appId}` }] };
	}

	/** The bot's own message as an activity (Teams does not echo them; a misrouted one must still be dropped). */
	ownActivity(text: string): Record<string, unknown> {
		return { ...this.activity({ text }), from: { id: `28:${this.appId}`, name: 'Clawgate' } };
	}

	// ------------------------------------------------------------------------------------------
	// The Bot Connector's JWT

	token(options: SignOptions = {}): string {
		const now = Math.floor(Date.now() / 1000);
		const payload: Record<string, unknown> = {
			serviceUrl: options.serviceUrl ?? this.serviceUrl,
			nbf: options.notBefore ?? now - 5,
			exp: now + (options.expiresIn ?? 3600),
			iss: options.iss ?? 'https://api.botframework.com',
			aud: options.aud ?? this.appId,
		};
		const header = { alg: options.alg ?? 'RS256', kid: options.kid ?? (options.privateKey ? `kid-${randomBytes(6).toString('hex')}` : this.kid), typ: 'JWT', x5t: options.kid ?? this.kid };
		const token = signJwt(header, payload, options.privateKey ?? this.keys.privateKey);
		if (!options.tamper) return token;
		const [head, , signature] = token.split('.');
		return `${head}.${b64({ ...payload, ...options.tamper })}.${signature}`;
	}

	/** Headers and body of a delivery as the Bot Connector sends it; `unsigned` leaves Authorization out. */
	signedDelivery(activity: unknown, options: SignOptions & { unsigned?: boolean } = {}): { headers: Record<string, string>; rawBody: string } {
		const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Microsoft-SkypeBotApi (Microsoft-BotFramework/3.0)' };
		if (!options.unsigned) headers.authorization = `Bearer ${this.token(options)}`;
		return { headers, rawBody: JSON.stringify(activity) };
	}

	async deliver(url: string, activity: unknown, options: SignOptions & { unsigned?: boolean } = {}): Promise<{ status: number; body: string }> {
		const { headers, rawBody } = this.signedDelivery(activity, options);
		const response = await fetch(url, { method: 'POST', headers, body: rawBody });
		return { status: response.status, body: await response.text() };
	}

	// ------------------------------------------------------------------------------------------
	// What the bot calls

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.method === 'GET' && request.path === '/v1/.well-known/openidconfiguration') {
			return { status: 200, body: { issuer: 'https://api.botframework.com', authorization_endpoint: 'https://invalid.botframework.com', jwks_uri: `${this.url}/v1/.well-known/keys`, id_token_signing_alg_values_supported: ['RS256'], token_endpoint_auth_methods_supported: ['private_key_jwt'] } };
		}
		if (request.method === 'GET' && request.path === '/v1/.well-known/keys') {
			const jwk = this.keys.publicKey.export({ format: 'jwk' });
			return { status: 200, body: { keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, x5t: this.kid, n: jwk.n, e: jwk.e, endorsements: ['msteams', 'emulator'] }] } };
		}
		if (request.method === 'POST' && request.path === `/${this.tenantId}/oauth2/v2.0/token`) return this.issueToken(request.body);
		if (request.path.startsWith('/v3/conversations/')) return this.connector(request);
		return { status: 404, body: { error: { code: 'NotFound', message: 'Not found' } } };
	}

	private issueToken(body: Record<string, unknown>): EmulatorReply {
		if (body.grant_type !== 'client_credentials' || body.scope !== 'https://api.botframework.com/.default') {
			return { status: 400, body: { error: 'invalid_request', error_description: 'AADSTS900144: The request body must contain the following parameter: grant_type or scope.' } };
		}
		if (body.client_id !== this.appId || body.client_secret !== this.appPassword) {
			return { status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' } };
		}
		const token = randomBytes(32).toString('base64url');
		this.issuedTokens.push(token);
		return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token } };
	}

	private connector(request: RecordedRequest): EmulatorReply {
		const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
		if (!bearer || !this.issuedTokens.includes(bearer)) return { status: 401, body: { message: 'Authorization has been denied for this request.' } };
		const [, , , rawConversation, activities, rawActivityId, ...rest] = request.path.split('/');
		if (activities !== 'activities' || rest.length > 0) return { status: 404, body: { error: { code: 'BadSyntax', message: 'Unknown route' } } };
		const conversationId = decodeURIComponent(rawConversation);
		const activityId = rawActivityId ? decodeURIComponent(rawActivityId) : null;
		const type = String(request.body.type ?? '');
		if (type === 'typing' && request.method === 'POST') {
			this.typing.push(conversationId);
			return { status: 200, body: {} };
		}
		if (type !== 'message') return { status: 400, body: { error: { code: 'BadArgument', message: 'Unknown activity type' } } };
		if (typeof request.body.text !== 'string' || request.body.text === '') return { status: 400, body: { error: { code: 'BadArgument', message: 'Activity text is empty' } } };
		if (request.method === 'PUT' && activityId) {
			const sent = this.posted.find((activity) => activity.conversationId === conversationId && activity.id === activityId);
			if (!sent) return { status: 404, body: { error: { code: 'ActivityNotFoundInConversation', message: 'The activity was not found' } } };
			sent.text = request.body.text;
			sent.edited++;
			return { status: 200, body: { id: activityId } };
		}
		if (request.method !== 'POST') return { status: 405, body: { error: { code: 'MethodNotAllowed', message: 'Method not allowed' } } };
		const fault = this.faults.shift();
		if (fault) return { status: 429, headers: { 'retry-after': String(fault.rateLimitSeconds) }, body: { error: { code: 'TooManyRequests', message: 'Too many requests' } } };
		const id = String(this.activitySeq++);
		this.posted.push({ conversationId, replyToId: activityId, id, type, text: request.body.text, textFormat: typeof request.body.textFormat === 'string' ? request.body.textFormat : null, edited: 0 });
		return { status: 201, body: { id } };
	}
}
