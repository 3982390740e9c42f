import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

export class ClawgateXmppApi implements ICredentialType {
	name = 'clawgateXmppApi';

	displayName = 'Clawgate XMPP API';

	icon: Icon = { light: 'file:../nodes/Xmpp/xmpp.svg', dark: 'file:../nodes/Xmpp/xmpp.dark.svg' };

	documentationUrl = 'https://github.com/clawgate/n8n-nodes-clawgate/blob/main/docs/channels/xmpp.md';

	properties: INodeProperties[] = [
		{
			displayName: 'JID',
			name: 'jid',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'clawbot@example.org',
			description: 'The bot\'s XMPP address (a separate account for the bot is best)',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Server Address',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'xmpp://xmpp.example.org:5222',
			description: 'Empty connects to the JID\'s domain on port 5222 (no DNS SRV lookup). xmpp://host:port uses STARTTLS, xmpps://host:port direct TLS. Without TLS Clawgate only connects to this machine.',
		},
		{
			displayName: 'Rooms',
			name: 'rooms',
			type: 'string',
			default: '',
			placeholder: 'team@conference.example.org, ops@conference.example.org/helper',
			description: 'Group chats (XEP-0045 rooms) the trigger joins, comma-separated; add /nick to use another nick in one room',
		},
		{
			displayName: 'Nick in Rooms',
			name: 'nick',
			type: 'string',
			default: '',
			placeholder: 'clawbot',
			description: 'Empty uses the JID\'s name part. When the nick is taken in a room, nick_ is used.',
		},
	];
}
