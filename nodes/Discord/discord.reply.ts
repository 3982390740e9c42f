import type { ReplyRoute } from '../core/reply-route';
import { createDiscordRest, sendDiscordText, type DiscordCredential } from './discord.adapter';

export const discordReplyRoute: ReplyRoute<DiscordCredential> = {
	channels: ['discord'],
	credentialType: 'clawgateDiscordApi',
	credentialName: 'Clawgate Discord API',
	async send(credential, { envelope, text, quote, inThread }) {
		// A thread is a channel of its own in Discord: posting there keeps the answer in it.
		const channelId = inThread && envelope.chat.threadId ? envelope.chat.threadId : envelope.chat.id;
		const sent = await sendDiscordText(await createDiscordRest(credential), {
			channelId,
			text,
			replyToMessageId: quote ? envelope.message.id : null,
		});
		return { channel: 'discord', chatId: channelId, messageIds: sent.messageIds };
	},
};
