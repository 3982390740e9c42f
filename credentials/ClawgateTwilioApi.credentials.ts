import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateTwilioApi implements ICredentialType {
	name = 'clawgateTwilioApi';

	displayName = 'Clawgate Twilio API';

	icon: Icon = { light: 'file:../nodes/Twilio/twilio.svg', dark: 'file:../nodes/Twilio/twilio.dark.svg' };

	documentationUrl = 'https://www.twilio.com/docs/iam/credentials/api';

	properties: INodeProperties[] = [
		{
			displayName: 'Account SID',
			name: 'accountSid',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'AC0123456789abcdef0123456789abcdef',
			description: 'From the Account Info box on the Twilio Console home page',
		},
		{
			displayName: 'Auth Token',
			name: 'authToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'From the Account Info box on the Twilio Console home page. The Clawgate Twilio Trigger needs it to check that requests really come from Twilio (Twilio signs them with it), even when an API key sends the messages.',
		},
		{
			displayName: 'API Key SID',
			name: 'apiKeySid',
			type: 'string',
			default: '',
			placeholder: 'SK0123456789abcdef0123456789abcdef',
			description: 'Optional. With an API key (Console → Account → API keys & tokens) messages are sent with the key instead of the auth token.',
		},
		{
			displayName: 'API Key Secret',
			name: 'apiKeySecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The secret shown once when the API key was created. Used only together with API Key SID.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://api.twilio.com',
			description: 'Leave empty for Twilio. Set it only for a proxy or a test server that speaks the Twilio REST API.',
		},
	];

	// The same choice the nodes make: the API key when both of its fields are set, else the auth token.
	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			auth: {
				username: '={{ $credentials.apiKeySid && $credentials.apiKeySecret ? $credentials.apiKeySid : $credentials.accountSid }}',
				password: '={{ $credentials.apiKeySid && $credentials.apiKeySecret ? $credentials.apiKeySecret : $credentials.authToken }}',
			},
		},
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://api.twilio.com").replace(/\\/+$/, "") }}',
			url: '=/2010-04-01/Accounts/{{ $credentials.accountSid }}.json',
		},
	};
}
