import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateGoogleChatApi implements ICredentialType {
	name = 'clawgateGoogleChatApi';

	displayName = 'Clawgate Google Chat API';

	icon: Icon = { light: 'file:../nodes/GoogleChat/googleChat.svg', dark: 'file:../nodes/GoogleChat/googleChat.dark.svg' };

	documentationUrl = 'https://developers.google.com/workspace/chat/quickstart/gcf-app';

	properties: INodeProperties[] = [
		// The rule reads the field name only; this JSON holds the service account's private key.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Service Account JSON',
			name: 'serviceAccountJson',
			type: 'string',
			typeOptions: { password: true, rows: 6 },
			default: '',
			required: true,
			description:
				'The JSON key file of a service account in the Google Cloud project of your Chat app (IAM & Admin → Service Accounts → the account → Keys → Add key → JSON). The app posts its answers as this account.',
		},
		{
			displayName: 'Audience',
			name: 'audience',
			type: 'string',
			default: '',
			required: true,
			placeholder: '123456789012',
			description:
				'What Google Chat names as the audience of its requests, as set under "Authentication Audience" in the Chat API configuration: the project number (Project Number), or the HTTP endpoint URL of the trigger (HTTP endpoint URL)',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			description: 'Leave empty for Google. Set it only for a test server that serves Google\'s signing certificates, token endpoint and the Chat API (an emulator).',
		},
	];

	// A token request needs a signed JWT, which a declarative test cannot build; Google's public
	// certificates of the account answer 404 when the JSON names no existing service account.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://www.googleapis.com").replace(/\\/+$/, "") }}',
			url: '={{ "/service_accounts/v1/metadata/x509/" + encodeURIComponent(JSON.parse($credentials.serviceAccountJson).client_email) }}',
			method: 'GET',
		},
	};
}
