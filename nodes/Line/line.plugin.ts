/**
 * LINE (Messaging API) as a Clawgate channel plugin: webhook signature, `{ destination, events }`
 * deliveries into envelopes, push messages, the loading animation and the webhook URL, over plain
 * HTTPS (no SDK: six endpoints). https://developers.line.biz/en/reference/messaging-api/
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import type { ChannelPlugin, InboundEvent, WebhookRequest } from '../core/channel';
import { buildSessionId, commandForBot, type ChatType, type EnvelopeAttachment, type EnvelopeMessage, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { finiteNumberOrNull, idOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError, retryAfterHeaderOf } from '../core/retry-after';
import { plainRenderer } from '../core/text/renderer';

export const LINE_PUBLIC_API = 'https://api.line.me';

export interface LineCredential {
	channelAccessToken: string;
	channelSecret: string;
	baseUrl?: string;
}

export interface LineClient {
	apiBase: string;
	token: string;
}

/** A refused or failed call; `message` is LINE's own words, which `describeLineError` puts into advice. */
export class LineApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		/** The Retry-After of a 429, when LINE sent one. */
		readonly retryAfterMs: number | null = null,
	) {
		super(message);
		this.name = 'LineApiError';
	}
}

export function createLineClient(credential: LineCredential): LineClient {
	const token = credential.channelAccessToken?.trim();
	if (!token) {
		throw new LineApiError('The Clawgate LINE credential has no channel access token. Issue one on the Messaging API tab of your channel in the LINE Developers Console.', null);
	}
	return { apiBase: (credential.baseUrl?.trim() || LINE_PUBLIC_API).replace(/\/+$/, ''), token };
}

