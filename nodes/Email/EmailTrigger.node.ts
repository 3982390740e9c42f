import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { listenerCredentialTest, listenerTrigger, listenerTriggerDescription } from '../shared/listener-trigger';
import { checkEmailCredential, emailPlugin, emailTriggerDeclaration, startEmailListener } from './email.plugin';

export class EmailTrigger implements INodeType {
	description: INodeTypeDescription = { ...listenerTriggerDescription(emailPlugin, emailTriggerDeclaration), credentials: [{ name: 'clawgateEmailApi', required: true, testedBy: 'emailConnectionTest' }], icon: { light: 'file:email.svg', dark: 'file:email.dark.svg' }, subtitle: 'Mail to your mailbox' };
	methods = { credentialTest: { emailConnectionTest: listenerCredentialTest(checkEmailCredential) } };
	trigger = listenerTrigger(emailPlugin, startEmailListener);
}
