import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { xmppPlugin } from './xmpp.plugin';

const operations = [sendTextOperation(xmppPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'XMPP',
	description: 'Sends a chat message, or a message to a room, with your XMPP account; by default answers where the item came from',
	operations,
	commonProperties: [chatIdProperty(xmppPlugin, 'a JID like ada@example.org, or a room like team@conference.example.org')],
};

export class XmppSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(xmppPlugin, declaration), icon: { light: 'file:xmpp.svg', dark: 'file:xmpp.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(xmppPlugin, operations);
}
