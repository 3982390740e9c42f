import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { twilioChannelsOption, twilioPublicUrlOption, twilioTriggerV1Options } from './TwilioTrigger.options';
import { twilioPlugin } from './twilio.plugin';

const methods = webhookTriggerMethods(twilioPlugin);

export class TwilioTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(twilioPlugin, {
			displayName: 'Twilio',
			version: [1, 2],
			description: 'Starts the workflow when your Twilio number or WhatsApp sender receives a message, as a Clawgate envelope',
			setupNotice:
				'Twilio cannot be told this URL by n8n: copy the <b>Production URL</b> from "Webhook URLs" above and paste it into Twilio, with method <b>HTTP POST</b>. For a phone number: Console → Phone Numbers → Manage → Active numbers → your number → Messaging Configuration → <b>A message comes in</b>: Webhook. For the WhatsApp sandbox: Console → Messaging → Try it out → Send a WhatsApp message → Sandbox settings → <b>When a message comes in</b>. Twilio signs every request with the account\'s Auth Token; if n8n sits behind a proxy and Twilio calls another address than the one shown, set <b>Public URL</b> below.',
			ids: { senders: '+14155550123, +447700900123', chats: '', hint: 'E.164 phone numbers, with or without whatsapp:' },
			groups: false,
			platformOptions: [twilioChannelsOption, twilioPublicUrlOption],
			legacyProperties: [twilioTriggerV1Options],
		}),
		icon: { light: 'file:twilio.svg', dark: 'file:twilio.dark.svg' },
		subtitle: 'WhatsApp and SMS messages',
	};

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
