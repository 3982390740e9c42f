import type { INodeProperties } from 'n8n-workflow';

/** Servers are Discord's own: an option in every version. */
export const allowedGuildIdsOption: INodeProperties = {
	displayName: 'Allowed Server IDs',
	name: 'allowedGuildIds',
	type: 'string',
	default: '',
	placeholder: '1234567890123456789',
	description: 'Only messages in these servers start the workflow. Comma-separated; empty allows all. DMs are not affected.',
};

/** Discord Trigger v1's options, shown for v1 nodes only; the shared settings still read their names. */
export const discordTriggerV1Options: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	displayOptions: { show: { '@version': [1] } },
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'All Server Messages',
			name: 'allGuildMessages',
			type: 'boolean',
			default: false,
			description: 'Whether every message in server channels the bot can read starts the workflow, not only messages that mention the bot or reply to it',
		},
		{
			displayName: 'Allowed Channel IDs',
			name: 'allowedChannelIds',
			type: 'string',
			default: '',
			placeholder: '1234567890123456789, 2345678901234567890',
			description: 'Only messages in these server channels (and threads in them) start the workflow. Comma-separated; empty allows all. DMs are not affected.',
		},
			allowedGuildIdsOption,
		{
			displayName: 'Allowed User IDs',
			name: 'allowedUserIds',
			type: 'string',
			default: '',
			placeholder: '1234567890123456789',
			description: 'Only messages from these users start the workflow, in DMs and servers. Comma-separated; empty allows everyone.',
		},
		{
			displayName: 'Direct Messages',
			name: 'directMessages',
			type: 'boolean',
			default: true,
			description: 'Whether direct messages to the bot start the workflow',
		},
		{
			displayName: 'Include Other Bots',
			name: 'includeBots',
			type: 'boolean',
			default: false,
			description: 'Whether messages from other bots and webhooks start the workflow. The bot\'s own messages never do.',
		},
		{
			displayName: 'Session Per User in Servers',
			name: 'perUserSessions',
			type: 'boolean',
			default: false,
			description: 'Whether each member of a channel gets a conversation of their own instead of one shared by the channel',
		},
	],
};
