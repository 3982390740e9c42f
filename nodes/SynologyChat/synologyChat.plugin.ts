/**
 * Synology Chat as a Clawgate channel plugin. Synology Chat runs on the user's own NAS, so the
 * credential always names the server. Messages arrive as form posts: from a chatbot (people's
 * direct messages to the bot) or from an outgoing webhook of a channel (messages that start with a
 * trigger word). Each post carries the integration's token, which is the only proof of origin.
 * Answers go out through the same chatbot (to a person) or the channel's incoming webhook.
 * https://kb.synology.com/en-global/DSM/help/Chat/chat_integration
 */
import { timingSafeEqual } from 'node:crypto';

import type { ChannelPlugin, InboundEvent, WebhookRequest } from '../core/channel';
import { buildSessionId, commandForBot, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { idOrNull, isoTimestampOrNull, isRecord, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError } from '../core/retry-after';
import { plainRenderer } from '../core/text/renderer';
import { baseUrlOf, networkCodeOf, requestJson, retryAfterHeaderMs } from '../shared/http-json';

export interface SynologyChatCredential {
	/** The DSM address, e.g. https://nas.example.com:5001 (required: Synology Chat is self-hosted). */
	baseUrl: string;
	/** The chatbot's token: it signs the bot's posts to n8n and sends direct messages. */
	botToken?: string;
	/** The outgoing webhook's token: it signs a channel's posts to n8n. */
	outgoingToken?: string;
	/** The incoming webhook's token: it posts answers into that webhook's channel. */
	incomingToken?: string;
}

export interface SynologyChatClient {
	baseUrl: string;
	botToken: string | null;
	incomingToken: string | null;
}

/** Channels are named `channel:<id>` so that a send knows to use the incoming webhook; a person is their user ID. */
export const CHANNEL_PREFIX = 'channel:';

export class SynologyChatApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		/** Synology's error code (`error.code`), when it answered with one. */
		readonly code: number | null = null,
		readonly retryAfterMs: number | null = null,
	) {
		super(message);
		this.name = 'SynologyChatApiError';
	}
}

const CREDENTIAL_ADVICE = 'Check the tokens in the Clawgate Synology Chat credential (Synology Chat → your profile photo → Integration).';

export function createSynologyChatClient(credential: SynologyChatCredential): SynologyChatClient {
	const baseUrl = baseUrlOf(credential.baseUrl);
	if (baseUrl === null) throw new SynologyChatApiError('The Clawgate Synology Chat credential has no Base URL. Set it to the address of your Synology NAS, e.g. https://nas.example.com:5001.', null);
	return { baseUrl, botToken: nonEmptyStringOrNull(credential.botToken?.trim()), incomingToken: nonEmptyStringOrNull(credential.incomingToken?.trim()) };
}

// Synology's code for posting too fast ("create post too frequently"); it names no wait.
const POSTING_TOO_FAST = 411;

/** One call of the SYNO.Chat.External API: the payload as a form field, as Synology documents it. */
async function callSynologyChat(client: SynologyChatClient, method: 'chatbot' | 'incoming', token: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
	// Synology's own examples quote the token ("token=%22...%22"); both forms are accepted.
	const query = new URLSearchParams({ api: 'SYNO.Chat.External', method, version: '2', token: `"${token}"` });
	const answer = await requestJson(`${client.baseUrl}/webapi/entry.cgi?${query.toString()}`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
	});
	const body = recordOrNull(answer.body) ?? {};
	if (answer.ok && body.success === true) return recordOrNull(body.data) ?? {};
	const error = recordOrNull(body.error);
	const code = typeof error?.code === 'number' ? error.code : null;
	const said = stringOr(error?.errors, '') || stringOr(body.message, '') || `HTTP ${answer.status}`;
	throw new SynologyChatApiError(said, answer.status, code, retryAfterHeaderMs(answer.headers));
}

