import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateSynologyChatApi implements ICredentialType {
	name = 'clawgateSynologyChatApi';

	displayName = 'Clawgate Synology Chat API';

	icon: Icon = { light: 'file:../nodes/SynologyChat/synologyChat.svg', dark: 'file:../nodes/SynologyChat/synologyChat.dark.svg' };

	documentationUrl = 'https://kb.synology.com/en-global/DSM/help/Chat/chat_integration';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://nas.example.com:5001',
			description: 'The address of your Synology NAS (DSM), as you open it in a browser. Synology Chat runs there, so this is required.',
		},
		{
			displayName: 'Bot Token',
			name: 'botToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Synology Chat → your profile photo → Integration → Bots → your bot → Token. Proves that direct messages to the bot come from your NAS, and sends the answers.',
		},
		{
			displayName: 'Outgoing Webhook Token',
			name: 'outgoingToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Integration → Outgoing Webhooks → your webhook → Token. Needed only to receive channel messages (those starting with the trigger word).',
		},
		{
			displayName: 'Incoming Webhook Token',
			name: 'incomingToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Integration → Incoming Webhooks → your webhook: the value of token= in its Webhook URL. Needed only to answer in that webhook\'s channel.',
		},
	];

	// Tokens cannot be checked without posting; this checks that the Base URL is a DSM that serves the Chat API.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl.replace(/\\/+$/, "") }}',
			url: '/webapi/query.cgi',
			method: 'GET',
			qs: { api: 'SYNO.API.Info', version: '1', method: 'query', query: 'SYNO.Chat.External' },
		},
	};
}
