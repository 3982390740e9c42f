import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation, typingOperation } from '../shared/send-node';
import { signalPlugin } from './signal.plugin';

const operations = [sendTextOperation(signalPlugin), typingOperation(signalPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Signal',
	description: 'Sends a message from your Signal number through signal-cli-rest-api; by default answers the chat the item came from',
	operations,
	commonProperties: [chatIdProperty(signalPlugin, 'a phone number +…, or group.… for a group')],
};

export class SignalSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(signalPlugin, declaration), icon: { light: 'file:signal.svg', dark: 'file:signal.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(signalPlugin, operations);
}
