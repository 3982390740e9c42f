import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateZulipApi implements ICredentialType {
	name = 'clawgateZulipApi';

	displayName = 'Clawgate Zulip API';

	icon: Icon = { light: 'file:../nodes/Zulip/zulip.svg', dark: 'file:../nodes/Zulip/zulip.dark.svg' };

	documentationUrl = 'https://github.com/clawgate/n8n-nodes-clawgate/blob/main/docs/channels/zulip.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://example.zulipchat.com',
			description: 'The address of your Zulip organization',
		},
		{
			displayName: 'Bot Email',
			name: 'email',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'mybot-bot@example.zulipchat.com',
			description: "The bot's email address: Personal settings → Bots → the bot's card",
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "The bot's API key, on the same card",
		},
	];

	// /users/me answers 401 for a wrong email or API key.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "").replace(/\\/+$/, "") }}',
			url: '/api/v1/users/me',
			method: 'GET',
			auth: { username: '={{ $credentials.email }}', password: '={{ $credentials.apiKey }}' },
		},
	};
}
