/**
 * Mattermost as a Clawgate channel plugin: a bot (or personal access) token, posts read from the
 * WebSocket API (`/api/v4/websocket`, `posted` events) by a listener the trigger holds open, and
 * the REST API v4 for what was missed, posting, editing and typing. Plain fetch and `ws`.
 * https://developers.mattermost.com/api-documentation/
 */
import type { ChannelPlugin, InboundEvent } from '../core/channel';
import { buildSessionId, commandForBot, type ChatType, type SessionScope } from '../core/envelope';
import { finiteNumberOrNull, idOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError } from '../core/retry-after';
import { markdownRenderer } from '../core/text/renderer';
import { baseUrlOf, networkCodeOf, requestJson, retryAfterHeaderMs } from '../shared/http-json';
import type { FrameReading, SocketPlatform, SocketSession } from '../shared/socket-listener';

export interface MattermostCredential {
	/** The Mattermost server, e.g. https://chat.example.com (required: Mattermost is self-hosted). */
	baseUrl: string;
	/** A bot account's access token, or a personal access token. */
	botToken: string;
}

export interface MattermostClient {
	baseUrl: string;
	token: string;
}

export interface MattermostBot {
	id: string;
	username: string;
}

export class MattermostApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		readonly retryAfterMs: number | null = null,
	) {
		super(message);
		this.name = 'MattermostApiError';
	}
}

export function createMattermostClient(credential: MattermostCredential): MattermostClient {
	const baseUrl = baseUrlOf(credential.baseUrl);
	if (baseUrl === null) throw new MattermostApiError('The Clawgate Mattermost credential has no Base URL. Set it to your Mattermost address, e.g. https://chat.example.com.', null);
	const token = credential.botToken?.trim();
	if (!token) throw new MattermostApiError('The Clawgate Mattermost credential has no bot token. Create one in Mattermost: Integrations → Bot Accounts → Add Bot Account.', null);
	return { baseUrl, token };
}

