import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateTeamsApi implements ICredentialType {
	name = 'clawgateTeamsApi';

	displayName = 'Clawgate Microsoft Teams API';

	icon: Icon = { light: 'file:../nodes/Teams/teams.svg', dark: 'file:../nodes/Teams/teams.dark.svg' };

	documentationUrl = 'https://learn.microsoft.com/azure/bot-service/abs-quickstart';

	properties: INodeProperties[] = [
		{
			displayName: 'App ID',
			name: 'appId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '00000000-0000-0000-0000-000000000000',
			description: 'The Microsoft App ID of your Azure Bot (Azure portal → your Azure Bot → Configuration). Bot Framework tokens must name it as their audience.',
		},
		{
			displayName: 'App Password',
			name: 'appPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'A client secret of the bot\'s app registration (Configuration → Manage Password → Certificates & secrets → New client secret; copy its Value)',
		},
		{
			displayName: 'Tenant ID',
			name: 'tenantId',
			type: 'string',
			default: '',
			placeholder: 'Empty for a multi-tenant bot',
			description: 'The Directory (tenant) ID, for a single-tenant bot (App Type "Single Tenant" in the Azure Bot). Empty asks botframework.com for tokens, as multi-tenant bots do.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			description:
				'Leave empty for Microsoft. Set it only for a test server that serves the Bot Framework\'s OpenID keys, token endpoint and Connector API (an emulator).',
		},
	];

	// The client-credentials grant answers 400/401 for a wrong app ID, password or tenant, which n8n shows as a failed test.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.baseUrl || "https://login.microsoftonline.com").replace(/\\/+$/, "") }}',
			url: '={{ "/" + ($credentials.tenantId || "botframework.com") + "/oauth2/v2.0/token" }}',
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			body: '={{ "grant_type=client_credentials&scope=" + encodeURIComponent("https://api.botframework.com/.default") + "&client_id=" + encodeURIComponent($credentials.appId) + "&client_secret=" + encodeURIComponent($credentials.appPassword) }}',
		},
	};
}
