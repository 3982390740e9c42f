/**
 * Rocket.Chat as a Clawgate channel plugin. Messages arrive over the realtime API (DDP over the
 * `/websocket` endpoint, `stream-room-messages` with `__my_messages__`): one subscription brings
 * every message of every room the bot is in, pushed as it is posted. That is simpler and more
 * robust than polling `im.list`/`im.history` per DM plus mentions per room: no per-room requests,
 * no polling delay, and the same catch-up over REST (`rooms.get`, `chat.syncMessages`) after a
 * dropped connection or a restart. Sending, threads and edits use the REST API with a personal
 * access token (X-Auth-Token + X-User-Id). https://developer.rocket.chat/apidocs
 */
import type { ChannelPlugin, InboundEvent } from '../core/channel';
import { buildSessionId, commandForBot, type SessionScope } from '../core/envelope';
import { finiteNumberOrNull, idOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError } from '../core/retry-after';
import { markdownRenderer } from '../core/text/renderer';
import { baseUrlOf, networkCodeOf, requestJson, retryAfterHeaderMs } from '../shared/http-json';
import type { FrameReading, SocketPlatform, SocketSession } from '../shared/socket-listener';

export interface RocketChatCredential {
	/** The Rocket.Chat server, e.g. https://chat.example.com (required: self-hosted or your cloud workspace URL). */
	baseUrl: string;
	/** The bot user's ID (shown with its personal access token). */
	userId: string;
	/** A personal access token of the bot user. */
	authToken: string;
}

export interface RocketChatClient {
	baseUrl: string;
	userId: string;
	token: string;
}

export interface RocketChatBot {
	id: string;
	username: string;
}

export class RocketChatApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		readonly retryAfterMs: number | null = null,
	) {
		super(message);
		this.name = 'RocketChatApiError';
	}
}

export function createRocketChatClient(credential: RocketChatCredential): RocketChatClient {
	const baseUrl = baseUrlOf(credential.baseUrl);
	if (baseUrl === null) throw new RocketChatApiError('The Clawgate Rocket.Chat credential has no Base URL. Set it to your Rocket.Chat address, e.g. https://chat.example.com.', null);
	const [userId, token] = [credential.userId?.trim(), credential.authToken?.trim()];
	if (!userId || !token) throw new RocketChatApiError('The Clawgate Rocket.Chat credential needs the bot user\'s ID and a personal access token (My Account → Personal Access Tokens).', null);
	return { baseUrl, userId, token };
}

/** Milliseconds to wait after a 429: Retry-After, else X-RateLimit-Reset (the epoch milliseconds when the limit resets). */
function rateLimitWaitOf(headers: Headers, now = Date.now()): number | null {
	const retryAfter = retryAfterHeaderMs(headers);
	if (retryAfter !== null) return retryAfter;
	const reset = Number(headers.get('x-ratelimit-reset'));
	return Number.isFinite(reset) && reset > now ? reset - now : null;
}