/** One REST call; a non-2xx answer becomes a MattermostApiError with Mattermost's own message. */
export async function callMattermost<T = Record<string, unknown>>(client: MattermostClient, method: string, path: string, body?: unknown): Promise<T> {
	const answer = await requestJson(`${client.baseUrl}/api/v4${path}`, {
		method,
		headers: { authorization: `Bearer ${client.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	if (answer.ok) return answer.body as T;
	throw new MattermostApiError(stringOr(recordOrNull(answer.body)?.message, `HTTP ${answer.status}`), answer.status, retryAfterHeaderMs(answer.headers));
}

export function describeMattermostError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (error instanceof MattermostApiError && error.status !== null) {
		const said = `(${error.status}: ${error.message})`;
		if (error.status === 401) {
			return new MattermostApiError(`Mattermost rejected the bot token (401) trying to ${action}. Create a new token (Integrations → Bot Accounts) and paste it into the Clawgate Mattermost credential.`, 401);
		}
		if (error.status === 403) return new MattermostApiError(`Mattermost does not allow the bot to ${action} ${said}. Add the bot to the channel (or its team) and check its permissions.`, 403);
		if (error.status === 429) return new MattermostApiError(`Mattermost is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429);
		if (error.status >= 500) return new MattermostApiError(`Mattermost failed to ${action} ${said}: a problem on the server. Try again later.`, error.status);
		return new MattermostApiError(`Mattermost refused to ${action} ${said}. Check the channel ID (the trigger's chat.id) and that the bot is a member of it.`, error.status);
	}
	if (error instanceof MattermostApiError) return error;
	return new MattermostApiError(`Could not reach Mattermost to ${action} (${networkCodeOf(error)}). Check the network and the credential's Base URL.`, null);
}

// One lookup of the bot per token and process: posts and mentions are told apart by its ID and name.
const bots = new Map<string, Promise<MattermostBot>>();

export function mattermostBotOf(client: MattermostClient): Promise<MattermostBot> {
	const key = `${client.baseUrl}|${client.token}`;
	let bot = bots.get(key);
	if (!bot) {
		bot = callMattermost(client, 'GET', '/users/me').then((me) => {
			const id = idOrNull(me.id);
			if (id === null) throw new MattermostApiError('Mattermost did not say which user the bot token belongs to.', null);
			return { id, username: stringOr(me.username, '') };
		});
		bots.set(key, bot);
		bot.catch(() => bots.delete(key));
	}
	return bot;
}

// ---------------------------------------------------------------------------------------------
// Inbound: a post with the channel's type; from a `posted` event or from the REST API

export interface MattermostPost {
	post: Record<string, unknown>;
	/** D direct, G group message, O public channel, P private channel. */
	channelType: string;
	/** User IDs the server found mentioned (the event's `mentions`), when known. */
	mentions: string[];
	/** "@ada" from the event's `sender_name`, when known. */
	senderName: string | null;
	channelName: string | null;
}

const chatTypeOf = (channelType: string): ChatType => (channelType === 'D' ? 'dm' : 'group');

/** Whether `text` names `@username` as a word of its own. */
function mentionsName(text: string, username: string): boolean {
	if (!username) return false;
	const lower = text.toLowerCase();
	const typed = `@${username.toLowerCase()}`;
	for (let at = lower.indexOf(typed); at >= 0; at = lower.indexOf(typed, at + 1)) {
		if (!/[a-z0-9._-]/.test(lower.charAt(at + typed.length))) return true;
	}
	return false;
}

export function mattermostPostToInbound(item: MattermostPost, bot: MattermostBot, sessionScope: SessionScope): InboundEvent {
	const { post } = item;
	const id = idOrNull(post.id) ?? '';
	const channelId = idOrNull(post.channel_id) ?? '';
	const userId = idOrNull(post.user_id) ?? '';
	const facts = { fromSelf: userId === bot.id };
	const dedupeKey = id;
	const skip = (skipped: string): InboundEvent => ({ envelope: null, skipped, facts, dedupeKey });
	// System posts (joins, header changes) carry a type; people's posts have none.
	if (stringOr(post.type, '') !== '') return skip(`it is a system post (${String(post.type)})`);
	if (finiteNumberOrNull(post.delete_at)) return skip('it was deleted');
	if (!id || !channelId || !userId) return skip('the post has no ID, channel or author');
	const raw = stringOr(post.message, '');
	const mentionsBot = item.mentions.includes(bot.id) || mentionsName(raw, bot.username);
	// "@clawgate /new" is the command /new.
	const leading = `@${bot.username.toLowerCase()}`;
	const text = bot.username && raw.toLowerCase().startsWith(leading) && !/[a-z0-9._-]/i.test(raw.charAt(leading.length)) ? raw.slice(leading.length).replace(/^[\s:,]+/, '') : raw;
	const chat = { id: channelId, type: chatTypeOf(item.channelType), threadId: nonEmptyStringOrNull(post.root_id), title: item.channelName };
	const props = recordOrNull(post.props);
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'mattermost', accountId: bot.id, chat, senderId: userId, scope: sessionScope }),
			channel: 'mattermost',
			accountId: bot.id,
			event: 'message',
			chat,
			sender: { id: userId, name: null, username: item.senderName?.replace(/^@/, '') ?? null, isBot: props?.from_bot === 'true' || props?.from_bot === true },
			message: {
				id,
				text,
				replyToId: nonEmptyStringOrNull(post.root_id),
				mentionsBot,
				command: commandForBot(text, bot.username || null),
				attachments: listOf(post.file_ids).flatMap((file) => (typeof file === 'string' ? [{ kind: 'document' as const, id: file, mimeType: null, name: null, size: null }] : [])),
				timestamp: isoTimestampOrNull(finiteNumberOrNull(post.create_at) ?? Number.NaN) ?? new Date().toISOString(),
			},
			raw: post,
		},
		facts,
		dedupeKey,
	};
}

/** A `posted` event's post: Mattermost sends it (and `mentions`) as JSON inside the event's JSON. */
export function mattermostPostedEvent(event: Record<string, unknown>): MattermostPost | null {
	const data = recordOrNull(event.data);
	if (event.event !== 'posted' || data === null) return null;
	let post: unknown;
	let mentions: unknown;
	try {
		post = JSON.parse(stringOr(data.post, ''));
		mentions = data.mentions ? JSON.parse(stringOr(data.mentions, '[]')) : [];
	} catch {
		return null;
	}
	const record = recordOrNull(post);
	if (record === null) return null;
	return {
		post: record,
		channelType: stringOr(data.channel_type, ''),
		mentions: listOf(mentions).filter((id): id is string => typeof id === 'string'),
		senderName: nonEmptyStringOrNull(data.sender_name),
		channelName: nonEmptyStringOrNull(data.channel_display_name) ?? nonEmptyStringOrNull(data.channel_name),
	};
}

/** The WebSocket session: authentication_challenge with the token, then `posted` events. */
function mattermostSession(token: string): SocketSession<MattermostPost> {
	return {
		opening: () => [JSON.stringify({ seq: 1, action: 'authentication_challenge', data: { token } })],
		read(frame): FrameReading<MattermostPost> {
			let event: Record<string, unknown> | null;
			try {
				event = recordOrNull(JSON.parse(frame));
			} catch {
				return {};
			}
			if (event === null) return {};
			if (event.seq_reply === 1) {
				return event.status === 'OK' ? { ready: true } : { fatal: new MattermostApiError('Mattermost refused the WebSocket login: the bot token in the Clawgate Mattermost credential is wrong or revoked.', 401) };
			}
			const posted = mattermostPostedEvent(event);
			return posted ? { messages: [posted] } : {};
		},
	};
}

