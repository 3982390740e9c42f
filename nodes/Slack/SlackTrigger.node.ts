import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { slackPlugin } from './slack.plugin';
import { slackTriggerV1Options } from './SlackTrigger.v1-options';

const methods = webhookTriggerMethods(slackPlugin);

export class SlackTrigger implements INodeType {
	description: INodeTypeDescription = {
		...webhookTriggerDescription(slackPlugin, {
			displayName: 'Slack',
			version: [1, 2],
			description: 'Starts the workflow when your Slack app is messaged or @mentioned, as a Clawgate envelope',
			setupNotice:
				'Slack cannot be told this URL by n8n. In your app at <a href="https://api.slack.com/apps" target="_blank">api.slack.com/apps</a>: <b>Event Subscriptions</b> → Enable Events → paste the <b>Production URL</b> from "Webhook URLs" above as the Request URL (activate this workflow first: Slack checks the URL at once). Under <b>Subscribe to bot events</b> add <code>message.im</code> and <code>app_mention</code> (and <code>message.channels</code>, <code>message.groups</code>, <code>message.mpim</code> for Channel Messages). Bot token scopes under <b>OAuth &amp; Permissions</b>: <code>chat:write</code>, <code>im:history</code>, <code>app_mentions:read</code>, <code>files:write</code> (plus <code>channels:history</code>, <code>groups:history</code>, <code>mpim:history</code> for Channel Messages); reinstall the app after changing them. Under <b>App Home</b> allow users to send messages to the app.',
			ids: { senders: 'U0123456789, U0987654321', chats: 'C0123456789, G0123456789', hint: "member IDs from a profile's ⋮ menu → Copy member ID; channel IDs from the channel's details" },
			legacyProperties: [slackTriggerV1Options],
		}),
		icon: { light: 'file:slack.svg', dark: 'file:slack.dark.svg' },
		subtitle: 'Messages to your Slack app',
	};

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
