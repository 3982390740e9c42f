/**
 * Matrix (client-server API) as a Clawgate channel plugin: `m.room.message` events into envelopes,
 * HTML messages sent with an idempotent transaction ID, edits (`m.replace`) and typing, over plain
 * HTTPS. Messages arrive by `/sync` long polling (matrix.sync.ts).
 * https://spec.matrix.org/latest/client-server-api/
 */
import { randomBytes } from 'node:crypto';

import type { ChannelPlugin, InboundEvent } from '../core/channel';
import { buildSessionId, commandForBot, type AttachmentKind, type EnvelopeAttachment, type SessionScope } from '../core/envelope';
import { HttpJsonError, requestJson, type HttpJsonRequest } from '../core/http-json';
import { finiteNumberOrNull, isoTimestampOrNull, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError } from '../core/retry-after';
import { matrixHtmlRenderer, matrixHtmlToPlain } from './matrix.format';

export interface MatrixCredential {
	baseUrl: string;
	accessToken: string;
	/** The bot's user ID; empty asks the homeserver (whoami). */
	userId?: string;
}

export interface MatrixClient {
	base: string;
	token: string;
	userId: string | null;
	/** One transaction ID per message content, so a retried send is one message (the spec's idempotency). */
	txnIds: Map<string, string>;
}

export function createMatrixClient(credential: MatrixCredential): MatrixClient {
	const base = credential.baseUrl?.trim().replace(/\/+$/, '');
	if (!base) throw new HttpJsonError('The Clawgate Matrix credential has no Base URL. Set it to your homeserver, e.g. https://matrix.example.org.', null);
	const token = credential.accessToken?.trim();
	if (!token) throw new HttpJsonError('The Clawgate Matrix credential has no access token. Log the bot in (or copy its token from Element: Settings → Help & About → Access Token).', null);
	return { base, token, userId: credential.userId?.trim() || null, txnIds: new Map() };
}

export async function callMatrix(client: MatrixClient, method: string, path: string, options: Omit<HttpJsonRequest, 'method' | 'headers'> = {}): Promise<Record<string, unknown>> {
	return await requestJson(`${client.base}/_matrix/client/v3${path}`, { ...options, method, headers: { authorization: `Bearer ${client.token}` } });
}

/** The bot's user ID: from the credential, else the homeserver's whoami. */
export async function matrixUserIdOf(client: MatrixClient): Promise<string> {
	if (client.userId) return client.userId;
	const whoami = await callMatrix(client, 'GET', '/account/whoami');
	const userId = nonEmptyStringOrNull(whoami.user_id);
	if (!userId) throw new HttpJsonError('The homeserver did not say which user the access token belongs to (whoami).', null);
	client.userId = userId;
	return userId;
}

const MATRIX_TYPING_TIMEOUT_MS = 30_000;

const room = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;

