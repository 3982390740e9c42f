import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { webexPlugin } from './webex.plugin';

const operations = [sendTextOperation(webexPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Webex',
	description: 'Sends a Markdown message with your Webex bot; by default answers the space and thread the item came from',
	operations,
	commonProperties: [chatIdProperty(webexPlugin, 'a Webex room ID')],
};

export class WebexSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(webexPlugin, declaration), icon: { light: 'file:webex.svg', dark: 'file:webex.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(webexPlugin, operations);
}