export function describeSynologyChatError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (error instanceof SynologyChatApiError && error.status !== null) {
		const said = `(${error.code !== null ? `error ${error.code}: ` : `${error.status}: `}${error.message})`;
		if (error.status === 429 || error.code === POSTING_TOO_FAST) return new SynologyChatApiError(`Synology Chat is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429);
		// 401/403 from a proxy, or Synology's "invalid token" codes (404 for a removed integration, 105/120 for a wrong token).
		if ([401, 403].includes(error.status) || [105, 120, 404].includes(error.code ?? 0)) {
			return new SynologyChatApiError(`Synology Chat rejected the token trying to ${action} ${said}. ${CREDENTIAL_ADVICE}`, error.status, error.code);
		}
		if (error.status >= 500) return new SynologyChatApiError(`Synology Chat failed to ${action} ${said}: a problem on the NAS. Try again later.`, error.status, error.code);
		return new SynologyChatApiError(`Synology Chat refused to ${action} ${said}. Check the chat ID (a user ID, or channel:<ID> for a channel) and the credential.`, error.status, error.code);
	}
	if (error instanceof SynologyChatApiError) return error;
	return new SynologyChatApiError(`Could not reach Synology Chat to ${action} (${networkCodeOf(error)}). Check the network and the credential's Base URL.`, null);
}

// ---------------------------------------------------------------------------------------------
// Proof: the integration's token in the form body, compared in constant time

/** The `token` field of the form body, when there is one. */
function tokenOf(request: WebhookRequest): string | null {
	const body = recordOrNull(request.body);
	return typeof body?.token === 'string' && body.token.length > 0 && body.token.length <= 256 ? body.token : null;
}

function sameToken(got: string, expected: string | undefined): boolean {
	const want = expected?.trim();
	if (!want) return false;
	const [a, b] = [Buffer.from(got), Buffer.from(want)];
	return a.length === b.length && timingSafeEqual(a, b);
}

/** Which integration posted: the chatbot (a direct message) or the outgoing webhook (a channel), or null for neither. */
export function synologyOriginOf(request: WebhookRequest, credential: SynologyChatCredential): 'chatbot' | 'outgoing' | null {
	const token = tokenOf(request);
	if (token === null) return null;
	// Both comparisons run, so the time taken says nothing about which token came close.
	const [bot, outgoing] = [sameToken(token, credential.botToken), sameToken(token, credential.outgoingToken)];
	return bot ? 'chatbot' : outgoing ? 'outgoing' : null;
}

// ---------------------------------------------------------------------------------------------
// Inbound

/** Synology sends milliseconds; seconds are read too, since some versions sent them. */
function timestampOf(value: unknown, now: number): string {
	const number = Number(value);
	if (!Number.isFinite(number) || number <= 0) return new Date(now).toISOString();
	return isoTimestampOrNull(number < 1e12 ? number * 1000 : number) ?? new Date(now).toISOString();
}

export function synologyChatAccountId(credential: Pick<SynologyChatCredential, 'baseUrl'>): string {
	// Synology's posts name no bot; the NAS is the account, so Reply picks the credential of the same NAS.
	const url = baseUrlOf(credential.baseUrl);
	return url === null ? '' : url.replace(/^https?:\/\//, '');
}

export function synologyPostToInbound(
	fields: Record<string, unknown>,
	origin: 'chatbot' | 'outgoing',
	accountId: string,
	options: { sessionScope: SessionScope; now: number },
): InboundEvent {
	const userId = idOrNull(fields.user_id);
	const postId = idOrNull(fields.post_id);
	if (userId === null || postId === null) throw new InvalidPayloadError('The Synology Chat post has no user_id or post_id.');
	const channelId = idOrNull(fields.channel_id);
	if (origin === 'outgoing' && channelId === null) throw new InvalidPayloadError('The Synology Chat outgoing webhook post has no channel_id.');
	const chat =
		origin === 'chatbot'
			? { id: userId, type: 'dm' as const, threadId: null, title: null }
			: { id: `${CHANNEL_PREFIX}${channelId}`, type: 'group' as const, threadId: null, title: nonEmptyStringOrNull(fields.channel_name) };
	const trigger = nonEmptyStringOrNull(fields.trigger_word);
	let text = stringOr(fields.text, '');
	// An outgoing webhook with trigger words posts only messages that start with one: that is how a channel addresses the bot.
	if (trigger !== null && text.startsWith(trigger)) text = text.slice(trigger.length).replace(/^[\s:,]+/, '');
	const raw = { ...fields };
	delete raw.token;
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'synologychat', accountId, chat, senderId: userId, scope: options.sessionScope }),
			channel: 'synologychat',
			accountId,
			event: 'message',
			chat,
			sender: { id: userId, name: null, username: nonEmptyStringOrNull(fields.username), isBot: false },
			message: { id: postId, text, replyToId: null, mentionsBot: trigger !== null, command: commandForBot(text, null), attachments: [], timestamp: timestampOf(fields.timestamp, options.now) },
			// The post as Synology sent it, without its token.
			raw,
		},
		facts: { fromSelf: false },
		dedupeKey: `${chat.id}:${postId}`,
	};
}

