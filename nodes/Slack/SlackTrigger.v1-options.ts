import type { INodeProperties } from 'n8n-workflow';

/** Slack Trigger v1's options, shown for v1 nodes only; the shared pipeline still reads their names. */
export const slackTriggerV1Options: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	displayOptions: { show: { '@version': [1] } },
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Allowed Channel IDs',
			name: 'allowedChannelIds',
			type: 'string',
			default: '',
			placeholder: 'C0123456789, G0123456789',
			description: 'Only answer in these channels (comma-separated IDs). Empty answers in every channel the bot is in. Direct messages are limited by Allowed User IDs instead.',
		},
		{
			displayName: 'Allowed User IDs',
			name: 'allowedUserIds',
			type: 'string',
			default: '',
			placeholder: 'U0123456789, U0987654321',
			description: 'Only answer these people (comma-separated member IDs, from a profile\'s ⋮ menu → Copy member ID). Empty answers everyone.',
		},
		{
			displayName: 'Channel Messages',
			name: 'channelMessages',
			type: 'boolean',
			default: false,
			description:
				'Whether to start the workflow for every message in channels the bot is in, not only when it is @mentioned. Needs the message.channels, message.groups and message.mpim events; mentions then arrive through them.',
		},
		{
			displayName: 'Include Bots',
			name: 'includeBots',
			type: 'boolean',
			default: false,
			description: 'Whether messages from other bots and apps start the workflow. The bot\'s own messages never do.',
		},
		{
			displayName: 'Session Per User in Channels',
			name: 'perUserSessions',
			type: 'boolean',
			default: false,
			description: 'Whether each member of a channel gets a conversation of their own instead of one shared by the channel (or thread)',
		},
	],
};
