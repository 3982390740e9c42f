import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, editTextOperation, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { rocketChatPlugin } from './rocketChat.plugin';

const operations = [sendTextOperation(rocketChatPlugin), editTextOperation(rocketChatPlugin)] as SendOperation<never>[];

export class RocketChatSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(rocketChatPlugin, { displayName: 'Rocket.Chat', description: 'Posts as your Rocket.Chat bot user; by default answers the room (and thread) the item came from', operations, commonProperties: [chatIdProperty(rocketChatPlugin, 'a room ID such as GENERAL')] }), icon: { light: 'file:rocketChat.svg', dark: 'file:rocketChat.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(rocketChatPlugin, operations);
}
