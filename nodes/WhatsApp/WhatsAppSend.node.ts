import type { IDataObject, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdFor, choiceProperty, describedCall, mediaUrlProperty, operationProperty } from '../Meta/meta.nodes';
import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation, stringParameter } from '../shared/send-node';
import { markWhatsAppMessageRead, sendWhatsAppMessage, whatsAppPlugin, type WhatsAppClient } from './whatsapp.plugin';

/** The template's variables as the API takes them, from the Components parameter (JSON). */
function templateComponents(value: unknown): unknown[] {
	const parsed = typeof value === 'string' ? (value.trim() ? JSON.parse(value) : []) : (value ?? []);
	if (!Array.isArray(parsed)) throw new Error('"Components" must be a JSON list, like [{"type":"body","parameters":[{"type":"text","text":"Ada"}]}].');
	return parsed;
}

const sendTemplate: SendOperation<WhatsAppClient> = {
	...{ name: 'Send Template', value: 'sendTemplate', action: 'Send a message template', description: 'Send an approved message template: the only message WhatsApp delivers more than 24 hours after the person last wrote' },
	properties: [
		operationProperty('sendTemplate', { displayName: 'Template Name', name: 'templateName', type: 'string', default: '', required: true, placeholder: 'hello_world', description: 'As in WhatsApp Manager → Message templates' }),
		operationProperty('sendTemplate', { displayName: 'Language Code', name: 'languageCode', type: 'string', default: 'en_US', required: true, description: 'The language of the template version to send (en_US, de, pt_BR…)' }),
		operationProperty('sendTemplate', {
			displayName: 'Components',
			name: 'components',
			type: 'json',
			default: '',
			description: 'The values of the template\'s variables, as the Cloud API takes them: [{"type":"body","parameters":[{"type":"text","text":"Ada"}]}]. Empty for a template without variables.',
		}),
	],
	async run({ client, itemIndex, json }) {
		const chatId = chatIdFor(this, whatsAppPlugin, itemIndex, json);
		const name = stringParameter(this, 'templateName', itemIndex);
		const components = templateComponents(this.getNodeParameter('components', itemIndex, ''));
		const template = { name, language: { code: stringParameter(this, 'languageCode', itemIndex) || 'en_US' }, ...(components.length > 0 ? { components } : {}) };
		const messageIds = await describedCall(whatsAppPlugin, `send the template "${name}"`, () => sendWhatsAppMessage(client, chatId, { type: 'template', template }));
		return { chatId, messageIds };
	},
};

const sendMedia: SendOperation<WhatsAppClient> = {
	...{ name: 'Send Media', value: 'sendMedia', action: 'Send an image, audio, video or document', description: 'Send a file by its public URL, with a caption' },
	properties: [
		choiceProperty('sendMedia', 'Media Type', 'mediaType', [['Image', 'image'], ['Audio', 'audio'], ['Document', 'document'], ['Video', 'video']]),
		mediaUrlProperty('sendMedia'),
		operationProperty('sendMedia', { displayName: 'Caption', name: 'caption', type: 'string', default: '', description: 'Text under an image, video or document (up to 1,024 characters); audio has none' }),
	],
	async run({ client, itemIndex, json }) {
		const chatId = chatIdFor(this, whatsAppPlugin, itemIndex, json);
		const type = String(this.getNodeParameter('mediaType', itemIndex, 'image'));
		const caption = type === 'audio' ? '' : stringParameter(this, 'caption', itemIndex);
		const media = { link: stringParameter(this, 'mediaUrl', itemIndex), ...(caption ? { caption } : {}) };
		const messageIds = await describedCall(whatsAppPlugin, `send the ${type}`, () => sendWhatsAppMessage(client, chatId, { type, [type]: media }));
		return { chatId, messageIds };
	},
};

const markAsRead: SendOperation<WhatsAppClient> = {
	...{ name: 'Mark as Read', value: 'markAsRead', action: 'Mark a message as read', description: 'Show the incoming message as read (blue ticks) and, optionally, the typing indicator until the answer (at most 25 seconds)' },
	properties: [
		operationProperty('markAsRead', { displayName: 'Message ID', name: 'messageId', type: 'string', default: '', placeholder: 'Empty: the incoming message (message ID)', description: 'The wamid of the message to mark' }),
		operationProperty('markAsRead', { displayName: 'Show Typing', name: 'typing', type: 'boolean', default: true, description: 'Whether the person sees "typing…" until the next message of the number' }),
	],
	async run({ client, itemIndex, json }) {
		const chatId = chatIdFor(this, whatsAppPlugin, itemIndex, json);
		const messageId = stringParameter(this, 'messageId', itemIndex) || String(((json.message as IDataObject | undefined)?.id as string | undefined) ?? '');
		const typing = this.getNodeParameter('typing', itemIndex, true) === true;
		await describedCall(whatsAppPlugin, 'mark the message as read', () => markWhatsAppMessageRead(client, messageId, typing));
		return { chatId, messageIds: [] };
	},
};

const operations = [sendTextOperation(whatsAppPlugin), sendTemplate, sendMedia, markAsRead] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'WhatsApp',
	description: 'Sends a WhatsApp message from your business number (Cloud API); by default answers the person the item came from',
	operations,
	commonProperties: [chatIdProperty(whatsAppPlugin, 'a phone number in digits, like 16505551234')],
};

export class WhatsAppSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(whatsAppPlugin, declaration), icon: { light: 'file:whatsapp.svg', dark: 'file:whatsapp.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(whatsAppPlugin, operations);
}