/** One REST call; `{ success: false }` or a non-2xx answer becomes a RocketChatApiError with Rocket.Chat's words. */
export async function callRocketChat<T = Record<string, unknown>>(client: RocketChatClient, method: string, path: string, body?: unknown): Promise<T> {
	const answer = await requestJson(`${client.baseUrl}/api/v1/${path}`, {
		method,
		headers: { 'x-auth-token': client.token, 'x-user-id': client.userId, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const record = recordOrNull(answer.body) ?? {};
	if (answer.ok && record.success !== false) return record as T;
	const said = stringOr(record.error, '') || stringOr(record.message, '') || `HTTP ${answer.status}`;
	throw new RocketChatApiError(said, answer.status, answer.status === 429 ? rateLimitWaitOf(answer.headers) : null);
}

export function describeRocketChatError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (error instanceof RocketChatApiError && error.status !== null) {
		const said = `(${error.status}: ${error.message})`;
		if (error.status === 401) {
			return new RocketChatApiError(
				`Rocket.Chat rejected the personal access token (401) trying to ${action}. Create a new one (My Account → Personal Access Tokens) and put it and the user ID into the Clawgate Rocket.Chat credential.`,
				401,
			);
		}
		if (error.status === 429) return new RocketChatApiError(`Rocket.Chat is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429);
		if (error.status >= 500) return new RocketChatApiError(`Rocket.Chat failed to ${action} ${said}: a problem on the server. Try again later.`, error.status);
		return new RocketChatApiError(`Rocket.Chat refused to ${action} ${said}. Check the room ID (the trigger's chat.id) and that the bot is a member of the room.`, error.status);
	}
	if (error instanceof RocketChatApiError) return error;
	return new RocketChatApiError(`Could not reach Rocket.Chat to ${action} (${networkCodeOf(error)}). Check the network and the credential's Base URL.`, null);
}

// One lookup per token and process: the bot's username tells mentions of it.
const bots = new Map<string, Promise<RocketChatBot>>();

export function rocketChatBotOf(client: RocketChatClient): Promise<RocketChatBot> {
	const key = `${client.baseUrl}|${client.userId}|${client.token}`;
	let bot = bots.get(key);
	if (!bot) {
		bot = callRocketChat(client, 'GET', 'me').then((me) => ({ id: idOrNull(me._id) ?? client.userId, username: stringOr(me.username, '') }));
		bots.set(key, bot);
		bot.catch(() => bots.delete(key));
	}
	return bot;
}

// ---------------------------------------------------------------------------------------------
// Inbound: a message with its room's type, from the stream or from chat.syncMessages

export interface RocketChatMessage {
	message: Record<string, unknown>;
	/** d direct, c public channel, p private group, l livechat. */
	roomType: string;
	roomName: string | null;
}

/** `ts` is `{ $date: ms }` over DDP (EJSON) and an ISO string over REST. */
export function rocketChatTimeOf(value: unknown): number {
	const date = recordOrNull(value)?.$date;
	if (typeof date === 'number') return date;
	return typeof value === 'string' ? Date.parse(value) || 0 : (finiteNumberOrNull(date) ?? 0);
}

export function rocketChatMessageToInbound(item: RocketChatMessage, bot: RocketChatBot, sessionScope: SessionScope): InboundEvent {
	const { message } = item;
	const id = idOrNull(message._id) ?? '';
	const roomId = idOrNull(message.rid) ?? '';
	const author = recordOrNull(message.u);
	const userId = idOrNull(author?._id) ?? '';
	const facts = { fromSelf: userId === bot.id };
	const skip = (skipped: string): InboundEvent => ({ envelope: null, skipped, facts, dedupeKey: id });
	// System messages (joins, topic changes) carry a type `t`; an edit comes again with editedAt.
	if (nonEmptyStringOrNull(message.t)) return skip(`it is a system message (${String(message.t)})`);
	if (message.editedAt !== undefined && message.editedAt !== null) return skip('it is an edit of an earlier message');
	if (!id || !roomId || !userId) return skip('the message has no ID, room or author');
	const raw = stringOr(message.msg, '');
	const mentionsBot = listOf(message.mentions).some((mention) => isRecord(mention) && (mention._id === bot.id || (bot.username !== '' && mention.username === bot.username)));
	const leading = `@${bot.username}`;
	const text = bot.username && raw.startsWith(leading) && !/[\w.-]/.test(raw.charAt(leading.length)) ? raw.slice(leading.length).replace(/^[\s:,]+/, '') : raw;
	const chat = { id: roomId, type: item.roomType === 'd' ? ('dm' as const) : ('group' as const), threadId: nonEmptyStringOrNull(message.tmid), title: item.roomName };
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'rocketchat', accountId: bot.id, chat, senderId: userId, scope: sessionScope }),
			channel: 'rocketchat',
			accountId: bot.id,
			event: 'message',
			chat,
			// Apps and integrations post with a `bot` field.
			sender: { id: userId, name: nonEmptyStringOrNull(author?.name), username: nonEmptyStringOrNull(author?.username), isBot: isRecord(message.bot) },
			message: {
				id,
				text,
				replyToId: nonEmptyStringOrNull(message.tmid),
				mentionsBot,
				command: commandForBot(text, bot.username || null),
				attachments: [],
				timestamp: isoTimestampOrNull(rocketChatTimeOf(message.ts)) ?? new Date().toISOString(),
			},
			raw: message,
		},
		facts,
		dedupeKey: id,
	};
}

