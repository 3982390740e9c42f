/**
 * Google Chat on loopback, both directions:
 * - what an HTTP endpoint Chat app calls: Google's signing certificates of
 *   chat@system.gserviceaccount.com (`/service_accounts/v1/metadata/x509/...`) and its OIDC JWKS
 *   (`/oauth2/v3/certs`), the OAuth token endpoint (`/token`, JWT-bearer grant, the assertion
 *   checked against the service account's public key), and the Chat API (`/v1/spaces/{space}/messages`
 *   create with thread and messageReplyOption, PATCH with updateMask=text; 429 with Retry-After);
 * - Google Chat's deliveries: interaction events (MESSAGE in DMs and spaces with USER_MENTION
 *   annotations and argumentText, ADDED_TO_SPACE, REMOVED_FROM_SPACE) with a bearer JWT signed by
 *   the emulator's own key, as Chat signs them (project-number audience) or as a Google ID token
 *   (app-URL audience).
 * Written from Google's documentation, independently of the plugin.
 */
import { createPrivateKey, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';
import { signJwt, type SignOptions } from './teams';

/**
 * A self-signed test certificate and its key, standing in for one of Google's certificates of
 * chat@system.gserviceaccount.com (Node cannot make certificates; made once with `openssl req -x509`).
 * Test material only: it signs nothing but emulator deliveries.
 */
const CHAT_TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCfCnwLw90S0Ubw
ou1k0Ru8qaHjPyIfU2Ye218m4e8OdH492vEi3dVl9gqLcxLvLspg+/VBfbWUOMod
wsMv0BPL6D3EsDwEA4XEQ/6yissIOFEekKtSeBH8W4s/IqyGHW4dzfoWkwYjJk4R
mNPOUFU8FiorJxDoZxWoo9fg4xggFdgHHfgZhFaPiLxwsePE84hda/LlZJXPkOUW
7duuH4fk5FFOrGDm5Pu4wNhjK8ziULFFai69bDw4cJaD6Nzv8T6dAAuVitByxvqO
/0F7KC2ecCGcdJe/Q/kBsfQ6JeAZIV/E5VpTGyPXZUdHEEazbA56T7Zlgx0peyCV
y2gzPmOpAgMBAAECggEAEXlsrzs+QVjKr1prdHoQTt6hia8wX9pBPG80iXhmFIPC
siep+n9+uLT7rB5A7JRKyrSsWh2Gk6pYtMPnP8vgPPV/wepuMa+0ZR/mbnYXAEh1
y0KwfD9ylHR3fICiDZtSs8YjrhLJ6BdHmSHeVcsYTmGOEQ86CZr3839LEyvIhQ/M
/KDAiK1fh6TAlSEwyf74VvlYaZISLyozPw8AJZVrTpf1zO380Z0ytsaAkHM6I3Co
HQW4javNSKSuu5e5C1vJRlLyO/9VP6VWc3BOi0UroYz174fPGfdHxdwDDFa1G4RA
4PwiI4A6dkvUh5jCE2eC/8rTqxBPUDFLim6rbuv5bQKBgQDRwEYCequSAqwlSqRC
SU86UFWpEZFBakX4gBm8eFtcQADP0BPiUb6ccJzN8fbqsHN3CvV7QXzBiVeL3KRf
wcZnzDXq8G2apIjYdt3ks8shsAXnHpR4wTJQq45pSEGHpEMjPmP4EhhPr57neAzl
JOyBUXRC4DKYPOipbue7gJQEDQKBgQDCG8yxUaq/V19uVJb8/uYgR7Sa1df6V+TL
tlhuAflJ8VVdSfNvp/cRU5AiDOL8mpblJXouqo7XjmZzh8v9cIx1s6fl3Kuc/uIq
fhDrmMGZgjo3WH4uDoHMIdmG7s7CMpGgOyKSTm/FElXryauSHVw5pXkALToJfO00
B+O5TDwrDQKBgBr9Y8TT5hnesCoIRcSlzEUTq0IbGZbSRvin+yfOUOs47SHQg45+
uElHEFZLyVr/o4vw5A+dKKF6u8IqfRg5Rf97PoDhuSjJ/TXlbb4NCJloHgpUXASB
z6ijuqp/ercqgt0ZHSIBqhEu5wKf5wDhVHF7ertUQA5o4ANVWwo8jE9NAoGBAKJK
L+gJSeNUn9tVKjA4xhszGJNkO4F5vzd7K5A+YjkqZ57p13kBTBbWcOmnMJjWf1by
8KbXvzoGOy5Y2Xr6gNVf8f7Dc1B94oZ4hJkWTLeWJCpl+Il1Y5xSqNaiD4haU1tO
VedRYS252NCc+q/dkGA6M2KsbZvFMWWROxqP3LZ5AoGAWlCa6qtGtRbWpJD1F5dm
uPVC64ewlQEy8Mo7vEZv5SjJNPNt1LUd1qiA5nvBOUeIrwBU/rP4RaKqoMBm1Ocs
xTXst63kVDFfd0PcfhzOlpLHEZI4j9ly6CK6HXpoWu2m3fBoO4DHMYEext/jZXgx
HvuET+WYQrYXZ8mc78YtOzQ=
-----END PRIVATE KEY-----`;
const CHAT_TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIDNzCCAh+gAwIBAgIUJHhEsq/WBWQUnvneatUkJtIv4YQwDQYJKoZIhvcNAQEL
BQAwKjEoMCYGA1UEAwwfY2hhdEBzeXN0ZW0uZ3NlcnZpY2VhY2NvdW50LmNvbTAg
Fw0yNjEyMDQxNjM1MjRaGA8yMTI2MTExMDE2MzUyNFowKjEoMCYGA1UEAwwfY2hh
dEBzeXN0ZW0uZ3NlcnZpY2VhY2NvdW50LmNvbTCCASIwDQYJKoZIhvcNAQEBBQAD
ggEPADCCAQoCggEBAJ8KfAvD3RLRRvCi7WTRG7ypoeM/Ih9TZh7bXybh7w50fj3a
8SLd1WX2CotzEu8uymD79UF9tZQ4yh3Cwy/QE8voPcSwPAQDhcRD/rKKywg4UR6Q
q1J4Efxbiz8irIYdbh3N+haTBiMmThGY085QVTwWKisnEOhnFaij1+DjGCAV2Acd
+BmEVo+IvHCx48TziF1r8uVklc+Q5Rbt264fh+TkUU6sYObk+7jA2GMrzOJQsUVq
Lr1sPDhwloPo3O/xPp0AC5WK0HLG+o7/QXsoLZ5wIZx0l79D+QGx9Dol4BkhX8Tl
WlMbI9dlR0cQRrNsDnpPtmWDHSl7IJXLaDM+Y6kCAwEAAaNTMFEwHQYDVR0OBBYE
FONdL/pElwol95GM5J1joShZqH85MB8GA1UdIwQYMBaAFONdL/pElwol95GM5J1j
oShZqH85MA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEBAJqOgOMb
3kxJpJxRhnYnTWgiRjcxesPKOWGwl030K1yev0PKAkPBVgz1m5N2Fo7uWKwuvxpJ
cO0pjtuC7SNm34G3/JBS7UGhxz7k7RVhWHYl4m4b64czLlRy/BIatUz8WYynC7iL
IUvVY43aIklN1nrmJfvOsgSI+bX4jqeNvugd3UPKRuv/nMFVyesQYzEPDjz9Y1Rv
ccpZiiNwZ9PR+Ph28fT1KXQa3ZA/5zsUYuQygo3qEtMZQx77CB0m9vo6YxknKWPP
QtQIs3kh3Roghk3SNP0zF7tNKKIOBC2sa8VephNULN+9e6zPt9ajKmxITuyJ7DMp
iUD+Yr8M1/9QweI=
-----END CERTIFICATE-----`;

export const CHAT_ISSUER = 'chat@system.gserviceaccount.com';

export interface ChatMessageOptions {
	text: string;
	space?: { name: string; type: 'DM' | 'ROOM'; displayName?: string };
	sender?: { name: string; displayName: string; type?: 'HUMAN' | 'BOT' };
	mentionBot?: boolean;
	thread?: string;
}

export interface PostedChatMessage {
	space: string;
	name: string;
	text: string;
	thread: string;
	messageReplyOption: string | null;
	edited: number;
}

export class GoogleChatEmulator {
	readonly server: EmulatorServer;
	readonly projectNumber = String(100_000_000_000 + Math.floor(Math.random() * 800_000_000_000));
	readonly kid = randomBytes(20).toString('hex');
	readonly oidcKid = randomBytes(20).toString('hex');
	private readonly chatKey = createPrivateKey(CHAT_TEST_KEY);
	private readonly oidcKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
	private readonly serviceAccount = generateKeyPairSync('rsa', { modulusLength: 2048 });
	readonly clientEmail = `clawgate-bot@clawgate-${randomBytes(3).toString('hex')}.iam.gserviceaccount.com`;
	readonly botUser = `users/${randomBytes(9).toString('hex')}`;
	readonly posted: PostedChatMessage[] = [];
	readonly issuedTokens: string[] = [];
	private faults: Array<{ rateLimitSeconds: number }> = [];
	private seq = 0;

	constructor() {
		this.server = new EmulatorServer('Google Chat', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	get url(): string {
		return this.server.url;
	}

	/** The service account key file, as Google Cloud's console downloads it. */
	serviceAccountJson(): string {
		return JSON.stringify({
			type: 'service_account',
			project_id: 'clawgate-test',
			private_key_id: randomBytes(20).toString('hex'),
			private_key: this.serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }),
			client_email: this.clientEmail,
			client_id: String(Math.floor(Math.random() * 1e20)),
			auth_uri: 'https://accounts.google.com/o/oauth2/auth',
			token_uri: 'https://oauth2.googleapis.com/token',
		});
	}

	credential(): { serviceAccountJson: string; audience: string; baseUrl: string } {
		return { serviceAccountJson: this.serviceAccountJson(), audience: this.projectNumber, baseUrl: this.url };
	}

	rateLimitNextSend(seconds: number): void {
		this.faults.push({ rateLimitSeconds: seconds });
	}

	sendCalls(): number {
		return this.server.matching((request) => request.method === 'POST' && /^\/v1\/spaces\/[^/]+\/messages$/.test(request.path)).length;
	}

	textsTo(space: string): string[] {
		return this.posted.filter((message) => message.space === space).map((message) => message.text);
	}

	newSpace(type: 'DM' | 'ROOM'): { name: string; type: 'DM' | 'ROOM'; displayName?: string } {
		return { name: `spaces/${randomBytes(8).toString('base64url').replace(/[-_]/g, 'A')}`, type, ...(type === 'ROOM' ? { displayName: 'Clawgate testers' } : {}) };
	}

	// ------------------------------------------------------------------------------------------
	// Interaction events, shaped like Google Chat's

	message({ text, space = this.newSpace('DM'), sender = { name: 'users/12345678901234567890', displayName: 'Ada Lovelace' }, mentionBot = false, thread }: ChatMessageOptions): Record<string, unknown> {
		const id = `${randomBytes(8).toString('base64url').replace(/[-_]/g, 'B')}.${randomBytes(8).toString('base64url').replace(/[-_]/g, 'C')}`;
		const threadName = thread ?? `${space.name}/threads/${randomBytes(8).toString('base64url').replace(/[-_]/g, 'D')}`;
		const mention = '@Clawgate';
		const fullText = mentionBot ? `${mention} ${text}` : text;
		const spaceObject = { name: space.name, type: space.type, spaceType: space.type === 'DM' ? 'DIRECT_MESSAGE' : 'SPACE', singleUserBotDm: space.type === 'DM', ...(space.displayName ? { displayName: space.displayName } : {}) };
		const user = { name: sender.name, displayName: sender.displayName, avatarUrl: 'https://lh3.googleusercontent.com/a/photo', email: 'ada@example.com', type: sender.type ?? 'HUMAN', domainId: 'c0ffee' };
		const createTime = new Date().toISOString();
		return {
			type: 'MESSAGE',
			eventTime: createTime,
			message: {
				name: `${space.name}/messages/${id}`,
				sender: user,
				createTime,
				text: fullText,
				...(mentionBot
					? { annotations: [{ type: 'USER_MENTION', startIndex: 0, length: mention.length, userMention: { user: { name: this.botUser, displayName: 'Clawgate', type: 'BOT' }, type: 'MENTION' } }] }
					: {}),
				thread: { name: threadName, retentionSettings: { state: 'PERMANENT' } },
				space: spaceObject,
				argumentText: mentionBot ? ` ${text}` : text,
				formattedText: fullText,
			},
			user,
			space: spaceObject,
			configCompleteRedirectUrl: 'https://chat.google.com/api/bot_config_complete?token=abc',
			common: { userLocale: 'en', hostApp: 'CHAT', timeZone: { id: 'Europe/London', offset: 0 } },
		};
	}

	spaceEvent(type: 'ADDED_TO_SPACE' | 'REMOVED_FROM_SPACE'): Record<string, unknown> {
		const space = this.newSpace('ROOM');
		return { type, eventTime: new Date().toISOString(), space: { name: space.name, type: 'ROOM', spaceType: 'SPACE', displayName: space.displayName }, user: { name: 'users/12345678901234567890', displayName: 'Ada Lovelace', type: 'HUMAN' }, common: { userLocale: 'en', hostApp: 'CHAT' } };
	}

	// ------------------------------------------------------------------------------------------
	// Chat's bearer JWT

	/** A token as Chat sends it: issuer chat@system.gserviceaccount.com, audience the project number; `oidc` makes a Google ID token for an app URL instead. */
	token(options: SignOptions & { oidc?: boolean; email?: string } = {}): string {
		const now = Math.floor(Date.now() / 1000);
		const payload: Record<string, unknown> = options.oidc
			? { iss: options.iss ?? 'https://accounts.google.com', aud: options.aud ?? this.projectNumber, azp: '113374938279', email: options.email ?? CHAT_ISSUER, email_verified: true, sub: '113374938279', iat: now - 5, exp: now + (options.expiresIn ?? 3600) }
			: { iss: options.iss ?? CHAT_ISSUER, aud: options.aud ?? this.projectNumber, iat: now - 5, exp: now + (options.expiresIn ?? 3600) };
		if (options.notBefore !== undefined) payload.nbf = options.notBefore;
		const ownKey = options.oidc ? this.oidcKeys.privateKey : this.chatKey;
		const header = { alg: options.alg ?? 'RS256', kid: options.kid ?? (options.privateKey ? randomBytes(20).toString('hex') : options.oidc ? this.oidcKid : this.kid), typ: 'JWT' };
		const token = signJwt(header, payload, options.privateKey ?? ownKey);
		if (!options.tamper) return token;
		const [head, , signature] = token.split('.');
		return `${head}.${Buffer.from(JSON.stringify({ ...payload, ...options.tamper })).toString('base64url')}.${signature}`;
	}

	signedDelivery(event: unknown, options: SignOptions & { oidc?: boolean; unsigned?: boolean } = {}): { headers: Record<string, string>; rawBody: string } {
		const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Google-Dynamite' };
		if (!options.unsigned) headers.authorization = `Bearer ${this.token(options)}`;
		return { headers, rawBody: JSON.stringify(event) };
	}

	async deliver(url: string, event: unknown, options: SignOptions & { oidc?: boolean; unsigned?: boolean } = {}): Promise<{ status: number; body: string }> {
		const { headers, rawBody } = this.signedDelivery(event, options);
		const response = await fetch(url, { method: 'POST', headers, body: rawBody });
		return { status: response.status, body: await response.text() };
	}

	// ------------------------------------------------------------------------------------------
	// What the app calls

	private handle(request: RecordedRequest): EmulatorReply {
		if (request.method === 'GET' && request.path === `/service_accounts/v1/metadata/x509/${CHAT_ISSUER}`) return { status: 200, headers: { 'cache-control': 'public, max-age=22000' }, body: { [this.kid]: CHAT_TEST_CERT } };
		if (request.method === 'GET' && request.path === `/service_accounts/v1/metadata/x509/${encodeURIComponent(this.clientEmail)}`) return { status: 200, body: {} };
		if (request.method === 'GET' && request.path === '/oauth2/v3/certs') {
			const jwk = this.oidcKeys.publicKey.export({ format: 'jwk' });
			return { status: 200, body: { keys: [{ kty: 'RSA', alg: 'RS256', use: 'sig', kid: this.oidcKid, n: jwk.n, e: jwk.e }] } };
		}
		if (request.method === 'POST' && request.path === '/token') return this.issueToken(request.body);
		if (request.path.startsWith('/v1/spaces/')) return this.chatApi(request);
		return { status: 404, body: { error: { code: 404, message: 'Not found', status: 'NOT_FOUND' } } };
	}

	private issueToken(body: Record<string, unknown>): EmulatorReply {
		const invalid = (description: string): EmulatorReply => ({ status: 400, body: { error: 'invalid_grant', error_description: description } });
		if (body.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
		const [head, claims, signature] = String(body.assertion ?? '').split('.');
		if (!head || !claims || !signature) return invalid('Invalid JWT');
		const valid = createVerify('RSA-SHA256').update(`${head}.${claims}`).verify(this.serviceAccount.publicKey, Buffer.from(signature, 'base64url'));
		if (!valid) return invalid('Invalid JWT Signature.');
		const payload = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as Record<string, unknown>;
		const now = Math.floor(Date.now() / 1000);
		if (payload.iss !== this.clientEmail || payload.aud !== `${this.url}/token`) return invalid('Invalid JWT: iss or aud');
		if (typeof payload.exp !== 'number' || payload.exp < now || typeof payload.iat !== 'number' || payload.exp - payload.iat > 3600) return invalid('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
		if (!String(payload.scope ?? '').split(' ').includes('https://www.googleapis.com/auth/chat.bot')) return invalid('Invalid scope');
		const token = `ya29.${randomBytes(32).toString('base64url')}`;
		this.issuedTokens.push(token);
		return { status: 200, body: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
	}

	private chatApi(request: RecordedRequest): EmulatorReply {
		const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
		if (!bearer || !this.issuedTokens.includes(bearer)) return { status: 401, body: { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } } };
		const create = /^\/v1\/(spaces\/[^/]+)\/messages$/.exec(request.path);
		if (create && request.method === 'POST') {
			const fault = this.faults.shift();
			if (fault) return { status: 429, headers: { 'retry-after': String(fault.rateLimitSeconds) }, body: { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } } };
			const text = typeof request.body.text === 'string' ? request.body.text : '';
			if (!text || text.length > 4096) return { status: 400, body: { error: { code: 400, message: 'Invalid text length', status: 'INVALID_ARGUMENT' } } };
			const space = create[1];
			const askedThread = String((request.body.thread as Record<string, unknown> | undefined)?.name ?? '');
			const thread = askedThread.startsWith(`${space}/threads/`) ? askedThread : `${space}/threads/t${++this.seq}`;
			const name = `${space}/messages/m${++this.seq}.${randomBytes(4).toString('hex')}`;
			this.posted.push({ space, name, text, thread, messageReplyOption: request.query.get('messageReplyOption'), edited: 0 });
			return { status: 200, body: { name, sender: { name: this.botUser, type: 'BOT' }, createTime: new Date().toISOString(), text, thread: { name: thread }, space: { name: space } } };
		}
		const edit = /^\/v1\/(spaces\/[^/]+\/messages\/[^/]+)$/.exec(request.path);
		if (edit && request.method === 'PATCH') {
			if (request.query.get('updateMask') !== 'text') return { status: 400, body: { error: { code: 400, message: 'updateMask must name text', status: 'INVALID_ARGUMENT' } } };
			const message = this.posted.find((candidate) => candidate.name === edit[1]);
			if (!message) return { status: 404, body: { error: { code: 404, message: 'Message not found', status: 'NOT_FOUND' } } };
			message.text = String(request.body.text ?? '');
			message.edited++;
			return { status: 200, body: { name: message.name, text: message.text } };
		}
		return { status: 404, body: { error: { code: 404, message: 'Not found', status: 'NOT_FOUND' } } };
	}
}

