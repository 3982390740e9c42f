/**
 * Webex (messaging bots) as a Clawgate channel plugin: webhooks signed with a secret given on
 * registration (X-Spark-Signature), which carry only IDs, so each message is fetched with the bot
 * token; rooms of type direct and group; Markdown answers, in the thread of the message they
 * answer. Plain HTTPS, no SDK: five endpoints. https://developer.webex.com/docs/api/guides/webhooks
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import type { ChannelPlugin, InboundEvent, WebhookContext, WebhookRequest } from '../core/channel';
import { buildSessionId, commandForBot, type SessionScope } from '../core/envelope';
import { InvalidPayloadError } from '../core/errors';
import { listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { markdownRenderer, type TextRenderer } from '../core/text/renderer';
import { callWebex, createWebexClient, describeWebexError, webexBot, WebexApiError, type WebexBot, type WebexClient, type WebexCredential } from './webex.api';

/** A message is at most 7,439 bytes of text; with files, HTML and cards an answer stays far below this. */
const MESSAGE_FETCH_MAX_BYTES = 512 * 1024;
/** Webex waits only seconds for the answer to its webhook request. */
const MESSAGE_FETCH_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Webhooks: https://developer.webex.com/docs/api/guides/webhooks#handling-requests-from-webex

/**
 * The secret Webex signs this trigger's requests with: the credential's Webhook Secret when set,
 * else derived from the bot token and the trigger node, never stored: n8n does not create the
 * webhook again after a restart, so a secret kept elsewhere could be missing when a message comes.
 */
export function webexWebhookSecret(credential: WebexCredential, ids: Pick<WebhookContext, 'workflowId' | 'nodeId' | 'webhookId'>): string {
	const set = credential.webhookSecret?.trim();
	if (set) return set;
	return createHmac('sha256', credential.botToken?.trim() ?? '')
		.update(`clawgate-webex-webhook:${ids.workflowId}:${ids.nodeId}:${ids.webhookId}`)
		.digest('base64url');
}

function signatureOf(request: WebhookRequest): string | null {
	const value = request.headers['x-spark-signature'];
	const signature = Array.isArray(value) ? value[0] : value;
	// HMAC-SHA1 in hex: 40 characters.
	return typeof signature === 'string' && /^[0-9a-fA-F]{40}$/.test(signature) ? signature : null;
}

export function webexMissingSignature(request: WebhookRequest): string | null {
	if (signatureOf(request) === null) return 'The request carries no Webex signature (X-Spark-Signature).';
	return request.rawBody === undefined ? 'The request has no body to verify.' : null;
}

/** X-Spark-Signature: HMAC-SHA1 of the body, keyed with the webhook's secret, in hex. */
export function webexSignatureDisproof(request: WebhookRequest, secret: string): string | null {
	if (!secret || !request.rawBody) return 'The request carries no Webex signature (X-Spark-Signature).';
	const signature = signatureOf(request);
	if (signature === null) return 'The request carries no Webex signature (X-Spark-Signature).';
	const expected = createHmac('sha1', secret).update(request.rawBody).digest();
	const got = Buffer.from(signature, 'hex');
	if (got.length !== expected.length || !timingSafeEqual(got, expected)) return 'The request is not signed with this trigger\'s webhook secret (see the Clawgate Webex credential).';
	return null;
}

export function parseWebexWebhook(rawBody: Buffer | undefined): { resource: string; event: string; data: Record<string, unknown>; payload: Record<string, unknown> } {
	let payload: unknown;
	try {
		payload = JSON.parse(rawBody?.toString('utf8') ?? '');
	} catch {
		payload = undefined;
	}
	const body = recordOrNull(payload);
	const data = recordOrNull(body?.data);
	const resource = nonEmptyStringOrNull(body?.resource);
	const event = nonEmptyStringOrNull(body?.event);
	if (body === null || data === null || resource === null || event === null) {
		throw new InvalidPayloadError('The request body is not a Webex webhook (no "resource", "event" and "data"). This URL receives Webex webhooks.');
	}
	return { resource, event, data, payload: body };
}

/** Bots' addresses end in @webex.bot (older ones in @sparkbot.io). */
export const isWebexBotEmail = (email: string | null) => email !== null && /@(webex\.bot|sparkbot\.io)$/i.test(email);

