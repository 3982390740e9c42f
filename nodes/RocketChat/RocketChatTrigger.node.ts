import type { INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { listenerTriggerDescription } from '../shared/listener-trigger';
import { runSocketTrigger } from '../shared/socket-listener';
import { rocketChatBotOf, rocketChatPlugin, rocketChatSocket } from './rocketChat.plugin';

export class RocketChatTrigger implements INodeType {
	description: INodeTypeDescription = { ...listenerTriggerDescription(rocketChatPlugin, { displayName: 'Rocket.Chat', version: [1], description: 'Starts the workflow when someone writes to your Rocket.Chat bot user, or mentions it in a room, as a Clawgate envelope', setupNotice: 'While the workflow is active, n8n holds a realtime connection to your Rocket.Chat server as the bot user, and fetches what was posted while it was disconnected. Add the bot to the rooms where it should answer; in rooms it answers when mentioned (@username).', ids: { senders: 'Ad4KtvX9hbx3k3qrB', chats: 'GENERAL, 64a1f373376181965ab77f54', hint: 'user and room IDs; the trigger\'s sender.id and chat.id show them' } }), icon: { light: 'file:rocketChat.svg', dark: 'file:rocketChat.dark.svg' }, subtitle: 'Messages to your Rocket.Chat bot' };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		return await runSocketTrigger(this, rocketChatPlugin, async (client, sessionScope) => rocketChatSocket(client, await rocketChatBotOf(client), sessionScope));
	}
}
