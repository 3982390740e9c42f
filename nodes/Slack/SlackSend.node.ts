import type { IDataObject, IExecuteFunctions, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';
import type { WebClient } from '@slack/web-api';

import { envelopeChatOf, readsEnvelopeWhenEmpty, replyTextDefault, replyTextOf, sentMessageDefault, sentMessageIdOf, withEnvelopeDefault } from '../shared/from-envelope';
import { envelopeTargetProperty, linkPreviewsProperty, replyTextProperty, sentMessageProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, stringParameter } from '../shared/send-node';
import { sendSlackText, updateSlackMessage, uploadSlackFile } from './slack.adapter';
import { sendOverDraft } from '../shared/stream-preview';
import { slackPlugin } from './slack.plugin';

/** From this version an empty Channel ID, Text, Thread and Message Timestamp read the envelope. */
const ENVELOPE_DEFAULTS_SINCE = 2;

const properties: INodeProperties[] = [
	...withEnvelopeDefault(envelopeTargetProperty('Channel ID', 'channelId', '', 'The channel or DM to post in (C…, G… or D… ID). By default the one the incoming message came from.'), {
		since: ENVELOPE_DEFAULTS_SINCE,
		expression: '={{ $json.chat.id }}',
		placeholder: 'Empty: the channel the message came from',
		description: 'The channel or DM to post in (C…, G… or D… ID). Empty answers the channel (and thread) the incoming message came from.',
	}),
	...withEnvelopeDefault(
		replyTextProperty('The message. By default the answer of the Clawgate AI Session node.', ['sendText', 'updateMessage']),
		replyTextDefault(ENVELOPE_DEFAULTS_SINCE, 'The message. Empty sends the answer of the Clawgate AI Session node.'),
	),
	// Top-level rather than in an options collection: n8n applies a collection option's
	// default only once the user adds it, and these must work with zero changes.
	...withEnvelopeDefault(
		{
			displayName: 'Thread',
			name: 'threadTs',
			type: 'string',
			default: '',
			displayOptions: { show: { operation: ['sendText', 'uploadFile'] } },
			description: 'The ts of the thread\'s parent message to post in. By default the thread the message came from; empty posts to the channel.',
		},
		{
			since: ENVELOPE_DEFAULTS_SINCE,
			expression: '={{ $json.chat?.threadId ?? "" }}',
			placeholder: 'Empty: the thread the message came from',
			description: 'The ts of the thread\'s parent message to post in. Empty posts in the thread the message came from when Channel ID is empty too, else to the channel.',
		},
	),
	...withEnvelopeDefault(
		sentMessageProperty('Message Timestamp', 'messageTs', 'updateMessage', 'The ts of the message to edit; it must be one the bot posted. By default the first message an earlier Clawgate Slack Send posted.'),
		sentMessageDefault(ENVELOPE_DEFAULTS_SINCE, 'Slack', 'The ts of the message to edit; it must be one the bot posted. Empty edits the first message an earlier Clawgate Slack Send posted.'),
	),
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

/** The channel and thread to post in: the parameters, or (version 2, Channel ID empty) the ones the item came from. */
function targetOf(context: IExecuteFunctions, itemIndex: number, json: IDataObject): { channel: string; threadTs: string } {
	const channel = stringParameter(context, 'channelId', itemIndex);
	const threadTs = stringParameter(context, 'threadTs', itemIndex);
	if (channel || !readsEnvelopeWhenEmpty(context, ENVELOPE_DEFAULTS_SINCE)) return { channel, threadTs };
	const chat = envelopeChatOf(json, { platform: 'Slack', parameter: 'Channel ID' });
	return { channel: chat.id, threadTs: threadTs || (chat.threadId ?? '') };
}

function text(context: IExecuteFunctions, itemIndex: number, json: IDataObject): string {
	const value = String(context.getNodeParameter('text', itemIndex, '') ?? '');
	return value === '' && readsEnvelopeWhenEmpty(context, ENVELOPE_DEFAULTS_SINCE) ? replyTextOf(json) : value;
}

const operations = [
	{
		name: 'Send Text',
		value: 'sendText',
		action: 'Send a text message',
		description: "Post a message, split into several past Slack's 4,000-character limit",
		properties: [],
		async run({ client, itemIndex, json }) {
			const input = {
				...targetOf(this, itemIndex, json),
				text: text(this, itemIndex, json),
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
		async run({ client, itemIndex, json }) {
			const ts = stringParameter(this, 'messageTs', itemIndex) || (readsEnvelopeWhenEmpty(this, ENVELOPE_DEFAULTS_SINCE) ? sentMessageIdOf(json) : '');
			return await updateSlackMessage(client, { channel: targetOf(this, itemIndex, json).channel, ts, text: text(this, itemIndex, json) });
		},
	},
	{
		name: 'Upload File',
		value: 'uploadFile',
		action: 'Upload a file',
		description: "Share a file from the item's binary data",
		properties: [],
		async run({ client, itemIndex, json }) {
			const binaryPropertyName = stringParameter(this, 'binaryPropertyName', itemIndex);
			const binary = this.helpers.assertBinaryData(itemIndex, binaryPropertyName);
			const uploaded = await uploadSlackFile(client, {
				...targetOf(this, itemIndex, json),
				data: await this.helpers.getBinaryDataBuffer(itemIndex, binaryPropertyName),
				filename: binary.fileName ?? `file.${binary.fileExtension ?? 'bin'}`,
				title: stringParameter(this, 'title', itemIndex),
				initialComment: stringParameter(this, 'comment', itemIndex),
			});
			return { ...uploaded, messageIds: [] };
		},
	},
] satisfies SendOperation<WebClient>[] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Slack',
	description: 'Sends a message with your Slack app; by default answers the channel and thread the item came from',
	version: [1, ENVELOPE_DEFAULTS_SINCE],
	operations,
	commonProperties: properties,
};

export class SlackSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(slackPlugin, declaration), icon: { light: 'file:slack.svg', dark: 'file:slack.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(slackPlugin, operations);
}
