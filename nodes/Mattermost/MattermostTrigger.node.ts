import type { INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { listenerTriggerDescription } from '../shared/listener-trigger';
import { runSocketTrigger } from '../shared/socket-listener';
import { mattermostBotOf, mattermostPlugin, mattermostSocket } from './mattermost.plugin';

export class MattermostTrigger implements INodeType {
	description: INodeTypeDescription = { ...listenerTriggerDescription(mattermostPlugin, { displayName: 'Mattermost', version: [1], description: 'Starts the workflow when someone writes to your Mattermost bot, or mentions it in a channel, as a Clawgate envelope', setupNotice: 'While the workflow is active, n8n holds a WebSocket connection to your Mattermost server as the bot, and fetches what was posted while it was disconnected. Add the bot to a team and to the channels where it should answer; in channels it answers when mentioned (@botname).', ids: { senders: 'x8dmbu3qc3gf7e5yrhrn9mqw6y', chats: 'dcjz8wpkfbbm9cm8k9a1n1qabh', hint: 'user and channel IDs (26 characters); the trigger\'s sender.id and chat.id show them' } }), icon: { light: 'file:mattermost.svg', dark: 'file:mattermost.dark.svg' }, subtitle: 'Messages to your Mattermost bot' };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		return await runSocketTrigger(this, mattermostPlugin, async (client, sessionScope) => mattermostSocket(client, await mattermostBotOf(client), sessionScope));
	}
}
