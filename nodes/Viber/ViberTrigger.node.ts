import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { viberPlugin } from './viber.plugin';

const methods = webhookTriggerMethods(viberPlugin);

export class ViberTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(viberPlugin, {
			displayName: 'Viber',
			version: [1],
			description: 'Starts the workflow when someone messages your Viber bot, as a Clawgate envelope',
			setupNotice:
				'Activating this workflow sets the <b>Production URL</b> above as your Viber bot\'s webhook (Viber needs it on public https:// with a certificate from a trusted CA; listening for a test event sets the Test URL instead, until the next activation). Deactivating removes it. Viber bots talk one-on-one only: there are no groups. While a webhook is set, the bot\'s chat is open to anyone who finds it: use <b>DM Policy</b> to keep it private.',
			ids: { senders: '01234567890A=, hWd+Gp0sQaKHkBKZ0fxQ3A==', chats: '', hint: 'Viber user IDs, as the trigger\'s sender.id shows them' },
			groups: false,
			platformOptions: [
				{
					displayName: 'Welcome Message',
					name: 'welcomeMessage',
					type: 'string',
					typeOptions: { rows: 2 },
					default: '',
					description:
						'Sent when someone opens a conversation with the bot, before they write (Viber\'s conversation_started). Empty sends nothing. It starts no execution.',
				},
			],
		}),
		icon: { light: 'file:viber.svg', dark: 'file:viber.dark.svg' },
		subtitle: 'Messages to your Viber bot',
	};

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
