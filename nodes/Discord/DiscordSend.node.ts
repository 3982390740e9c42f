import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import {
	createDiscordRest,
	discordCapabilities,
	editDiscordMessage,
	sendDiscordText,
	sendDiscordTyping,
	type DiscordCredential,
	type SentDiscordMessages,
} from './discord.adapter';
import { itemFailure } from '../shared/item-failure';

type Operation = 'sendText' | 'typing' | 'editMessage';

export class DiscordSend implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Discord Send',
		name: 'discordSend',
		icon: 'file:discord.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{ { sendText: "Send text", typing: "Typing", editMessage: "Edit message" }[$parameter["operation"]] + " in " + $parameter["channelId"] }}',
		description: 'Sends a message with your Discord bot; by default answers the channel or thread the item came from',
		defaults: { name: 'Discord Send' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [{ name: 'clawgateDiscordApi', required: true }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				default: 'sendText',
				options: [
					{ name: 'Send Text', value: 'sendText', action: 'Send a text message', description: 'Post a message, split into several past Discord\'s 2,000-character limit' },
					{ name: 'Typing', value: 'typing', action: 'Show the typing indicator', description: 'Show "<bot> is typing…" for up to 10 seconds, or until the bot posts' },
					{ name: 'Edit Message', value: 'editMessage', action: 'Edit a message', description: 'Replace the text of a message the bot posted' },
				],
			},
			{
				displayName: 'Channel ID',
				name: 'channelId',
				type: 'string',
				default: '={{ $json.chat.threadId || $json.chat.id }}',
				required: true,
				description: 'The channel, thread or DM channel to post in. By default the one the incoming message came from (its thread, if it was in one).',
			},
			{
				displayName: 'Text',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '={{ $json.reply.text }}',
				required: true,
				displayOptions: { show: { operation: ['sendText', 'editMessage'] } },
				description: 'The message, in Discord Markdown. By default the answer of the Clawgate AI Session node.',
			},
			// Top-level rather than in the options collection: n8n applies a collection option's
			// default only once the user adds it, and this must work with zero changes.
			{
				displayName: 'Reply To Message ID',
				name: 'replyToMessageId',
				type: 'string',
				default: '={{ $json.message?.id ?? "" }}',
				displayOptions: { show: { operation: ['sendText'] } },
				description: 'Shows the first message as a reply to this one (without pinging its author). By default the incoming message. Empty sends a plain message.',
			},
			{
				displayName: 'Message ID',
				name: 'messageId',
				type: 'string',
				default: '={{ $json.sent?.messageIds?.[0] ?? "" }}',
				required: true,
				displayOptions: { show: { operation: ['editMessage'] } },
				description: 'The message to edit; it must be one the bot posted. By default the first message an earlier Clawgate Discord Send posted.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				displayOptions: { show: { operation: ['sendText', 'editMessage'] } },
				options: [
					{
						displayName: 'Allow Mentions',
						name: 'allowMentions',
						type: 'boolean',
						default: false,
						description:
							'Whether user and role mentions in the text notify people (and the replied-to author is pinged). @everyone and @here never notify. Off by default, so an AI answer cannot ping anyone.',
					},
					{
						displayName: 'Max Lines Per Message',
						name: 'maxLines',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: discordCapabilities.maxLinesPerMessage,
						displayOptions: { show: { '/operation': ['sendText'] } },
						description: 'Longer text is split into several messages at this many lines (code blocks are closed and reopened). 0 splits only at 2,000 characters.',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const credential = (await this.getCredentials('clawgateDiscordApi')) as unknown as DiscordCredential;
		const results: INodeExecutionData[] = [];
		// One client for all items, so Discord's rate-limit buckets carry over from item to item.
		let rest: Awaited<ReturnType<typeof createDiscordRest>> | undefined;

		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const parameter = (name: string) => String(this.getNodeParameter(name, itemIndex, '') ?? '');
			try {
				rest ??= await createDiscordRest(credential);
				const operation = this.getNodeParameter('operation', itemIndex, 'sendText') as Operation;
				const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
				const channelId = parameter('channelId');
				let sent: SentDiscordMessages;
				if (operation === 'typing') {
					sent = await sendDiscordTyping(rest, channelId);
				} else if (operation === 'editMessage') {
					sent = await editDiscordMessage(rest, { channelId, messageId: parameter('messageId'), text: parameter('text'), allowMentions: options.allowMentions === true });
				} else {
					sent = await sendDiscordText(rest, {
						channelId,
						text: parameter('text'),
						replyToMessageId: parameter('replyToMessageId'),
						allowMentions: options.allowMentions === true,
						maxLines: typeof options.maxLines === 'number' ? options.maxLines : undefined,
					});
				}
				results.push({ json: { ...items[itemIndex].json, sent: { channel: 'discord', ...sent } }, pairedItem: { item: itemIndex } });
			} catch (error) {
				results.push(itemFailure(this, items[itemIndex], itemIndex, error));
			}
		}
		return [results];
	}
}
