import type { INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { isTriggerEnvelope } from '../core/origin';
import { envelopeOriginKey } from '../shared/origin-key';
import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation, stringParameter } from '../shared/send-node';
import { describeViberError, sendViberMedia, type ViberClient } from './viber.api';
import { viberPlugin } from './viber.plugin';

const showMedia = { show: { operation: ['sendMedia'] } };

const sendMedia: SendOperation<ViberClient> = {
	name: 'Send Media',
	value: 'sendMedia',
	action: 'Send a picture, video or file',
	description: 'Send a picture, video or file that Viber fetches from a public URL',
	properties: [
		{
			displayName: 'Media Type',
			name: 'mediaType',
			type: 'options',
			default: 'picture',
			options: [
				{ name: 'Picture', value: 'picture', description: 'JPEG, PNG or non-animated GIF, up to 1 MB' },
				{ name: 'Video', value: 'video', description: 'MP4 (H.264), up to 26 MB' },
				{ name: 'File', value: 'file', description: 'A document, up to 50 MB' },
			],
			displayOptions: showMedia,
		},
		{ displayName: 'Media URL', name: 'mediaUrl', type: 'string', default: '', required: true, placeholder: 'https://example.com/chart.png', displayOptions: showMedia, description: 'A public https:// URL Viber downloads the media from' },
		{ displayName: 'Caption', name: 'caption', type: 'string', default: '', displayOptions: { show: { operation: ['sendMedia'], mediaType: ['picture'] } }, description: 'Text under the picture (at most 768 characters)' },
		{ displayName: 'File Name', name: 'fileName', type: 'string', default: '', displayOptions: { show: { operation: ['sendMedia'], mediaType: ['file'] } }, description: 'The name with its extension, as the person sees it. Empty takes it from the URL.' },
		{
			displayName: 'Size (Bytes)',
			name: 'mediaSize',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 1,
			displayOptions: { show: { operation: ['sendMedia'], mediaType: ['video', 'file'] } },
			description: 'The size of the video or file in bytes, which Viber requires',
		},
	],
	async run({ client, itemIndex, json }) {
		let chatId = stringParameter(this, 'chatId', itemIndex);
		if (!chatId) {
			// Only an envelope a Clawgate trigger signed says which chat to answer.
			if (!isTriggerEnvelope(json, envelopeOriginKey())) throw new Error('The item was not made by a Clawgate trigger, so there is no chat to answer. Set "Chat ID" to the Viber user to send to.');
			chatId = String((json.chat as { id?: unknown }).id ?? '');
		}
		const type = this.getNodeParameter('mediaType', itemIndex, 'picture') as 'picture' | 'video' | 'file';
		const media = {
			chatId,
			type,
			url: stringParameter(this, 'mediaUrl', itemIndex),
			caption: type === 'picture' ? stringParameter(this, 'caption', itemIndex) : '',
			fileName: type === 'file' ? stringParameter(this, 'fileName', itemIndex) : '',
			size: type === 'picture' ? 0 : Number(this.getNodeParameter('mediaSize', itemIndex, 0)),
		};
		const messageIds = await sendViberMedia(client, media).catch((error: unknown) => {
			throw describeViberError(error, `send the ${type}`);
		});
		return { chatId, messageIds };
	},
};

const senderName: INodeProperties = {
	displayName: 'Sender Name',
	name: 'senderName',
	type: 'string',
	default: '',
	placeholder: 'Empty: the bot\'s name',
	description: 'The name shown with the message (at most 28 characters). Empty uses the bot\'s name as Viber knows it.',
};

/** Every operation sends under the Sender Name of its item. */
const withSenderName = (operation: SendOperation<ViberClient>): SendOperation<ViberClient> => ({
	...operation,
	async run(input) {
		input.client.senderName = stringParameter(this, 'senderName', input.itemIndex);
		return await operation.run.call(this, input);
	},
});

const operations = [sendTextOperation(viberPlugin) as SendOperation<ViberClient>, sendMedia].map(withSenderName) as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Viber',
	description: 'Sends a message with your Viber bot; by default answers the person the item came from',
	operations,
	commonProperties: [chatIdProperty(viberPlugin, 'a Viber user ID'), senderName],
};

export class ViberSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(viberPlugin, declaration), icon: { light: 'file:viber.svg', dark: 'file:viber.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(viberPlugin, operations);
}
