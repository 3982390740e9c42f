import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { googleChatPlugin } from './googleChat.plugin';
import { googleChatTriggerDeclaration } from './googleChat.trigger';

const methods = webhookTriggerMethods(googleChatPlugin);

export class GoogleChatTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(googleChatPlugin, googleChatTriggerDeclaration),
		icon: { light: 'file:googleChat.svg', dark: 'file:googleChat.dark.svg' },
		subtitle: 'Messages to your Google Chat app',
	};

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
