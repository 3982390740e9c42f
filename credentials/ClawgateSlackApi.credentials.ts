import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateSlackApi implements ICredentialType {
	name = 'clawgateSlackApi';

	displayName = 'Clawgate Slack API';

	icon: Icon = { light: 'file:../nodes/Slack/slack.svg', dark: 'file:../nodes/Slack/slack.dark.svg' };

	documentationUrl = 'https://docs.slack.dev/quickstart';

	properties: INodeProperties[] = [
		{
			displayName: 'Bot Token',
			name: 'botToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			placeholder: 'xoxb-...',
			description: 'The Bot User OAuth Token from your Slack app\'s "OAuth & Permissions" page (after installing the app to the workspace)',
		},
		{
			displayName: 'Signing Secret',
			name: 'signingSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'From your Slack app\'s "Basic Information" page, under App Credentials. The Clawgate Slack Trigger uses it to check that requests really come from Slack.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://slack.com/api',
			description: 'Leave empty for Slack. Set it only for a proxy or a test server that speaks the Slack Web API.',
		},
	];

	// Slack answers a bad token with HTTP 200 and `ok: false`, so the status code alone proves nothing.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://slack.com/api").replace(/\\/+$/, "") }}',
			url: '/auth.test',
			method: 'POST',
			headers: { Authorization: '=Bearer {{ $credentials.botToken }}' },
		},
		rules: [
			{
				type: 'responseSuccessBody',
				properties: { key: 'error', value: 'invalid_auth', message: 'Slack rejected the bot token (invalid_auth). Copy the Bot User OAuth Token (xoxb-...) again.' },
			},
			{
				type: 'responseSuccessBody',
				properties: { key: 'error', value: 'not_authed', message: 'No bot token was sent. Paste the Bot User OAuth Token (xoxb-...).' },
			},
			{
				type: 'responseSuccessBody',
				properties: { key: 'ok', value: false, message: 'Slack refused the bot token. Reinstall the app to the workspace and copy its Bot User OAuth Token (xoxb-...).' },
			},
		],
	};
}
