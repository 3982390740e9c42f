/**
 * Google Chat (an HTTP endpoint Chat app) as a Clawgate channel plugin: the bearer JWT Google
 * signs every event with, MESSAGE events into envelopes, and answers through the Chat API with a
 * service account token (JWT-bearer grant). Plain `fetch` + `node:crypto` (core/jwt.ts): the
 * googleapis client would add megabytes for three calls.
 * https://developers.google.com/workspace/chat/verify-requests-from-chat
 */
import { createHash } from 'node:crypto';

import type { ChannelPlugin, InboundEvent, WebhookRequest } from '../core/channel';
import { buildSessionId, commandForBot, type EnvelopeAttachment, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { AccessTokenCache, bearerJwtProof, claimsProblem, fetchKeyDocument, KeySetRegistry, keysOfJwks, keysOfX509Map, signRs256Jwt, type DecodedJwt } from '../core/jwt';
import { isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError, retryAfterHeaderOf } from '../core/retry-after';
import { googleChatRenderer } from './googleChat.format';

export const CHAT_ISSUER = 'chat@system.gserviceaccount.com';
const GOOGLE_OIDC_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
const GOOGLE_KEYS = 'https://www.googleapis.com';
const CHAT_API = 'https://chat.googleapis.com';
const TOKEN_URL = 'https://oauth2.googleapis.com/token';
const CHAT_SCOPE = 'https://www.googleapis.com/auth/chat.bot';

export interface GoogleChatCredential {
	serviceAccountJson: string;
	/** The project number (events signed by chat@system.gserviceaccount.com) or the app's URL (OIDC ID tokens). */
	audience: string;
	baseUrl?: string;
}

export interface GoogleChatClient {
	clientEmail: string;
	privateKey: string;
	apiBase: string;
	tokenUrl: string;
}

export class GoogleChatApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		readonly retryAfterMs: number | null = null,
		readonly service: 'token' | 'chat' | null = null,
	) {
		super(message);
		this.name = 'GoogleChatApiError';
	}
}

const baseUrlOf = (credential: Pick<GoogleChatCredential, 'baseUrl'>) => credential.baseUrl?.trim().replace(/\/+$/, '') || null;

export function createGoogleChatClient(credential: GoogleChatCredential): GoogleChatClient {
	let account: Record<string, unknown> | null = null;
	try {
		account = recordOrNull(JSON.parse(credential.serviceAccountJson ?? ''));
	} catch {
		account = null;
	}
	const clientEmail = nonEmptyStringOrNull(account?.client_email);
	const privateKey = nonEmptyStringOrNull(account?.private_key);
	if (clientEmail === null || privateKey === null) {
		throw new GoogleChatApiError(
			'The Service Account JSON in the Clawgate Google Chat credential is not a service account key (no client_email and private_key). Paste the whole JSON key file of the service account.',
			null,
		);
	}
	const base = baseUrlOf(credential);
	return { clientEmail, privateKey, apiBase: base ?? CHAT_API, tokenUrl: base ? `${base}/token` : TOKEN_URL };
}

// ---------------------------------------------------------------------------------------------
// Service account token: the JWT-bearer grant (RFC 7523), kept until shortly before it expires

const appTokens = new AccessTokenCache();

const tokenKeyOf = (client: GoogleChatClient) => createHash('sha256').update(JSON.stringify([client.tokenUrl, client.clientEmail, client.privateKey])).digest('hex');

async function readJson(response: Response): Promise<Record<string, unknown>> {
	const text = await response.text();
	try {
		return recordOrNull(text ? JSON.parse(text) : {}) ?? {};
	} catch {
		return { message: text.slice(0, 200) };
	}
}

/** The signed request for a token, or null when the private key is no key. */
function tokenAssertionOf(client: GoogleChatClient, issuedAt: number): string | null {
	try {
		return signRs256Jwt({ iss: client.clientEmail, scope: CHAT_SCOPE, aud: client.tokenUrl, iat: issuedAt, exp: issuedAt + 3600 }, client.privateKey);
	} catch {
		return null;
	}
}

