import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateIrcApi implements ICredentialType {
	name = 'clawgateIrcApi';

	displayName = 'Clawgate IRC API';

	icon: Icon = { light: 'file:../nodes/Irc/irc.svg', dark: 'file:../nodes/Irc/irc.dark.svg' };

	documentationUrl = 'https://github.com/clawgate/n8n-nodes-clawgate/blob/main/docs/channels/irc.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Server URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'ircs://irc.libera.chat:6697',
			description: 'ircs://host:port connects with TLS (port 6697 by default); irc://host:port without it (6667). The SASL password is only sent over TLS, or to this machine.',
		},
		{
			displayName: 'Nick',
			name: 'nick',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'clawbot',
			description: 'The bot\'s nick. When it is taken, the bot uses nick_ (and the trigger logs it); register the nick with the network\'s NickServ to keep it.',
		},
		{
			displayName: 'SASL Username',
			name: 'saslUsername',
			type: 'string',
			default: '',
			description: 'The account registered with NickServ. Empty uses the nick.',
		},
		{
			displayName: 'SASL Password',
			name: 'saslPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The NickServ account password (SASL PLAIN). Empty connects without logging in; some networks then refuse unregistered nicks in channels.',
		},
		{
			displayName: 'Channels',
			name: 'channels',
			type: 'string',
			default: '',
			placeholder: '#support, #dev',
			description: 'Channels the trigger joins, comma-separated; a channel with a key is written "#private key"',
		},
	];
}
