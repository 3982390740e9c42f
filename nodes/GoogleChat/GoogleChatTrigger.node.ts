import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { googleChatPlugin } from './googleChat.plugin';

const methods = webhookTriggerMethods(googleChatPlugin);

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

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