export async function googleChatToken(client: GoogleChatClient, now = Date.now()): Promise<string> {
	return await appTokens.get(tokenKeyOf(client), async () => {
		const assertion = tokenAssertionOf(client, Math.floor(now / 1000));
		if (assertion === null) throw new GoogleChatApiError("The private_key of the service account JSON is not a PEM private key. Paste the service account's JSON key file unchanged.", null);
		const response = await fetch(client.tokenUrl, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
			signal: AbortSignal.timeout(30_000),
		});
		const answer = await readJson(response);
		const token = nonEmptyStringOrNull(answer.access_token);
		if (!response.ok || token === null) throw new GoogleChatApiError(stringOr(answer.error_description, stringOr(answer.error, response.statusText)), response.status, null, 'token');
		return { token, expiresInSeconds: Number(answer.expires_in) || 3600 };
	});
}

/** Space and message names are paths of the Chat API: only their documented shapes go into a URL. */
const SPACE_NAME = /^spaces\/[A-Za-z0-9_-]+$/;
const MESSAGE_NAME = /^spaces\/[A-Za-z0-9_-]+\/messages\/[A-Za-z0-9_.-]+$/;

/** One Chat API call; a non-2xx answer becomes a GoogleChatApiError with Google's message. */
export async function callChat(client: GoogleChatClient, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
	const response = await fetch(`${client.apiBase}/v1/${path}`, {
		method,
		headers: { authorization: `Bearer ${await googleChatToken(client)}`, 'content-type': 'application/json; charset=utf-8' },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	const answer = await readJson(response);
	if (response.ok) return answer;
	if (response.status === 401) appTokens.forget(tokenKeyOf(client));
	throw new GoogleChatApiError(
		stringOr(recordOrNull(answer.error)?.message, stringOr(answer.message, response.statusText)),
		response.status,
		retryAfterHeaderOf(response.headers),
		'chat',
	);
}

export function describeGoogleChatError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (error instanceof GoogleChatApiError && error.status !== null) {
		const said = `(${error.status}: ${error.message})`;
		if (error.service === 'token') {
			return new GoogleChatApiError(`Google refused the service account trying to ${action} ${said}. Check the Service Account JSON in the Clawgate Google Chat credential: the key may be deleted or disabled.`, error.status);
		}
		if (error.status === 401 || error.status === 403) {
			return new GoogleChatApiError(`Google Chat refused the app trying to ${action} ${said}. Check that the Chat API is enabled in the service account's project, that this project's Chat app is configured, and that the app is a member of the space.`, error.status);
		}
		if (error.status === 429) return new GoogleChatApiError(`Google Chat is rate-limiting the app and refused to ${action} ${said}. Send fewer messages or try again later.`, 429);
		if (error.status >= 500) return new GoogleChatApiError(`Google Chat failed to ${action} ${said}: a problem on Google's side. Try again later.`, error.status);
		return new GoogleChatApiError(`Google Chat refused to ${action} ${said}. Check the space (spaces/…, as in the trigger's chat.id).`, error.status);
	}
	if (error instanceof GoogleChatApiError) return error;
	const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as Error)?.name ?? 'error';
	return new GoogleChatApiError(`Could not reach Google Chat to ${action} (${code}). Check the network and the credential's Base URL (empty means Google's services).`, null);
}

// ---------------------------------------------------------------------------------------------
// Proof: Google's bearer JWT. Project-number audience: issuer chat@system.gserviceaccount.com with
// its X.509 certificates; app-URL audience: a Google OIDC ID token whose email is that account.

const keySets = new KeySetRegistry();

function keySetFor(issuer: string, credential: Pick<GoogleChatCredential, 'baseUrl'>) {
	const base = baseUrlOf(credential) ?? GOOGLE_KEYS;
	const x509 = issuer === CHAT_ISSUER;
	const url = x509 ? `${base}/service_accounts/v1/metadata/x509/${CHAT_ISSUER}` : `${base}/oauth2/v3/certs`;
	return keySets.get(url, async () => {
		const { document, maxAgeMs } = await fetchKeyDocument(url);
		return { keys: x509 ? keysOfX509Map(document) : keysOfJwks(document), maxAgeMs };
	});
}

