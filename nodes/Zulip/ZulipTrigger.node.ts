import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { runCursorTrigger } from '../shared/cursor-poller';
import { listenerTriggerNode } from '../shared/listener-trigger';
import { zulipPlugin, type ZulipCredential } from './zulip.plugin';
import { zulipQueueSource } from './zulip.queue';

const node = listenerTriggerNode(
	zulipPlugin,
	{
		displayName: 'Zulip',
		version: [1],
		description: 'Starts the workflow when your Zulip bot gets a direct message, or is mentioned in a stream, as a Clawgate envelope',
		setupNotice: 'While the workflow is active, n8n holds a Zulip event queue open for the bot. Use a "Generic bot" and subscribe it to the streams it should answer in; in streams it answers when @-mentioned, in the same topic.',
		ids: { senders: '8, 25', chats: '12 (a stream ID), 8,25 (a group DM)', hint: "user and stream IDs: Zulip shows them in the user's profile and the stream settings" },
	},
	async (context, { credential, settings }) =>
		await runCursorTrigger(context, zulipPlugin, { credential, policy: settings.policy }, async (log) => await zulipQueueSource(credential as ZulipCredential, settings, log)),
);

export class ZulipTrigger implements INodeType {
	description: INodeTypeDescription = { ...node.description, icon: { light: 'file:zulip.svg', dark: 'file:zulip.dark.svg' }, subtitle: 'Messages to your Zulip bot' };

	trigger = node.trigger;
}
