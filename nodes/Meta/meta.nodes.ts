/**
 * What the node files of the Meta channels share: the trigger's setup notice and button option,
 * and send operations beside the kit's Send Text (the chat an operation answers, media by URL,
 * Messenger/Instagram sender actions). The WhatsApp node adds templates and read receipts.
 */
import type { IExecuteFunctions, IDataObject, INodeProperties } from 'n8n-workflow';

import type { AnyChannelPlugin } from '../core/channel';
import { isTriggerEnvelope } from '../core/origin';
import { envelopeOriginKey } from '../shared/origin-key';
import { chatIdProperty, type SendDeclaration, sendTextOperation, stringParameter, type SendOperation } from '../shared/send-node';
import type { IdExamples } from '../shared/trigger-settings';
import type { TriggerDeclaration } from '../shared/webhook-trigger';
import { sendAttachment, sendSenderAction, type MessagingClient, type OutboundAttachmentType, type SenderAction } from './meta.messaging';

/** The Chat ID parameter, or the chat of the item when empty: only an item a Clawgate trigger signed names one. */
export function chatIdFor(context: IExecuteFunctions, plugin: AnyChannelPlugin, itemIndex: number, json: IDataObject): string {
	const chatId = stringParameter(context, 'chatId', itemIndex);
	if (chatId) return chatId;
	if (!isTriggerEnvelope(json, envelopeOriginKey())) {
		throw new Error(`The item was not made by a Clawgate trigger, so there is no chat to answer. Set "Chat ID" to the ${plugin.name} chat to send to.`);
	}
	return String((json.chat as IDataObject | undefined)?.id ?? '');
}

/** A parameter shown for one operation only. */
export function operationProperty(operation: string, property: INodeProperties): INodeProperties {
	return { ...property, displayOptions: { show: { operation: [operation] } } };
}

export function mediaUrlProperty(operation: string): INodeProperties {
	return operationProperty(operation, {
		displayName: 'Media URL',
		name: 'mediaUrl',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'https://example.com/picture.jpg',
		description: 'A public https:// address of the file; the platform downloads it',
	});
}

/** Run a platform call with the plugin's error words. */
export async function describedCall<T>(plugin: AnyChannelPlugin, action: string, call: () => Promise<T>): Promise<T> {
	return await call().catch((error: unknown) => {
		throw plugin.describeError(error, action);
	});
}

/** A choice parameter of one operation, from [label, value] pairs; the first is the default. */
export function choiceProperty(operation: string, displayName: string, name: string, choices: Array<[string, string]>): INodeProperties {
	return operationProperty(operation, { displayName, name, type: 'options', default: choices[0][1], options: choices.map(([label, value]) => ({ name: label, value })) });
}

/** Send Media and Sender Action of Messenger and Instagram. */
export function messagingSendOperations(plugin: AnyChannelPlugin): SendOperation<MessagingClient>[] {
	const mediaTypes: Array<[string, OutboundAttachmentType]> = [['Image', 'image'], ['Audio', 'audio'], ['File', 'file'], ['Video', 'video']];
	const senderActions: Array<[string, SenderAction]> = [['Typing On', 'typing_on'], ['Typing Off', 'typing_off'], ['Mark Seen', 'mark_seen']];
	return [
		{
			...{ name: 'Send Media', value: 'sendMedia', action: 'Send an image, audio, video or file', description: 'Send a file by its public URL' },
			properties: [choiceProperty('sendMedia', 'Media Type', 'mediaType', mediaTypes), mediaUrlProperty('sendMedia')],
			async run({ client, itemIndex, json }) {
				const chatId = chatIdFor(this, plugin, itemIndex, json);
				const type = this.getNodeParameter('mediaType', itemIndex, 'image') as OutboundAttachmentType;
				const messageIds = await describedCall(plugin, `send the ${type}`, () => sendAttachment(client, chatId, type, stringParameter(this, 'mediaUrl', itemIndex)));
				return { chatId, messageIds };
			},
		},
		{
			...{ name: 'Send Sender Action', value: 'senderAction', action: 'Show typing or mark as seen', description: 'Show the typing indicator (about 20 seconds, or until the next message) or mark the conversation as seen' },
			properties: [choiceProperty('senderAction', 'Action', 'senderAction', senderActions)],
			async run({ client, itemIndex, json }) {
				const chatId = chatIdFor(this, plugin, itemIndex, json);
				const action = this.getNodeParameter('senderAction', itemIndex, 'typing_on') as SenderAction;
				await describedCall(plugin, `send the sender action ${action}`, () => sendSenderAction(client, chatId, action));
				return { chatId, messageIds: [] };
			},
		},
	];
}

/** How the user connects a Meta app to the trigger: Meta has no API to set the callback URL per workflow. */
export function metaSetupNotice(product: string, fields: string): string {
	return `In the <a href="https://developers.facebook.com/apps/" target="_blank">Meta App Dashboard</a>, open your app → <b>${product}</b> → <b>Webhooks</b> (Configuration), paste the <b>Production URL</b> above as the <b>Callback URL</b> and the credential's <b>Verify Token</b> as the verify token, click <b>Verify and save</b> (the workflow must be active: the trigger answers Meta's verification), then subscribe to ${fields}. Activation checks the access token; Meta signs every delivery with the app secret, which the trigger checks.`;
}

/** Button presses (postbacks): how a person starts ("Get Started") or picks from a menu; on by default. */
export const emitButtonPressesOption: INodeProperties = {
	displayName: 'Emit Button Presses',
	name: 'emitCallbackQueries',
	type: 'boolean',
	default: true,
	description: 'Whether a press on a button (a postback, "Get Started" included) starts the workflow. The button\'s payload is in message.text, event is "callback_query".',
};

/** The declaration of a Messenger-model trigger (Messenger, Instagram): one-to-one chats, button presses. */
export function messagingTriggerDeclaration(displayName: string, description: string, dashboardPath: string, ids: IdExamples): TriggerDeclaration {
	const fields = 'the <b>messages</b> and <b>messaging_postbacks</b> fields';
	return { displayName, version: [1], description, setupNotice: metaSetupNotice(dashboardPath, fields), ids, groups: false, platformOptions: [emitButtonPressesOption] };
}

/** The operations and declaration of a Messenger-model send node: Send Text, Send Media, Send Sender Action. */
export function messagingSendDeclaration(plugin: AnyChannelPlugin, description: string, chatIdPlaceholder: string): { operations: SendOperation<never>[]; declaration: SendDeclaration } {
	const operations = [sendTextOperation(plugin), ...messagingSendOperations(plugin)] as SendOperation<never>[];
	return { operations, declaration: { displayName: plugin.name, description, operations, commonProperties: [chatIdProperty(plugin, chatIdPlaceholder)] } };
}