const issuerOf = (payload: Record<string, unknown>) => (payload.iss === CHAT_ISSUER || GOOGLE_OIDC_ISSUERS.includes(String(payload.iss)) ? String(payload.iss) : null);

/** Chat's claims: the credential's audience, times, and for ID tokens the email of Chat's own account. */
export function googleChatClaimsDisproof(jwt: DecodedJwt, credential: GoogleChatCredential, _request: WebhookRequest, now: number): string | null {
	const audience = credential.audience?.trim();
	if (!audience) return 'The Clawgate Google Chat credential has no audience, so no request can be trusted.';
	const issuer = String(jwt.payload.iss);
	const claims = claimsProblem(jwt.payload, { issuers: [issuer], audience, now, clockSkewSeconds: 60 });
	if (claims) return claims;
	// Any Google account can get an ID token for any audience: only Chat's own account counts.
	if (issuer !== CHAT_ISSUER && (jwt.payload.email !== CHAT_ISSUER || jwt.payload.email_verified !== true)) return "The ID token is not Google Chat's (email).";
	return null;
}

// ---------------------------------------------------------------------------------------------
// Inbound: https://developers.google.com/workspace/chat/api/reference/rest/v1/Event

export interface GoogleChatReceiveOptions {
	accountId: string;
	sessionScope: SessionScope;
	now: number;
}

/** eventTime is RFC 3339 in the reference and `{ seconds, nanos }` in some examples. */
function timeOf(value: unknown): string | null {
	if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
	const seconds = Number(recordOrNull(value)?.seconds ?? Number.NaN);
	return Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000).toISOString() : null;
}

function attachmentsOf(message: Record<string, unknown>): EnvelopeAttachment[] {
	return listOf(message.attachment).flatMap((entry) => {
		const attachment = recordOrNull(entry);
		const name = nonEmptyStringOrNull(attachment?.name);
		if (!attachment || name === null) return [];
		const type = stringOr(attachment.contentType, '');
		const kind = type.startsWith('image/') ? 'image' : type.startsWith('video/') ? 'video' : type.startsWith('audio/') ? 'audio' : 'document';
		return [{ kind, id: name, mimeType: type || null, name: nonEmptyStringOrNull(attachment.contentName), size: null }];
	});
}

export function googleChatEventToInbound(event: Record<string, unknown>, options: GoogleChatReceiveOptions): InboundEvent {
	const message = recordOrNull(event.message);
	const name = nonEmptyStringOrNull(message?.name);
	const dedupeKey = `${stringOr(event.type, '')}:${name ?? ''}`;
	const facts = { fromSelf: false };
	if (message === null || name === null) throw new InvalidPayloadError('The Google Chat MESSAGE event has no message name.');
	const space = recordOrNull(event.space) ?? recordOrNull(message.space);
	const spaceName = nonEmptyStringOrNull(space?.name);
	const sender = recordOrNull(message.sender) ?? recordOrNull(event.user);
	const senderId = nonEmptyStringOrNull(sender?.name);
	if (spaceName === null || senderId === null) throw new InvalidPayloadError('The Google Chat MESSAGE event has no space or sender.');
	const isDm = space?.type === 'DM' || space?.spaceType === 'DIRECT_MESSAGE' || space?.singleUserBotDm === true;
	const thread = nonEmptyStringOrNull(recordOrNull(message.thread)?.name);
	const chat = { id: spaceName, type: isDm ? ('dm' as const) : ('group' as const), threadId: isDm ? null : thread, title: nonEmptyStringOrNull(space?.displayName) };
	// In a space, Chat delivers only messages that @mention the app (or its slash commands); argumentText is the text without the mention.
	const mentionsBot = listOf(message.annotations).some((annotation) => {
		const mention = recordOrNull(recordOrNull(annotation)?.userMention);
		return recordOrNull(annotation)?.type === 'USER_MENTION' && recordOrNull(mention?.user)?.type === 'BOT';
	});
	const text = (typeof message.argumentText === 'string' ? message.argumentText : stringOr(message.text, '')).trim();
	const slashCommand = isRecord(message.slashCommand);
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'googlechat', accountId: options.accountId, chat, senderId, scope: options.sessionScope }),
			channel: 'googlechat',
			accountId: options.accountId,
			event: 'message',
			chat,
			sender: { id: senderId, name: nonEmptyStringOrNull(sender?.displayName), username: nonEmptyStringOrNull(sender?.email), isBot: sender?.type === 'BOT' },
			message: {
				id: name,
				text,
				replyToId: null,
				mentionsBot: mentionsBot || slashCommand,
				command: commandForBot(text, null),
				attachments: attachmentsOf(message),
				timestamp: timeOf(message.createTime) ?? timeOf(event.eventTime) ?? new Date(options.now).toISOString(),
			},
			raw: event,
		},
		facts,
		dedupeKey,
	};
}

