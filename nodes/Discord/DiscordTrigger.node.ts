import {
	NodeConnectionTypes,
	type IDataObject,
	type INodeType,
	type INodeTypeDescription,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { parseIdList } from '../core/access-policy';
import { deliveryGuaranteeProperties, withJournalCredentials } from '../shared/delivery-journal';
import { runListenerTrigger } from '../shared/listener-trigger';
import { receiveSettingsFrom } from '../shared/trigger-settings';
import { SHARED_OPTIONS_SINCE, triggerOptionsProperty } from '../shared/webhook-trigger';
import { startDiscordListener, type DiscordCredential } from './discord.adapter';
import { discordPlugin } from './discord.plugin';
import { allowedGuildIdsOption, discordTriggerV1Options } from './DiscordTrigger.options';

const versions = [1, 2];

export class DiscordTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Discord Trigger',
		name: 'discordTrigger',
		icon: { light: 'file:discord.svg', dark: 'file:discord.dark.svg' },
		group: ['trigger'],
		version: versions,
		defaultVersion: 2,
		subtitle: 'Messages to your bot',
		description: 'Starts the workflow when your Discord bot receives a message, as a Clawgate envelope',
		defaults: { name: 'Discord Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: withJournalCredentials([{ name: 'clawgateDiscordApi', required: true }], 'journalStore', { deliveryGuarantee: ['journal'] }),
		properties: [
			{
				displayName:
					'While the workflow is active, n8n holds a connection to Discord for the bot. Turn on "Message Content Intent" in the Developer Portal (your application → Bot). In servers, the bot answers when mentioned or replied to.',
				name: 'gatewayNotice',
				type: 'notice',
				default: '',
			},
			discordTriggerV1Options,
			triggerOptionsProperty(discordPlugin, {
				sharedSince: SHARED_OPTIONS_SINCE,
				ids: { senders: '1234567890123456789', chats: '1234567890123456789', hint: 'Developer Mode on, then right-click → Copy ID; a channel also covers its threads' },
				platformOptions: [allowedGuildIdsOption],
			}),
			...deliveryGuaranteeProperties,
		],
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const credential = (await this.getCredentials('clawgateDiscordApi')) as unknown as DiscordCredential;
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const { policy, sessionScope } = receiveSettingsFrom(discordPlugin, options);
		return await runListenerTrigger(this, discordPlugin, { credential, policy }, async (handlers) =>
			await startDiscordListener({
				credential,
				options: { sessionScope, allowedGuildIds: parseIdList(options.allowedGuildIds) },
				logger: this.logger,
				...handlers,
				// Settles once the message is journaled and emitted, not when its execution ends: messages keep their order without waiting for the model.
				onEnvelope: handlers.handOver,
				// "Listen for test event" starts a session of its own: resuming the active trigger's would take it away.
				cursor: this.getMode() === 'manual' ? undefined : handlers.cursor,
			}),
		);
	}
}
