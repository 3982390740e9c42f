/**
 * Nextcloud Talk as a Clawgate channel plugin, through Talk's webhook bots (Talk 17.1+): the
 * server posts each chat message of the conversations the bot is enabled in, as an Activity
 * Streams 2.0 `Create` of a `Note`, signed with the bot's shared secret; the bot answers through
 * the bot API, signing its message the same way. https://nextcloud-talk.readthedocs.io/en/latest/bots/
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import type { ChannelPlugin, InboundEvent, WebhookRequest } from '../core/channel';
import { buildSessionId, commandForBot, type ChatType, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { idOrNull, isRecord, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError } from '../core/retry-after';
import { markdownRenderer } from '../core/text/renderer';
import { baseUrlOf, networkCodeOf, requestJson, retryAfterHeaderMs } from '../shared/http-json';

export interface NextcloudTalkCredential {
	/** The Nextcloud server, e.g. https://cloud.example.com (required: Nextcloud is self-hosted). */
	baseUrl: string;
	/** The shared secret given to `occ talk:bot:install`. */
	botSecret: string;
	/** The bot's name as installed: how people mention it ("@Clawgate"). */
	botName?: string;
	/** A Nextcloud user and app password that may read the conversations, to tell one-to-one conversations from groups. */
	apiUser?: string;
	appPassword?: string;
}

export interface NextcloudTalkClient {
	baseUrl: string;
	secret: string;
}

export class NextcloudTalkApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		readonly retryAfterMs: number | null = null,
	) {
		super(message);
		this.name = 'NextcloudTalkApiError';
	}
}

const OCS_HEADERS = { 'ocs-apirequest': 'true', accept: 'application/json' };

export function createNextcloudTalkClient(credential: NextcloudTalkCredential): NextcloudTalkClient {
	const baseUrl = baseUrlOf(credential.baseUrl);
	if (baseUrl === null) throw new NextcloudTalkApiError('The Clawgate Nextcloud Talk credential has no Base URL. Set it to your Nextcloud address, e.g. https://cloud.example.com.', null);
	const secret = credential.botSecret?.trim();
	if (!secret) throw new NextcloudTalkApiError('The Clawgate Nextcloud Talk credential has no bot secret: paste the secret you gave to occ talk:bot:install.', null);
	return { baseUrl, secret };
}

/** Talk's signature: hex HMAC-SHA256 over the random string and then the body (or the message sent), keyed with the bot secret. */
export function signTalk(secret: string, random: string, content: string | Buffer): string {
	return createHmac('sha256', secret).update(random).update(content).digest('hex');
}

