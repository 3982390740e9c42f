import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateMattermostApi implements ICredentialType {
	name = 'clawgateMattermostApi';

	displayName = 'Clawgate Mattermost API';

	icon: Icon = { light: 'file:../nodes/Mattermost/mattermost.svg', dark: 'file:../nodes/Mattermost/mattermost.dark.svg' };

	documentationUrl = 'https://developers.mattermost.com/integrate/reference/bot-accounts/';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://chat.example.com',
			description: 'The address of your Mattermost server, as you open it in a browser. Mattermost is self-hosted, so this is required.',
		},
		{
			displayName: 'Bot Token',
			name: 'botToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Integrations → Bot Accounts → Add Bot Account: the access token shown once after creating it (or a personal access token of a user)',
		},
	];

	// GET /users/me answers 401 for a wrong or revoked token.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl.replace(/\\/+$/, "") }}/api/v4',
			url: '/users/me',
			method: 'GET',
			headers: { Authorization: '=Bearer {{ $credentials.botToken }}' },
		},
	};
}