// ---------------------------------------------------------------------------------------------

export const googleChatPlugin: ChannelPlugin<GoogleChatCredential, GoogleChatClient> = {
	id: 'googleChat',
	name: 'Google Chat',
	channels: ['googlechat'],
	credentialType: 'clawgateGoogleChatApi',
	capabilities: {
		// Message.text: "up to 4,096 characters". https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages
		textLimit: 4096,
		captionLimit: null,
		renderer: googleChatRenderer,
		edit: true,
		// The Chat API has no typing indicator.
		typing: false,
		threads: true,
		media: false,
		quote: 'never',
		inbound: ['webhook'],
	},
	createClient: createGoogleChatClient,
	async accountOf(credential) {
		return credential.audience?.trim() || null;
	},
	webhook: {
		...bearerJwtProof<GoogleChatCredential>({
			platform: 'Google Chat',
			keySetFor: (jwt, credential) => (issuerOf(jwt.payload) === null ? null : keySetFor(String(jwt.payload.iss), credential)),
			claimsDisproof: googleChatClaimsDisproof,
		}),
		async receive(request, credential, context, settings) {
			let event: Record<string, unknown> | null;
			try {
				event = recordOrNull(JSON.parse(request.rawBody?.toString('utf8') ?? ''));
			} catch {
				event = null;
			}
			const type = nonEmptyStringOrNull(event?.type);
			if (event === null || type === null) throw new InvalidPayloadError('The request body is not a Google Chat event (no "type").');
			// ADDED_TO_SPACE, REMOVED_FROM_SPACE, CARD_CLICKED...: answered with no message, no execution.
			if (type !== 'MESSAGE') return { kind: 'answer', answer: { status: 200, body: {} }, reason: `"${type}" events are not messages` };
			return { kind: 'events', events: [googleChatEventToInbound(event, { accountId: credential.audience.trim(), sessionScope: settings.sessionScope, now: context.now })] };
		},
		// An empty JSON object: no synchronous answer; the workflow answers through the Chat API.
		acknowledgement: { status: 200, body: {} },
		async checkCredential(credential) {
			// The app's HTTP endpoint URL is set in the Chat API configuration; activation checks the service account.
			await googleChatToken(createGoogleChatClient(credential)).catch((error: unknown) => {
				throw describeGoogleChatError(error, 'get an access token');
			});
		},
	},
	outbound: {
		async postMessage(client, { chatId, text, threadId }) {
			if (!SPACE_NAME.test(chatId)) throw new GoogleChatApiError(`${JSON.stringify(chatId)} is not a Google Chat space name (spaces/…).`, null);
			const query = threadId ? '?messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD' : '';
			const sent = await callChat(client, 'POST', `${chatId}/messages${query}`, { text, ...(threadId ? { thread: { name: threadId } } : {}) });
			return [nonEmptyStringOrNull(sent.name) ?? ''].filter(Boolean);
		},
		async editMessage(client, { messageId, text }) {
			if (!MESSAGE_NAME.test(messageId)) throw new GoogleChatApiError(`${JSON.stringify(messageId)} is not a Google Chat message name (spaces/…/messages/…).`, null);
			await callChat(client, 'PATCH', `${messageId}?updateMask=text`, { text });
		},
	},
	retryAfterMs(error) {
		if (!(error instanceof GoogleChatApiError) || error.status !== 429) return null;
		return error.retryAfterMs ?? 1000;
	},
	describeError: describeGoogleChatError,
};
