import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateEmailApi implements ICredentialType {
	name = 'clawgateEmailApi';

	displayName = 'Clawgate Email API';

	icon: Icon = { light: 'file:../nodes/Email/email.svg', dark: 'file:../nodes/Email/email.dark.svg' };

	documentationUrl = 'https://github.com/clawgate/n8n-nodes-clawgate/blob/main/docs/channels/email.md';

	properties: INodeProperties[] = [
		{ displayName: 'IMAP Host', name: 'imapHost', type: 'string', default: '', required: true, placeholder: 'imap.example.org' },
		{ displayName: 'IMAP Port', name: 'imapPort', type: 'number', default: 993, description: '993 with TLS, 143 with STARTTLS' },
		{ displayName: 'SMTP Host', name: 'smtpHost', type: 'string', default: '', required: true, placeholder: 'smtp.example.org' },
		{ displayName: 'SMTP Port', name: 'smtpPort', type: 'number', default: 465, description: '465 with TLS, 587 with STARTTLS' },
		{ displayName: 'User', name: 'user', type: 'string', default: '', required: true, placeholder: 'bot@example.org', description: 'The login name of the mailbox, for IMAP and SMTP' },
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'The mailbox password; with two-factor login (Gmail, Outlook, iCloud) an app password',
		},
		{
			displayName: 'SSL/TLS',
			name: 'secure',
			type: 'boolean',
			default: true,
			description: 'Whether to use TLS from the first byte (ports 993 and 465). Off uses STARTTLS, which Clawgate requires unless the server runs on this machine.',
		},
		{ displayName: 'Email Address', name: 'address', type: 'string', default: '', placeholder: 'bot@example.org', description: 'The address answers come from. Empty uses the user name.' },
		{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '', description: 'Not used by email (the hosts above name the servers); kept so every Clawgate credential has it' },
	];
}
