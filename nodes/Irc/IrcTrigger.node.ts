import type { INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { listenerCredentialTest, listenerTriggerDescription, runChannelListener } from '../shared/listener-trigger';
import { checkIrcCredential, ircPlugin, startIrcListener } from './irc.plugin';

export class IrcTrigger implements INodeType {
	description: INodeTypeDescription = {
		...listenerTriggerDescription(ircPlugin, {
			displayName: 'IRC',
			version: [1],
			description: 'Starts the workflow when someone writes to your IRC bot, or says its nick in a channel it joined, as a Clawgate envelope',
			setupNotice:
				'While the workflow is active, n8n holds one connection to the IRC server with the credential\'s nick and joins its channels. In channels the bot answers when a message starts with its nick ("clawbot: hi") or names it; private messages always reach it.',
			ids: { senders: 'ada, grace', chats: '#support, #dev', hint: 'nicks for people, channel names for chats' },
		}),
		credentials: [{ name: 'clawgateIrcApi', required: true, testedBy: 'ircConnectionTest' }],
		icon: { light: 'file:irc.svg', dark: 'file:irc.dark.svg' },
		subtitle: 'Messages to your IRC bot',
	};

	methods = { credentialTest: { ircConnectionTest: listenerCredentialTest(checkIrcCredential) } };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		return await runChannelListener(this, ircPlugin, startIrcListener);
	}
}