// ---------------------------------------------------------------------------------------------

export const synologyChatPlugin: ChannelPlugin<SynologyChatCredential, SynologyChatClient> = {
	id: 'synologyChat',
	name: 'Synology Chat',
	channels: ['synologychat'],
	credentialType: 'clawgateSynologyChatApi',
	capabilities: {
		// Synology documents no limit; 2,000 characters keep a chat message readable on a phone.
		textLimit: 2000,
		captionLimit: null,
		// Synology Chat shows text as written (links in <url|text> only), so Markdown becomes plain text.
		renderer: plainRenderer,
		edit: false,
		typing: false,
		threads: false,
		media: false,
		quote: 'never',
		inbound: ['webhook'],
	},
	createClient: createSynologyChatClient,
	accountOf: async (credential) => synologyChatAccountId(credential) || null,
	webhook: {
		missingProof: (request) => (tokenOf(request) === null ? 'The request carries no Synology Chat token (the "token" form field).' : null),
		disproof(request, credential) {
			if (!credential.botToken?.trim() && !credential.outgoingToken?.trim()) return 'The Clawgate Synology Chat credential has neither a bot token nor an outgoing webhook token, so no request can be trusted.';
			return synologyOriginOf(request, credential) === null ? 'The token of the request is neither the bot token nor the outgoing webhook token of the Clawgate Synology Chat credential.' : null;
		},
		async receive(request, credential, context, settings) {
			const fields = recordOrNull(request.body);
			if (fields === null || !isRecord(fields)) throw new InvalidPayloadError('The request body is not a Synology Chat form post.');
			const origin = synologyOriginOf(request, credential)!;
			const event = synologyPostToInbound(fields, origin, synologyChatAccountId(credential), { sessionScope: settings.sessionScope, now: context.now });
			return { kind: 'events', events: [event] };
		},
		// An empty JSON object: Synology would post a `text` field of the answer into the chat.
		acknowledgement: { status: 200, body: {} },
		async checkCredential(credential) {
			createSynologyChatClient(credential);
			if (!credential.botToken?.trim() && !credential.outgoingToken?.trim()) {
				throw new SynologyChatApiError('The Clawgate Synology Chat credential needs the bot token (for direct messages) or the outgoing webhook token (for a channel).', null);
			}
		},
	},
	outbound: {
		async postMessage(client, { chatId, text }) {
			if (chatId.startsWith(CHANNEL_PREFIX)) {
				if (client.incomingToken === null) throw new SynologyChatApiError(`Synology Chat posts to a channel through an incoming webhook: set the incoming webhook token in the Clawgate Synology Chat credential to answer in ${chatId}.`, null);
				// An incoming webhook posts into the one channel it was made for.
				await callSynologyChat(client, 'incoming', client.incomingToken, { text });
				return [];
			}
			if (client.botToken === null) throw new SynologyChatApiError('Synology Chat sends direct messages through the chatbot: set the bot token in the Clawgate Synology Chat credential.', null);
			const userId = Number(chatId);
			if (!Number.isSafeInteger(userId)) throw new SynologyChatApiError(`"${chatId}" is no Synology Chat user ID (a number, as the trigger's chat.id shows it) nor channel:<ID>.`, null);
			const data = await callSynologyChat(client, 'chatbot', client.botToken, { text, user_ids: [userId] });
			// {"succ":{"user_id_post_map":{"4":"12884901891"}}}: the post made for each user.
			const posts = recordOrNull(recordOrNull(data.succ)?.user_id_post_map) ?? {};
			return Object.values(posts).flatMap((id) => idOrNull(id) ?? []);
		},
	},
	retryAfterMs(error) {
		if (!(error instanceof SynologyChatApiError)) return null;
		if (error.status === 429) return error.retryAfterMs ?? 1000;
		return error.code === POSTING_TOO_FAST ? 1000 : null;
	},
	describeError: describeSynologyChatError,
};
