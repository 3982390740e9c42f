import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateDiscordApi implements ICredentialType {
	name = 'clawgateDiscordApi';

	displayName = 'Clawgate Discord API';

	icon: Icon = { light: 'file:../nodes/Discord/discord.svg', dark: 'file:../nodes/Discord/discord.dark.svg' };

	documentationUrl = 'https://discord.com/developers/docs/quick-start/getting-started';

	properties: INodeProperties[] = [
		{
			displayName: 'Bot Token',
			name: 'botToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'From the Discord Developer Portal: your application → Bot → Reset Token. On the same page, turn on "Message Content Intent" so the trigger can read messages.',
		},
		{
			displayName: 'Application ID',
			name: 'applicationId',
			type: 'string',
			default: '',
			placeholder: '1234567890123456789',
			description:
				'From your application\'s "General Information" page. Optional: the invite link uses it, and the trigger warns when the token belongs to another application.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://discord.com/api',
			description: 'Leave empty for Discord. Set it only for a proxy or a test server that speaks the Discord API.',
		},
	];

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://discord.com/api").replace(/\\/+$/, "") }}/v10',
			url: '/users/@me',
			headers: { Authorization: '=Bot {{ $credentials.botToken.trim().replace(/^Bot\\s+/i, "") }}' },
		},
	};
}
