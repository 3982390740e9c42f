import type { INodeType, IWebhookFunctions, IWebhookResponseData, INodeTypeDescription } from 'n8n-workflow';

import { recoveryTrigger } from '../shared/delivery-journal';
import { receiveWebhook, webhookMethodsFor, webhookTriggerDescription } from '../shared/webhook-trigger';
import { googleChatPlugin } from './googleChat.plugin';

export class GoogleChatTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(googleChatPlugin, {
			displayName: 'Google Chat',
			version: [1],
			description: 'Starts the workflow when someone messages your Google Chat app, or @mentions it in a space, as a Clawgate envelope',
			setupNotice:
				'In the <a href="https://console.cloud.google.com/apis/api/chat.googleapis.com/hangouts-chat" target="_blank">Google Chat API configuration</a> of your project, choose <b>HTTP endpoint URL</b> and paste the <b>Production URL</b> above (public https://). Set <b>Authentication Audience</b> to the value in the credential\'s Audience (the project number, or this URL). In spaces, Google Chat delivers only messages that @mention the app.',
			ids: { senders: 'users/1234567890..., users/9876543210...', chats: 'spaces/AAAAbcd..., spaces/AAAAxyz...', hint: "users are users/…, spaces spaces/…; the trigger's sender.id and chat.id show them" },
		}),
		icon: { light: 'file:googleChat.svg', dark: 'file:googleChat.dark.svg' },
		subtitle: 'Messages to your Google Chat app',
	};

	// Journal recovery on the leader main (Delivery Guarantee); nothing else is held open.
	trigger = recoveryTrigger();

	webhookMethods = webhookMethodsFor(googleChatPlugin);

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receiveWebhook(this, googleChatPlugin);
	}
}
