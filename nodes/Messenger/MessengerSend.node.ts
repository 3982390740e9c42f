import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { messagingSendOperations } from '../Meta/meta.nodes';
import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { messengerPlugin } from './messenger.plugin';

const operations = [sendTextOperation(messengerPlugin), ...messagingSendOperations(messengerPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Messenger',
	description: 'Sends a message from your Facebook Page on Messenger; by default answers the person the item came from',
	operations,
	commonProperties: [chatIdProperty(messengerPlugin, 'a page-scoped ID (PSID)')],
};

export class MessengerSend implements INodeType {
	description: INodeTypeDescription = {
		...sendNodeDescription(messengerPlugin, declaration),
		icon: { light: 'file:messenger.svg', dark: 'file:messenger.dark.svg' },
		subtitle: '={{ $parameter["operation"] }}',
		usableAsTool: true,
	};

	execute = sendExecutor(messengerPlugin, operations);
}
