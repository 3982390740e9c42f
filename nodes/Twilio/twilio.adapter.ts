/**
 * Everything Twilio-specific (WhatsApp and SMS, DESIGN.md "Layers"): the REST client from a
 * credential, pointed at any base URL through our own RequestClient; webhook signature checks;
 * inbound form parameters → envelope; what the trigger answers; and outbound messages split at
 * Twilio's 1,600-character limit. Node classes stay thin and call only this.
 */
import type twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';

import { buildSessionId, commandForBot, type AttachmentKind, type Envelope, type EnvelopeAttachment } from '../core/envelope';
import { decideAccess, DEFAULT_ACCESS_POLICY } from '../core/access-policy';
import { InvalidPayloadError } from '../core/errors';
import { formatAndChunk, plainRenderer } from '../core/text';
import { onFirstUse } from '../core/on-first-use';

export const TWILIO_PUBLIC_API = 'https://api.twilio.com';

/** What Twilio messaging can do, as data the shared delivery code reads (DESIGN.md "Layers"). */
export const twilioCapabilities = {
	channels: ['sms', 'whatsapp'],
	// Messages resource: "Body … up to 1,600 characters"; longer bodies fail with error 21617.
	// WhatsApp through Twilio has the same cap. https://www.twilio.com/docs/messaging/api/message-resource
	textLimit: 1600,
	formats: ['plain'],
	edit: false,
	typing: false,
	threads: false,
	// Media go out by public URL (MediaUrl), which Twilio fetches itself.
	media: true,
} as const;

/** The `whatsapp:` prefix Twilio puts on WhatsApp addresses in From/To, inbound and outbound. */
export const WHATSAPP_PREFIX = 'whatsapp:';

export interface TwilioCredential {
	accountSid: string;
	/** Signs webhooks (always) and authenticates API calls unless an API key is set. */
	authToken: string;
	/** An API key (SK…) and its secret, used for API calls instead of the auth token when both are set. */
	apiKeySid?: string;
	apiKeySecret?: string;
	baseUrl?: string;
}

// ---------------------------------------------------------------------------------------------
// Client

export interface RateLimitPolicy {
	/** Retries after 429s before the error is returned to the caller. */
	maxRetries: number;
	/** A longer Retry-After fails at once: an execution should not sit idle for minutes. */
	maxWaitSeconds: number;
}

/**
 * Twilio answers over-limit API calls with 429 (error 20429), sometimes with Retry-After. The
 * SDK's own autoRetry ignores that header (jittered backoff up to 3 s), so ours does the waiting.
 */
export const TWILIO_RATE_LIMIT: RateLimitPolicy = { maxRetries: 3, maxWaitSeconds: 30 };

/** The API root the credential points at, without a trailing slash; null means Twilio itself. */
export function apiBaseOf(credential: Pick<TwilioCredential, 'baseUrl'>): string | null {
	const base = credential.baseUrl?.trim().replace(/\/+$/, '');
	return base && base !== TWILIO_PUBLIC_API ? base : null;
}

/**
 * Where a request to a Twilio host really goes. The SDK builds absolute https://<product>.twilio.com
 * URLs (api., messaging., and regional/edge variants like api.dublin.ie1.twilio.com) and has no
 * base URL option, so with a base URL set every Twilio host is replaced by it, keeping the path.
 */
export function rewriteTwilioUrl(uri: string, apiBase: string | null): string {
	if (!apiBase) return uri;
	const url = new URL(uri);
	if (url.protocol !== 'https:' || !(url.hostname === 'twilio.com' || url.hostname.endsWith('.twilio.com'))) return uri;
	return `${apiBase}${url.pathname}${url.search}`;
}

