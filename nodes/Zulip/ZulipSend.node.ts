import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, editTextOperation, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation, typingOperation } from '../shared/send-node';
import { zulipPlugin } from './zulip.plugin';

const operations = [sendTextOperation(zulipPlugin), editTextOperation(zulipPlugin), typingOperation(zulipPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Zulip',
	description: 'Sends a message as your Zulip bot; by default answers the DM, or the stream topic, the item came from',
	operations,
	commonProperties: [chatIdProperty(zulipPlugin, 'user IDs for a direct message, e.g. 8 or 8,25')],
};

export class ZulipSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(zulipPlugin, declaration), icon: { light: 'file:zulip.svg', dark: 'file:zulip.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(zulipPlugin, operations);
}
