import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateInstagramApi implements ICredentialType {
	name = 'clawgateInstagramApi';

	displayName = 'Clawgate Instagram API';

	icon: Icon = { light: 'file:../nodes/Instagram/instagram.svg', dark: 'file:../nodes/Instagram/instagram.dark.svg' };

	documentationUrl = 'https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Instagram → API setup with Instagram login → Generate access tokens: the token of your Instagram professional account (instagram_business_manage_messages permission)',
		},
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'The Instagram app secret (Instagram → API setup with Instagram login → Business login settings). The Clawgate Instagram Trigger uses it to check that webhook requests really come from Meta (X-Hub-Signature-256).',
		},
		{
			displayName: 'Verify Token',
			name: 'verifyToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Any string you choose (long and random); paste the same into “Verify token” when you set the callback URL of the Instagram webhook. The trigger answers Meta’s verification request only when it matches.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://graph.instagram.com',
			description: 'Leave empty for Instagram. Set it only for a proxy or a test server that speaks the Graph API.',
		},
	];

	// A Graph API read with the token: a wrong or expired token answers 400/401 (OAuthException 190).
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://graph.instagram.com").replace(/\\/+$/, "") }}',
			url: '/v21.0/me',
			method: 'GET',
			headers: { Authorization: '=Bearer {{ $credentials.accessToken }}' },
		},
	};
}
