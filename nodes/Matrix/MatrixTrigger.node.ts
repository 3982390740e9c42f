import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { runCursorTrigger } from '../shared/cursor-poller';
import { listenerTriggerNode } from '../shared/listener-trigger';
import { matrixPlugin, type MatrixCredential } from './matrix.plugin';
import { matrixSyncSource } from './matrix.sync';

const node = listenerTriggerNode(
	matrixPlugin,
	{
		displayName: 'Matrix',
		version: [1],
		description: 'Starts the workflow when your Matrix bot gets a message in a DM, or is mentioned in a room, as a Clawgate envelope',
		setupNotice:
			'While the workflow is active, n8n long-polls your homeserver (/sync) for the bot. Invite the bot to rooms (or turn on "Join Invited Rooms"). End-to-end encrypted rooms cannot be read: their messages are reported in n8n\'s log and not answered.',
		ids: { senders: '@ada:example.org', chats: '!roomid:example.org', hint: 'user IDs @name:server, room IDs !id:server (Element: Room settings → Advanced)' },
		platformOptions: [
			{
				displayName: 'Join Invited Rooms',
				name: 'autoJoin',
				type: 'boolean',
				default: false,
				description: 'Whether the bot joins every room it is invited to. Off by default: anyone could pull the bot into their room and spend your model budget.',
			},
		],
	},
	async (context, { credential, settings, options }) =>
		await runCursorTrigger(context, matrixPlugin, { credential, policy: settings.policy }, async (log) =>
			await matrixSyncSource(credential as MatrixCredential, { ...settings, autoJoin: options.autoJoin === true }, log),
		),
);

export class MatrixTrigger implements INodeType {
	description: INodeTypeDescription = { ...node.description, icon: { light: 'file:matrix.svg', dark: 'file:matrix.dark.svg' }, subtitle: 'Messages to your Matrix bot' };

	trigger = node.trigger;
}
