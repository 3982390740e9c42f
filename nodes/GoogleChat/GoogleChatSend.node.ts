import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, editTextOperation, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { googleChatPlugin } from './googleChat.plugin';

const operations = [sendTextOperation(googleChatPlugin), editTextOperation(googleChatPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Google Chat',
	description: 'Sends a message with your Google Chat app (Chat API); by default answers the space and thread the item came from',
	operations,
	commonProperties: [chatIdProperty(googleChatPlugin, 'a space name spaces/…')],
};

export class GoogleChatSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(googleChatPlugin, declaration), icon: { light: 'file:googleChat.svg', dark: 'file:googleChat.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(googleChatPlugin, operations);
}