export function describeNextcloudTalkError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (error instanceof NextcloudTalkApiError && error.status !== null) {
		const said = `(${error.status}${error.message ? `: ${error.message}` : ''})`;
		if (error.status === 401) {
			return new NextcloudTalkApiError(
				`Nextcloud Talk did not accept the bot's signature trying to ${action} ${said}. Check that the bot secret in the Clawgate Nextcloud Talk credential is the one given to occ talk:bot:install.`,
				401,
			);
		}
		if (error.status === 429) return new NextcloudTalkApiError(`Nextcloud Talk is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429);
		if (error.status === 400) return new NextcloudTalkApiError(`Nextcloud Talk refused to ${action} ${said}: the bot is not enabled in that conversation (occ talk:bot:setup), or the conversation token is wrong.`, 400);
		if (error.status >= 500) return new NextcloudTalkApiError(`Nextcloud Talk failed to ${action} ${said}: a problem on the Nextcloud server. Try again later.`, error.status);
		return new NextcloudTalkApiError(`Nextcloud Talk refused to ${action} ${said}. Check the conversation token and the credential.`, error.status);
	}
	if (error instanceof NextcloudTalkApiError) return error;
	return new NextcloudTalkApiError(`Could not reach Nextcloud to ${action} (${networkCodeOf(error)}). Check the network and the credential's Base URL.`, null);
}

// ---------------------------------------------------------------------------------------------
// Proof: X-Nextcloud-Talk-Signature over X-Nextcloud-Talk-Random + body

function headerOf(request: WebhookRequest, name: string): string | null {
	const value = request.headers[name];
	const first = Array.isArray(value) ? value[0] : value;
	return typeof first === 'string' ? first : null;
}

function proofOf(request: WebhookRequest): { random: string; signature: string } | null {
	const signature = headerOf(request, 'x-nextcloud-talk-signature');
	const random = headerOf(request, 'x-nextcloud-talk-random');
	// Talk sends 64 characters of each; a random string is bounded so hashing it costs nothing.
	if (signature === null || !/^[A-Fa-f0-9]{64}$/.test(signature) || random === null || random.length < 16 || random.length > 256) return null;
	return { random, signature: signature.toLowerCase() };
}

export function nextcloudTalkDisproof(request: WebhookRequest, secret: string | undefined): string | null {
	const key = secret?.trim();
	if (!key) return 'The Clawgate Nextcloud Talk credential has no bot secret, so no request can be trusted.';
	const proof = proofOf(request);
	if (proof === null || request.rawBody === undefined) return 'The request carries no Nextcloud Talk signature.';
	const expected = Buffer.from(signTalk(key, proof.random, request.rawBody), 'hex');
	const got = Buffer.from(proof.signature, 'hex');
	return got.length === expected.length && timingSafeEqual(got, expected) ? null : 'The request is not signed with the bot secret in the Clawgate Nextcloud Talk credential.';
}

// ---------------------------------------------------------------------------------------------
// Inbound

export function nextcloudTalkAccountId(credential: Pick<NextcloudTalkCredential, 'baseUrl'>): string {
	// Talk's payloads name no bot ID; the server is the account, so Reply picks a credential of the same Nextcloud.
	return (baseUrlOf(credential.baseUrl) ?? '').replace(/^https?:\/\//, '');
}

interface RichMessage {
	text: string;
	mentionsBot: boolean;
}

/**
 * `{"message":"hi {mention-user1}","parameters":{...}}` as people read it: placeholders become
 * "@Name"; a leading mention of the bot is taken off, so "@Clawgate /new" is the command /new.
 */
export function readTalkContent(content: string, botName: string | null): RichMessage {
	let parsed: unknown;
	try {
		parsed = JSON.parse(content);
	} catch {
		parsed = undefined;
	}
	const message = stringOr(recordOrNull(parsed)?.message, null);
	if (message === null) throw new InvalidPayloadError('The Nextcloud Talk message content is not JSON with a "message".');
	const parameters = recordOrNull(recordOrNull(parsed)?.parameters) ?? {};
	const bot = botName?.toLowerCase() ?? null;
	let mentionsBot = false;
	const text = message.replace(/\{([A-Za-z0-9_-]{1,64})\}/g, (placeholder, key: string) => {
		const parameter = recordOrNull(parameters[key]);
		if (parameter === null) return placeholder;
		const name = stringOr(parameter.name, '') || stringOr(parameter.id, '');
		if (key.startsWith('mention-') && bot !== null && [stringOr(parameter.name, ''), stringOr(parameter.id, '')].some((value) => value.toLowerCase() === bot)) mentionsBot = true;
		return key.startsWith('mention-') ? `@${name}` : name;
	});
	if (bot === null) return { text, mentionsBot };
	// A bot installed without a Nextcloud account is mentioned as plain text: "@Clawgate".
	const typed = `@${bot}`;
	const lower = text.toLowerCase();
	const at = lower.indexOf(typed);
	const standalone = at >= 0 && !/[\p{L}\p{N}_-]/u.test(lower.charAt(at + typed.length));
	mentionsBot ||= standalone;
	const leading = standalone && text.slice(0, at).trim() === '';
	return { text: leading ? text.slice(at + typed.length).replace(/^[\s:,]+/, '') : text, mentionsBot };
}

export interface TalkReceiveOptions {
	accountId: string;
	botName: string | null;
	sessionScope: SessionScope;
	/** The conversation's kind, when the credential may look it up. */
	chatType: ChatType;
	now: number;
}

export function parseTalkActivity(rawBody: Buffer | undefined): Record<string, unknown> {
	let payload: unknown;
	try {
		payload = JSON.parse(rawBody?.toString('utf8') ?? '');
	} catch {
		payload = undefined;
	}
	if (!isRecord(payload) || typeof payload.type !== 'string') throw new InvalidPayloadError('The request body is not a Nextcloud Talk bot activity (JSON with a "type").');
	return payload;
}

export function talkActivityToInbound(activity: Record<string, unknown>, options: TalkReceiveOptions): InboundEvent {
	const object = recordOrNull(activity.object);
	const target = recordOrNull(activity.target);
	const actor = recordOrNull(activity.actor);
	const conversation = nonEmptyStringOrNull(target?.id);
	const messageId = idOrNull(object?.id);
	const dedupeKey = `${conversation ?? ''}:${stringOr(activity.type, '')}:${messageId ?? ''}`;
	const facts = { fromSelf: false };
	// Join and Leave (the bot enabled or removed), reactions: no message to answer.
	if (activity.type !== 'Create' || object?.type !== 'Note') return { envelope: null, skipped: `"${String(activity.type)}" activities are not messages`, facts, dedupeKey };
	const actorId = nonEmptyStringOrNull(actor?.id);
	if (conversation === null || messageId === null || actorId === null) throw new InvalidPayloadError('The Nextcloud Talk message has no conversation (target.id), message ID (object.id) or author (actor.id).');
	const { text, mentionsBot } = readTalkContent(stringOr(object.content, ''), options.botName);
	// Bots post as "Application" actors; this bot's own messages carry its name.
	const isBot = actor?.type === 'Application';
	const actorName = nonEmptyStringOrNull(actor?.name);
	const chat = { id: conversation, type: options.chatType, threadId: null, title: nonEmptyStringOrNull(target?.name) };
	const inReplyTo = recordOrNull(object.inReplyTo);
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'nextcloudtalk', accountId: options.accountId, chat, senderId: actorId, scope: options.sessionScope }),
			channel: 'nextcloudtalk',
			accountId: options.accountId,
			event: 'message',
			chat,
			// actor.id is "users/<user ID>", "guests/<ID>", "federated_users/<cloud ID>" or "bots/<ID>".
			sender: { id: actorId, name: actorName, username: actorId.startsWith('users/') ? actorId.slice('users/'.length) : null, isBot },
			message: { id: messageId, text, replyToId: idOrNull(inReplyTo?.id), mentionsBot, command: commandForBot(text, null), attachments: [], timestamp: new Date(options.now).toISOString() },
			raw: activity,
		},
		facts: { fromSelf: isBot && options.botName !== null && actorName?.toLowerCase() === options.botName.toLowerCase() },
		dedupeKey,
	};
}

