/**
 * Telegram as a Clawgate channel plugin: what the shared webhook pipeline, send pipeline and
 * Reply need, built from the Telegram adapter. Long polling and the webhook's registration (with
 * its take-over rules) stay in TelegramTrigger.runtime.ts, since only Telegram has them.
 */
import type { Api } from 'grammy';
import type { Update } from 'grammy/types';

import type { ChannelPlugin, WebhookContext } from '../core/channel';
import {
	botIdFromToken,
	carriesSecretToken,
	createTelegramApi,
	deriveWebhookSecret,
	grammySignal,
	describeTelegramError,
	doneIfNotModified,
	downloadTelegramFile,
	isGenuineWebhookRequest,
	normalizeTelegramUpdate,
	parseTelegramUpdate,
	placement,
	resolveBotUsername,
	telegramAccessFacts,
	telegramCapabilities,
	whyTelegramUpdateIsNoMessage,
	withPlainTextRetry,
	type TelegramBot,
	type TelegramCredential,
} from './telegram.adapter';
import { telegramHtmlRenderer } from './telegram.format';

const NOT_SIGNED = 'This request does not carry the secret token Telegram was given for this webhook.';

/** The secret Telegram sends with every delivery to this webhook, derived so it survives restarts without being stored. */
export function telegramWebhookSecret(credential: TelegramCredential, context: Pick<WebhookContext, 'workflowId' | 'nodeId' | 'webhookId'>): string {
	return deriveWebhookSecret(credential.accessToken, context);
}

export async function telegramBotOf(api: Api, credential: TelegramCredential): Promise<TelegramBot> {
	return { id: botIdFromToken(credential.accessToken), username: await resolveBotUsername(api, credential.accessToken) };
}

export const telegramPlugin: ChannelPlugin<TelegramCredential, Api> = {
	id: 'telegram',
	name: 'Telegram',
	channels: ['telegram'],
	credentialType: 'clawgateTelegramApi',
	capabilities: {
		textLimit: telegramCapabilities.textLimit,
		captionLimit: telegramCapabilities.captionLimit,
		renderer: telegramHtmlRenderer,
		edit: true,
		// Bot FAQ: "avoid sending more than one message per second" in a chat, "no more than 20 messages per minute" in a group; edits count alike.
		editRate: { edits: 1, perMs: 1_000, per: 'chat', groups: { edits: 20, perMs: 60_000 } },
		typing: true,
		// sendChatAction: "The status is set for 5 seconds or less".
		typingLastsMs: 5_000,
		threads: true,
		media: true,
		// Quoting helps in groups (who is answered); in a private chat it is noise.
		quote: 'groups',
		inbound: ['webhook', 'listener'],
	},
	createClient: (credential) => createTelegramApi(credential),
	accountOf: async (credential) => botIdFromToken(credential.accessToken),
	webhook: {
		missingProof: (request) => (carriesSecretToken(request.headers['x-telegram-bot-api-secret-token']) ? null : NOT_SIGNED),
		disproof: (request, credential, context) =>
			isGenuineWebhookRequest(request.headers['x-telegram-bot-api-secret-token'], telegramWebhookSecret(credential, context)) ? null : NOT_SIGNED,
		async receive(request, credential, context, settings) {
			const update: Update = parseTelegramUpdate(request.body);
			const api = createTelegramApi(credential);
			const bot = await telegramBotOf(api, credential);
			const envelope = normalizeTelegramUpdate(update, { bot, sessionScope: settings.sessionScope });
			const rules = { editedMessages: context.options.emitEditedMessages === true, callbackQueries: context.options.emitCallbackQueries === true };
			const skipped = envelope ? whyTelegramUpdateIsNoMessage(update, envelope, rules) : 'it is not a message, an edit or a button press';
			if (update.callback_query) {
				// Stops the spinner on the button; the workflow's answer (if any) comes as a message.
				await api.answerCallbackQuery(update.callback_query.id).catch(() => undefined);
			}
			return {
				kind: 'events',
				events: [
					{
						envelope: skipped === null ? envelope : null,
						skipped: skipped ?? undefined,
						facts: envelope ? telegramAccessFacts(update, envelope, bot) : { fromSelf: false },
						dedupeKey: String(update.update_id),
					},
				],
			};
		},
		// Anything but a 2xx makes Telegram deliver the update again.
		acknowledgement: { status: 200, body: 'OK', contentType: 'text/plain' },
	},
	outbound: {
		async postMessage(api, { chatId, text, replyToId, threadId, linkPreviews }) {
			const sent = await withPlainTextRetry({ text, parseMode: 'HTML' }, (body, parseMode) =>
				api.sendMessage(chatId, body, {
					...(parseMode ? { parse_mode: parseMode } : {}),
					...placement({ replyToMessageId: replyToId, threadId }, true),
					link_preview_options: { is_disabled: !linkPreviews },
				}),
			);
			return [String(sent.message_id)];
		},
		async editMessage(api, { chatId, messageId, text, linkPreviews }) {
			const previews = linkPreviews === undefined ? {} : { link_preview_options: { is_disabled: !linkPreviews } };
			const options = (parseMode: 'HTML' | undefined) => ({ ...(parseMode ? { parse_mode: parseMode } : {}), ...previews });
			await withPlainTextRetry({ text, parseMode: 'HTML' }, (body, parseMode) => doneIfNotModified(api.editMessageText(chatId, Number(messageId), body, options(parseMode))));
		},
		async deleteMessage(api, { chatId, messageId }) {
			await api.deleteMessage(chatId, Number(messageId));
		},
		async sendTyping(api, { chatId, threadId, signal }) {
			await api.sendChatAction(chatId, 'typing', placement({ threadId }, false), grammySignal(signal));
		},
	},
	// getFile, then the file URL (which holds the token: never in an error) within the limits.
	downloadAttachment: ({ client, credential }, attachment, limits) => downloadTelegramFile(client, credential, attachment, limits),
	// The client waits out Telegram's flood control itself (waitOutFloodControl), for every call.
	retryAfterMs: () => null,
	describeError: (error, action) => describeTelegramError(error, action),
};
