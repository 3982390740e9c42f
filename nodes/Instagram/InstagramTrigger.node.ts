import type { INodeType, IWebhookFunctions, IWebhookResponseData, INodeTypeDescription } from 'n8n-workflow';

import { emitButtonPressesOption, metaSetupNotice } from '../Meta/meta.nodes';
import { receiveWebhook, webhookMethodsFor, webhookTriggerDescription } from '../shared/webhook-trigger';
import { instagramPlugin } from './instagram.plugin';

export class InstagramTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(instagramPlugin, {
			displayName: 'Instagram',
			version: [1],
			description: 'Starts the workflow when someone sends your Instagram professional account a direct message, as a Clawgate envelope',
			setupNotice: metaSetupNotice('Instagram → API setup with Instagram login', 'the <b>messages</b> and <b>messaging_postbacks</b> fields'),
			ids: { senders: '1234567890123456, 2345678901234567', chats: '', hint: 'Instagram-scoped IDs (IGSIDs); the trigger\'s sender.id shows them' },
			groups: false,
			platformOptions: [emitButtonPressesOption],
		}),
		icon: { light: 'file:instagram.svg', dark: 'file:instagram.dark.svg' },
		subtitle: 'Direct messages to your Instagram account',
	};

	webhookMethods = webhookMethodsFor(instagramPlugin);

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receiveWebhook(this, instagramPlugin);
	}
}
