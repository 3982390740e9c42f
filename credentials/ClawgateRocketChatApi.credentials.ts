import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateRocketChatApi implements ICredentialType {
	name = 'clawgateRocketChatApi';

	displayName = 'Clawgate Rocket.Chat API';

	icon: Icon = { light: 'file:../nodes/RocketChat/rocketChat.svg', dark: 'file:../nodes/RocketChat/rocketChat.dark.svg' };

	documentationUrl = 'https://docs.rocket.chat/docs/manage-personal-access-tokens';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://chat.example.com',
			description: 'The address of your Rocket.Chat server or cloud workspace, as you open it in a browser',
		},
		{
			displayName: 'User ID',
			name: 'userId',
			type: 'string',
			default: '',
			required: true,
			description: 'The ID of the bot user, shown next to its personal access token when you create it',
		},
		{
			displayName: 'Personal Access Token',
			name: 'authToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Log in as the bot user → My Account → Personal Access Tokens → Add, with "Ignore Two Factor Authentication" ticked so the token works without a 2FA code',
		},
	];

	// GET /api/v1/me answers 401 for a wrong token or user ID.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl.replace(/\\/+$/, "") }}/api/v1',
			url: '/me',
			method: 'GET',
			headers: { 'X-Auth-Token': '={{ $credentials.authToken }}', 'X-User-Id': '={{ $credentials.userId }}' },
		},
	};
}
