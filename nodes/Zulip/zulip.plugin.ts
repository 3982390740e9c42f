/**
 * Zulip as a Clawgate channel plugin: message events into envelopes (a stream is the chat, its
 * topic the thread; direct messages are DMs), messages, edits and typing over the REST API with
 * HTTP Basic auth (bot email and API key). Messages arrive through an event queue (zulip.queue.ts).
 * https://zulip.com/api/
 */
import type { ChannelPlugin, InboundEvent } from '../core/channel';
import { buildSessionId, commandForBot, type SessionScope } from '../core/envelope';
import { HttpJsonError, requestJson, type HttpJsonRequest } from '../core/http-json';
import { finiteNumberOrNull, idOrNull, isoTimestampOrNull, isRecord, listOf, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError } from '../core/retry-after';
import { markdownRenderer } from '../core/text/renderer';

export interface ZulipCredential {
	baseUrl: string;
	email: string;
	apiKey: string;
}

export interface ZulipClient {
	base: string;
	authorization: string;
	me: { id: string; fullName: string } | null;
}

export function createZulipClient(credential: ZulipCredential): ZulipClient {
	const base = credential.baseUrl?.trim().replace(/\/+$/, '');
	if (!base) throw new HttpJsonError('The Clawgate Zulip credential has no Base URL. Set it to your Zulip organization, e.g. https://example.zulipchat.com.', null);
	const email = credential.email?.trim();
	const apiKey = credential.apiKey?.trim();
	if (!email || !apiKey) throw new HttpJsonError("The Clawgate Zulip credential needs the bot's email and API key (Zulip: Personal settings → Bots → the bot's card).", null);
	return { base, authorization: `Basic ${Buffer.from(`${email}:${apiKey}`).toString('base64')}`, me: null };
}

/** One REST call; parameters go as a form, as Zulip documents them (lists and objects JSON-encoded). */
export async function callZulip(client: ZulipClient, method: string, path: string, params: Record<string, unknown> = {}, options: Omit<HttpJsonRequest, 'method' | 'headers' | 'body'> = {}): Promise<Record<string, unknown>> {
	const form = new URLSearchParams(Object.entries(params).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)] as [string, string]));
	const inQuery = method === 'GET' || method === 'DELETE';
	const url = `${client.base}/api/v1${path}${inQuery && form.size > 0 ? `?${form}` : ''}`;
	return await requestJson(url, { ...options, method, headers: { authorization: client.authorization }, ...(inQuery ? {} : { body: form }) });
}

/** The bot itself: its user ID (the envelope's accountId) and name (how people mention it). */
export async function zulipBotOf(client: ZulipClient): Promise<{ id: string; fullName: string }> {
	if (client.me) return client.me;
	const me = await callZulip(client, 'GET', '/users/me');
	const id = idOrNull(me.user_id);
	if (!id) throw new HttpJsonError('Zulip did not say which user the API key belongs to (/users/me).', null);
	client.me = { id, fullName: stringOr(me.full_name, '') };
	return client.me;
}

