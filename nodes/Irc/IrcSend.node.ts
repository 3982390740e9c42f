import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { ircPlugin } from './irc.plugin';

const operations = [sendTextOperation(ircPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'IRC',
	description: 'Sends a message with your IRC bot, paced against flooding; by default answers the nick or channel the item came from',
	operations,
	commonProperties: [chatIdProperty(ircPlugin, 'a nick like ada, or a channel like #support')],
};

export class IrcSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(ircPlugin, declaration), icon: { light: 'file:irc.svg', dark: 'file:irc.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(ircPlugin, operations);
}
