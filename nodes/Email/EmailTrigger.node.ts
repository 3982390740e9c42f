import type { INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { listenerCredentialTest, listenerTriggerDescription, runChannelListener } from '../shared/listener-trigger';
import { checkEmailCredential, emailPlugin, startEmailListener } from './email.plugin';

export class EmailTrigger implements INodeType {
	description: INodeTypeDescription = {
		...listenerTriggerDescription(emailPlugin, {
			displayName: 'Email',
			version: [1],
			description: 'Starts the workflow when a mail arrives in the mailbox (IMAP), as a Clawgate envelope: one conversation per email thread',
			setupNotice:
				'While the workflow is active, n8n keeps the INBOX open (IMAP IDLE) and answers mail that arrives from now on; older mail is left alone. A mailbox address is public: set <b>DM Policy</b> to Allowlist (with Allowed Senders) or Pairing, or the bot answers spam with your model budget.',
			ids: { senders: 'ada@example.org, grace@example.org', chats: 'ada@example.org', hint: 'email addresses' },
			groups: false,
		}),
		credentials: [{ name: 'clawgateEmailApi', required: true, testedBy: 'emailConnectionTest' }],
		icon: { light: 'file:email.svg', dark: 'file:email.dark.svg' },
		subtitle: 'Mail to your mailbox',
	};

	methods = { credentialTest: { emailConnectionTest: listenerCredentialTest(checkEmailCredential) } };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		return await runChannelListener(this, emailPlugin, startEmailListener);
	}
}
