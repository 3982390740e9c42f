/**
 * Who receives a bot's updates. Telegram delivers them to one place: one webhook URL, or
 * whoever calls getUpdates. These helpers make that one place explicit: verify webhook
 * requests, register and remove this trigger's webhook, recognise a webhook that belongs to
 * someone else (and refuse to take it unless asked), and explain delivery problems.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Api } from 'grammy';
import type { WebhookInfo } from 'grammy/types';

import { describeTelegramError, grammySignal, TelegramApiError, usesOwnBotApiServer, type TelegramCredential } from './telegram.client';

/**
 * The `secret_token` Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`. Derived, never
 * stored: n8n does not re-run webhook creation on restart and static data lands late, so a
 * stored secret could be missing when the first update arrives. Without the bot token it
 * cannot be guessed; it changes when the bot, workflow, node or webhook changes.
 */
export function deriveWebhookSecret(token: string, ids: { workflowId: string; nodeId: string; webhookId: string }): string {
	return createHmac('sha256', token.trim())
		.update(`clawgate-telegram-webhook:${ids.workflowId}:${ids.nodeId}:${ids.webhookId}`)
		.digest('base64url');
}

/**
 * Whether a request carries a secret token at all. One without it cannot be Telegram's, and is
 * refused before the credential is read (each read costs n8n an expression sandbox).
 */
export function carriesSecretToken(headerValue: unknown): headerValue is string {
	return typeof headerValue === 'string' && headerValue !== '';
}

