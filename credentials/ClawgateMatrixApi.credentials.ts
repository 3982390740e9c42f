import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateMatrixApi implements ICredentialType {
	name = 'clawgateMatrixApi';

	displayName = 'Clawgate Matrix API';

	icon: Icon = { light: 'file:../nodes/Matrix/matrix.svg', dark: 'file:../nodes/Matrix/matrix.dark.svg' };

	documentationUrl = 'https://github.com/clawgate/n8n-nodes-clawgate/blob/main/docs/channels/matrix.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://matrix.example.org',
			description: "Your homeserver's client-server API address (for matrix.org accounts: https://matrix-client.matrix.org)",
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "The bot account's access token: log the bot in once (POST /_matrix/client/v3/login) or copy it from Element (Settings → Help & About → Access Token)",
		},
		{
			displayName: 'User ID',
			name: 'userId',
			type: 'string',
			default: '',
			placeholder: '@mybot:example.org',
			description: 'The bot\'s user ID. Empty asks the homeserver (whoami).',
		},
	];

	// whoami answers 401 M_UNKNOWN_TOKEN for a wrong or logged-out token.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "").replace(/\\/+$/, "") }}',
			url: '/_matrix/client/v3/account/whoami',
			method: 'GET',
			headers: { Authorization: '=Bearer {{ $credentials.accessToken }}' },
		},
	};
}
