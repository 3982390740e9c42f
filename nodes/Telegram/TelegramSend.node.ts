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
import { envelopeChatOf, readsEnvelopeWhenEmpty, replyTextDefault, replyTextOf, replyToModeProperties, sentMessageDefault, sentMessageIdOf, stringParameterOf, withEnvelopeDefault } from '../shared/from-envelope';
import { envelopeTargetProperty, linkPreviewsProperty, replyTextProperty, sentMessageProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation } from '../shared/send-node';
import { sendOverDraft } from '../shared/stream-preview';
import { telegramPlugin } from './telegram.plugin';

type Operation = 'sendText' | 'sendPhoto' | 'sendDocument' | 'sendTyping' | 'editText';

const show = (...operation: Operation[]) => ({ show: { operation } });

/** From this version an empty Chat ID, Text, Message ID and Topic read the envelope, and Reply To picks the quote. */
const ENVELOPE_DEFAULTS_SINCE = 2;

const properties: INodeProperties[] = [
	...withEnvelopeDefault(envelopeTargetProperty('Chat ID', 'chatId', '', 'The chat to send to. By default the chat the incoming message came from.'), {
		since: ENVELOPE_DEFAULTS_SINCE,
		expression: '={{ $json.chat.id }}',
		placeholder: 'Empty: the chat the message came from',
		description: 'The chat to send to. Empty answers the chat (and topic) the incoming message came from.',
	}),
	...withEnvelopeDefault(
		replyTextProperty('The message, in Markdown by default. By default the answer of the Clawgate AI Session node. Longer than 4096 characters, it is sent as several messages.', ['sendText', 'editText']),
		replyTextDefault(ENVELOPE_DEFAULTS_SINCE, 'The message, in Markdown by default. Empty sends the answer of the Clawgate AI Session node. Longer than 4096 characters, it is sent as several messages.'),
	),
	...withEnvelopeDefault(
		sentMessageProperty('Message ID', 'messageId', 'editText', 'The message to edit. By default the first message sent by a previous Clawgate Telegram Send node.'),
		sentMessageDefault(ENVELOPE_DEFAULTS_SINCE, 'Telegram', 'The message to edit. Empty edits the first message sent by a previous Clawgate Telegram Send node.'),
	),
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
		displayOptions: { show: { operation: ['sendText', 'sendPhoto', 'sendDocument'], '@version': [{ _cnd: { lt: ENVELOPE_DEFAULTS_SINCE } }] } },
	},
	...replyToModeProperties({
		since: ENVELOPE_DEFAULTS_SINCE,
		operations: ['sendText', 'sendPhoto', 'sendDocument'],
		incoming: { name: 'Incoming Message in Groups', value: 'incomingInGroups', description: 'Quote the incoming message in groups (so everyone sees what is answered), not in private chats' },
		description: 'Whether the message shows as a reply to another one',
	}),
	...withEnvelopeDefault(
		{
			displayName: 'Topic (Thread) ID',
			name: 'threadId',
			type: 'string',
			default: '',
			description: 'The forum topic to post in. By default the topic the message came from.',
			displayOptions: show('sendText', 'sendPhoto', 'sendDocument', 'sendTyping', 'editText'),
		},
		{
			since: ENVELOPE_DEFAULTS_SINCE,
			expression: '={{ $json.chat?.threadId ?? "" }}',
			placeholder: 'Empty: the topic the message came from',
			description: 'The forum topic to post in. Empty posts in the topic the message came from, when Chat ID is empty too.',
		},
	),
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

const param = stringParameterOf;

/**
 * Where an operation sends: the Chat ID parameter, or (version 2, Chat ID empty) the chat the item
 * came from, whose topic and incoming message the empty Topic and Reply To then follow.
 */
interface Target {
	chatId: string;
	/** The envelope's chat when Chat ID was empty (version 2). */
	envelopeChat: { type: string; threadId: string | null; messageId: string } | null;
}

function targetOf(context: IExecuteFunctions, itemIndex: number, json: IDataObject): Target {
	const chatId = param(context, 'chatId', itemIndex).trim();
	if (chatId) return { chatId, envelopeChat: null };
	if (!readsEnvelopeWhenEmpty(context, ENVELOPE_DEFAULTS_SINCE)) throw new Error('There is no chat to send to. Set "Chat ID" (by default it reads {{ $json.chat.id }}).');
	const chat = envelopeChatOf(json, { platform: 'Telegram', parameter: 'Chat ID' });
	return { chatId: chat.id, envelopeChat: { type: chat.type, threadId: chat.threadId, messageId: String((json.message as IDataObject | undefined)?.id ?? '') } };
}

