import type { INodeType, IWebhookFunctions, IWebhookResponseData, INodeTypeDescription } from 'n8n-workflow';

import { recoveryTrigger } from '../shared/delivery-journal';
import { receiveWebhook, webhookMethodsFor, webhookTriggerDescription } from '../shared/webhook-trigger';
import { twilioChannelsOption, twilioPublicUrlOption, twilioTriggerV1Options } from './TwilioTrigger.options';
import { twilioPlugin } from './twilio.plugin';

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

	// Journal recovery on the leader main (Delivery Guarantee); nothing else is held open.
	trigger = recoveryTrigger();

	webhookMethods = webhookMethodsFor(twilioPlugin);

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receiveWebhook(this, twilioPlugin);
	}
}
