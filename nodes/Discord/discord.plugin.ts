/**
 * Discord as a Clawgate channel plugin, built from the Discord adapter. Messages arrive over the
 * gateway (a listener the trigger holds open), so there is no webhook part.
 */
import type { REST } from '@discordjs/rest';
import type { APIMessage } from 'discord-api-types/v10';

import type { ChannelPlugin } from '../core/channel';
import { markdownRenderer } from '../core/text/renderer';
import {
	allowedMentionsOf,
	botTokenOf,
	call,
	createDiscordRest,
	discordCapabilities,
	DiscordApiError,
	downloadDiscordAttachment,
	requireSnowflake,
	SUPPRESS_EMBEDS,
	type DiscordCredential,
} from './discord.adapter';

export const discordPlugin: ChannelPlugin<DiscordCredential, REST> = {
	id: 'discord',
	name: 'Discord',
	channels: ['discord'],
	credentialType: 'clawgateDiscordApi',
	capabilities: {
		textLimit: discordCapabilities.textLimit,
		captionLimit: discordCapabilities.textLimit,
		// Discord renders Markdown itself.
		renderer: markdownRenderer,
		maxLinesPerMessage: discordCapabilities.maxLinesPerMessage,
		edit: true,
		// Discord's per-channel message bucket: 5 requests per 5 s (edits included).
		editRate: { edits: 5, perMs: 5_000, per: 'chat' },
		typing: true,
		// Trigger Typing Indicator: "generally ... stop typing after 10 seconds".
		typingLastsMs: 10_000,
		threads: true,
		media: true,
		quote: 'always',
		inbound: ['listener'],
	},
	createClient: (credential) => createDiscordRest(credential),
	// A bot token starts with the bot's user ID in base64, which is the envelope's accountId.
	accountOf: async (credential) => Buffer.from(botTokenOf(credential).split('.')[0] ?? '', 'base64').toString('utf8') || null,
	outbound: {
		async postMessage(rest, { chatId, text, replyToId, linkPreviews }) {
			const channel = requireSnowflake(chatId, 'channel ID', 'Channel ID');
			const body = {
				content: text,
				// An AI answer pings nobody.
				allowed_mentions: allowedMentionsOf(false),
				...(linkPreviews ? {} : { flags: SUPPRESS_EMBEDS }),
				// If the message answered was deleted meanwhile, send anyway.
				...(replyToId ? { message_reference: { message_id: replyToId, fail_if_not_exists: false } } : {}),
			};
			const sent = await call<APIMessage>(`send to channel ${channel}`, () => rest.post(`/channels/${channel}/messages`, { body }));
			return [sent.id];
		},
		async editMessage(rest, { chatId, messageId, text, linkPreviews }) {
			const flags = linkPreviews === undefined ? {} : { flags: linkPreviews ? 0 : SUPPRESS_EMBEDS };
			await call(`edit message ${messageId}`, () => rest.patch(`/channels/${chatId}/messages/${messageId}`, { body: { content: text, allowed_mentions: allowedMentionsOf(false), ...flags } }));
		},
		async deleteMessage(rest, { chatId, messageId }) {
			await call(`delete message ${messageId}`, () => rest.delete(`/channels/${chatId}/messages/${messageId}`));
		},
		async sendTyping(rest, { chatId, signal }) {
			await call(`show typing in channel ${chatId}`, () => rest.post(`/channels/${chatId}/typing`, { signal }));
		},
		// A thread is a channel of its own in Discord: posting there keeps the answer in it.
		replyTarget: (envelope, inThread) => ({ chatId: inThread && envelope.chat.threadId ? envelope.chat.threadId : envelope.chat.id, threadId: null }),
	},
	downloadAttachment: ({ credential }, attachment, limits) => downloadDiscordAttachment(credential, attachment, limits),
	// @discordjs/rest waits out Discord's 429s itself (per bucket), within the wait the adapter allows.
	retryAfterMs: () => null,
	describeError: (error) => (error instanceof Error ? error : new DiscordApiError(String(error))),
};
