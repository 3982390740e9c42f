/**
 * The Viber REST Bot API as Clawgate calls it: one POST per method with the auth token, answers
 * read with their 64-bit message tokens kept exact, `status` != 0 turned into errors a user can act
 * on, and the bot's account looked up once per process. https://developers.viber.com/docs/api/rest-bot-api/
 */
import { createHmac } from 'node:crypto';

import { finiteNumberOrNull, idOrNull, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';

export const VIBER_PUBLIC_API = 'https://chatapi.viber.com';

/** send_message: "sender.name … Max 28 characters". */
export const SENDER_NAME_LIMIT = 28;

export interface ViberCredential {
	authToken: string;
	baseUrl?: string;
}

export interface ViberClient {
	apiBase: string;
	token: string;
	/** The sender name of this execution's messages (the Send node's option); empty means the bot's own name. */
	senderName?: string;
}

export interface ViberAccount {
	/** "pa:…": the bot's ID, the envelope's accountId. */
	id: string;
	name: string;
	/** The webhook URL Viber delivers to now ('' when none). */
	webhook: string;
}

/** A refused or failed call: `status` is Viber's own code (0 is success), `httpStatus` set when HTTP itself failed. */
export class ViberApiError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		readonly httpStatus: number | null = null,
	) {
		super(message);
		this.name = 'ViberApiError';
	}
}

export function createViberClient(credential: ViberCredential): ViberClient {
	const token = credential.authToken?.trim();
	if (!token) {
		throw new ViberApiError('The Clawgate Viber credential has no auth token. Copy it from your bot\'s "Edit Info" screen (Your app key) or the Viber Admin Panel.', null);
	}
	return { apiBase: (credential.baseUrl?.trim() || VIBER_PUBLIC_API).replace(/\/+$/, ''), token };
}

/**
 * Viber's message tokens are 64-bit numbers (4912661846655238145), beyond what a JS number holds
 * exactly: read as numbers, two tokens near each other would look the same. They are read as
 * strings instead. In valid JSON a `"message_token"` between unescaped quotes can only be a key.
 */
export function parseViberJson(text: string): unknown {
	return JSON.parse(text.replace(/"message_token"(\s*):(\s*)(-?\d+)/g, '"message_token"$1:$2"$3"'));
}

