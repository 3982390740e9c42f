import type { IExecuteFunctions, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';
import type { WebClient } from '@slack/web-api';

import { envelopeTargetProperty, linkPreviewsProperty, replyTextProperty, sentMessageProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, stringParameter } from '../shared/send-node';
import { sendSlackText, updateSlackMessage, uploadSlackFile } from './slack.adapter';
import { sendOverDraft } from '../shared/stream-preview';
import { slackPlugin } from './slack.plugin';

const properties: INodeProperties[] = [
	envelopeTargetProperty('Channel ID', 'channelId', '={{ $json.chat.id }}', 'The channel or DM to post in (C…, G… or D… ID). By default the one the incoming message came from.'),
	replyTextProperty('The message. By default the answer of the Clawgate AI Session node.', ['sendText', 'updateMessage']),
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
	sentMessageProperty('Message Timestamp', 'messageTs', 'updateMessage', 'The ts of the message to edit; it must be one the bot posted. By default the first message an earlier Clawgate Slack Send posted.'),
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
	linkPreviewsProperty({ show: { operation: ['sendText'] } }),
];

const text = (context: IExecuteFunctions, itemIndex: number) => String(context.getNodeParameter('text', itemIndex, '') ?? '');

const operations = [
	{
		name: 'Send Text',
		value: 'sendText',
		action: 'Send a text message',
		description: "Post a message, split into several past Slack's 4,000-character limit",
		properties: [],
		async run({ client, itemIndex, json }) {
			const input = {
				channel: stringParameter(this, 'channelId', itemIndex),
				text: text(this, itemIndex),
				threadTs: stringParameter(this, 'threadTs', itemIndex),
				linkPreviews: this.getNodeParameter('linkPreviews', itemIndex, false) === true,
			};
			const overDraft = { chatId: input.channel, threadId: input.threadTs || null, markdown: input.text, linkPreviews: input.linkPreviews };
			return (await sendOverDraft(slackPlugin, client, json, overDraft)) ?? (await sendSlackText(client, input));
		},
	},
	{
		name: 'Update Message',
		value: 'updateMessage',
		action: 'Update a message',
		description: 'Replace the text of a message the bot posted',
		properties: [],
		async run({ client, itemIndex }) {
			return await updateSlackMessage(client, { channel: stringParameter(this, 'channelId', itemIndex), ts: stringParameter(this, 'messageTs', itemIndex), text: text(this, itemIndex) });
		},
	},
	{
		name: 'Upload File',
		value: 'uploadFile',
		action: 'Upload a file',
		description: "Share a file from the item's binary data",
		properties: [],
		async run({ client, itemIndex }) {
			const binaryPropertyName = stringParameter(this, 'binaryPropertyName', itemIndex);
			const binary = this.helpers.assertBinaryData(itemIndex, binaryPropertyName);
			const uploaded = await uploadSlackFile(client, {
				channel: stringParameter(this, 'channelId', itemIndex),
				data: await this.helpers.getBinaryDataBuffer(itemIndex, binaryPropertyName),
				filename: binary.fileName ?? `file.${binary.fileExtension ?? 'bin'}`,
				title: stringParameter(this, 'title', itemIndex),
				threadTs: stringParameter(this, 'threadTs', itemIndex),
				initialComment: stringParameter(this, 'comment', itemIndex),
			});
			return { ...uploaded, messageIds: [] };
		},
	},
] satisfies SendOperation<WebClient>[] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Slack',
	description: 'Sends a message with your Slack app; by default answers the channel and thread the item came from',
	operations,
	commonProperties: properties,
};

export class SlackSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(slackPlugin, declaration), icon: { light: 'file:slack.svg', dark: 'file:slack.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(slackPlugin, operations);
}
