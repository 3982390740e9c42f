import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateMessengerApi implements ICredentialType {
	name = 'clawgateMessengerApi';

	displayName = 'Clawgate Messenger API';

	icon: Icon = { light: 'file:../nodes/Messenger/messenger.svg', dark: 'file:../nodes/Messenger/messenger.dark.svg' };

	documentationUrl = 'https://developers.facebook.com/docs/messenger-platform/get-started';

	properties: INodeProperties[] = [
		{
			displayName: 'Page Access Token',
			name: 'pageAccessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Messenger → Messenger API Settings → Generate access tokens: the token of your Facebook Page (pages_messaging permission)',
		},
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'App settings → Basic → App secret. The Clawgate Messenger Trigger uses it to check that webhook requests really come from Meta (X-Hub-Signature-256).',
		},
		{
			displayName: 'Verify Token',
			name: 'verifyToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Any string you choose (long and random); paste the same into “Verify token” when you set the callback URL of the Messenger webhook. The trigger answers Meta’s verification request only when it matches.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://graph.facebook.com',
			description: 'Leave empty for Messenger. Set it only for a proxy or a test server that speaks the Graph API.',
		},
	];

	// A Graph API read with the token: a wrong or expired token answers 400/401 (OAuthException 190).
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://graph.facebook.com").replace(/\\/+$/, "") }}',
			url: '/v21.0/me',
			method: 'GET',
			headers: { Authorization: '=Bearer {{ $credentials.pageAccessToken }}' },
		},
	};
}
