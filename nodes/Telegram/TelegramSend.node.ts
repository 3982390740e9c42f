import type { IDataObject, IExecuteFunctions, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';
import type { Api } from 'grammy';

import {
	editTelegramText,
	sendTelegramMedia,
	sendTelegramText,
	sendTelegramTyping,
	type MediaSource,
	type TelegramTextFormat,
} from './telegram.adapter';
import { envelopeTargetProperty, linkPreviewsProperty, replyTextProperty, sentMessageProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation } from '../shared/send-node';
import { sendOverDraft } from '../shared/stream-preview';
import { telegramPlugin } from './telegram.plugin';

type Operation = 'sendText' | 'sendPhoto' | 'sendDocument' | 'sendTyping' | 'editText';

const show = (...operation: Operation[]) => ({ show: { operation } });

const properties: INodeProperties[] = [
	envelopeTargetProperty('Chat ID', 'chatId', '={{ $json.chat.id }}', 'The chat to send to. By default the chat the incoming message came from.'),
	replyTextProperty('The message, in Markdown by default. By default the answer of the Clawgate AI Session node. Longer than 4096 characters, it is sent as several messages.', ['sendText', 'editText']),
	sentMessageProperty('Message ID', 'messageId', 'editText', 'The message to edit. By default the first message sent by a previous Clawgate Telegram Send node.'),
	{
		displayName: 'File',
		name: 'fileSource',
		type: 'options',
		default: 'binary',
		options: [
			{ name: 'Binary Data', value: 'binary', description: 'A file from an earlier node (for example the trigger with "Download Files")' },
			{ name: 'URL or File ID', value: 'reference', description: 'An https:// URL Telegram downloads, or the file_id of a file Telegram already has' },
		],
		displayOptions: show('sendPhoto', 'sendDocument'),
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		hint: 'The name of the input binary field containing the file',
		displayOptions: { show: { operation: ['sendPhoto', 'sendDocument'], fileSource: ['binary'] } },
	},
	{
		displayName: 'URL or File ID',
		name: 'fileReference',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'https://example.com/picture.jpg',
		displayOptions: { show: { operation: ['sendPhoto', 'sendDocument'], fileSource: ['reference'] } },
	},
	{
		displayName: 'Caption',
		name: 'caption',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '',
		description: 'Text shown with the file, in Markdown by default. Beyond 1024 characters the rest follows as messages.',
		displayOptions: show('sendPhoto', 'sendDocument'),
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
		displayOptions: show('sendText', 'sendPhoto', 'sendDocument'),
	},
	{
		displayName: 'Topic (Thread) ID',
		name: 'threadId',
		type: 'string',
		default: '={{ $json.chat?.threadId ?? "" }}',
		description: 'The forum topic to post in. By default the topic the message came from.',
		displayOptions: show('sendText', 'sendPhoto', 'sendDocument', 'sendTyping', 'editText'),
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show('sendText', 'sendPhoto', 'sendDocument', 'editText'),
		options: [
			linkPreviewsProperty(),
			{
				displayName: 'Text Format',
				name: 'textFormat',
				type: 'options',
				default: 'markdown',
				options: [
					{ name: 'Markdown', value: 'markdown', description: 'Converted to Telegram formatting (what AI models write)' },
					{ name: 'Telegram HTML', value: 'html', description: 'Sent with parse_mode HTML as written' },
					{ name: 'Plain Text', value: 'plain', description: 'Sent exactly as written, no formatting' },
				],
				description: 'How the text is written. If Telegram rejects the formatting, the text is sent again without it.',
			},
		],
	},
];

function param(context: IExecuteFunctions, name: string, itemIndex: number): string {
	return String(context.getNodeParameter(name, itemIndex, '') ?? '');
}

function deliveryOptions(context: IExecuteFunctions, itemIndex: number) {
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	return {
		replyToMessageId: param(context, 'replyToMessageId', itemIndex),
		threadId: param(context, 'threadId', itemIndex),
		format: (options.textFormat as TelegramTextFormat | undefined) ?? 'markdown',
		linkPreviews: options.linkPreviews === true,
	};
}

async function mediaSource(context: IExecuteFunctions, itemIndex: number): Promise<MediaSource> {
	if (context.getNodeParameter('fileSource', itemIndex, 'binary') === 'reference') return { reference: param(context, 'fileReference', itemIndex) };
	const property = param(context, 'binaryPropertyName', itemIndex) || 'data';
	const binary = context.helpers.assertBinaryData(itemIndex, property);
	return { bytes: await context.helpers.getBinaryDataBuffer(itemIndex, property), fileName: binary.fileName ?? property };
}

/** Every operation but Show Typing needs a chat; it is read the same way for all of them. */
function chatIdOf(context: IExecuteFunctions, itemIndex: number): string {
	const chatId = param(context, 'chatId', itemIndex).trim();
	if (!chatId) throw new Error('There is no chat to send to. Set "Chat ID" (by default it reads {{ $json.chat.id }}).');
	return chatId;
}

const operations = [
	{
		name: 'Edit Text',
		value: 'editText',
		action: 'Edit the text of a message',
		description: 'Replace the text of a message the bot sent',
		properties: [],
		async run({ client, itemIndex }) {
			const { threadId, format } = deliveryOptions(this, itemIndex);
			return await editTelegramText(client, chatIdOf(this, itemIndex), param(this, 'messageId', itemIndex), param(this, 'text', itemIndex), { threadId, format });
		},
	},
	{
		name: 'Send Document',
		value: 'sendDocument',
		action: 'Send a document',
		description: 'Send a file as a document',
		properties: [],
		async run({ client, itemIndex }) {
			const caption = param(this, 'caption', itemIndex);
			return await sendTelegramMedia(client, chatIdOf(this, itemIndex), 'document', await mediaSource(this, itemIndex), { ...deliveryOptions(this, itemIndex), caption });
		},
	},
	{
		name: 'Send Photo',
		value: 'sendPhoto',
		action: 'Send a photo',
		description: 'Send an image',
		properties: [],
		async run({ client, itemIndex }) {
			const caption = param(this, 'caption', itemIndex);
			return await sendTelegramMedia(client, chatIdOf(this, itemIndex), 'photo', await mediaSource(this, itemIndex), { ...deliveryOptions(this, itemIndex), caption });
		},
	},
	{
		name: 'Send Text',
		value: 'sendText',
		action: 'Send a text message',
		description: 'Send text, split into several messages when long',
		properties: [],
		async run({ client, itemIndex, json }) {
			const chatId = chatIdOf(this, itemIndex);
			const options = deliveryOptions(this, itemIndex);
			const overDraft = { chatId, threadId: options.threadId || null, markdown: param(this, 'text', itemIndex), linkPreviews: options.linkPreviews };
			return (await sendOverDraft(telegramPlugin, client, json, overDraft, options.format === 'markdown')) ?? (await sendTelegramText(client, chatId, overDraft.markdown, options));
		},
	},
	{
		name: 'Show Typing',
		value: 'sendTyping',
		action: 'Show typing in the chat',
		description: 'Show "typing…" in the chat for a few seconds',
		properties: [],
		async run({ client, itemIndex }) {
			return await sendTelegramTyping(client, chatIdOf(this, itemIndex), { threadId: param(this, 'threadId', itemIndex) });
		},
	},
] satisfies SendOperation<Api>[] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Telegram',
	description: 'Sends a message with your Telegram bot; by default answers the chat the item came from',
	operations,
	defaultOperation: 'sendText',
	commonProperties: properties,
};

export class TelegramSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(telegramPlugin, declaration), icon: { light: 'file:telegram.svg', dark: 'file:telegram.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(telegramPlugin, operations);
}
