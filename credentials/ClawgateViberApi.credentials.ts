import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateViberApi implements ICredentialType {
	name = 'clawgateViberApi';

	displayName = 'Clawgate Viber API';

	icon: Icon = { light: 'file:../nodes/Viber/viber.svg', dark: 'file:../nodes/Viber/viber.dark.svg' };

	documentationUrl = 'https://developers.viber.com/docs/api/rest-bot-api/#authentication-token';

	properties: INodeProperties[] = [
		{
			displayName: 'Auth Token',
			name: 'authToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'The bot\'s authentication token: in Viber, More → Settings → Bots → Edit Info → "Your app key", or on the Viber Admin Panel. The Clawgate Viber Trigger also checks with it that callbacks really come from Viber.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://chatapi.viber.com',
			description: 'Leave empty for Viber. Set it only for a proxy or a test server that speaks the Viber REST Bot API.',
		},
	];

	// Viber answers HTTP 200 to a wrong token too, with status 2 in the body.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://chatapi.viber.com").replace(/\\/+$/, "") }}',
			url: '/pa/get_account_info',
			method: 'POST',
			headers: { 'X-Viber-Auth-Token': '={{ $credentials.authToken }}' },
			body: {},
			json: true,
		},
		rules: [
			{ type: 'responseSuccessBody', properties: { key: 'status', value: 2, message: 'Viber rejected the auth token (invalidAuthToken). Copy "Your app key" again from the bot\'s Edit Info screen.' } },
			{ type: 'responseSuccessBody', properties: { key: 'status', value: 8, message: 'Viber does not know this bot account (publicAccountNotFound). Check the auth token.' } },
		],
	};
}
