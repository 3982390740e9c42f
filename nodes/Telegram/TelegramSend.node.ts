import {
	NodeApiError,
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type JsonObject,
} from 'n8n-workflow';

import { createTelegramApi, sendTelegramText, type TelegramCredential } from './telegram.adapter';

export class TelegramSend implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Telegram Send',
		name: 'telegramSend',
		icon: 'file:telegram.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{ "to chat " + $parameter["chatId"] }}',
		description: 'Sends a message with your Telegram bot; by default answers the chat the item came from',
		defaults: { name: 'Telegram Send' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [{ name: 'clawgateTelegramApi', required: true }],
		properties: [
			{
				displayName: 'Chat ID',
				name: 'chatId',
				type: 'string',
				default: '={{ $json.chat.id }}',
				required: true,
				description: 'The chat to send to. By default the chat the incoming message came from.',
			},
			{
				displayName: 'Text',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '={{ $json.reply.text }}',
				required: true,
				description: 'The message. By default the answer of the Clawgate AI Session node.',
			},
			// Top-level rather than in an options collection: n8n applies a collection option's
			// default only once the user adds it, and these must work with zero changes.
			{
				displayName: 'Reply To Message ID',
				name: 'replyToMessageId',
				type: 'string',
				default: '={{ $json.chat?.type === "dm" ? "" : ($json.message?.id ?? "") }}',
				description:
					'Shows the message as a reply to this one. By default the incoming message in groups (so everyone sees what is answered) and none in private chats. Empty sends a plain message.',
			},
			{
				displayName: 'Topic (Thread) ID',
				name: 'threadId',
				type: 'string',
				default: '={{ $json.chat?.threadId ?? "" }}',
				description: 'The forum topic to post in. By default the topic the message came from.',
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const credential = (await this.getCredentials('clawgateTelegramApi')) as unknown as TelegramCredential;
		const api = createTelegramApi(credential);
		const results: INodeExecutionData[] = [];

		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			try {
				const chatId = String(this.getNodeParameter('chatId', itemIndex, '') ?? '').trim();
				const text = String(this.getNodeParameter('text', itemIndex, '') ?? '');
				if (!chatId) throw new Error('There is no chat to send to. Set "Chat ID" (by default it reads {{ $json.chat.id }}).');
				const sent = await sendTelegramText(api, chatId, text, {
					replyToMessageId: String(this.getNodeParameter('replyToMessageId', itemIndex, '') ?? ''),
					threadId: String(this.getNodeParameter('threadId', itemIndex, '') ?? ''),
				});
				results.push({ json: { ...items[itemIndex].json, sent: { channel: 'telegram', ...sent } }, pairedItem: { item: itemIndex } });
			} catch (error) {
				const message = (error as Error).message;
				const nodeError = new NodeApiError(this.getNode(), { message } as JsonObject, { message, itemIndex });
				if (!this.continueOnFail()) throw nodeError;
				// `error` on the item routes it to the error output when "Continue (using error output)" is chosen.
				results.push({ json: { ...items[itemIndex].json, error: message }, error: nodeError, pairedItem: { item: itemIndex } });
			}
		}
		return [results];
	}
}