/** Posts of the bot's channels created after `since`, oldest first (channels' last_post_at tells which to ask). */
async function mattermostPostsSince(client: MattermostClient, bot: MattermostBot, since: number): Promise<MattermostPost[]> {
	const channels = await callMattermost<unknown[]>(client, 'GET', `/users/${bot.id}/channels`);
	const posts: MattermostPost[] = [];
	for (const entry of listOf(channels)) {
		const channel = recordOrNull(entry);
		const id = idOrNull(channel?.id);
		if (id === null || (finiteNumberOrNull(channel?.last_post_at) ?? 0) <= since) continue;
		const page = await callMattermost(client, 'GET', `/channels/${encodeURIComponent(id)}/posts?since=${since}`);
		const byId = recordOrNull(page.posts) ?? {};
		for (const post of Object.values(byId)) {
			const record = recordOrNull(post);
			// `since` also returns older posts edited since; only new ones were missed.
			if (record && (finiteNumberOrNull(record.create_at) ?? 0) >= since) {
				posts.push({ post: record, channelType: stringOr(channel?.type, ''), mentions: [], senderName: null, channelName: nonEmptyStringOrNull(channel?.display_name) });
			}
		}
	}
	// The REST API's posts name their authors by ID only; one lookup gives them the usernames events carry.
	const authors = [...new Set(posts.map((item) => idOrNull(item.post.user_id)).filter((id): id is string => id !== null))];
	if (authors.length > 0) {
		const users = await callMattermost<unknown[]>(client, 'POST', '/users/ids', authors).catch(() => []);
		const names = new Map(listOf(users).flatMap((user) => (isRecord(user) && typeof user.id === 'string' && typeof user.username === 'string' ? [[user.id, `@${user.username}`] as const] : [])));
		for (const item of posts) item.senderName = names.get(String(item.post.user_id)) ?? null;
	}
	return posts.sort((a, b) => (finiteNumberOrNull(a.post.create_at) ?? 0) - (finiteNumberOrNull(b.post.create_at) ?? 0));
}

/** The listener's platform part for the shared socket listener. */
export function mattermostSocket(client: MattermostClient, bot: MattermostBot, sessionScope: SessionScope): SocketPlatform<MattermostPost> {
	return {
		name: 'Mattermost',
		url: `${client.baseUrl.replace(/^http/, 'ws')}/api/v4/websocket`,
		newSession: () => mattermostSession(client.token),
		missedSince: (since) => mattermostPostsSince(client, bot, since),
		keyOf: (item) => String(item.post.id),
		timeOf: (item) => finiteNumberOrNull(item.post.create_at) ?? 0,
		inbound: (item) => mattermostPostToInbound(item, bot, sessionScope),
	};
}

// ---------------------------------------------------------------------------------------------

export const mattermostPlugin: ChannelPlugin<MattermostCredential, MattermostClient> = {
	id: 'mattermost',
	name: 'Mattermost',
	channels: ['mattermost'],
	credentialType: 'clawgateMattermostApi',
	capabilities: {
		// A post holds 16,383 characters by default (MaxPostSize); servers may allow more, never less.
		textLimit: 16_383,
		captionLimit: null,
		renderer: markdownRenderer,
		edit: true,
		typing: true,
		// The web and mobile apps hide a typing notice after about 5 s without another.
		typingLastsMs: 5_000,
		threads: true,
		media: false,
		// In channels an answer goes into the thread of the message it answers.
		quote: 'groups',
		inbound: ['listener'],
	},
	createClient: createMattermostClient,
	accountOf: async (_credential, client) => (await mattermostBotOf(client).catch(() => null))?.id ?? null,
	outbound: {
		async postMessage(client, { chatId, text, replyToId, threadId }) {
			const root = threadId ?? replyToId;
			const post = await callMattermost(client, 'POST', '/posts', { channel_id: chatId, message: text, ...(root ? { root_id: root } : {}) });
			return [String(post.id)];
		},
		async editMessage(client, { messageId, text }) {
			await callMattermost(client, 'PUT', `/posts/${encodeURIComponent(messageId)}/patch`, { message: text });
		},
		async sendTyping(client, { chatId, threadId }) {
			await callMattermost(client, 'POST', '/users/me/typing', { channel_id: chatId, ...(threadId ? { parent_id: threadId } : {}) });
		},
	},
	retryAfterMs: (error) => (error instanceof MattermostApiError && error.status === 429 ? (error.retryAfterMs ?? 1000) : null),
	describeError: describeMattermostError,
};
