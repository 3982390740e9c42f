import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateWebexApi implements ICredentialType {
	name = 'clawgateWebexApi';

	displayName = 'Clawgate Webex API';

	icon: Icon = { light: 'file:../nodes/Webex/webex.svg', dark: 'file:../nodes/Webex/webex.dark.svg' };

	documentationUrl = 'https://developer.webex.com/docs/bots';

	properties: INodeProperties[] = [
		{
			displayName: 'Bot Access Token',
			name: 'botToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Shown once when you create the bot on developer.webex.com (Start Building Apps → Create a Bot); "Regenerate Access Token" on the bot\'s page issues a new one',
		},
		{
			displayName: 'Webhook Secret',
			name: 'webhookSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Optional. Webex signs every webhook request with the secret it was given when the trigger registered the webhook. Empty: each trigger derives its own secret from the bot token, which is the safe default. Set it only to sign with a secret of your choosing.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://webexapis.com',
			description: 'Leave empty for Webex. Set it only for a proxy or a test server that speaks the Webex REST API (the /v1 paths are added).',
		},
	];

	// GET /people/me answers 401 for a wrong or revoked token, which n8n shows as a failed test.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://webexapis.com").replace(/\\/+$/, "") }}',
			url: '/v1/people/me',
			method: 'GET',
			headers: { Authorization: '=Bearer {{ $credentials.botToken }}' },
		},
	};
}