/** One Messaging API call; a non-2xx answer becomes a LineApiError with LINE's message and details. */
export async function callLine<T = Record<string, unknown>>(client: LineClient, method: string, path: string, body?: unknown): Promise<T> {
	const response = await fetch(`${client.apiBase}${path}`, {
		method,
		headers: { authorization: `Bearer ${client.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	const text = await response.text();
	let parsed: unknown = {};
	try {
		parsed = text ? JSON.parse(text) : {};
	} catch {
		parsed = { message: text.slice(0, 200) };
	}
	if (response.ok) return parsed as T;
	const answer = recordOrNull(parsed);
	const details = listOf(answer?.details)
		.map((detail) => [stringOr(recordOrNull(detail)?.property, ''), stringOr(recordOrNull(detail)?.message, '')].filter(Boolean).join(': '))
		.filter(Boolean);
	const message = [stringOr(answer?.message, response.statusText), ...details].join('; ');
	throw new LineApiError(message, response.status, retryAfterHeaderOf(response.headers));
}

/** User IDs start with U, groups with C, rooms with R (https://developers.line.biz/en/docs/messaging-api/getting-user-ids/). */
const isUserId = (chatId: string) => chatId.startsWith('U');

/** The loading animation: one-on-one chats only, 5 to 60 seconds in steps of 5; it ends when the bot's next message arrives. */
export async function startLoadingAnimation(client: LineClient, chatId: string, seconds = 20): Promise<void> {
	if (!isUserId(chatId)) throw new LineApiError(`LINE shows the loading animation only in one-on-one chats (a user ID U…), not in ${chatId}.`, null);
	const loadingSeconds = Math.min(60, Math.max(5, Math.round(seconds / 5) * 5));
	await callLine(client, 'POST', '/v2/bot/chat/loading/start', { chatId, loadingSeconds });
}

// "You have reached your monthly limit." is a 429 too, and no wait ends it within an execution.
const MONTHLY_LIMIT = /monthly limit/i;

const CHAT_ADVICE = 'Check the chat ID (a user ID U…, group ID C… or room ID R…, as in the trigger\'s chat.id); the person may have blocked the bot, or the bot left the group.';

/** A failed call in words a user can act on; `advice` is what to check when LINE refuses the request itself (4xx). */
export function describeLineError(error: unknown, action: string, advice = CHAT_ADVICE): Error {
	if (error instanceof RateLimitedError) return error;
	if (error instanceof LineApiError && error.status !== null) {
		const said = `(${error.status}: ${error.message})`;
		if (error.status === 401) {
			return new LineApiError(
				`LINE rejected the channel access token (401) trying to ${action}. Issue a new channel access token on the Messaging API tab of your channel in the LINE Developers Console and paste it into the Clawgate LINE credential.`,
				401,
			);
		}
		if (error.status === 429 && MONTHLY_LIMIT.test(error.message)) {
			return new LineApiError(`LINE refused to ${action}: your LINE Official Account has reached its monthly message limit ${said}. Raise the plan in LINE Official Account Manager or wait for next month.`, 429);
		}
		if (error.status === 429) return new LineApiError(`LINE is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429);
		if (error.status === 403) return new LineApiError(`LINE does not allow this channel to ${action} ${said}. Check the plan and permissions of your LINE Official Account.`, 403);
		if (error.status >= 500) return new LineApiError(`LINE failed to ${action} ${said}: a problem on LINE's side. Try again later.`, error.status);
		return new LineApiError(`LINE refused to ${action} ${said}. ${advice}`, error.status);
	}
	if (error instanceof LineApiError) return error;
	const cause = (error as { cause?: { code?: string } })?.cause;
	const code = cause?.code ?? (error as Error)?.name ?? 'error';
	return new LineApiError(`Could not reach the LINE API to ${action} (${code}). Check the network and the credential's Base URL (empty means ${LINE_PUBLIC_API}).`, null);
}

// ---------------------------------------------------------------------------------------------
// Signature: base64 HMAC-SHA256 of the raw body, keyed with the channel secret
// (https://developers.line.biz/en/reference/messaging-api/#signature-validation)

function signatureHeaderOf(request: WebhookRequest): string | null {
	const value = request.headers['x-line-signature'];
	const signature = Array.isArray(value) ? value[0] : value;
	// A SHA-256 digest is 32 bytes: 44 base64 characters.
	return typeof signature === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(signature) ? signature : null;
}

export function lineMissingSignature(request: WebhookRequest): string | null {
	if (signatureHeaderOf(request) === null) return 'The request carries no LINE signature (X-Line-Signature).';
	return request.rawBody === undefined ? 'The request has no body to verify.' : null;
}

export function lineSignatureDisproof(request: WebhookRequest, channelSecret: string | undefined): string | null {
	const secret = channelSecret?.trim();
	if (!secret) return 'The Clawgate LINE credential has no channel secret, so no request can be trusted.';
	const signature = signatureHeaderOf(request);
	if (signature === null || request.rawBody === undefined) return 'The request carries no LINE signature (X-Line-Signature).';
	const expected = createHmac('sha256', secret).update(request.rawBody).digest();
	const got = Buffer.from(signature, 'base64');
	if (got.length !== expected.length || !timingSafeEqual(got, expected)) return 'The request is not signed with the channel secret in the Clawgate LINE credential.';
	return null;
}

// ---------------------------------------------------------------------------------------------
// Inbound: https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects

export interface LineReceiveOptions {
	sessionScope: SessionScope;
	/** "Emit Button Presses": postback events become `callback_query` envelopes. */
	postbacks: boolean;
	now: number;
}

export function parseLineDelivery(rawBody: Buffer | undefined): { destination: string; events: Record<string, unknown>[] } {
	let payload: unknown;
	try {
		payload = JSON.parse(rawBody?.toString('utf8') ?? '');
	} catch {
		payload = undefined;
	}
	if (payload === undefined) throw new InvalidPayloadError('The request body is not JSON. This URL receives LINE Messaging API webhooks.');
	const destination = nonEmptyStringOrNull(recordOrNull(payload)?.destination);
	const events = recordOrNull(payload)?.events;
	if (destination === null || !Array.isArray(events)) throw new InvalidPayloadError('The request body is not a LINE webhook (no "destination" and "events").');
	if (!events.every(isRecord)) throw new InvalidPayloadError('The LINE webhook has an event that is not an object.');
	return { destination, events };
}

/** A DM is a user's chat with the bot; a group and a multi-person chat (room) are both groups to the access policy. */
function chatOf(source: Record<string, unknown> | null): { id: string; type: ChatType; threadId: null; title: null } | null {
	const ids: Record<string, unknown> = { user: source?.userId, group: source?.groupId, room: source?.roomId };
	const id = nonEmptyStringOrNull(ids[stringOr(source?.type, '')]);
	return id === null ? null : { id, type: source?.type === 'user' ? 'dm' : 'group', threadId: null, title: null };
}

/** What a message carries besides text; null for a message type Clawgate does not read. */
function attachmentsOf(message: Record<string, unknown>, id: string): EnvelopeAttachment[] | null {
	// Images, videos, audio and files are fetched by message ID (GET api-data.line.me/v2/bot/message/{id}/content).
	const content = { id, mimeType: null, name: null, size: null };
	switch (message.type) {
		case 'text':
			return [];
		case 'image':
		case 'video':
		case 'audio':
			return [{ ...content, kind: message.type }];
		case 'file':
			return [{ ...content, kind: 'document', name: stringOr(message.fileName, null), size: finiteNumberOrNull(message.fileSize) }];
		case 'sticker':
			// A sticker is sent again by its package and sticker IDs, not by message ID.
			return [{ ...content, kind: 'sticker', id: `${idOrNull(message.packageId) ?? ''}:${idOrNull(message.stickerId) ?? ''}` }];
		case 'location': {
			const latitude = finiteNumberOrNull(message.latitude);
			const longitude = finiteNumberOrNull(message.longitude);
			if (latitude === null || longitude === null) throw new InvalidPayloadError('The LINE location message has no latitude or longitude.');
			const name = nonEmptyStringOrNull(message.title) ?? nonEmptyStringOrNull(message.address);
			return [{ kind: 'location', id: `${latitude},${longitude}`, mimeType: null, name, size: null, location: { latitude, longitude } }];
		}
		default:
			return null;
	}
}

/** The text without a leading mention of the bot, so "@Bot /new" is the command /new (LINE indexes in UTF-16 units, as JS strings do). */
function withoutLeadingSelfMention(text: string, self: Record<string, unknown> | undefined): string {
	const index = finiteNumberOrNull(self?.index);
	const length = finiteNumberOrNull(self?.length);
	if (index === null || length === null || text.slice(0, index).trim() !== '') return text;
	return text.slice(index + length).replace(/^[\s:,]+/, '');
}

/** One webhook event as the trigger pipeline takes it: an envelope, or null and why not. */
export function lineEventToInbound(event: Record<string, unknown>, accountId: string, options: LineReceiveOptions): InboundEvent {
	const body = recordOrNull(event.message);
	const type = stringOr(event.type, '');
	const timestamp = finiteNumberOrNull(event.timestamp);
	// webhookEventId is the same on every redelivery; LINE has sent it on every event since 2021.
	const dedupeKey = nonEmptyStringOrNull(event.webhookEventId) ?? `${type}:${idOrNull(body?.id) ?? ''}:${timestamp ?? ''}`;
	const facts = { fromSelf: false };
	const skip = (skipped: string): InboundEvent => ({ envelope: null, skipped, facts, dedupeKey });
	// Standby: another module (a chat handover) answers the channel's chats for now.
	if (event.mode === 'standby') return skip('the channel is in standby mode');
	if (type !== 'message' && type !== 'postback') return skip(`"${type}" events are not messages`);
	if (type === 'postback' && !options.postbacks) return skip('it is a button press (postback) and "Emit Button Presses" is off');
	const source = recordOrNull(event.source);
	const chat = chatOf(source);
	if (chat === null) throw new InvalidPayloadError(`The LINE ${type} event has no user, group or room in its source.`);
	// LINE leaves userId out for people it cannot name (LINE for PC in old groups); the chat stands in.
	const senderId = nonEmptyStringOrNull(source?.userId) ?? chat.id;
	const when = isoTimestampOrNull(timestamp ?? Number.NaN) ?? new Date(options.now).toISOString();

	let message: EnvelopeMessage;
	if (type === 'postback') {
		// A postback names no message: the button's data is the text, the event ID its identity.
		const data = stringOr(recordOrNull(event.postback)?.data, '');
		message = { id: `postback:${dedupeKey}`, text: data, replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: when };
	} else {
		const id = idOrNull(body?.id);
		if (body === null || id === null) throw new InvalidPayloadError('The LINE message event has no message ID.');
		const attachments = attachmentsOf(body, id);
		if (attachments === null) return skip(`LINE message type ${JSON.stringify(body.type)} is not read by Clawgate`);
		// isSelf marks the bot itself; an @All mention addresses people, and answering every announcement would spend the model budget.
		const self = listOf(recordOrNull(body.mention)?.mentionees).find((mentionee) => isRecord(mentionee) && mentionee.isSelf === true) as Record<string, unknown> | undefined;
		const text = body.type === 'text' ? withoutLeadingSelfMention(stringOr(body.text, ''), self) : '';
		message = { id, text, replyToId: idOrNull(body.quotedMessageId), mentionsBot: self !== undefined, command: commandForBot(text, null), attachments, timestamp: when };
	}
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'line', accountId, chat, senderId, scope: options.sessionScope }),
			channel: 'line',
			accountId,
			event: type === 'postback' ? 'callback_query' : 'message',
			chat,
			// Webhooks carry no names; a profile lookup per message would cost a call each.
			sender: { id: senderId, name: null, username: null, isBot: false },
			message,
			// The event as LINE sent it: message.quoteToken and replyToken are there for HTTP Request nodes.
			raw: event,
		},
		facts,
		dedupeKey,
	};
}

