import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateTelegramApi implements ICredentialType {
	name = 'clawgateTelegramApi';

	displayName = 'Clawgate Telegram API';

	icon: Icon = { light: 'file:../nodes/Telegram/telegram.svg', dark: 'file:../nodes/Telegram/telegram.dark.svg' };

	documentationUrl = 'https://core.telegram.org/bots/tutorial#obtain-your-bot-token';

	properties: INodeProperties[] = [
		{
			displayName: 'Bot Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			placeholder: '123456789:AAF...',
			description: 'The token BotFather gave you when you created the bot (/newbot)',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://api.telegram.org',
			description: 'Leave empty for Telegram. Set it for a self-hosted Bot API server.',
		},
	];

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://api.telegram.org").replace(/\\/+$/, "") }}/bot{{ $credentials.accessToken }}',
			url: '/getMe',
		},
	};
}