function threadIdOf(context: IExecuteFunctions, itemIndex: number, target: Target): string {
	return param(context, 'threadId', itemIndex) || (target.envelopeChat?.threadId ?? '');
}

function replyToMessageIdOf(context: IExecuteFunctions, itemIndex: number, target: Target): string {
	if (!readsEnvelopeWhenEmpty(context, ENVELOPE_DEFAULTS_SINCE)) return param(context, 'replyToMessageId', itemIndex);
	const replyTo = context.getNodeParameter('replyTo', itemIndex, 'incomingInGroups') as string;
	if (replyTo === 'messageId') return param(context, 'replyToMessageId', itemIndex);
	return replyTo === 'incomingInGroups' && target.envelopeChat && target.envelopeChat.type !== 'dm' ? target.envelopeChat.messageId : '';
}

/** The Text parameter, or (version 2, Text empty) the AI Session answer. */
function textOf(context: IExecuteFunctions, itemIndex: number, json: IDataObject): string {
	const text = param(context, 'text', itemIndex);
	return text === '' && readsEnvelopeWhenEmpty(context, ENVELOPE_DEFAULTS_SINCE) ? replyTextOf(json) : text;
}

function deliveryOptions(context: IExecuteFunctions, itemIndex: number, target: Target) {
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	return {
		replyToMessageId: replyToMessageIdOf(context, itemIndex, target),
		threadId: threadIdOf(context, itemIndex, target),
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

const operations = [
	{
		name: 'Edit Text',
		value: 'editText',
		action: 'Edit the text of a message',
		description: 'Replace the text of a message the bot sent',
		properties: [],
		async run({ client, itemIndex, json }) {
			const target = targetOf(this, itemIndex, json);
			const { format } = deliveryOptions(this, itemIndex, target);
			const messageId = param(this, 'messageId', itemIndex) || (readsEnvelopeWhenEmpty(this, ENVELOPE_DEFAULTS_SINCE) ? sentMessageIdOf(json) : '');
			return await editTelegramText(client, target.chatId, messageId, textOf(this, itemIndex, json), { threadId: threadIdOf(this, itemIndex, target), format });
		},
	},
	{
		name: 'Send Document',
		value: 'sendDocument',
		action: 'Send a document',
		description: 'Send a file as a document',
		properties: [],
		async run({ client, itemIndex, json }) {
			const caption = param(this, 'caption', itemIndex);
			const target = targetOf(this, itemIndex, json);
			return await sendTelegramMedia(client, target.chatId, 'document', await mediaSource(this, itemIndex), { ...deliveryOptions(this, itemIndex, target), caption });
		},
	},
	{
		name: 'Send Photo',
		value: 'sendPhoto',
		action: 'Send a photo',
		description: 'Send an image',
		properties: [],
		async run({ client, itemIndex, json }) {
			const caption = param(this, 'caption', itemIndex);
			const target = targetOf(this, itemIndex, json);
			return await sendTelegramMedia(client, target.chatId, 'photo', await mediaSource(this, itemIndex), { ...deliveryOptions(this, itemIndex, target), caption });
		},
	},
	{
		name: 'Send Text',
		value: 'sendText',
		action: 'Send a text message',
		description: 'Send text, split into several messages when long',
		properties: [],
		async run({ client, itemIndex, json }) {
			const target = targetOf(this, itemIndex, json);
			const options = deliveryOptions(this, itemIndex, target);
			const overDraft = { chatId: target.chatId, threadId: options.threadId || null, markdown: textOf(this, itemIndex, json), linkPreviews: options.linkPreviews };
			return (await sendOverDraft(telegramPlugin, client, json, overDraft, options.format === 'markdown')) ?? (await sendTelegramText(client, target.chatId, overDraft.markdown, options));
		},
	},
	{
		name: 'Show Typing',
		value: 'sendTyping',
		action: 'Show typing in the chat',
		description: 'Show "typing…" in the chat for a few seconds',
		properties: [],
		async run({ client, itemIndex, json }) {
			const target = targetOf(this, itemIndex, json);
			return await sendTelegramTyping(client, target.chatId, { threadId: threadIdOf(this, itemIndex, target) });
		},
	},
] satisfies SendOperation<Api>[] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Telegram',
	description: 'Sends a message with your Telegram bot; by default answers the chat the item came from',
	version: [1, ENVELOPE_DEFAULTS_SINCE],
	operations,
	defaultOperation: 'sendText',
	commonProperties: properties,
};

export class TelegramSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(telegramPlugin, declaration), icon: { light: 'file:telegram.svg', dark: 'file:telegram.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(telegramPlugin, operations);
}
