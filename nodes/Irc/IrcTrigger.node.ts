import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { listenerCredentialTest, listenerTrigger, listenerTriggerDescription } from '../shared/listener-trigger';
import { checkIrcCredential, ircPlugin, ircTriggerDeclaration, startIrcListener } from './irc.plugin';

export class IrcTrigger implements INodeType {
	description: INodeTypeDescription = { ...listenerTriggerDescription(ircPlugin, ircTriggerDeclaration), credentials: [{ name: 'clawgateIrcApi', required: true, testedBy: 'ircConnectionTest' }], icon: { light: 'file:irc.svg', dark: 'file:irc.dark.svg' }, subtitle: 'Messages to your IRC bot' };
	methods = { credentialTest: { ircConnectionTest: listenerCredentialTest(checkIrcCredential) } };
	trigger = listenerTrigger(ircPlugin, startIrcListener);
}
