import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { messagingSendDeclaration } from '../Meta/meta.nodes';
import { sendExecutor, sendNodeDescription } from '../shared/send-node';
import { messengerPlugin } from './messenger.plugin';

const { operations, declaration } = messagingSendDeclaration(messengerPlugin, 'Sends a message from your Facebook Page on Messenger; by default answers the person the item came from', 'a page-scoped ID (PSID)');

export class MessengerSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(messengerPlugin, declaration), icon: { light: 'file:messenger.svg', dark: 'file:messenger.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(messengerPlugin, operations);
}