// ---------------------------------------------------------------------------------------------

export const linePlugin: ChannelPlugin<LineCredential, LineClient> = {
	id: 'line',
	name: 'LINE',
	channels: ['line'],
	credentialType: 'clawgateLineApi',
	capabilities: {
		// Text message object: "Max character limit: 5000". https://developers.line.biz/en/reference/messaging-api/#text-message
		textLimit: 5000,
		captionLimit: null,
		// LINE shows text as written: no Markdown, no markup.
		renderer: plainRenderer,
		edit: false,
		typing: true,
		// The loading animation is started for 20 s (startLoadingAnimation's default).
		typingLastsMs: 20_000,
		threads: false,
		media: false,
		// LINE quotes by the inbound message's quoteToken, which the kit does not hand to postMessage
		// (it passes message.id); the token stays in raw.message.quoteToken.
		quote: 'never',
		inbound: ['webhook'],
	},
	createClient: createLineClient,
	async accountOf(_credential, client) {
		// The bot's user ID: what `destination` names in every webhook, and so the envelope's accountId.
		const info = await callLine(client, 'GET', '/v2/bot/info').catch(() => null);
		return nonEmptyStringOrNull(info?.userId);
	},
	webhook: {
		missingProof: (request) => lineMissingSignature(request),
		disproof: (request, credential) => lineSignatureDisproof(request, credential.channelSecret),
		async receive(request, _credential, context, settings) {
			const { destination, events } = parseLineDelivery(request.rawBody);
			// The Verify button of the LINE Developers Console sends a signed body with no events.
			if (events.length === 0) return { kind: 'answer', answer: { status: 200, body: {} }, reason: 'a connection check (no events)' };
			const options = { sessionScope: settings.sessionScope, postbacks: context.options.emitCallbackQueries === true, now: context.now };
			return { kind: 'events', events: events.map((event) => lineEventToInbound(event, destination, options)) };
		},
		acknowledgement: { status: 200, body: {} },
		async register(credential, url) {
			const client = createLineClient(credential);
			await callLine(client, 'PUT', '/v2/bot/channel/webhook/endpoint', { endpoint: url }).catch((error: unknown) => {
				// LINE delivers only to HTTPS URLs it can reach from the internet.
				throw describeLineError(error, `set the webhook URL to ${url}`, "LINE needs a public https:// URL: set n8n's WEBHOOK_URL to this n8n's public address.");
			});
			const endpoint = await callLine(client, 'GET', '/v2/bot/channel/webhook/endpoint').catch((error: unknown) => {
				throw describeLineError(error, 'read the webhook settings');
			});
			if (endpoint.active === false) {
				throw new LineApiError(
					'The webhook URL is set on your LINE channel, but "Use webhook" is off, so LINE delivers nothing. Turn on "Use webhook" on the Messaging API tab of the channel in the LINE Developers Console, then activate the workflow again.',
					null,
				);
			}
		},
		// No unregister: LINE has no API to remove a webhook URL (an empty endpoint is refused), and
		// the URL stays set until the next activation overwrites it; deliveries to it then get 404.
	},
	outbound: {
		async postMessage(client, { chatId, text, replyToId }) {
			// Push, not reply: a reply token expires within a minute and is used once, too short for a model call.
			// A replyToId reaching here is a quote token (see capabilities.quote).
			const sent = await callLine(client, 'POST', '/v2/bot/message/push', { to: chatId, messages: [{ type: 'text', text, ...(replyToId ? { quoteToken: replyToId } : {}) }] });
			return listOf(sent.sentMessages).flatMap((entry) => idOrNull(recordOrNull(entry)?.id) ?? []);
		},
		async sendTyping(client, { chatId }) {
			// Groups and rooms have no loading animation; showing nothing there is the right answer.
			if (isUserId(chatId)) await startLoadingAnimation(client, chatId);
		},
	},
	retryAfterMs(error) {
		if (!(error instanceof LineApiError) || error.status !== 429 || MONTHLY_LIMIT.test(error.message)) return null;
		// LINE documents no Retry-After; a second is enough for its per-second limits.
		return error.retryAfterMs ?? 1000;
	},
	describeError: (error, action) => describeLineError(error, action),
};
