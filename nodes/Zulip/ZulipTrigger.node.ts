import type { IDataObject, INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { runCursorTrigger } from '../shared/cursor-poller';
import { listenerTriggerDescription } from '../shared/listener-trigger';
import { receiveSettingsFrom } from '../shared/trigger-settings';
import { zulipPlugin, type ZulipCredential } from './zulip.plugin';
import { zulipQueueSource } from './zulip.queue';

export class ZulipTrigger implements INodeType {
	description: INodeTypeDescription = {
		...listenerTriggerDescription(zulipPlugin, {
			displayName: 'Zulip',
			description: 'Starts the workflow when your Zulip bot gets a direct message, or is mentioned in a stream, as a Clawgate envelope',
			subtitle: 'Messages to your Zulip bot',
			notice:
				'While the workflow is active, n8n holds a Zulip event queue open for the bot. Use a "Generic bot" and subscribe it to the streams it should answer in; in streams it answers when @-mentioned, in the same topic.',
			ids: { senders: '8, 25', chats: '12 (a stream ID), 8,25 (a group DM)', hint: 'user and stream IDs: Zulip shows them in the user\'s profile and the stream settings' },
		}),
		icon: { light: 'file:zulip.svg', dark: 'file:zulip.dark.svg' },
		subtitle: 'Messages to your Zulip bot',
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const credential = (await this.getCredentials('clawgateZulipApi')) as unknown as ZulipCredential;
		const settings = receiveSettingsFrom(zulipPlugin, this.getNodeParameter('options', {}) as IDataObject);
		return await runCursorTrigger(this, zulipPlugin, { credential, policy: settings.policy }, async (log) => await zulipQueueSource(credential, settings, log));
	}
}
