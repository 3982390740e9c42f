import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { linePlugin } from './line.plugin';

const methods = webhookTriggerMethods(linePlugin);

export class LineTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(linePlugin, {
			displayName: 'LINE',
			version: [1],
			description: 'Starts the workflow when someone messages your LINE Official Account, or mentions it in a group, as a Clawgate envelope',
			setupNotice:
				'Activating this workflow sets the <b>Production URL</b> above as the webhook URL of your LINE channel (LINE needs it on public https://; listening for a test event sets the Test URL instead, until the next activation). In the <a href="https://developers.line.biz/console/" target="_blank">LINE Developers Console</a>, on the channel\'s <b>Messaging API</b> tab, turn on <b>Use webhook</b>; to answer in groups, also allow <b>Allow bot to join group chats</b>. In LINE Official Account Manager, turn off the automatic greeting and reply messages so that only the workflow answers.',
			ids: {
				senders: 'U4af4980629..., U91eeaf62d...',
				chats: 'Ca56f94637c..., R1d2e3f...',
				hint: 'user IDs start with U, group IDs with C and room IDs with R; the trigger\'s sender.id and chat.id show them',
			},
			platformOptions: [
				{
					displayName: 'Emit Button Presses',
					name: 'emitCallbackQueries',
					type: 'boolean',
					default: false,
					description:
						'Whether a postback (a press on a button of the bot\'s messages) starts the workflow. The postback data is in message.text, event is "callback_query".',
				},
			],
		}),
		icon: { light: 'file:line.svg', dark: 'file:line.dark.svg' },
		subtitle: 'Messages to your LINE Official Account',
	};

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
