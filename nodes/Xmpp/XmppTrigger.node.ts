import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { listenerCredentialTest, listenerTrigger, listenerTriggerDescription } from '../shared/listener-trigger';
import { checkXmppCredential, xmppPlugin, xmppTriggerDeclaration, startXmppListener } from './xmpp.plugin';

export class XmppTrigger implements INodeType {
	description: INodeTypeDescription = { ...listenerTriggerDescription(xmppPlugin, xmppTriggerDeclaration), credentials: [{ name: 'clawgateXmppApi', required: true, testedBy: 'xmppConnectionTest' }], icon: { light: 'file:xmpp.svg', dark: 'file:xmpp.dark.svg' }, subtitle: 'Messages to your XMPP account' };
	methods = { credentialTest: { xmppConnectionTest: listenerCredentialTest(checkXmppCredential) } };
	trigger = listenerTrigger(xmppPlugin, startXmppListener);
}
