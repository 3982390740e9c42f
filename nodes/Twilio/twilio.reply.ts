import type { ReplyRoute } from '../core/reply-route';
import { createTwilioClient, pairAddresses, sendTwilioMessage, type TwilioCredential } from './twilio.adapter';

export const twilioReplyRoute: ReplyRoute<TwilioCredential> = {
	channels: ['whatsapp', 'sms'],
	credentialType: 'clawgateTwilioApi',
	credentialName: 'Clawgate Twilio API',
	async send(credential, { envelope, text }) {
		// Answer from the number that received the message, on the same channel (WhatsApp or SMS).
		const { from, to } = pairAddresses(envelope.accountId, envelope.chat.id);
		const sent = await sendTwilioMessage(createTwilioClient(credential), { from, to, body: text });
		return { channel: envelope.channel, chatId: to, messageIds: sent.messageIds };
	},
};
