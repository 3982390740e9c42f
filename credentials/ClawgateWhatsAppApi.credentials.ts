import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateWhatsAppApi implements ICredentialType {
	name = 'clawgateWhatsAppApi';

	displayName = 'Clawgate WhatsApp API';

	icon: Icon = { light: 'file:../nodes/WhatsApp/whatsapp.svg', dark: 'file:../nodes/WhatsApp/whatsapp.dark.svg' };

	documentationUrl = 'https://developers.facebook.com/docs/whatsapp/cloud-api/get-started';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'A system user access token with the whatsapp_business_messaging permission (Meta Business Settings → System users → Generate new token). The temporary token of the API Setup page works for 24 hours.',
		},
		{
			displayName: 'Phone Number ID',
			name: 'phoneNumberId',
			type: 'string',
			default: '',
			required: true,
			description: 'The ID of the business phone number (digits), from WhatsApp → API Setup in the Meta App Dashboard; not the phone number itself. It is the envelope’s accountId.',
		},
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'App settings → Basic → App secret. The Clawgate WhatsApp Trigger uses it to check that webhook requests really come from Meta (X-Hub-Signature-256).',
		},
		{
			displayName: 'Verify Token',
			name: 'verifyToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Any string you choose (long and random); paste the same into “Verify token” when you set the callback URL in WhatsApp → Configuration. The trigger answers Meta’s verification request only when it matches.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://graph.facebook.com',
			description: 'Leave empty for WhatsApp. Set it only for a proxy or a test server that speaks the Graph API.',
		},
	];

	// A Graph API read with the token: a wrong or expired token answers 400/401 (OAuthException 190).
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://graph.facebook.com").replace(/\\/+$/, "") }}',
			url: '=/v21.0/{{ $credentials.phoneNumberId }}',
			method: 'GET',
			headers: { Authorization: '=Bearer {{ $credentials.accessToken }}' },
		},
	};
}
