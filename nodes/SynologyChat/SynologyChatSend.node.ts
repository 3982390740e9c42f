import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { synologyChatPlugin } from './synologyChat.plugin';

const operations = [sendTextOperation(synologyChatPlugin)] as SendOperation<never>[];

export class SynologyChatSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(synologyChatPlugin, { displayName: 'Synology Chat', description: 'Sends a message to a person through your Synology Chat bot, or to a channel through its incoming webhook; by default answers the chat the item came from', operations, commonProperties: [chatIdProperty(synologyChatPlugin, 'a user ID such as 4, or channel:<ID>')] }), icon: { light: 'file:synologyChat.svg', dark: 'file:synologyChat.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(synologyChatPlugin, operations);
}
