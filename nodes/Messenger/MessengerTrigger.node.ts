import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { messagingTriggerDeclaration } from '../Meta/meta.nodes';
import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { messengerPlugin } from './messenger.plugin';

const declaration = messagingTriggerDeclaration(
	'Messenger',
	'Starts the workflow when someone messages your Facebook Page on Messenger, as a Clawgate envelope',
	'Messenger → Messenger API Settings',
	{ senders: '6945123456789012, 7023456789012345', chats: '', hint: 'page-scoped IDs (PSIDs); the trigger\'s sender.id shows them' },
);

const methods = webhookTriggerMethods(messengerPlugin);

export class MessengerTrigger implements INodeType {
	description: INodeTypeDescription = { ...webhookTriggerDescription(messengerPlugin, declaration), icon: { light: 'file:messenger.svg', dark: 'file:messenger.dark.svg' }, subtitle: 'Messages to your Facebook Page' };

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
