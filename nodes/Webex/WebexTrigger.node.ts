import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { webexPlugin } from './webex.plugin';

const methods = webhookTriggerMethods(webexPlugin);

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

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
