import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { instagramPlugin } from './instagram.plugin';
import { instagramTriggerDeclaration } from './instagram.trigger';

const methods = webhookTriggerMethods(instagramPlugin);

export class InstagramTrigger implements INodeType {
	description: INodeTypeDescription = { ...webhookTriggerDescription(instagramPlugin, instagramTriggerDeclaration), icon: { light: 'file:instagram.svg', dark: 'file:instagram.dark.svg' }, subtitle: 'Direct messages to your Instagram account' };

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
