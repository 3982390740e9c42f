import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateSignalApi implements ICredentialType {
	name = 'clawgateSignalApi';

	displayName = 'Clawgate Signal API';

	icon: Icon = { light: 'file:../nodes/Signal/signal.svg', dark: 'file:../nodes/Signal/signal.dark.svg' };

	documentationUrl = 'https://github.com/clawgate/n8n-nodes-clawgate/blob/main/docs/channels/signal.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'http://localhost:8080',
			description: 'Where your signal-cli-rest-api listens (it must run with MODE=json-rpc). Keep it on a private network: the API has no authentication of its own.',
		},
		{
			displayName: 'Account',
			name: 'account',
			type: 'string',
			default: '',
			required: true,
			placeholder: '+4915112345678',
			description: "The bot's phone number with country code, as registered or linked in signal-cli",
		},
	];

	// Lists the accounts signal-cli knows; a wrong address fails here.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "").replace(/\\/+$/, "") }}',
			url: '/v1/accounts',
			method: 'GET',
		},
	};
}
