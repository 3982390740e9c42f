import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { messengerPlugin } from './messenger.plugin';
import { messengerTriggerDeclaration } from './messenger.trigger';

const methods = webhookTriggerMethods(messengerPlugin);

export class MessengerTrigger implements INodeType {
	description: INodeTypeDescription = { ...webhookTriggerDescription(messengerPlugin, messengerTriggerDeclaration), icon: { light: 'file:messenger.svg', dark: 'file:messenger.dark.svg' }, subtitle: 'Messages to your Facebook Page' };

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