function retryAfterSecondsOf(headers: unknown): number | null {
	const value = (headers as Record<string, unknown> | undefined)?.['retry-after'];
	const seconds = Number(Array.isArray(value) ? value[0] : value);
	return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/**
 * twilio, loaded on first use, not on import: a node file can be loaded without running (n8n
 * loads them all right after an install), Twilio used or not, and the SDK is a few hundred
 * modules. Only the three parts used are loaded (its index also loads TwiML builders, access
 * tokens and client-capability helpers: 56 modules more, none of which a chat reply needs); these
 * paths are the ones its index re-exports.
 */
const loadTwilio = onFirstUse(() => ({
	/* eslint-disable @typescript-eslint/no-require-imports */
	Twilio: require('twilio/lib/rest/Twilio') as typeof twilio.Twilio,
	RequestClient: require('twilio/lib/base/RequestClient') as typeof twilio.RequestClient,
	validateRequest: (require('twilio/lib/webhooks/webhooks') as typeof import('twilio/lib/webhooks/webhooks')).validateRequest,
	/* eslint-enable @typescript-eslint/no-require-imports */
}));

type ClawgateTwilioRequestClientClass = new (apiBase: string | null, rateLimit: RateLimitPolicy) => RequestClient;
let clawgateTwilioRequestClientClass: ClawgateTwilioRequestClientClass | null = null;

/**
 * The SDK's HTTP client with two additions: requests go to the credential's base URL, and a 429
 * is waited out (Retry-After, or 1, 2, 4 s without one) within the policy. A 429 left after the
 * retries is returned as it came, so the SDK raises its usual RestException (code 20429).
 * The class is defined on first use, as its base class comes with the SDK.
 */
function clawgateTwilioRequestClient(apiBase: string | null, rateLimit: RateLimitPolicy): RequestClient {
	clawgateTwilioRequestClientClass ??= class ClawgateTwilioRequestClient extends loadTwilio().RequestClient {
		constructor(
			private readonly apiBase: string | null,
			private readonly rateLimit: RateLimitPolicy,
		) {
			super({ timeout: 30_000 });
		}

		async request<TData>(opts: RequestClient.RequestOptions<TData>) {
			const routed = { ...opts, uri: rewriteTwilioUrl(opts.uri, this.apiBase) };
			for (let retries = 0; ; retries++) {
				const response = await super.request<TData>(routed);
				if (response.statusCode !== 429 || retries >= this.rateLimit.maxRetries) return response;
				const wait = retryAfterSecondsOf(response.headers) ?? 2 ** retries;
				if (wait > this.rateLimit.maxWaitSeconds) return response;
				await new Promise((resolve) => setTimeout(resolve, wait * 1000));
			}
		}
	};
	return new clawgateTwilioRequestClientClass(apiBase, rateLimit);
}

export type TwilioClient = twilio.Twilio;

/** Checks the credential's fields before the SDK sees them, with messages that say what to paste where. */
function assertUsableCredential(credential: TwilioCredential): void {
	const accountSid = credential.accountSid?.trim() ?? '';
	if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
		throw new TwilioApiError(
			'The Account SID in the Clawgate Twilio credential does not look like "AC" followed by 32 characters. Copy it from the Account Info box of the Twilio Console.',
		);
	}
}

/**
 * A Twilio REST client for the credential: with the API key when one is set, else with the
 * account's auth token. Every call goes through `ClawgateTwilioRequestClient`.
 */
