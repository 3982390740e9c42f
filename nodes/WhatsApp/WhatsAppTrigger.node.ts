import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { metaSetupNotice } from '../Meta/meta.nodes';
import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { whatsAppPlugin } from './whatsapp.plugin';

const methods = webhookTriggerMethods(whatsAppPlugin);

export class WhatsAppTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(whatsAppPlugin, {
			displayName: 'WhatsApp',
			version: [1],
			description: 'Starts the workflow when someone messages your WhatsApp Business number (Cloud API), as a Clawgate envelope',
			setupNotice: `${metaSetupNotice('WhatsApp → Configuration', 'the <b>messages</b> field')} Status updates (sent, delivered, read) arrive on the same field and start nothing.`,
			ids: {
				senders: '+1 650 555 1234, 4915112345678',
				chats: 'Y2FwaV9ncm91cDoxNzA1NTU1MDEzOT...',
				hint: 'phone numbers with country code (spaces and + are ignored); groups of the Groups API by group ID',
			},
		}),
		icon: { light: 'file:whatsapp.svg', dark: 'file:whatsapp.dark.svg' },
		subtitle: 'Messages to your WhatsApp Business number',
	};

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