/** The name a mention of the bot shows at the start of the text, from the message's HTML (bounded work on its start only). */
function leadingMentionName(html: string, botId: string): string | null {
	const match = /^\s*(?:<p>)?\s*<spark-mention\s[^>]{0,300}>([^<]{1,200})<\/spark-mention>/.exec(html.slice(0, 1000));
	if (!match || !match[0].includes(`data-object-id="${botId}"`)) return null;
	return match[1];
}

/** The text without a leading mention of the bot, so "Clawgate /new" is the command /new. */
function withoutLeadingMention(text: string, html: string, bot: WebexBot): string {
	for (const name of [leadingMentionName(html, bot.id), bot.displayName, bot.nickName]) {
		if (name && text.startsWith(name)) return text.slice(name.length).replace(/^[\s:,]+/, '');
	}
	return text;
}

export interface WebexReceiveOptions {
	sessionScope: SessionScope;
	now: number;
}

/** A fetched message as an envelope. Room types: direct → dm; group (or none given) → group, gated on mentions. */
export function webexMessageToInbound(message: Record<string, unknown>, webhook: Record<string, unknown>, bot: WebexBot, options: WebexReceiveOptions): InboundEvent {
	const data = recordOrNull(webhook.data) ?? {};
	const id = nonEmptyStringOrNull(message.id) ?? nonEmptyStringOrNull(data.id);
	const roomId = nonEmptyStringOrNull(message.roomId) ?? nonEmptyStringOrNull(data.roomId);
	const personId = nonEmptyStringOrNull(message.personId) ?? nonEmptyStringOrNull(data.personId);
	if (id === null || roomId === null || personId === null) throw new InvalidPayloadError('The Webex message has no id, roomId or personId.');
	const personEmail = nonEmptyStringOrNull(message.personEmail) ?? nonEmptyStringOrNull(data.personEmail);
	const dedupeKey = `messages:created:${id}`;
	const direct = (message.roomType ?? data.roomType) === 'direct';
	const chat = { id: roomId, type: direct ? ('dm' as const) : ('group' as const), threadId: nonEmptyStringOrNull(message.parentId), title: null };
	// mentionedGroups "all" addresses everyone; answering every announcement would spend the model budget.
	const mentionsBot = listOf(message.mentionedPeople).includes(bot.id);
	const rawText = stringOr(message.text, '');
	const text = mentionsBot ? withoutLeadingMention(rawText, stringOr(message.html, ''), bot) : rawText;
	const created = Date.parse(stringOr(message.created, stringOr(data.created, '')));
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'webex', accountId: bot.id, chat, senderId: personId, scope: options.sessionScope }),
			channel: 'webex',
			accountId: bot.id,
			event: 'message',
			chat,
			sender: { id: personId, name: null, username: personEmail, isBot: isWebexBotEmail(personEmail) },
			message: {
				id,
				text,
				replyToId: null,
				mentionsBot,
				command: commandForBot(text, null),
				// Files are fetched by their URL with the bot token.
				attachments: listOf(message.files).flatMap((url) => (typeof url === 'string' && url ? [{ kind: 'document' as const, id: url, mimeType: null, name: null, size: null }] : [])),
				timestamp: new Date(Number.isNaN(created) ? options.now : created).toISOString(),
			},
			// The webhook as Webex sent it and the message as the API gave it (markdown, html, attachments).
			raw: { webhook, message },
		},
		facts: { fromSelf: personId === bot.id },
		dedupeKey,
	};
}

/** Markdown as Webex shows it; Webex counts the limit in bytes of UTF-8. */
export const webexMarkdownRenderer: TextRenderer = {
	...markdownRenderer,
	name: 'Webex Markdown',
	measure: (formatted) => Buffer.byteLength(formatted, 'utf8'),
};

async function webhooksAt(client: WebexClient, url: string): Promise<string[]> {
	const list = await callWebex(client, 'GET', '/webhooks?max=100');
	return listOf(list.items).flatMap((item) => {
		const webhook = recordOrNull(item);
		const id = nonEmptyStringOrNull(webhook?.id);
		return webhook?.targetUrl === url && id !== null ? [id] : [];
	});
}

// ---------------------------------------------------------------------------------------------

