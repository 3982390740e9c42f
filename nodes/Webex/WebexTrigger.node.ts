import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { webexPlugin } from './webex.plugin';
import { webexTriggerDeclaration } from './webex.trigger';

const methods = webhookTriggerMethods(webexPlugin);

export class WebexTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(webexPlugin, webexTriggerDeclaration),
		icon: { light: 'file:webex.svg', dark: 'file:webex.dark.svg' },
		subtitle: 'Messages to your Webex bot',
	};

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