// Conversation types of Talk's room API: 1 is one-to-one (https://nextcloud-talk.readthedocs.io/en/latest/constants/).
const ONE_TO_ONE = 1;
const roomTypes = new Map<string, { type: ChatType; until: number }>();

/** One-to-one or group, asked of the room API with the credential's API user; group when it cannot be asked. */
export async function talkChatTypeOf(credential: NextcloudTalkCredential, conversation: string, now: number): Promise<ChatType> {
	const baseUrl = baseUrlOf(credential.baseUrl);
	if (baseUrl === null || !credential.apiUser?.trim() || !credential.appPassword?.trim()) return 'group';
	const key = `${baseUrl}|${conversation}`;
	const known = roomTypes.get(key);
	if (known && known.until > now) return known.type;
	const authorization = `Basic ${Buffer.from(`${credential.apiUser.trim()}:${credential.appPassword.trim()}`).toString('base64')}`;
	const answer = await requestJson(`${baseUrl}/ocs/v2.php/apps/spreed/api/v4/room/${encodeURIComponent(conversation)}`, { headers: { ...OCS_HEADERS, authorization } }).catch(() => null);
	const data = recordOrNull(recordOrNull(recordOrNull(answer?.body)?.ocs)?.data);
	if (!answer?.ok || data === null) return 'group';
	const type: ChatType = data.type === ONE_TO_ONE ? 'dm' : 'group';
	// A conversation's kind never changes; an hour bounds the map for servers with many conversations.
	if (roomTypes.size > 10_000) roomTypes.clear();
	roomTypes.set(key, { type, until: now + 3_600_000 });
	return type;
}

