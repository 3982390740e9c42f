/**
 * Send operations any channel has when its plugin implements them (`outbound.editMessage`,
 * `outbound.sendTyping`): Edit Message and Typing, reading the chat from the envelope when Chat
 * ID is empty, formatting through the plugin's renderer, errors in the plugin's words.
 */
import type { AnyChannelPlugin } from '../core/channel';
import type { Envelope } from '../core/envelope';
import { messagesFor } from '../core/outbound';
import { sentMessageProperty, stringParameter, type SendOperation } from './send-node';

type Target = { chatId: string; threadId: string | null };

/** Chat ID, or the chat (and thread) of the envelope the item carries. */
function targetOf(plugin: AnyChannelPlugin, chatId: string, json: Record<string, unknown>): Target {
	const envelope = json as unknown as Partial<Envelope>;
	if (chatId !== '' || !envelope.chat) return { chatId, threadId: null };
	return plugin.outbound.replyTarget?.(envelope as Envelope, true) ?? { chatId: envelope.chat.id, threadId: envelope.chat.threadId };
}

export function editOperation(plugin: AnyChannelPlugin): SendOperation<unknown> {
	const show = { show: { operation: ['editMessage'] } };
	return {
		name: 'Edit Message',
		value: 'editMessage',
		action: 'Edit a message',
		description: 'Replace the text of a message the bot sent',
		properties: [
			sentMessageProperty('Message ID', 'messageId', 'editMessage', 'The message to edit; it must be one the bot sent. By default the first message an earlier send node posted.'),
			{ displayName: 'New Text', name: 'newText', type: 'string', typeOptions: { rows: 4 }, default: '', required: true, displayOptions: show, description: 'The new text, in Markdown' },
		],
		async run({ client, itemIndex, json }) {
			const target = targetOf(plugin, stringParameter(this, 'chatId', itemIndex), json);
			const messageId = stringParameter(this, 'messageId', itemIndex);
			const [text] = messagesFor(plugin, String(this.getNodeParameter('newText', itemIndex, '') ?? ''));
			if (!messageId || !text) throw new Error('Set "Message ID" and "New Text" to edit a message.');
			await plugin.outbound.editMessage!(client, { ...target, messageId, text }).catch((error: unknown) => {
				throw plugin.describeError(error, `edit message ${messageId}`);
			});
			return { chatId: target.chatId, messageIds: [messageId] };
		},
	};
}

export function typingOperation(plugin: AnyChannelPlugin): SendOperation<unknown> {
	return {
		name: 'Typing',
		value: 'typing',
		action: 'Show the typing indicator',
		description: 'Show the bot as typing in the chat for a few seconds, or until it sends',
		properties: [],
		async run({ client, itemIndex, json }) {
			const target = targetOf(plugin, stringParameter(this, 'chatId', itemIndex), json);
			await plugin.outbound.sendTyping!(client, target).catch((error: unknown) => {
				throw plugin.describeError(error, 'show the typing indicator');
			});
			return { chatId: target.chatId, messageIds: [] };
		},
	};
}
