import type { ReplyRoute } from '../core/reply-route';
import { createSlackClient, sendSlackText, type SlackCredential } from './slack.adapter';

export const slackReplyRoute: ReplyRoute<SlackCredential> = {
	channels: ['slack'],
	credentialType: 'clawgateSlackApi',
	credentialName: 'Clawgate Slack API',
	async send(credential, { envelope, text, inThread }) {
		// Slack has no quoting; a thread is its way of answering one message.
		const sent = await sendSlackText(createSlackClient(credential), {
			channel: envelope.chat.id,
			text,
			threadTs: inThread ? envelope.chat.threadId : null,
		});
		return { channel: 'slack', chatId: sent.chatId, messageIds: sent.messageIds };
	},
};