// ---------------------------------------------------------------------------------------------

export const nextcloudTalkPlugin: ChannelPlugin<NextcloudTalkCredential, NextcloudTalkClient> = {
	id: 'nextcloudTalk',
	name: 'Nextcloud Talk',
	channels: ['nextcloudtalk'],
	credentialType: 'clawgateNextcloudTalkApi',
	capabilities: {
		// Talk's chat messages hold up to 32,000 characters (ChatManager::MAX_CHAT_LENGTH).
		textLimit: 32_000,
		captionLimit: null,
		// Talk renders Markdown in chat messages.
		renderer: markdownRenderer,
		edit: false,
		typing: false,
		threads: false,
		media: false,
		quote: 'groups',
		inbound: ['webhook'],
	},
	createClient: createNextcloudTalkClient,
	accountOf: async (credential) => nextcloudTalkAccountId(credential) || null,
	webhook: {
		missingProof: (request) => (proofOf(request) === null ? 'The request carries no Nextcloud Talk signature (X-Nextcloud-Talk-Signature and X-Nextcloud-Talk-Random).' : null),
		disproof: (request, credential) => nextcloudTalkDisproof(request, credential.botSecret),
		async receive(request, credential, context, settings) {
			const activity = parseTalkActivity(request.rawBody);
			const conversation = nonEmptyStringOrNull(recordOrNull(activity.target)?.id);
			const chatType = activity.type === 'Create' && conversation !== null ? await talkChatTypeOf(credential, conversation, context.now) : 'group';
			const options = { accountId: nextcloudTalkAccountId(credential), botName: nonEmptyStringOrNull(credential.botName?.trim()), sessionScope: settings.sessionScope, chatType, now: context.now };
			return { kind: 'events', events: [talkActivityToInbound(activity, options)] };
		},
		acknowledgement: { status: 200, body: {} },
		async checkCredential(credential) {
			createNextcloudTalkClient(credential);
		},
	},
	outbound: {
		async postMessage(client, { chatId, text, replyToId }) {
			// Talk checks the signature over the message alone; the random string makes each one unique.
			const random = randomBytes(32).toString('hex');
			// Talk stores the reference ID with the message, and answers the post without the message's own ID.
			const referenceId = randomBytes(32).toString('hex');
			const reply = replyToId !== null && /^\d+$/.test(replyToId) ? { replyTo: Number(replyToId) } : {};
			const answer = await requestJson(`${client.baseUrl}/ocs/v2.php/apps/spreed/api/v1/bot/${encodeURIComponent(chatId)}/message`, {
				method: 'POST',
				headers: {
					...OCS_HEADERS,
					'content-type': 'application/json',
					'x-nextcloud-talk-bot-random': random,
					'x-nextcloud-talk-bot-signature': signTalk(client.secret, random, text),
				},
				body: JSON.stringify({ message: text, referenceId, ...reply }),
			});
			if (!answer.ok) {
				const meta = recordOrNull(recordOrNull(recordOrNull(answer.body)?.ocs)?.meta);
				throw new NextcloudTalkApiError(stringOr(meta?.message, '') || stringOr(recordOrNull(answer.body)?.message, ''), answer.status, retryAfterHeaderMs(answer.headers));
			}
			return [referenceId];
		},
	},
	retryAfterMs: (error) => (error instanceof NextcloudTalkApiError && error.status === 429 ? (error.retryAfterMs ?? 2000) : null),
	describeError: describeNextcloudTalkError,
};
