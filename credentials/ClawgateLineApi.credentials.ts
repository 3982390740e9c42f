import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateLineApi implements ICredentialType {
	name = 'clawgateLineApi';

	displayName = 'Clawgate LINE API';

	icon: Icon = { light: 'file:../nodes/Line/line.svg', dark: 'file:../nodes/Line/line.dark.svg' };

	documentationUrl = 'https://developers.line.biz/en/docs/messaging-api/getting-started/';

	properties: INodeProperties[] = [
		{
			displayName: 'Channel Access Token',
			name: 'channelAccessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'A long-lived channel access token: LINE Developers Console → your Messaging API channel → Messaging API tab → "Channel access token" → Issue',
		},
		{
			displayName: 'Channel Secret',
			name: 'channelSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'From the Basic settings tab of the same channel. The Clawgate LINE Trigger uses it to check that webhook requests really come from LINE.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://api.line.me',
			description: 'Leave empty for LINE. Set it only for a proxy or a test server that speaks the LINE Messaging API.',
		},
	];

	// Get bot info answers 401 for a wrong or expired token, which n8n shows as a failed test.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://api.line.me").replace(/\\/+$/, "") }}',
			url: '/v2/bot/info',
			method: 'GET',
			headers: { Authorization: '=Bearer {{ $credentials.channelAccessToken }}' },
		},
	};
}