/** One REST call (all are POST with a JSON body); an answer whose `status` is not 0 becomes a ViberApiError. */
export async function callViber<T = Record<string, unknown>>(client: ViberClient, method: string, body: Record<string, unknown> = {}): Promise<T> {
	const response = await fetch(`${client.apiBase}/pa/${method}`, {
		method: 'POST',
		headers: { 'x-viber-auth-token': client.token, 'content-type': 'application/json' },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	const text = await response.text();
	let parsed: Record<string, unknown> | null = null;
	try {
		parsed = recordOrNull(parseViberJson(text));
	} catch {
		parsed = null;
	}
	if (!response.ok || parsed === null) throw new ViberApiError(parsed ? stringOr(parsed.status_message, response.statusText) : text.slice(0, 200) || response.statusText, null, response.status);
	// Viber answers HTTP 200 to everything it understood; `status` says whether it did it.
	const status = finiteNumberOrNull(parsed.status);
	if (status !== 0) throw new ViberApiError(stringOr(parsed.status_message, 'unknown error'), status ?? -1);
	return parsed as T;
}

// get_account_info answers are stable for a token; one call per process (a cache, not shared state).
const accounts = new Map<string, Promise<ViberAccount>>();

export async function fetchViberAccount(client: ViberClient): Promise<ViberAccount> {
	const info = await callViber(client, 'get_account_info');
	const id = nonEmptyStringOrNull(info.id);
	if (id === null) throw new ViberApiError('Viber answered get_account_info without the bot\'s ID.', null);
	return { id, name: stringOr(info.name, ''), webhook: stringOr(info.webhook, '') };
}

/** The bot's ID and name, looked up once per process and token. */
export function viberAccount(client: ViberClient): Promise<ViberAccount> {
	const key = createHmac('sha256', 'clawgate-viber-account').update(`${client.apiBase}\n${client.token}`).digest('hex');
	let account = accounts.get(key);
	if (!account) {
		account = fetchViberAccount(client);
		account.catch(() => accounts.delete(key));
		accounts.set(key, account);
	}
	return account;
}

const CHECK_TOKEN = 'Copy the auth token again from your bot\'s "Edit Info" screen (Your app key) into the Clawgate Viber credential.';

/** What each documented failure status means for the user (https://developers.viber.com/docs/api/rest-bot-api/#error-codes). */
const STATUS_ADVICE: Record<number, string> = {
	1: 'Viber needs a public https:// URL with a certificate from a trusted CA: set n8n\'s WEBHOOK_URL to this n8n\'s public address.',
	2: CHECK_TOKEN,
	5: 'The receiver is not a Viber user ID (as in the trigger\'s chat.id).',
	6: 'The person has not subscribed to the bot, or unsubscribed: Viber lets a bot write only to people who wrote to it and did not leave.',
	7: 'The bot account is blocked. Contact Viber support.',
	8: 'Viber does not know this bot account. Check the auth token in the Clawgate Viber credential.',
	9: 'The bot account is suspended. Contact Viber support.',
	10: 'No webhook is set for the bot: activate the workflow with the Clawgate Viber Trigger.',
	11: 'The person has no Viber app that can show this message.',
	12: 'Viber is rate-limiting the bot: it allows up to 100 messages to one person within an hour without a reply. Wait until the person writes again.',
	13: 'Viber does not support this API version.',
	23: 'The bot has used its free chatbot-initiated messages. Raise the plan with your Viber partner.',
	24: 'The bot account has no balance for paid messages. Top it up with your Viber partner.',
};

/** A failed call in words a user can act on (never carrying the token). */
export function describeViberError(error: unknown, action: string): Error {
	if (error instanceof ViberApiError && error.status !== null) {
		const said = `(status ${error.status}: ${error.message})`;
		if (error.status === 2) return new ViberApiError(`Viber rejected the auth token ${said} trying to ${action}. ${CHECK_TOKEN}`, 2);
		const advice = STATUS_ADVICE[error.status] ?? 'Check the chat ID (a Viber user ID, as in the trigger\'s chat.id) and the message.';
		return new ViberApiError(`Viber refused to ${action} ${said}. ${advice}`, error.status);
	}
	if (error instanceof ViberApiError && error.httpStatus !== null) {
		const side = error.httpStatus >= 500 ? 'a problem on Viber\'s side. Try again later.' : `Check the credential's Base URL (empty means ${VIBER_PUBLIC_API}).`;
		return new ViberApiError(`Viber failed to ${action} (HTTP ${error.httpStatus}): ${side}`, null, error.httpStatus);
	}
	if (error instanceof ViberApiError) return error;
	const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as Error)?.name ?? 'error';
	return new ViberApiError(`Could not reach the Viber API to ${action} (${code}). Check the network and the credential's Base URL (empty means ${VIBER_PUBLIC_API}).`, null);
}

/** The last segment of a URL's path ("report.pdf" of https://example.com/files/report.pdf?x=1). */
function fileNameOf(url: string): string {
	try {
		return decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '') || 'file';
	} catch {
		return 'file';
	}
}

/** send_message under this execution's sender: the Send node's Sender Name, else the bot's own name. */
export async function sendViberMessage(client: ViberClient, receiver: string, message: Record<string, unknown>): Promise<string[]> {
	const name = client.senderName?.trim() || (await viberAccount(client)).name;
	const sent = await callViber(client, 'send_message', { receiver, min_api_version: 1, sender: { name: name.slice(0, SENDER_NAME_LIMIT) }, ...message });
	const token = idOrNull(sent.message_token);
	return token === null ? [] : [token];
}

/** A picture (with its caption), video or file that Viber fetches from a URL; the Send node's Send Media operation. */
export async function sendViberMedia(
	client: ViberClient,
	media: { chatId: string; type: 'picture' | 'video' | 'file'; url: string; caption: string; fileName: string; size: number },
): Promise<string[]> {
	const message: Record<string, unknown> = { type: media.type, media: media.url };
	if (media.type === 'picture') message.text = media.caption.slice(0, 768);
	if (media.type !== 'picture') message.size = media.size;
	if (media.type === 'file') message.file_name = media.fileName || fileNameOf(media.url);
	return await sendViberMessage(client, media.chatId, message);
}
