import type { INodeType, IWebhookFunctions, IWebhookResponseData, INodeTypeDescription } from 'n8n-workflow';

import { messagingTriggerDeclaration } from '../Meta/meta.nodes';
import { recoveryTrigger } from '../shared/delivery-journal';
import { receiveWebhook, webhookMethodsFor, webhookTriggerDescription } from '../shared/webhook-trigger';
import { messengerPlugin } from './messenger.plugin';

const declaration = messagingTriggerDeclaration(
	'Messenger',
	'Starts the workflow when someone messages your Facebook Page on Messenger, as a Clawgate envelope',
	'Messenger → Messenger API Settings',
	{ senders: '6945123456789012, 7023456789012345', chats: '', hint: 'page-scoped IDs (PSIDs); the trigger\'s sender.id shows them' },
);

export class MessengerTrigger implements INodeType {
	description: INodeTypeDescription = { ...webhookTriggerDescription(messengerPlugin, declaration), icon: { light: 'file:messenger.svg', dark: 'file:messenger.dark.svg' }, subtitle: 'Messages to your Facebook Page' };

	// Journal recovery on the leader main (Delivery Guarantee); nothing else is held open.
	trigger = recoveryTrigger();

	webhookMethods = webhookMethodsFor(messengerPlugin);

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receiveWebhook(this, messengerPlugin);
	}
}