/** The DDP session: connect, log in with the token (as a resume token), subscribe to the bot's messages. */
function rocketChatSession(token: string): SocketSession<RocketChatMessage> {
	const frame = (value: unknown) => JSON.stringify(value);
	return {
		opening: () => [frame({ msg: 'connect', version: '1', support: ['1'] })],
		read(text): FrameReading<RocketChatMessage> {
			let data: Record<string, unknown> | null;
			try {
				data = recordOrNull(JSON.parse(text));
			} catch {
				return {};
			}
			switch (data?.msg) {
				case 'ping':
					return { reply: [frame({ msg: 'pong', ...(data.id ? { id: data.id } : {}) })] };
				case 'connected':
					return { reply: [frame({ msg: 'method', method: 'login', id: 'login', params: [{ resume: token }] })] };
				case 'result':
					if (data.id !== 'login') return {};
					if (data.error) return { fatal: new RocketChatApiError('Rocket.Chat refused the realtime login: the personal access token in the Clawgate Rocket.Chat credential is wrong or revoked.', 401) };
					return { reply: [frame({ msg: 'sub', id: 'messages', name: 'stream-room-messages', params: ['__my_messages__', false] })] };
				case 'ready':
					return listOf(data.subs).includes('messages') ? { ready: true } : {};
				case 'nosub':
					return data.id === 'messages' ? { fatal: new RocketChatApiError('Rocket.Chat refused the subscription to the bot\'s messages.', 403) } : {};
				case 'changed': {
					const fields = recordOrNull(data.fields);
					if (data.collection !== 'stream-room-messages' || fields?.eventName !== '__my_messages__') return {};
					const [message, meta] = listOf(fields.args);
					if (!isRecord(message)) return {};
					return { messages: [{ message, roomType: stringOr(recordOrNull(meta)?.roomType, ''), roomName: nonEmptyStringOrNull(recordOrNull(meta)?.roomName) }] };
				}
				default:
					return {};
			}
		},
	};
}

/** Messages of the bot's rooms posted since `since`: rooms.get names the rooms with news, chat.syncMessages brings them. */
async function rocketChatMessagesSince(client: RocketChatClient, since: number): Promise<RocketChatMessage[]> {
	const iso = new Date(since).toISOString();
	const rooms = await callRocketChat(client, 'GET', `rooms.get?updatedSince=${encodeURIComponent(iso)}`);
	const found: RocketChatMessage[] = [];
	for (const entry of listOf(rooms.update)) {
		const room = recordOrNull(entry);
		const roomId = idOrNull(room?._id);
		if (roomId === null) continue;
		const synced = await callRocketChat(client, 'GET', `chat.syncMessages?roomId=${encodeURIComponent(roomId)}&lastUpdate=${encodeURIComponent(iso)}`);
		for (const message of listOf(recordOrNull(synced.result)?.updated)) {
			if (isRecord(message) && rocketChatTimeOf(message.ts) >= since) found.push({ message, roomType: stringOr(room?.t, ''), roomName: nonEmptyStringOrNull(room?.fname) ?? nonEmptyStringOrNull(room?.name) });
		}
	}
	return found.sort((a, b) => rocketChatTimeOf(a.message.ts) - rocketChatTimeOf(b.message.ts));
}

export function rocketChatSocket(client: RocketChatClient, bot: RocketChatBot, sessionScope: SessionScope): SocketPlatform<RocketChatMessage> {
	return {
		name: 'Rocket.Chat',
		url: `${client.baseUrl.replace(/^http/, 'ws')}/websocket`,
		newSession: () => rocketChatSession(client.token),
		missedSince: (since) => rocketChatMessagesSince(client, since),
		keyOf: (item) => String(item.message._id),
		timeOf: (item) => rocketChatTimeOf(item.message.ts),
		inbound: (item) => rocketChatMessageToInbound(item, bot, sessionScope),
	};
}

// ---------------------------------------------------------------------------------------------

export const rocketChatPlugin: ChannelPlugin<RocketChatCredential, RocketChatClient> = {
	id: 'rocketChat',
	name: 'Rocket.Chat',
	channels: ['rocketchat'],
	credentialType: 'clawgateRocketChatApi',
	capabilities: {
		// Message_MaxAllowedSize defaults to 5,000 characters.
		textLimit: 5000,
		captionLimit: null,
		renderer: markdownRenderer,
		edit: true,
		// Typing is a realtime-API notice only; the REST API the send node uses has none.
		typing: false,
		threads: true,
		media: false,
		// In rooms an answer goes into the thread of the message it answers.
		quote: 'groups',
		inbound: ['listener'],
	},
	createClient: createRocketChatClient,
	// The credential names the bot's user ID, which the envelope's accountId is.
	accountOf: async (_credential, client) => client.userId,
	outbound: {
		async postMessage(client, { chatId, text, replyToId, threadId }) {
			const thread = threadId ?? replyToId;
			const sent = await callRocketChat(client, 'POST', 'chat.sendMessage', { message: { rid: chatId, msg: text, ...(thread ? { tmid: thread } : {}) } });
			return [String(recordOrNull(sent.message)?._id ?? '')];
		},
		async editMessage(client, { chatId, messageId, text }) {
			await callRocketChat(client, 'POST', 'chat.update', { roomId: chatId, msgId: messageId, text });
		},
	},
	retryAfterMs: (error) => (error instanceof RocketChatApiError && error.status === 429 ? (error.retryAfterMs ?? 1000) : null),
	describeError: describeRocketChatError,
};
