import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, editTextOperation, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation, typingOperation } from '../shared/send-node';
import { teamsPlugin } from './teams.plugin';

const operations = [sendTextOperation(teamsPlugin), editTextOperation(teamsPlugin), typingOperation(teamsPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Microsoft Teams',
	description: 'Sends a message with your Teams bot (Bot Framework); by default answers the conversation the item came from',
	operations,
	commonProperties: [chatIdProperty(teamsPlugin, 'a conversation ID a:…, 19:…; to reach another region, <serviceUrl>|<conversation ID>')],
};

export class TeamsSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(teamsPlugin, declaration), icon: { light: 'file:teams.svg', dark: 'file:teams.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(teamsPlugin, operations);
}
