import type { INodeType, IWebhookFunctions, IWebhookResponseData, INodeTypeDescription } from 'n8n-workflow';

import { recoveryTrigger } from '../shared/delivery-journal';
import { receiveWebhook, webhookMethodsFor, webhookTriggerDescription } from '../shared/webhook-trigger';
import { webexPlugin } from './webex.plugin';

export class WebexTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(webexPlugin, {
			displayName: 'Webex',
			version: [1],
			description: 'Starts the workflow when someone messages your Webex bot, or mentions it in a space, as a Clawgate envelope',
			setupNotice:
				'Activating this workflow registers the <b>Production URL</b> above as a Webex webhook for new messages to your bot (Webex must reach it from the internet; listening for a test event registers the Test URL). Deactivating removes it. In spaces, Webex shows a bot only the messages that mention it.',
			ids: { senders: 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS9m...', chats: 'Y2lzY29zcGFyazovL3VzL1JPT00v...', hint: 'Webex person and room IDs, as the trigger\'s sender.id and chat.id show them' },
		}),
		icon: { light: 'file:webex.svg', dark: 'file:webex.dark.svg' },
		subtitle: 'Messages to your Webex bot',
	};

	// Journal recovery on the leader main (Delivery Guarantee); nothing else is held open.
	trigger = recoveryTrigger();

	webhookMethods = webhookMethodsFor(webexPlugin);

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receiveWebhook(this, webexPlugin);
	}
}
