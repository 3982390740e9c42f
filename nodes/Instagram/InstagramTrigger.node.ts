import type { INodeType, IWebhookFunctions, IWebhookResponseData, INodeTypeDescription } from 'n8n-workflow';

import { messagingTriggerDeclaration } from '../Meta/meta.nodes';
import { recoveryTrigger } from '../shared/delivery-journal';
import { receiveWebhook, webhookMethodsFor, webhookTriggerDescription } from '../shared/webhook-trigger';
import { instagramPlugin } from './instagram.plugin';

const declaration = messagingTriggerDeclaration(
	'Instagram',
	'Starts the workflow when someone sends your Instagram professional account a direct message, as a Clawgate envelope',
	'Instagram → API setup with Instagram login',
	{ senders: '1234567890123456, 2345678901234567', chats: '', hint: 'Instagram-scoped IDs (IGSIDs); the trigger\'s sender.id shows them' },
);

export class InstagramTrigger implements INodeType {
	description: INodeTypeDescription = { ...webhookTriggerDescription(instagramPlugin, declaration), icon: { light: 'file:instagram.svg', dark: 'file:instagram.dark.svg' }, subtitle: 'Direct messages to your Instagram account' };

	// Journal recovery on the leader main (Delivery Guarantee); nothing else is held open.
	trigger = recoveryTrigger();

	webhookMethods = webhookMethodsFor(instagramPlugin);

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receiveWebhook(this, instagramPlugin);
	}
}
