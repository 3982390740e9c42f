import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { teamsPlugin } from './teams.plugin';

const methods = webhookTriggerMethods(teamsPlugin);

export class TeamsTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(teamsPlugin, {
			displayName: 'Microsoft Teams',
			version: [1],
			description: 'Starts the workflow when someone messages your Teams bot, or mentions it in a group chat or channel, as a Clawgate envelope',
			setupNotice:
				'Paste the <b>Production URL</b> above into your Azure Bot (Azure portal → the bot → <b>Configuration</b> → <b>Messaging endpoint</b>; Teams needs public https://) and add the <b>Microsoft Teams</b> channel under <b>Channels</b>. Install the bot in Teams with an app package whose bot ID is the App ID. In group chats and channels, Teams delivers only messages that @mention the bot.',
			ids: { senders: '29:1abc..., 29:1def...', chats: '19:abc...@thread.tacv2, 19:def...@thread.v2', hint: "user IDs start with 29:, group chats and channels with 19:; the trigger's sender.id and chat.id show them" },
			platformOptions: [
				{
					displayName: 'Allowed Tenants',
					name: 'allowedTenants',
					type: 'string',
					default: '',
					placeholder: '72f988bf-86f1-41af-91ab-2d7cd011db47',
					description:
						'Only people of these Microsoft 365 organisations (Directory/tenant IDs, comma-separated) start the workflow. Empty allows every organisation that installed the bot: a multi-tenant bot can be installed by anyone.',
				},
			],
		}),
		icon: { light: 'file:teams.svg', dark: 'file:teams.dark.svg' },
		subtitle: 'Messages to your Teams bot',
	};

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