export const webexPlugin: ChannelPlugin<WebexCredential, WebexClient> = {
	id: 'webex',
	name: 'Webex',
	channels: ['webex'],
	credentialType: 'clawgateWebexApi',
	capabilities: {
		// "The maximum message length is 7439 bytes." https://developer.webex.com/docs/api/v1/messages/create-a-message
		textLimit: 7439,
		captionLimit: null,
		renderer: webexMarkdownRenderer,
		// Webex allows 10 edits per message, too few for a streamed draft: answers come whole.
		edit: false,
		// No typing indicator for bots in the REST API.
		typing: false,
		threads: true,
		media: false,
		// A reply in Webex is a thread (parentId); answers stay in the message's thread instead.
		quote: 'never',
		inbound: ['webhook'],
	},
	createClient: createWebexClient,
	async accountOf(_credential, client) {
		return (await webexBot(client).catch(() => null))?.id ?? null;
	},
	webhook: {
		missingProof: (request) => webexMissingSignature(request),
		disproof: (request, credential, context) => webexSignatureDisproof(request, webexWebhookSecret(credential, context)),
		async receive(request, credential, context, settings) {
			const { resource, event, data, payload } = parseWebexWebhook(request.rawBody);
			const messageId = nonEmptyStringOrNull(data.id);
			if (messageId === null) throw new InvalidPayloadError('The Webex webhook has no data.id.');
			const skip = (skipped: string, fromSelf = false): InboundEvent => ({ envelope: null, skipped, facts: { fromSelf }, dedupeKey: `${resource}:${event}:${messageId}` });
			if (resource !== 'messages' || event !== 'created') return { kind: 'events', events: [skip(`"${resource}:${event}" webhooks are not new messages`)] };
			const client = createWebexClient(credential);
			const bot = await webexBot(client).catch((error: unknown) => {
				throw describeWebexError(error, 'identify the bot (GET /people/me)');
			});
			// Decided from the webhook alone, before spending a fetch on it: Webex sends the bot its own posts too.
			if (data.personId === bot.id) return { kind: 'events', events: [skip('the bot sent it itself', true)] };
			if (isWebexBotEmail(nonEmptyStringOrNull(data.personEmail)) && !settings.policy.includeBots) {
				return { kind: 'events', events: [skip('another bot sent it ("Include Other Bots" is off)')] };
			}
			let message: Record<string, unknown> | null;
			try {
				message = recordOrNull(await callWebex(client, 'GET', `/messages/${encodeURIComponent(messageId)}`, undefined, { timeoutMs: MESSAGE_FETCH_TIMEOUT_MS, maxBytes: MESSAGE_FETCH_MAX_BYTES }));
			} catch (error) {
				if (error instanceof WebexApiError && error.status === 404) return { kind: 'events', events: [skip('the message was deleted before it could be read')] };
				throw describeWebexError(error, 'read the message the webhook announced (GET /messages/{id})', 'Check that the credential\'s token is the bot\'s that created the webhook.');
			}
			return { kind: 'events', events: [webexMessageToInbound(message ?? {}, payload, bot, { sessionScope: settings.sessionScope, now: context.now })] };
		},
		acknowledgement: { status: 200, body: {} },
		async register(credential, url, context) {
			const client = createWebexClient(credential);
			const action = `register the webhook for ${url}`;
			try {
				// One webhook per URL: one left from an earlier activation would deliver every message twice.
				for (const id of await webhooksAt(client, url)) await callWebex(client, 'DELETE', `/webhooks/${encodeURIComponent(id)}`);
				await callWebex(client, 'POST', '/webhooks', { name: `Clawgate (n8n workflow ${context.workflowId})`, targetUrl: url, resource: 'messages', event: 'created', secret: webexWebhookSecret(credential, context) });
			} catch (error) {
				throw describeWebexError(error, action, 'Webex delivers only to a URL it can reach: set n8n\'s WEBHOOK_URL to this n8n\'s public address.');
			}
		},
		async unregister(credential, url) {
			const client = createWebexClient(credential);
			try {
				for (const id of await webhooksAt(client, url)) await callWebex(client, 'DELETE', `/webhooks/${encodeURIComponent(id)}`);
			} catch (error) {
				throw describeWebexError(error, `remove the webhook for ${url}`);
			}
		},
	},
	outbound: {
		async postMessage(client, { chatId, text, threadId }) {
			const sent = await callWebex(client, 'POST', '/messages', { roomId: chatId, markdown: text, ...(threadId ? { parentId: threadId } : {}) });
			const id = nonEmptyStringOrNull(sent.id);
			return id === null ? [] : [id];
		},
	},
	retryAfterMs: (error) => (error instanceof WebexApiError && error.status === 429 ? error.retryAfterMs : null),
	describeError: (error, action) => describeWebexError(error, action),
};
