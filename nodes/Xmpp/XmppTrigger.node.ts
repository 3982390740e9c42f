import type { INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { listenerCredentialTest, listenerTriggerDescription, runChannelListener } from '../shared/listener-trigger';
import { checkXmppCredential, startXmppListener, xmppPlugin } from './xmpp.plugin';

export class XmppTrigger implements INodeType {
	description: INodeTypeDescription = {
		...listenerTriggerDescription(xmppPlugin, {
			displayName: 'XMPP',
			version: [1],
			description: 'Starts the workflow when someone chats with your XMPP (Jabber) account, or names it in a room it joined, as a Clawgate envelope',
			setupNotice:
				'While the workflow is active, n8n stays logged in with the credential\'s JID and joins its rooms. In rooms the bot answers when a message starts with its nick ("clawbot: hi") or names it; the history a room replays on join is never answered.',
			ids: { senders: 'ada@example.org, team@conference.example.org/ada', chats: 'team@conference.example.org', hint: 'JIDs for people (in rooms: room/nick), room JIDs for chats' },
		}),
		credentials: [{ name: 'clawgateXmppApi', required: true, testedBy: 'xmppConnectionTest' }],
		icon: { light: 'file:xmpp.svg', dark: 'file:xmpp.dark.svg' },
		subtitle: 'Messages to your XMPP account',
	};

	methods = { credentialTest: { xmppConnectionTest: listenerCredentialTest(checkXmppCredential) } };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		return await runChannelListener(this, xmppPlugin, startXmppListener);
	}
}
