/**
 * Signal through signal-cli-rest-api (bbernhard/signal-cli-rest-api) as a Clawgate channel
 * plugin: received envelopes into Clawgate envelopes, `POST /v2/send` with quotes, and the typing
 * indicator. Messages arrive over the API's WebSocket in json-rpc mode (signal.socket.ts) or by
 * polling its receive endpoint in normal or native mode (signal.poll.ts).
 * https://bbernhard.github.io/signal-cli-rest-api/
 */
import type { ChannelPlugin, InboundEvent } from '../core/channel';
import { buildSessionId, commandForBot, type AttachmentKind, type EnvelopeAttachment, type SessionScope } from '../core/envelope';
import { HttpJsonError, requestJson } from '../core/http-json';
import { finiteNumberOrNull, isoTimestampOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import { RateLimitedError } from '../core/retry-after';
import { plainRenderer } from '../core/text/renderer';

export interface SignalCredential {
	/** Where signal-cli-rest-api listens, e.g. http://localhost:8080. */
	baseUrl: string;
	/** The bot's phone number, registered or linked in signal-cli. */
	account: string;
}

export interface SignalClient {
	base: string;
	account: string;
}

/** Phone numbers are typed with spaces and dashes; Signal writes them +<digits>. Other IDs (group.…, UUIDs) stay as they are. */
export const normalizeSignalNumber = (id: string) => (/^\+?[\d\s\-().]+$/.test(id.trim()) ? id.replace(/[\s\-().]/g, '') : id.trim());

export function createSignalClient(credential: SignalCredential): SignalClient {
	const base = credential.baseUrl?.trim().replace(/\/+$/, '');
	if (!base) throw new HttpJsonError('The Clawgate Signal credential has no Base URL. Set it to your signal-cli-rest-api, e.g. http://localhost:8080.', null);
	const account = normalizeSignalNumber(credential.account ?? '');
	if (!/^\+\d{6,15}$/.test(account)) throw new HttpJsonError("The Clawgate Signal credential's Account must be the bot's phone number with country code, e.g. +4915112345678.", null);
	return { base, account };
}

export function describeSignalError(error: unknown, action: string): Error {
	if (error instanceof RateLimitedError) return error;
	if (!(error instanceof HttpJsonError)) return error instanceof Error ? error : new Error(String(error));
	if (error.status === null) {
		if (!error.networkCode) return error;
		return new HttpJsonError(`Could not reach signal-cli-rest-api to ${action} (${error.networkCode}). Check the Base URL in the Clawgate Signal credential and that the container runs.`, null);
	}
	const said = `(${error.status}: ${stringOr(error.body?.error, error.message)})`;
	if (error.status === 429 || /\b429\b|rate limit/i.test(stringOr(error.body?.error, ''))) return new HttpJsonError(`Signal is rate-limiting the bot and refused to ${action} ${said}. Send fewer messages or try again later.`, 429, error.body);
	if (/not registered|unknown account|no such account/i.test(stringOr(error.body?.error, ''))) {
		return new HttpJsonError(`signal-cli does not know the account and could not ${action} (${error.status}). Register or link the number in signal-cli and check the Account in the Clawgate Signal credential.`, error.status);
	}
	if (error.status >= 500) return new HttpJsonError(`signal-cli-rest-api failed to ${action} ${said}. Look at the container's log.`, error.status, error.body);
	return new HttpJsonError(`signal-cli-rest-api refused to ${action} ${said}. Check the chat ID (a phone number, or group.… for a group) and the Account in the Clawgate Signal credential.`, error.status, error.body);
}

// ---------------------------------------------------------------------------------------------
// Inbound: a received envelope, as the API forwards signal-cli's "receive" notification

export interface SignalReceiveOptions {
	account: string;
	sessionScope: SessionScope;
}

/** The API names a group by "group." + base64 of the internal ID that envelopes carry. */
export const signalGroupRecipient = (internalId: string) => `group.${Buffer.from(internalId, 'utf8').toString('base64')}`;

function attachmentsOf(dataMessage: Record<string, unknown>): EnvelopeAttachment[] {
	return listOf(dataMessage.attachments)
		.filter(isRecord)
		.map((attachment) => {
			const mimeType = stringOr(attachment.contentType, null);
			const family = mimeType?.split('/')[0] ?? '';
			const kind: AttachmentKind = family === 'image' || family === 'video' ? family : family === 'audio' ? (attachment.voiceNote === true ? 'voice' : 'audio') : 'document';
			return { kind, id: stringOr(attachment.id, ''), mimeType, name: stringOr(attachment.filename, null), size: finiteNumberOrNull(attachment.size) };
		});
}

/** Mentions stand in the text as U+FFFC; the bot's own is dropped (so "@Bot /new" is /new), others become @name. */
function textWithMentions(text: string, mentions: Record<string, unknown>[], isBot: (mention: Record<string, unknown>) => boolean): string {
	let result = text;
	for (const mention of [...mentions].sort((a, b) => (finiteNumberOrNull(b.start) ?? 0) - (finiteNumberOrNull(a.start) ?? 0))) {
		const start = finiteNumberOrNull(mention.start);
		const length = finiteNumberOrNull(mention.length) ?? 1;
		if (start === null || start < 0 || start > result.length) continue;
		const shown = isBot(mention) ? '' : `@${stringOr(mention.name, stringOr(mention.number, ''))}`;
		result = result.slice(0, start) + shown + result.slice(start + length);
	}
	return result.replace(/^[\s:,]+/, '');
}

/** The notification's params ({ envelope, account }), with or without the JSON-RPC frame (and subscription result) around it. */
export function signalParamsOf(frame: unknown): Record<string, unknown> | null {
	const record = recordOrNull(frame);
	const params = recordOrNull(record?.params) ?? record;
	return recordOrNull(params?.result) ?? params;
}

export function signalEnvelopeToInbound(frame: unknown, options: SignalReceiveOptions): InboundEvent | null {
	const envelope = recordOrNull(signalParamsOf(frame)?.envelope);
	if (!envelope) return null;
	const author = nonEmptyStringOrNull(envelope.sourceNumber) ?? nonEmptyStringOrNull(envelope.source) ?? nonEmptyStringOrNull(envelope.sourceUuid);
	const dataMessage = recordOrNull(envelope.dataMessage);
	const timestamp = finiteNumberOrNull(dataMessage?.timestamp) ?? finiteNumberOrNull(envelope.timestamp);
	// A Signal message is named by its author and its timestamp; quoting one needs both.
	const id = `${timestamp ?? ''}@${author ?? ''}`;
	const facts = { fromSelf: author === options.account, repliesToBot: false };
	const skip = (skipped: string): InboundEvent => ({ envelope: null, skipped, facts, dedupeKey: id });
	if (envelope.syncMessage) return skip("it is a copy of the account's own message from a linked device");
	if (!dataMessage) return skip('it is a receipt, typing or call notification, not a message');
	if (!author || timestamp === null) return skip('the envelope names no sender or timestamp');
	const mentions = listOf(dataMessage.mentions).filter(isRecord);
	const isBot = (mention: Record<string, unknown>) => normalizeSignalNumber(stringOr(mention.number, '')) === options.account;
	const text = textWithMentions(stringOr(dataMessage.message, ''), mentions, isBot);
	const attachments = attachmentsOf(dataMessage);
	if (!text && attachments.length === 0) return skip('the message has no text or attachment (a reaction, a deletion or a group update)');
	const quote = recordOrNull(dataMessage.quote);
	const quoteAuthor = nonEmptyStringOrNull(quote?.authorNumber) ?? nonEmptyStringOrNull(quote?.author);
	const groupId = nonEmptyStringOrNull(recordOrNull(dataMessage.groupInfo)?.groupId);
	const chat = { id: groupId ? signalGroupRecipient(groupId) : author, type: groupId ? ('group' as const) : ('dm' as const), threadId: null, title: stringOr(recordOrNull(dataMessage.groupInfo)?.groupName, null) };
	return {
		envelope: {
			sessionId: buildSessionId({ channel: 'signal', accountId: options.account, chat, senderId: author, scope: options.sessionScope }),
			channel: 'signal',
			accountId: options.account,
			event: 'message',
			chat,
			sender: { id: author, name: stringOr(envelope.sourceName, null), username: nonEmptyStringOrNull(envelope.sourceUuid), isBot: false },
			message: {
				id,
				text,
				replyToId: quote && quoteAuthor ? `${finiteNumberOrNull(quote.id) ?? ''}@${quoteAuthor}` : null,
				mentionsBot: mentions.some(isBot),
				command: commandForBot(text, null),
				attachments,
				timestamp: isoTimestampOrNull(timestamp) ?? new Date().toISOString(),
			},
			raw: signalParamsOf(frame),
		},
		facts: { ...facts, repliesToBot: quoteAuthor !== null && normalizeSignalNumber(quoteAuthor) === options.account },
		dedupeKey: id,
	};
}

// ---------------------------------------------------------------------------------------------

/** One API call; an array answer (the receive endpoint's) comes back as `items`. */
export async function callSignal(client: SignalClient, method: string, path: string, body?: unknown, request: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
	return await requestJson(`${client.base}${path}`, { method, body, ...request });
}

export const signalPlugin: ChannelPlugin<SignalCredential, SignalClient> = {
	id: 'signal',
	name: 'Signal',
	channels: ['signal'],
	credentialType: 'clawgateSignalApi',
	capabilities: {
		// Longer texts reach Signal as a "long text" attachment that older clients show as a file.
		textLimit: 2_000,
		captionLimit: 2_000,
		renderer: plainRenderer,
		edit: false,
		typing: true,
		// Signal clients drop a typing STARTED after 15 s without another.
		typingLastsMs: 15_000,
		threads: false,
		media: false,
		quote: 'groups',
		inbound: ['listener'],
	},
	createClient: createSignalClient,
	accountOf: async (_credential, client) => client.account,
	idReading: { separators: /[,;\n]+/, normalize: normalizeSignalNumber },
	outbound: {
		async postMessage(client, { chatId, text, replyToId }) {
			const [quoteTimestamp, quoteAuthor] = (replyToId ?? '').split('@');
			const quote = quoteAuthor && Number(quoteTimestamp) > 0 ? { quote_timestamp: Number(quoteTimestamp), quote_author: quoteAuthor } : {};
			const sent = await callSignal(client, 'POST', '/v2/send', { message: text, number: client.account, recipients: [chatId], ...quote });
			return [`${stringOr(sent.timestamp, String(finiteNumberOrNull(sent.timestamp) ?? ''))}@${client.account}`];
		},
		async sendTyping(client, { chatId }) {
			await callSignal(client, 'PUT', `/v1/typing-indicator/${encodeURIComponent(client.account)}`, { recipient: chatId });
		},
	},
	retryAfterMs(error) {
		if (!(error instanceof HttpJsonError) || error.status !== 429) return null;
		return error.retryAfterMs ?? 1_000;
	},
	describeError: describeSignalError,
};
