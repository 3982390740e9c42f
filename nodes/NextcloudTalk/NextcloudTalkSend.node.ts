import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { nextcloudTalkPlugin } from './nextcloudTalk.plugin';

const operations = [sendTextOperation(nextcloudTalkPlugin)] as SendOperation<never>[];

export class NextcloudTalkSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(nextcloudTalkPlugin, { displayName: 'Nextcloud Talk', description: 'Sends a message as your Nextcloud Talk bot to a conversation it is enabled in; by default answers the conversation the item came from', operations, commonProperties: [chatIdProperty(nextcloudTalkPlugin, 'a conversation token such as n3xtc10ud')] }), icon: { light: 'file:nextcloudTalk.svg', dark: 'file:nextcloudTalk.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(nextcloudTalkPlugin, operations);
}
