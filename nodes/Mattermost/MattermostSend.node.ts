import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, editTextOperation, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation, typingOperation } from '../shared/send-node';
import { mattermostPlugin } from './mattermost.plugin';

const operations = [sendTextOperation(mattermostPlugin), editTextOperation(mattermostPlugin), typingOperation(mattermostPlugin)] as SendOperation<never>[];

export class MattermostSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(mattermostPlugin, { displayName: 'Mattermost', description: 'Posts as your Mattermost bot; by default answers the channel (and thread) the item came from', operations, commonProperties: [chatIdProperty(mattermostPlugin, 'a channel ID such as dcjz8wpkfbbm9cm8k9a1n1qabh')] }), icon: { light: 'file:mattermost.svg', dark: 'file:mattermost.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(mattermostPlugin, operations);
}