/** Constant-time comparison of the header Telegram sent with the secret we expect. */
export function isGenuineWebhookRequest(headerValue: unknown, expectedSecret: string): boolean {
	if (!carriesSecretToken(headerValue)) return false;
	const got = Buffer.from(headerValue);
	const expected = Buffer.from(expectedSecret);
	return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * Whether a registered webhook URL is this trigger node's: n8n gives every trigger node a
 * `<webhook base>/<webhookId>/webhook` URL, and the webhook ID is unique to the node, so the
 * same node is recognised even when n8n's WEBHOOK_URL changed since it registered.
 */
export function isWebhookOfNode(url: string, webhookId: string | undefined): boolean {
	if (!url || !webhookId) return false;
	try {
		return new URL(url).pathname.replace(/\/+$/, '').endsWith(`/${webhookId}/webhook`);
	} catch {
		return false;
	}
}

/**
 * Why Telegram could not deliver to this URL, or null when it can: the public Bot API only
 * delivers to https:// addresses. A self-hosted Bot API server (credential base URL set) also
 * delivers over http, which is how local setups and the test emulators work.
 */
export function webhookUrlProblem(url: string, credential: TelegramCredential): string | null {
	if (/^https:\/\//i.test(url) || usesOwnBotApiServer(credential)) return null;
	return (
		`Telegram only delivers webhooks to public HTTPS addresses, and this n8n's webhook URL is ${url}. ` +
		'Switch this trigger\'s "Mode" to "Long Polling" (works on any n8n, no public address needed), ' +
		'or make n8n reachable over HTTPS and set WEBHOOK_URL to that https:// address.'
	);
}

/** The bot is already delivering to someone else; taking it would silently cut them off. */
export class TelegramBotTakenError extends TelegramApiError {
	constructor(message: string) {
		super(message, 409);
		this.name = 'TelegramBotTakenError';
	}
}

function originOf(url: string): string | null {
	try {
		return new URL(url).origin;
	} catch {
		return null;
	}
}

/**
 * The refusal a user sees when the bot's webhook points elsewhere. `ownUrl` (this trigger's
 * webhook URL, when it has one) tells apart another workflow of the same n8n from another program.
 */
export function describeBotTaken(currentUrl: string, { ownUrl, purpose }: { ownUrl?: string; purpose: 'webhook' | 'polling' | 'test' }): string {
	const sameN8n = ownUrl !== undefined && originOf(ownUrl) !== null && originOf(ownUrl) === originOf(currentUrl) && /\/webhook\/[^/]+\/webhook\/?$/.test(currentUrl);
	const holder = sameN8n ? 'another active workflow of this n8n' : 'another workflow or program';
	const situation = `This bot's webhook already delivers to ${currentUrl} (${holder}). Telegram sends a bot's messages to one place only`;
	if (purpose === 'test') {
		return `${situation}, so listening here would take them away from it. To test here, deactivate the other workflow (or remove its webhook) first.`;
	}
	const action = purpose === 'webhook' ? 'point it at this workflow' : 'receive its messages here by long polling';
	return (
		`${situation}, so to ${action} the other one would silently stop receiving them. Deactivate the other workflow (or remove its webhook), ` +
		'or turn on "Take Over Webhook" in this trigger\'s options to move the bot here.'
	);
}

export async function readWebhookInfo(api: Api, signal?: AbortSignal): Promise<WebhookInfo> {
	try {
		return await api.getWebhookInfo(grammySignal(signal));
	} catch (error) {
		throw describeTelegramError(error, 'read the webhook registration (getWebhookInfo)');
	}
}

function sameUpdateTypes(registered: string[] | undefined, wanted: string[]): boolean {
	// Telegram omits allowed_updates when it is the default; a trigger always sets it.
	if (!registered) return false;
	return registered.length === wanted.length && wanted.every((type) => registered.includes(type));
}

/** Whether Telegram delivers exactly what this trigger wants to exactly this URL. */
export function isRegisteredAs(info: WebhookInfo, url: string, allowedUpdates: string[]): boolean {
	return info.url === url && sameUpdateTypes(info.allowed_updates, allowedUpdates);
}

export async function isWebhookRegistered(api: Api, url: string): Promise<boolean> {
	return (await readWebhookInfo(api)).url === url;
}

export async function registerWebhook(api: Api, url: string, secretToken: string, allowedUpdates: string[] = ['message']): Promise<void> {
	try {
		await api.setWebhook(url, { secret_token: secretToken, allowed_updates: allowedUpdates as never });
	} catch (error) {
		throw describeTelegramError(error, `register the webhook ${url} (setWebhook)`);
	}
}

/** Removes the bot's webhook only if it is ours, so deactivating never cuts off another workflow. */
export async function removeWebhook(api: Api, url: string): Promise<boolean> {
	if (!(await isWebhookRegistered(api, url))) return false;
	return deleteWebhook(api);
}

export async function deleteWebhook(api: Api): Promise<boolean> {
	try {
		// Pending updates stay with Telegram: whoever receives next (webhook or getUpdates) gets them.
		return await api.deleteWebhook({ drop_pending_updates: false });
	} catch (error) {
		throw describeTelegramError(error, 'remove the webhook (deleteWebhook)');
	}
}

export interface WebhookHealthCheck {
	/** A message a non-developer can act on, or null when Telegram reports no trouble. */
	warning: string | null;
	pendingUpdateCount: number;
}

/**
 * Reads Telegram's own report of how delivery to this URL goes. A delivery error while updates
 * wait means users' messages are not arriving: the URL is not reachable from the internet, its
 * certificate is refused, or n8n answers with an error. `previousPending` (from the last check)
 * shows whether the queue is growing.
 */
export function assessWebhookHealth(info: WebhookInfo, url: string, previousPending?: number): WebhookHealthCheck {
	const pending = info.pending_update_count ?? 0;
	if (info.url !== url || !info.last_error_message || pending === 0) return { warning: null, pendingUpdateCount: pending };
	const since = info.last_error_date ? ` (last attempt ${new Date(info.last_error_date * 1000).toISOString()})` : '';
	const growing = previousPending !== undefined && pending > previousPending ? `, up from ${previousPending} at the last check` : '';
	return {
		pendingUpdateCount: pending,
		warning:
			`Telegram cannot deliver messages to ${url}: "${info.last_error_message}"${since}. ${pending} message(s) are waiting${growing}. ` +
			'Make sure this address is reachable from the internet over HTTPS with a valid certificate (WEBHOOK_URL must be n8n\'s public https:// address), ' +
			'or switch the trigger\'s "Mode" to "Long Polling".',
	};
}
