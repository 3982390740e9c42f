import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { synologyChatPlugin } from './synologyChat.plugin';

const methods = webhookTriggerMethods(synologyChatPlugin);

export class SynologyChatTrigger implements INodeType {
	description: INodeTypeDescription = { ...webhookTriggerDescription(synologyChatPlugin, { displayName: 'Synology Chat', version: [1], description: 'Starts the workflow when someone writes to your Synology Chat bot, or a channel message starts with a trigger word, as a Clawgate envelope', setupNotice: 'Paste the <b>Production URL</b> above into Synology Chat (your profile photo → <b>Integration</b>): as the <b>Outgoing URL</b> of a <b>Bot</b> for direct messages, and/or as the URL of an <b>Outgoing Webhook</b> of a channel (messages that start with its trigger words). Copy each token into the Clawgate Synology Chat credential. n8n must be reachable from the NAS.', ids: { senders: '4, 12', chats: 'channel:3, channel:7', hint: 'user IDs are numbers, channels are channel:<ID>; the trigger\'s sender.id and chat.id show them' } }), icon: { light: 'file:synologyChat.svg', dark: 'file:synologyChat.dark.svg' }, subtitle: 'Messages to your Synology Chat bot' };

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