export function createTwilioClient(credential: TwilioCredential, rateLimit: RateLimitPolicy = TWILIO_RATE_LIMIT): TwilioClient {
	assertUsableCredential(credential);
	const accountSid = credential.accountSid.trim();
	const httpClient = clawgateTwilioRequestClient(apiBaseOf(credential), rateLimit);
	const apiKeySid = credential.apiKeySid?.trim();
	const apiKeySecret = credential.apiKeySecret?.trim();
	const { Twilio } = loadTwilio();
	if (apiKeySid && apiKeySecret) return new Twilio(apiKeySid, apiKeySecret, { accountSid, httpClient });
	const authToken = credential.authToken?.trim();
	if (!authToken) {
		throw new TwilioApiError('The Clawgate Twilio credential has no Auth Token (and no API key). Copy the Auth Token from the Account Info box of the Twilio Console.');
	}
	return new Twilio(accountSid, authToken, { httpClient });
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A Twilio failure as a user can act on it; built from Twilio's code and message, never from the SDK or HTTP error objects (they hold the Authorization header). */
export class TwilioApiError extends Error {
	constructor(
		message: string,
		readonly code: number | null = null,
		readonly status: number | null = null,
	) {
		super(message);
		this.name = 'TwilioApiError';
	}
}

const CHECK_CREDENTIAL = 'Check the Account SID and Auth Token (or API Key SID and Secret) in the Clawgate Twilio credential.';

/** Advice for the errors a chat reply runs into, by Twilio error code (https://www.twilio.com/docs/api/errors). */
const ADVICE: Record<number, string> = {
	20003: CHECK_CREDENTIAL,
	20404: 'Twilio does not know this resource; check the Account SID in the Clawgate Twilio credential.',
	20429: 'Twilio is rate-limiting this account: send fewer messages or try again later.',
	21211: '"To" must be a phone number in E.164 format, like +14155550123 (whatsapp:+14155550123 for WhatsApp).',
	21212: '"From" must be one of your Twilio numbers in E.164 format, like +14155550123.',
	21408: 'Sending SMS to this country is turned off: enable it under Messaging → Settings → Geo permissions in the Twilio Console.',
	21602: 'The message is empty: set "Text" or a media URL.',
	21603: 'Set "From" to one of your Twilio numbers, or set a Messaging Service SID.',
	21604: 'Set "To" to the recipient (by default {{ $json.chat.id }}).',
	21606: '"From" must be an SMS-capable number of this Twilio account (by default the number the message came in on).',
	21608: 'A trial account can only send to numbers verified in the Twilio Console (Phone Numbers → Verified Caller IDs), or upgrade the account.',
	21610: 'The recipient replied STOP to this number; Twilio sends them nothing until they reply START.',
	21614: '"To" is not a mobile number, so it cannot receive SMS.',
	21617: 'The text is longer than Twilio\'s 1,600-character limit.',
	21620: 'Each media URL must be a public http(s) address Twilio can download.',
	21910: '"From" and "To" must be on the same channel: both whatsapp:+… for WhatsApp, or both plain numbers for SMS.',
	63007: '"From" is not a WhatsApp sender of this account: use the WhatsApp sandbox number (join it first) or an approved WhatsApp sender, as whatsapp:+14155238886.',
	63016: 'WhatsApp allows free-form replies only within 24 hours of the user\'s last message; later, only approved templates can be sent.',
};

interface TwilioErrorLike {
	status?: number;
	code?: number;
	message?: string;
	detail?: string;
	moreInfo?: string;
}

function isTwilioErrorResponse(error: unknown): error is TwilioErrorLike & { status: number } {
	if (!(error instanceof Error) || 'isAxiosError' in error) return false;
	return typeof (error as TwilioErrorLike).status === 'number';
}

/** Twilio's own wording, without the SDK's "[HTTP 400] Failed to execute request" filler. */
function twilioWording(error: TwilioErrorLike): string {
	const text = error.detail || error.message || '';
	return /^\[HTTP \d+\]/.test(text) ? '' : text.replace(/\.$/, '');
}

export function describeTwilioError(error: unknown, action: string): TwilioApiError {
	if (error instanceof TwilioApiError) return error;
	if (isTwilioErrorResponse(error)) {
		const code = typeof error.code === 'number' ? error.code : null;
		const wording = twilioWording(error);
		const what = [code, wording].filter((part) => part !== null && part !== '').join(': ') || `HTTP ${error.status}`;
		const advice = (code !== null ? ADVICE[code] : undefined) ?? (error.status === 401 ? CHECK_CREDENTIAL : null);
		const more = code !== null ? ` See https://www.twilio.com/docs/errors/${code}.` : '';
		return new TwilioApiError(`Twilio refused to ${action} (${what}).${advice ? ` ${advice}` : ''}${more}`, code, error.status);
	}
	const cause = error as { code?: string; message?: string } | null;
	if (cause && typeof cause.code === 'string' && /^E[A-Z]+/.test(cause.code)) {
		return new TwilioApiError(`Could not reach the Twilio API to ${action} (${cause.code}). Check the network and the credential's base URL (empty means ${TWILIO_PUBLIC_API}).`);
	}
	// Only the message: other fields of an HTTP error carry the request, Authorization header included.
	return new TwilioApiError(`Could not ${action}: ${cause?.message ?? String(error)}`);
}

// ---------------------------------------------------------------------------------------------
// Webhook signatures (https://www.twilio.com/docs/usage/webhooks/webhooks-security)

/** Form parameters as Twilio posts them; a repeated name keeps every value. */
export type TwilioParams = Record<string, string | string[]>;

export interface TwilioSignatureInput {
	authToken: string;
	/** The URL Twilio requested, exactly as configured on the number (scheme, host, path, query). */
	url: string;
	params: TwilioParams;
	/** The `X-Twilio-Signature` header. */
	signature: unknown;
}

export type TwilioSignatureCheck = { valid: true } | { valid: false; reason: string };

const UNSIGNED_REASON = 'The request carries no X-Twilio-Signature header.';

/** Whether there is a signature to check at all; this needs no credential. */
function carriesTwilioSignature(signature: unknown): signature is string {
	return typeof signature === 'string' && signature !== '';
}

/**
 * Checks `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the auth token, of the URL followed
 * by every POST parameter name and value sorted by name. The SDK's `validateRequest` also accepts
 * the URL with and without its default port, as Twilio signs either depending on the setup.
 */
export function validateTwilioSignature({ authToken, url, params, signature }: TwilioSignatureInput): TwilioSignatureCheck {
	if (!authToken?.trim()) return { valid: false, reason: 'The Clawgate Twilio credential has no Auth Token, so no request can be trusted.' };
	if (!carriesTwilioSignature(signature)) return { valid: false, reason: UNSIGNED_REASON };
	const { validateRequest } = loadTwilio();
	let valid: boolean;
	try {
		valid = validateRequest(authToken.trim(), signature, url, params);
	} catch {
		return { valid: false, reason: `The webhook URL to check the signature against is not a URL: ${url}` };
	}
	if (!valid) {
		return {
			valid: false,
			reason:
				'The X-Twilio-Signature does not match: the request was not signed with the Auth Token in the Clawgate Twilio credential, or Twilio called a different URL ' +
				'(behind a proxy, set the trigger\'s "Public URL" option to the exact URL pasted into Twilio).',
		};
	}
	return { valid: true };
}

// ---------------------------------------------------------------------------------------------
// Inbound messages

export type TwilioChannel = 'sms' | 'whatsapp';

export interface TwilioTriggerOptions {
	/** Channels to start the workflow for; empty or absent means both. */
	channels?: TwilioChannel[];
	/** When not empty, only these senders (E.164 numbers, with or without whatsapp:) are answered. */
	allowedSenders?: string[];
}

export interface TwilioNormalizeContext {
	options?: TwilioTriggerOptions;
	/** Milliseconds since the epoch: the message's timestamp, as Twilio's webhook has none. Defaults to the clock. */
	now?: number;
}

/** An inbound message webhook as Twilio posts it (only the fields Clawgate reads are named). */
export interface TwilioInboundParams {
	MessageSid: string;
	AccountSid: string;
	From: string;
	To: string;
	Body?: string;
	NumMedia?: string;
	ProfileName?: string;
	WaId?: string;
	SmsStatus?: string;
	MessageStatus?: string;
	[name: string]: string | string[] | undefined;
}

/** One form value as a string: the first of a repeated name; anything that is not text (a nested form field) reads as absent. */
function single(value: unknown): string | undefined {
	const first: unknown = Array.isArray(value) ? value[0] : value;
	return typeof first === 'string' ? first : undefined;
}

/** Why webhook parameters are not an inbound Twilio message (or status callback), or null when they are. */
export function whyNotATwilioWebhook(body: unknown): string | null {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The request body is not a Twilio webhook (expected form parameters).';
	const params = body as Record<string, string | string[] | undefined>;
	const fields = { MessageSid: single(params.MessageSid) ?? single(params.SmsMessageSid), AccountSid: single(params.AccountSid), From: single(params.From), To: single(params.To) };
	const missing = Object.entries(fields).find(([, value]) => typeof value !== 'string' || value === '');
	if (missing) return `The request is not a Twilio message webhook (no ${missing[0]}). Point the number's "A message comes in" webhook here, with HTTP POST.`;
	if (phoneNumberOf(fields.To!) === '' || phoneNumberOf(fields.From!) === '') return 'The request is not a Twilio message webhook (its From or To holds no phone number).';
	return null;
}

/** Checks that webhook parameters are an inbound Twilio message (or status callback) before anything reads them. */
export function parseTwilioParams(body: unknown): TwilioInboundParams {
	const problem = whyNotATwilioWebhook(body);
	if (problem !== null) throw new InvalidPayloadError(problem);
	const params = body as Record<string, string | string[] | undefined>;
	// The named fields as single strings (a repeated name would arrive as a list).
	return {
		...params,
		MessageSid: single(params.MessageSid) ?? single(params.SmsMessageSid),
		AccountSid: single(params.AccountSid),
		From: single(params.From),
		To: single(params.To),
	} as TwilioInboundParams;
}

/** `sms` or `whatsapp`, from the `whatsapp:` prefix Twilio puts on WhatsApp addresses. */
export function channelOfAddress(address: string): TwilioChannel {
	return address.toLowerCase().startsWith(WHATSAPP_PREFIX) ? 'whatsapp' : 'sms';
}

/** The phone number of an address: `whatsapp:` removed, and spaces, dashes, dots and brackets. */
export function phoneNumberOf(address: string): string {
	const bare = channelOfAddress(address) === 'whatsapp' ? address.slice(WHATSAPP_PREFIX.length) : address;
	return bare.replace(/[\s\-().]/g, '');
}

/** Reads "+1 415 555 0123, whatsapp:+4915…\n…" (commas, semicolons or new lines) into phone numbers. */
export function parseNumberList(value: unknown): string[] {
	if (Array.isArray(value)) return value.flatMap(parseNumberList);
	if (typeof value !== 'string') return [];
	return value
		.split(/[,;\n]+/)
		.map((entry) => phoneNumberOf(entry.trim()))
		.filter(Boolean);
}

/**
 * Why a webhook is nothing the trigger emits, for Twilio's own reasons, or null: status callbacks
 * (a Messaging Service or a send's StatusCallback pointed here), channels not accepted.
 */
export function whyTwilioWebhookIsNoMessage(params: TwilioInboundParams, channels: readonly TwilioChannel[] = []): string | null {
	const status = single(params.MessageStatus) ?? single(params.SmsStatus);
	if (params.MessageStatus !== undefined || (status !== undefined && status !== 'received')) {
		return `a status callback ("${status}"), not an incoming message`;
	}
	const channel = channelOfAddress(params.From);
	if (channels.length > 0 && !channels.includes(channel)) return `${channel} messages are not accepted (Channels option)`;
	return null;
}

/** Why a webhook starts no execution, or null: Twilio's own reasons, then Allowed Senders (the shared access policy). */
export function whyTwilioMessageIsSkipped(params: TwilioInboundParams, options: TwilioTriggerOptions = {}): string | null {
	const notMessage = whyTwilioWebhookIsNoMessage(params, options.channels);
	if (notMessage !== null) return notMessage;
	const access = decideAccess(twilioEnvelopeOf(params), { fromSelf: false, senderListedAs: phoneNumberOf(params.From) }, { ...DEFAULT_ACCESS_POLICY, allowedSenderIds: options.allowedSenders ?? [] });
	return access.allowed === true ? null : access.reason;
}

function attachmentKindOf(contentType: string | null): AttachmentKind {
	const [type, subtype = ''] = (contentType ?? '').toLowerCase().split(';')[0].trim().split('/');
	if (type === 'image' || type === 'audio' || type === 'video') return type;
	if (type === 'application' || type === 'text') return subtype === '' ? 'other' : 'document';
	return 'other';
}

/**
 * Media as `NumMedia` + `MediaUrl{N}` / `MediaContentType{N}`; the id is the media URL (Twilio's
 * API serves the file there, with the account's credentials). A WhatsApp location comes as
 * `Latitude`/`Longitude` (with `Label`/`Address` for a place) instead.
 */
export function twilioAttachmentsOf(params: TwilioInboundParams): EnvelopeAttachment[] {
	const attachments: EnvelopeAttachment[] = [];
	const count = Number.parseInt(single(params.NumMedia) ?? '0', 10);
	for (let index = 0; index < (Number.isFinite(count) ? Math.min(count, 10) : 0); index++) {
		const url = single(params[`MediaUrl${index}`]);
		if (!url) continue;
		const mimeType = single(params[`MediaContentType${index}`]) ?? null;
		attachments.push({ kind: attachmentKindOf(mimeType), id: url, mimeType, name: null, size: null });
	}
	const latitude = Number(single(params.Latitude));
	const longitude = Number(single(params.Longitude));
	if (params.Latitude !== undefined && params.Longitude !== undefined && Number.isFinite(latitude) && Number.isFinite(longitude)) {
		attachments.push({
			kind: 'location',
			id: `${latitude},${longitude}`,
			mimeType: null,
			name: single(params.Label) || single(params.Address) || null,
			size: null,
			location: { latitude, longitude },
		});
	}
	return attachments;
}

/**
 * Turns an inbound message webhook into the envelope, or null when the trigger does not emit it.
 *
 * - `channel`: `whatsapp` when From starts with `whatsapp:`, else `sms` (MMS included).
 * - `accountId`: the number that received the message, without `whatsapp:` (E.164, +14155238886),
 *   so one Twilio number is one account on both channels; `channel` keeps them apart.
 * - `chat.id` and `sender.id`: From as Twilio wrote it, `whatsapp:` kept, because that is the
 *   address the Messages API needs to answer on the same channel (Send's default To).
 * - `sessionId`: `<channel>:<receiving number>:dm:<From>`, stable per person per number per channel.
 */
export function normalizeTwilioMessage(body: unknown, { options, now = Date.now() }: TwilioNormalizeContext = {}): Envelope | null {
	const params = parseTwilioParams(body);
	if (whyTwilioMessageIsSkipped(params, options) !== null) return null;
	return twilioEnvelopeOf(params, now);
}

/** The envelope of an inbound message, whatever the trigger then decides about it. */
export function twilioEnvelopeOf(params: TwilioInboundParams, now = Date.now()): Envelope {
	const channel = channelOfAddress(params.From);
	const accountId = phoneNumberOf(params.To);
	const chat = { id: params.From, type: 'dm' as const, threadId: null, title: null };
	const text = single(params.Body) ?? '';
	return {
		sessionId: buildSessionId({ channel, accountId, chat, senderId: params.From }),
		channel,
		accountId,
		chat,
		sender: {
			id: params.From,
			// WhatsApp sends the person's profile name; SMS has no name.
			name: single(params.ProfileName) || null,
			username: null,
			isBot: false,
		},
		message: {
			id: params.MessageSid,
			text,
			// A WhatsApp reply to an earlier message names it (the "context" of the reply).
			replyToId: single(params.OriginalRepliedMessageSid) || null,
			mentionsBot: false,
			command: commandForBot(text, null),
			attachments: twilioAttachmentsOf(params),
			// Twilio's webhook carries no time; it is posted as the message arrives.
			timestamp: new Date(now).toISOString(),
		},
		// A plain copy: n8n parses form bodies into objects without a prototype.
		raw: { ...(params as object) },
	};
}

// ---------------------------------------------------------------------------------------------
// One webhook delivery: verify → deduplicate → normalise → answer

/** What Twilio gets for every message it should not retry: an empty TwiML document (no auto-reply). */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/** Why a delivery carries no X-Twilio-Signature, or null; needs no credential. */
export function twilioMissingSignature(signature: unknown): string | null {
	return carriesTwilioSignature(signature) ? null : UNSIGNED_REASON;
}

// ---------------------------------------------------------------------------------------------
// Outbound

/** The one place outbound Markdown becomes Twilio message bodies: plain text, at most 1,600 characters each. */
export function formatTwilioMessages(markdown: string, limit: number = twilioCapabilities.textLimit): string[] {
	return formatAndChunk(markdown, { renderer: plainRenderer, limit });
}

/**
 * From and To of one message on one channel. Twilio refuses a WhatsApp sender with an SMS
 * recipient and the reverse (21910), so when either address is a `whatsapp:` one the other gets
 * the prefix too: the envelope's accountId (+1415…) works as From when answering on WhatsApp.
 */
export function pairAddresses(from: string, to: string): { from: string; to: string } {
	const whatsapp = channelOfAddress(to) === 'whatsapp' || channelOfAddress(from) === 'whatsapp';
	const onChannel = (address: string) => (!address || !whatsapp || channelOfAddress(address) === 'whatsapp' ? address : `${WHATSAPP_PREFIX}${address}`);
	return { from: onChannel(from), to: onChannel(to) };
}

export interface SendTwilioMessageInput {
	/** Your Twilio number (E.164) or WhatsApp sender; may be empty when a Messaging Service SID is set. */
	from: string;
	/** The recipient: +14155550123 for SMS, whatsapp:+14155550123 for WhatsApp. */
	to: string;
	/** Markdown or plain text; converted to plain text and split at 1,600 characters. */
	body: string;
	/** Public URLs Twilio downloads and attaches to the first message. */
	mediaUrls?: string[];
	/** Twilio posts delivery status changes of every message here. */
	statusCallback?: string;
	/** Sends through a Messaging Service (MG…), which picks the sender; From is then left out. */
	messagingServiceSid?: string;
}

export interface SentTwilioMessages {
	chatId: string;
	from: string | null;
	channel: TwilioChannel;
	/** The SID (SM…/MM…) of every message created, in order. */
	messageIds: string[];
}

/**
 * Sends text (and media) with the Messages API: one message per 1,600-character piece, in order,
 * the media on the first. Returns the message SIDs; Twilio delivers them afterwards, and reports
 * delivery to the status callback.
 */
export async function sendTwilioMessage(client: TwilioClient, input: SendTwilioMessageInput): Promise<SentTwilioMessages> {
	const messagingServiceSid = input.messagingServiceSid?.trim() || undefined;
	const { from, to } = pairAddresses(messagingServiceSid ? '' : input.from.trim(), input.to.trim());
	if (!to) throw new TwilioApiError('There is no recipient. Set "To" (by default it reads {{ $json.chat.id }}, the person who wrote).');
	if (!from && !messagingServiceSid) {
		throw new TwilioApiError('There is no sender. Set "From" to your Twilio number (by default it reads {{ $json.accountId }}, the number the message came in on), or a Messaging Service SID.');
	}
	const mediaUrls = (input.mediaUrls ?? []).map((url) => url.trim()).filter(Boolean);
	const bodies = formatTwilioMessages(input.body ?? '');
	if (bodies.length === 0 && mediaUrls.length === 0) {
		throw new TwilioApiError('There is no text to send. Set "Text" (by default it reads the AI reply, {{ $json.reply.text }}) or a media URL.');
	}
	const statusCallback = input.statusCallback?.trim() || undefined;
	const messages = bodies.length > 0 ? bodies : [''];
	const messageIds: string[] = [];
	for (const [index, body] of messages.entries()) {
		const media = index === 0 && mediaUrls.length > 0 ? mediaUrls : undefined;
		const attempt = await client.messages
			.create({
				to,
				...(messagingServiceSid ? { messagingServiceSid } : { from }),
				...(body ? { body } : {}),
				...(media ? { mediaUrl: media } : {}),
				...(statusCallback ? { statusCallback } : {}),
			})
			.then(
				(sent) => ({ sid: sent.sid, error: null }),
				(error: unknown) => ({ sid: null, error }),
			);
		if (attempt.sid === null) {
			const described = describeTwilioError(attempt.error, `send the message to ${to}`);
			const sentSoFar = messageIds.length > 0 ? ` Stopped after sending ${messageIds.length} of ${messages.length} parts (${messageIds.join(', ')}).` : '';
			throw new TwilioApiError(`${described.message}${sentSoFar}`, described.code, described.status);
		}
		messageIds.push(attempt.sid);
	}
	return { chatId: to, from: from || null, channel: channelOfAddress(to), messageIds };
}

/**
 * Confirms that the account SID and auth token are accepted, by fetching the account with them.
 * The trigger checks the auth token itself (it signs webhooks) even when sends use an API key.
 */
export async function checkTwilioAuthToken(credential: TwilioCredential): Promise<void> {
	const client = createTwilioClient({ ...credential, apiKeySid: '', apiKeySecret: '' });
	try {
		await client.api.v2010.accounts(credential.accountSid.trim()).fetch();
	} catch (error) {
		throw describeTwilioError(error, 'confirm the Account SID and Auth Token');
	}
}