export function describeMatrixError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (!(error instanceof HttpJsonError)) return error instanceof Error ? error : new Error(String(error));
	const errcode = stringOr(error.body?.errcode, '');
	const said = `(${error.status}${errcode ? ` ${errcode}` : ''}: ${stringOr(error.body?.error, error.message)})`;
	if (error.status === null) {
		if (!error.networkCode) return error;
		return new HttpJsonError(`Could not reach the Matrix homeserver to ${action} (${error.networkCode}). Check the Base URL in the Clawgate Matrix credential.`, null);
	}
	if (error.status === 401 || errcode === 'M_UNKNOWN_TOKEN' || errcode === 'M_MISSING_TOKEN') {
		return new HttpJsonError(`Matrix rejected the access token trying to ${action} ${said}. Log the bot in again and paste the new access token into the Clawgate Matrix credential.`, error.status, error.body);
	}
	if (error.status === 429) return new HttpJsonError(`Matrix is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429, error.body);
	if (error.status === 403) return new HttpJsonError(`Matrix does not allow the bot to ${action} ${said}. Invite the bot to the room (and let it join) and check its power level.`, 403, error.body);
	if (error.status >= 500) return new HttpJsonError(`The Matrix homeserver failed to ${action} ${said}. Try again later.`, error.status, error.body);
	return new HttpJsonError(`Matrix refused to ${action} ${said}. Check the room ID (!…:server) and event ID ($…).`, error.status, error.body);
}

// ---------------------------------------------------------------------------------------------
// Inbound: https://spec.matrix.org/latest/client-server-api/#mroommessage

export interface MatrixReceiveOptions {
	botUserId: string;
	/** The bot's display name, which people type to mention it in clients without intentional mentions. */
	botDisplayName: string | null;
	/** m.direct, or a room of two. */
	isDirect: boolean;
	sessionScope: SessionScope;
}

const ATTACHMENT_KINDS: Record<string, AttachmentKind> = { 'm.image': 'image', 'm.file': 'document', 'm.audio': 'audio', 'm.video': 'video', 'm.sticker': 'sticker' };

function attachmentsOf(content: Record<string, unknown>, msgtype: string): EnvelopeAttachment[] {
	const info = recordOrNull(content.info);
	if (msgtype === 'm.location') {
		const match = /^geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)/.exec(stringOr(content.geo_uri, ''));
		if (!match) return [];
		const location = { latitude: Number(match[1]), longitude: Number(match[2]) };
		return [{ kind: 'location', id: `${location.latitude},${location.longitude}`, mimeType: null, name: stringOr(content.body, null), size: null, location }];
	}
	const kind = ATTACHMENT_KINDS[msgtype];
	const url = nonEmptyStringOrNull(content.url);
	if (!kind || !url) return [];
	return [{ kind, id: url, mimeType: stringOr(info?.mimetype, null), name: stringOr(content.filename, null) ?? stringOr(content.body, null), size: finiteNumberOrNull(info?.size) }];
}

/** A reply's body begins with a quote of the message it answers (the spec's "fallback"), which is not what the person wrote. */
function withoutReplyFallback(body: string): string {
	if (!body.startsWith('> ')) return body;
	const end = body.indexOf('\n\n');
	return end >= 0 ? body.slice(end + 2) : body;
}

function mentionsOf(content: Record<string, unknown>, body: string, options: MatrixReceiveOptions): boolean {
	// Clients that send intentional mentions (m.mentions) say exactly whom they mean.
	const mentions = recordOrNull(content['m.mentions']);
	if (mentions) return listOf(mentions.user_ids).includes(options.botUserId);
	const lower = body.toLowerCase();
	return lower.includes(options.botUserId.toLowerCase()) || (options.botDisplayName !== null && lower.includes(options.botDisplayName.toLowerCase()));
}

/** "Bot: /new", "@bot:example.org /new" → "/new": a leading mention of the bot is not part of what was said. */
function withoutLeadingMention(text: string, options: MatrixReceiveOptions): string {
	for (const name of [options.botUserId, options.botDisplayName]) {
		if (name && text.toLowerCase().startsWith(name.toLowerCase())) return text.slice(name.length).replace(/^[\s:,]+/, '');
	}
	return text;
}

/** One timeline event of a joined room as the trigger pipeline takes it. */
export function matrixEventToInbound(event: Record<string, unknown>, roomId: string, options: MatrixReceiveOptions): InboundEvent {
	const eventId = stringOr(event.event_id, '');
	const sender = stringOr(event.sender, '');
	const facts = { fromSelf: sender === options.botUserId };
	const skip = (skipped: string): InboundEvent => ({ envelope: null, skipped, facts, dedupeKey: eventId });
	if (event.type !== 'm.room.message') return skip(`"${stringOr(event.type, '')}" events are not messages`);
	const content = recordOrNull(event.content);
	const msgtype = stringOr(content?.msgtype, '');
	// A redacted message keeps no content.
	if (!content || !msgtype || !eventId || !sender) return skip('it has no content (redacted)');
	const relation = recordOrNull(content['m.relates_to']);
	if (relation?.rel_type === 'm.replace') return skip('it is an edit of an earlier message');
	const attachments = attachmentsOf(content, msgtype);
	const isText = msgtype === 'm.text' || msgtype === 'm.notice' || msgtype === 'm.emote';
	if (!isText && attachments.length === 0) return skip(`Matrix msgtype ${JSON.stringify(msgtype)} is not read by Clawgate`);
	const replyToId = nonEmptyStringOrNull(recordOrNull(relation?.['m.in_reply_to'])?.event_id);
	const body = isText ? withoutReplyFallback(stringOr(content.body, '')) : '';
	const mentionsBot = isText && mentionsOf(content, body, options);
	const text = mentionsBot ? withoutLeadingMention(body, options) : body;
	const chat = {
		id: roomId,
		type: options.isDirect ? ('dm' as const) : ('group' as const),
		threadId: relation?.rel_type === 'm.thread' ? nonEmptyStringOrNull(relation.event_id) : null,
		title: null,
	};
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'matrix', accountId: options.botUserId, chat, senderId: sender, scope: options.sessionScope }),
			channel: 'matrix',
			accountId: options.botUserId,
			event: 'message',
			chat,
			// Bots post m.notice by convention (the spec asks them to), so a notice counts as a bot's.
			sender: { id: sender, name: null, username: sender, isBot: msgtype === 'm.notice' },
			message: {
				id: eventId,
				text,
				replyToId,
				mentionsBot,
				command: commandForBot(text, null),
				attachments,
				timestamp: isoTimestampOrNull(finiteNumberOrNull(event.origin_server_ts) ?? Number.NaN) ?? new Date().toISOString(),
			},
			raw: { ...event, room_id: roomId },
		},
		facts,
		dedupeKey: eventId,
	};
}

// ---------------------------------------------------------------------------------------------
// Outbound

/** A transaction ID per content until it is sent: a retry (after a lost answer or a 429) reuses it, and the homeserver keeps one message. */
function txnIdFor(client: MatrixClient, key: string): string {
	let txnId = client.txnIds.get(key);
	if (!txnId) {
		txnId = `clawgate.${Date.now()}.${randomBytes(6).toString('hex')}`;
		client.txnIds.set(key, txnId);
	}
	return txnId;
}

/** PUTs an event, once more after a lost answer or a 5xx: the transaction ID makes the second try the same event. */
async function sendEvent(client: MatrixClient, roomId: string, content: Record<string, unknown>): Promise<string> {
	const key = `${roomId}\n${JSON.stringify(content)}`;
	const path = `${room(roomId)}/send/m.room.message/${encodeURIComponent(txnIdFor(client, key))}`;
	const put = () => callMatrix(client, 'PUT', path, { body: content });
	const sent = await put().catch(async (error: unknown) => {
		if (error instanceof HttpJsonError && (error.status === null || error.status >= 500)) return await put();
		throw error;
	});
	// Sent: the same text sent again on purpose (a second item) is a new message with a new ID.
	client.txnIds.delete(key);
	return stringOr(sent.event_id, '');
}

function htmlContent(html: string): Record<string, unknown> {
	return { msgtype: 'm.text', body: matrixHtmlToPlain(html), format: 'org.matrix.custom.html', formatted_body: html };
}

export const matrixPlugin: ChannelPlugin<MatrixCredential, MatrixClient> = {
	id: 'matrix',
	name: 'Matrix',
	channels: ['matrix'],
	credentialType: 'clawgateMatrixApi',
	capabilities: {
		// Events are limited to 65,536 bytes of JSON; body and formatted_body each take up to three bytes a character.
		textLimit: 10_000,
		captionLimit: null,
		renderer: matrixHtmlRenderer,
		edit: true,
		typing: true,
		// The `timeout` sendTyping asks the homeserver for.
		typingLastsMs: MATRIX_TYPING_TIMEOUT_MS,
		threads: true,
		media: false,
		quote: 'groups',
		inbound: ['listener'],
	},
	createClient: createMatrixClient,
	accountOf: async (_credential, client) => await matrixUserIdOf(client),
	outbound: {
		async postMessage(client, { chatId, text, replyToId, threadId }) {
			const inReplyTo = replyToId ? { 'm.in_reply_to': { event_id: replyToId } } : {};
			const relation = threadId
				? { rel_type: 'm.thread', event_id: threadId, is_falling_back: !replyToId, 'm.in_reply_to': { event_id: replyToId ?? threadId } }
				: replyToId
					? inReplyTo
					: null;
			// An AI answer pings nobody: an empty m.mentions tells clients that support it not to notify.
			const content = { ...htmlContent(text), 'm.mentions': {}, ...(relation ? { 'm.relates_to': relation } : {}) };
			return [await sendEvent(client, chatId, content)];
		},
		async editMessage(client, { chatId, messageId, text }) {
			const content = htmlContent(text);
			await sendEvent(client, chatId, {
				...content,
				body: `* ${String(content.body)}`,
				'm.new_content': content,
				'm.relates_to': { rel_type: 'm.replace', event_id: messageId },
			});
		},
		async sendTyping(client, { chatId }) {
			const userId = await matrixUserIdOf(client);
			await callMatrix(client, 'PUT', `${room(chatId)}/typing/${encodeURIComponent(userId)}`, { body: { typing: true, timeout: MATRIX_TYPING_TIMEOUT_MS } });
		},
	},
	retryAfterMs(error) {
		if (!(error instanceof HttpJsonError) || error.status !== 429) return null;
		return finiteNumberOrNull(error.body?.retry_after_ms) ?? error.retryAfterMs ?? 1_000;
	},
	describeError: describeMatrixError,
};
