import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateNextcloudTalkApi implements ICredentialType {
	name = 'clawgateNextcloudTalkApi';

	displayName = 'Clawgate Nextcloud Talk API';

	icon: Icon = { light: 'file:../nodes/NextcloudTalk/nextcloudTalk.svg', dark: 'file:../nodes/NextcloudTalk/nextcloudTalk.dark.svg' };

	documentationUrl = 'https://nextcloud-talk.readthedocs.io/en/latest/bots/';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://cloud.example.com',
			description: 'The address of your Nextcloud server. Nextcloud is self-hosted, so this is required.',
		},
		{
			displayName: 'Bot Secret',
			name: 'botSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'The shared secret given to occ talk:bot:install (40 to 128 characters). It signs what Talk sends to n8n and what the bot sends to Talk.',
		},
		{
			displayName: 'Bot Name',
			name: 'botName',
			type: 'string',
			default: '',
			placeholder: 'Clawgate',
			description: 'The name given to occ talk:bot:install. In group conversations the bot answers messages that mention it as @Name.',
		},
		{
			displayName: 'API User',
			name: 'apiUser',
			type: 'string',
			default: '',
			description:
				'Optional: a Nextcloud user who is a member of the bot\'s conversations. With it (and an app password) the trigger tells one-to-one conversations (answered without a mention) from group ones; without it, every conversation counts as a group.',
		},
		{
			displayName: 'App Password',
			name: 'appPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'An app password of the API User (Personal settings → Security → Create new app password)',
		},
	];

	// The bot secret cannot be checked without posting; this checks that the Base URL is a Nextcloud server.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl.replace(/\\/+$/, "") }}',
			url: '/status.php',
			method: 'GET',
		},
	};
}
