import type { INodeType, IWebhookFunctions, IWebhookResponseData, INodeTypeDescription } from 'n8n-workflow';

import { emitButtonPressesOption, metaSetupNotice } from '../Meta/meta.nodes';
import { receiveWebhook, webhookMethodsFor, webhookTriggerDescription } from '../shared/webhook-trigger';
import { messengerPlugin } from './messenger.plugin';

export class MessengerTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(messengerPlugin, {
			displayName: 'Messenger',
			version: [1],
			description: 'Starts the workflow when someone messages your Facebook Page on Messenger, as a Clawgate envelope',
			setupNotice: metaSetupNotice('Messenger → Messenger API Settings', 'the Page\'s <b>messages</b> and <b>messaging_postbacks</b> fields (and add the Page under "Generate access tokens")'),
			ids: { senders: '6945123456789012, 7023456789012345', chats: '', hint: 'page-scoped IDs (PSIDs); the trigger\'s sender.id shows them' },
			groups: false,
			platformOptions: [emitButtonPressesOption],
		}),
		icon: { light: 'file:messenger.svg', dark: 'file:messenger.dark.svg' },
		subtitle: 'Messages to your Facebook Page',
	};

	webhookMethods = webhookMethodsFor(messengerPlugin);

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receiveWebhook(this, messengerPlugin);
	}
}
