import type { IDataObject, INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { runCursorTrigger } from '../shared/cursor-poller';
import { listenerTriggerDescription } from '../shared/listener-trigger';
import { receiveSettingsFrom } from '../shared/trigger-settings';
import { matrixPlugin, type MatrixCredential } from './matrix.plugin';
import { matrixSyncSource } from './matrix.sync';

export class MatrixTrigger implements INodeType {
	description: INodeTypeDescription = {
		...listenerTriggerDescription(matrixPlugin, {
			displayName: 'Matrix',
			description: 'Starts the workflow when your Matrix bot gets a message in a DM, or is mentioned in a room, as a Clawgate envelope',
			subtitle: 'Messages to your Matrix bot',
			notice:
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
		}),
		icon: { light: 'file:matrix.svg', dark: 'file:matrix.dark.svg' },
		subtitle: 'Messages to your Matrix bot',
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const credential = (await this.getCredentials('clawgateMatrixApi')) as unknown as MatrixCredential;
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const settings = receiveSettingsFrom(matrixPlugin, options);
		return await runCursorTrigger(this, matrixPlugin, { credential, policy: settings.policy }, async (log) =>
			await matrixSyncSource(credential, { ...settings, autoJoin: options.autoJoin === true }, log),
		);
	}
}
