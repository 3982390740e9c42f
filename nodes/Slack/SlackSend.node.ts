import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { createSlackClient, sendSlackText, updateSlackMessage, uploadSlackFile, type SlackCredential } from './slack.adapter';
import { itemFailure } from '../shared/item-failure';

type Operation = 'sendText' | 'updateMessage' | 'uploadFile';

export class SlackSend implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Slack Send',
		name: 'slackSend',
		icon: 'file:slack.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{ { sendText: "Send text", updateMessage: "Update message", uploadFile: "Upload file" }[$parameter["operation"]] + " in " + $parameter["channelId"] }}',
		description: 'Sends a message with your Slack app; by default answers the channel and thread the item came from',
		defaults: { name: 'Slack Send' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [{ name: 'clawgateSlackApi', required: true }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				default: 'sendText',
				options: [
					{ name: 'Send Text', value: 'sendText', action: 'Send a text message', description: 'Post a message, split into several past Slack\'s 4,000-character limit' },
					{ name: 'Update Message', value: 'updateMessage', action: 'Update a message', description: 'Replace the text of a message the bot posted' },
					{ name: 'Upload File', value: 'uploadFile', action: 'Upload a file', description: 'Share a file from the item\'s binary data' },
				],
			},
			{
				displayName: 'Channel ID',
				name: 'channelId',
				type: 'string',
				default: '={{ $json.chat.id }}',
				required: true,
				description: 'The channel or DM to post in (C…, G… or D… ID). By default the one the incoming message came from.',
			},
			{
				displayName: 'Text',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '={{ $json.reply.text }}',
				required: true,
				displayOptions: { show: { operation: ['sendText', 'updateMessage'] } },
				description: 'The message. By default the answer of the Clawgate AI Session node.',
			},
			// Top-level rather than in an options collection: n8n applies a collection option's
			// default only once the user adds it, and these must work with zero changes.
			{
				displayName: 'Thread',
				name: 'threadTs',
				type: 'string',
				default: '={{ $json.chat?.threadId ?? "" }}',
				displayOptions: { show: { operation: ['sendText', 'uploadFile'] } },
				description: 'The ts of the thread\'s parent message to post in. By default the thread the message came from; empty posts to the channel.',
			},
			{
				displayName: 'Message Timestamp',
				name: 'messageTs',
				type: 'string',
				default: '={{ $json.sent?.messageIds?.[0] ?? "" }}',
				required: true,
				displayOptions: { show: { operation: ['updateMessage'] } },
				description: 'The ts of the message to edit; it must be one the bot posted. By default the first message an earlier Clawgate Slack Send posted.',
			},
			{
				displayName: 'Input Binary Field',
				name: 'binaryPropertyName',
				type: 'string',
				default: 'data',
				required: true,
				displayOptions: { show: { operation: ['uploadFile'] } },
				description: 'The name of the binary field that holds the file',
			},
			{
				displayName: 'Title',
				name: 'title',
				type: 'string',
				default: '',
				displayOptions: { show: { operation: ['uploadFile'] } },
				description: 'Shown above the file in Slack. Empty uses the file name.',
			},
			{
				displayName: 'Comment',
				name: 'comment',
				type: 'string',
				default: '',
				displayOptions: { show: { operation: ['uploadFile'] } },
				description: 'A message posted with the file',
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const credential = (await this.getCredentials('clawgateSlackApi')) as unknown as SlackCredential;
		const results: INodeExecutionData[] = [];

		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const parameter = (name: string) => String(this.getNodeParameter(name, itemIndex, '') ?? '').trim();
			try {
				const client = createSlackClient(credential);
				const operation = this.getNodeParameter('operation', itemIndex, 'sendText') as Operation;
				const channel = parameter('channelId');
				let sent: IDataObject;
				if (operation === 'updateMessage') {
					sent = { ...(await updateSlackMessage(client, { channel, ts: parameter('messageTs'), text: String(this.getNodeParameter('text', itemIndex, '') ?? '') })) };
				} else if (operation === 'uploadFile') {
					const binaryPropertyName = parameter('binaryPropertyName');
					const binary = this.helpers.assertBinaryData(itemIndex, binaryPropertyName);
					sent = {
						...(await uploadSlackFile(client, {
							channel,
							data: await this.helpers.getBinaryDataBuffer(itemIndex, binaryPropertyName),
							filename: binary.fileName ?? `file.${binary.fileExtension ?? 'bin'}`,
							title: parameter('title'),
							threadTs: parameter('threadTs'),
							initialComment: parameter('comment'),
						})),
					};
				} else {
					sent = { ...(await sendSlackText(client, { channel, text: String(this.getNodeParameter('text', itemIndex, '') ?? ''), threadTs: parameter('threadTs') })) };
				}
				results.push({ json: { ...items[itemIndex].json, sent: { channel: 'slack', ...sent } }, pairedItem: { item: itemIndex } });
			} catch (error) {
				results.push(itemFailure(this, items[itemIndex], itemIndex, error));
			}
		}
		return [results];
	}
}