export function describeZulipError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (!(error instanceof HttpJsonError)) return error instanceof Error ? error : new Error(String(error));
	if (error.status === null) {
		if (!error.networkCode) return error;
		return new HttpJsonError(`Could not reach Zulip to ${action} (${error.networkCode}). Check the Base URL in the Clawgate Zulip credential.`, null);
	}
	const said = `(${error.status}${error.body?.code ? ` ${String(error.body.code)}` : ''}: ${stringOr(error.body?.msg, error.message)})`;
	if (error.status === 401) return new HttpJsonError(`Zulip rejected the bot's email or API key trying to ${action} ${said}. Copy both from Personal settings → Bots into the Clawgate Zulip credential.`, 401, error.body);
	if (error.status === 429) return new HttpJsonError(`Zulip is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429, error.body);
	if (error.status >= 500) return new HttpJsonError(`Zulip failed to ${action} ${said}. Try again later.`, error.status, error.body);
	return new HttpJsonError(`Zulip refused to ${action} ${said}. Check the chat ID (a user ID for a DM, a stream ID with a topic) and that the bot may post there.`, error.status, error.body);
}

// ---------------------------------------------------------------------------------------------
// Inbound: the "message" event of https://zulip.com/api/get-events

export interface ZulipReceiveOptions {
	bot: { id: string; fullName: string };
	sessionScope: SessionScope;
}

/** "@**Bot** /new" → "/new": a leading mention of the bot is not part of what was said. */
function withoutLeadingMention(text: string, fullName: string): string {
	const mention = `@**${fullName}**`;
	return fullName && text.startsWith(mention) ? text.slice(mention.length).replace(/^[\s:,]+/, '') : text;
}

export function zulipEventToInbound(event: Record<string, unknown>, options: ZulipReceiveOptions): InboundEvent | null {
	if (event.type !== 'message') return null;
	const message = recordOrNull(event.message);
	const id = idOrNull(message?.id);
	const senderId = idOrNull(message?.sender_id);
	const dedupeKey = `message:${id ?? ''}`;
	const facts = { fromSelf: senderId === options.bot.id };
	if (!message || !id || !senderId) return { envelope: null, skipped: 'the message event has no message ID or sender', facts, dedupeKey };
	const flags = listOf(event.flags);
	const content = stringOr(message.content, '');
	const mentionsBot = flags.includes('mentioned') || (options.bot.fullName !== '' && content.includes(`@**${options.bot.fullName}**`));
	const text = withoutLeadingMention(content, options.bot.fullName);
	let chat: { id: string; type: 'dm' | 'group'; threadId: string | null; title: string | null };
	if (message.type === 'stream') {
		const streamId = idOrNull(message.stream_id);
		if (!streamId) return { envelope: null, skipped: 'the stream message names no stream', facts, dedupeKey };
		chat = { id: streamId, type: 'group', threadId: stringOr(message.topic ?? message.subject, ''), title: stringOr(message.display_recipient, null) };
	} else {
		// A direct message's chat is the other people in it: one person is a DM, more a group DM.
		const others = listOf(message.display_recipient)
			.map((recipient) => (isRecord(recipient) ? idOrNull(recipient.id) : null))
			.filter((recipientId): recipientId is string => recipientId !== null && recipientId !== options.bot.id)
			.sort((a, b) => Number(a) - Number(b));
		const people = others.length > 0 ? others : [senderId];
		chat = { id: people.join(','), type: people.length === 1 ? 'dm' : 'group', threadId: null, title: null };
	}
	const email = stringOr(message.sender_email, '');
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'zulip', accountId: options.bot.id, chat, senderId, scope: options.sessionScope }),
			channel: 'zulip',
			accountId: options.bot.id,
			event: 'message',
			chat,
			// Zulip names bot accounts <name>-bot@<realm>; its message events carry no bot flag.
			sender: { id: senderId, name: stringOr(message.sender_full_name, null), username: email || null, isBot: /-bot@/.test(email) },
			message: { id, text, replyToId: null, mentionsBot, command: commandForBot(text, null), attachments: [], timestamp: isoTimestampOrNull((finiteNumberOrNull(message.timestamp) ?? Number.NaN) * 1000) ?? new Date().toISOString() },
			raw: event,
		},
		facts,
		dedupeKey,
	};
}

// ---------------------------------------------------------------------------------------------
// Outbound

/** A stream message when there is a topic (the thread), else a direct message to the user IDs in the chat ID. */
function whereTo(chatId: string, threadId: string | null): Record<string, unknown> {
	if (threadId !== null) return { type: 'stream', to: /^\d+$/.test(chatId) ? Number(chatId) : chatId, topic: threadId };
	return { type: 'private', to: chatId.split(',').map((userId) => (/^\d+$/.test(userId.trim()) ? Number(userId.trim()) : userId.trim())) };
}

export const zulipPlugin: ChannelPlugin<ZulipCredential, ZulipClient> = {
	id: 'zulip',
	name: 'Zulip',
	channels: ['zulip'],
	credentialType: 'clawgateZulipApi',
	capabilities: {
		// "max_message_length" of a Zulip server is 10,000 characters by default.
		textLimit: 10_000,
		captionLimit: null,
		// Zulip renders Markdown itself.
		renderer: markdownRenderer,
		edit: true,
		typing: true,
		// server_typing_started_expiry_period_milliseconds (POST /register), 15 s by default.
		typingLastsMs: 15_000,
		threads: true,
		media: false,
		// Zulip has no reply-to; the topic keeps the conversation together.
		quote: 'never',
		inbound: ['listener'],
	},
	createClient: createZulipClient,
	accountOf: async (_credential, client) => (await zulipBotOf(client)).id,
	outbound: {
		async postMessage(client, { chatId, text, threadId }) {
			const sent = await callZulip(client, 'POST', '/messages', { ...whereTo(chatId, threadId), content: text });
			return [idOrNull(sent.id) ?? ''];
		},
		async editMessage(client, { messageId, text }) {
			await callZulip(client, 'PATCH', `/messages/${encodeURIComponent(messageId)}`, { content: text });
		},
		async sendTyping(client, { chatId, threadId }) {
			const where = whereTo(chatId, threadId);
			const params = where.type === 'stream' ? { type: 'stream', stream_id: where.to, topic: where.topic } : { type: 'direct', to: where.to };
			await callZulip(client, 'POST', '/typing', { op: 'start', ...params });
		},
	},
	retryAfterMs(error) {
		if (!(error instanceof HttpJsonError) || error.status !== 429) return null;
		const seconds = finiteNumberOrNull(error.body?.['retry-after']);
		return seconds !== null ? Math.ceil(seconds * 1000) : (error.retryAfterMs ?? 1_000);
	},
	describeError: describeZulipError,
};

