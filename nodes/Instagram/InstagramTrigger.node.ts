import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { messagingTriggerDeclaration } from '../Meta/meta.nodes';
import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { instagramPlugin } from './instagram.plugin';

const declaration = messagingTriggerDeclaration(
	'Instagram',
	'Starts the workflow when someone sends your Instagram professional account a direct message, as a Clawgate envelope',
	'Instagram → API setup with Instagram login',
	{ senders: '1234567890123456, 2345678901234567', chats: '', hint: 'Instagram-scoped IDs (IGSIDs); the trigger\'s sender.id shows them' },
);

const methods = webhookTriggerMethods(instagramPlugin);

export class InstagramTrigger implements INodeType {
	description: INodeTypeDescription = { ...webhookTriggerDescription(instagramPlugin, declaration), icon: { light: 'file:instagram.svg', dark: 'file:instagram.dark.svg' }, subtitle: 'Direct messages to your Instagram account' };

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
