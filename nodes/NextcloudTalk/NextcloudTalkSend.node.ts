import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { nextcloudTalkPlugin } from './nextcloudTalk.plugin';

const operations = [sendTextOperation(nextcloudTalkPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Nextcloud Talk',
	description: 'Sends a message as your Nextcloud Talk bot to a conversation it is enabled in; by default answers the conversation the item came from',
	operations,
	commonProperties: [chatIdProperty(nextcloudTalkPlugin, 'a conversation token such as n3xtc10ud')],
};

export class NextcloudTalkSend implements INodeType {
	description: INodeTypeDescription = {
		...sendNodeDescription(nextcloudTalkPlugin, declaration),
		icon: { light: 'file:nextcloudTalk.svg', dark: 'file:nextcloudTalk.dark.svg' },
		subtitle: '={{ $parameter["operation"] }}',
		usableAsTool: true,
	};

	execute = sendExecutor(nextcloudTalkPlugin, operations);
}
