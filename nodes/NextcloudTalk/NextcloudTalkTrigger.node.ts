import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { webhookTriggerDescription, webhookTriggerMethods } from '../shared/webhook-trigger';
import { nextcloudTalkPlugin } from './nextcloudTalk.plugin';

const methods = webhookTriggerMethods(nextcloudTalkPlugin);

export class NextcloudTalkTrigger implements INodeType {
	description: INodeTypeDescription = { ...webhookTriggerDescription(nextcloudTalkPlugin, { displayName: 'Nextcloud Talk', version: [1], description: 'Starts the workflow when someone writes to your Nextcloud Talk bot, or mentions it in a group conversation, as a Clawgate envelope', setupNotice: 'A Nextcloud admin installs the bot with the <b>Production URL</b> above: <code>occ talk:bot:install "Clawgate" "SECRET" "PRODUCTION_URL" --feature=webhook --feature=response</code>, then enables it in a conversation (<code>occ talk:bot:setup BOT_ID CONVERSATION_TOKEN</code>, or the conversation settings → Bots). Put the same secret and bot name in the Clawgate Nextcloud Talk credential.', ids: { senders: 'users/ada, users/grace', chats: 'n3xtc10ud, 8sfwbvq3', hint: 'people are users/<user ID>, conversations their token (the end of the conversation\'s link); the trigger\'s sender.id and chat.id show them' } }), icon: { light: 'file:nextcloudTalk.svg', dark: 'file:nextcloudTalk.dark.svg' }, subtitle: 'Messages to your Nextcloud Talk bot' };

	// Requests, activation and journal recovery: the shared webhook pipeline.
	trigger = methods.trigger;
	webhookMethods = methods.webhookMethods;
	webhook = methods.webhook;
}
