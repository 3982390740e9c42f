import type { ReplyRoute } from '../core/reply-route';
import { createTelegramApi, type TelegramCredential } from './telegram.client';
import { sendTelegramText } from './telegram.outbound';

export const telegramReplyRoute: ReplyRoute<TelegramCredential> = {
	channels: ['telegram'],
	credentialType: 'clawgateTelegramApi',
	credentialName: 'Clawgate Telegram API',
	async send(credential, { envelope, text, quote, inThread }) {
		// Quoting helps in groups (who is answered); in a private chat it is noise.
		const sent = await sendTelegramText(createTelegramApi(credential), envelope.chat.id, text, {
			replyToMessageId: quote && envelope.chat.type !== 'dm' ? envelope.message.id : null,
			threadId: inThread ? envelope.chat.threadId : null,
		});
		return { channel: 'telegram', ...sent };
	},
};
