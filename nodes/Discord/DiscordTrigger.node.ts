import {
	NodeApiError,
	NodeConnectionTypes,
	type IDataObject,
	type INodeType,
	type INodeTypeDescription,
	type ITriggerFunctions,
	type ITriggerResponse,
	type JsonObject,
} from 'n8n-workflow';

import { startDiscordListener, type DiscordCredential, type DiscordTriggerOptions } from './discord.adapter';

function idList(value: unknown): string[] {
	return String(value ?? '')
		.split(/[\s,]+/)
		.filter(Boolean);
}

function triggerOptionsFrom(options: IDataObject): DiscordTriggerOptions {
	return {
		allGuildMessages: options.allGuildMessages === true,
		includeBots: options.includeBots === true,
		directMessages: options.directMessages !== false,
		allowedUserIds: idList(options.allowedUserIds),
		allowedChannelIds: idList(options.allowedChannelIds),
		allowedGuildIds: idList(options.allowedGuildIds),
		sessionScope: options.perUserSessions === true ? 'user' : 'chat',
	};
}

export class DiscordTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Discord Trigger',
		name: 'discordTrigger',
		icon: 'file:discord.svg',
		group: ['trigger'],
		version: 1,
		subtitle: 'Messages to your bot',
		description: 'Starts the workflow when your Discord bot receives a message, as a Clawgate envelope',
		defaults: { name: 'Discord Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'clawgateDiscordApi', required: true }],
		properties: [
			{
				displayName:
					'While the workflow is active, n8n holds a connection to Discord for the bot. Turn on "Message Content Intent" in the Developer Portal (your application → Bot). In servers, the bot answers when mentioned or replied to.',
				name: 'gatewayNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'All Server Messages',
						name: 'allGuildMessages',
						type: 'boolean',
						default: false,
						description: 'Whether every message in server channels the bot can read starts the workflow, not only messages that mention the bot or reply to it',
					},
					{
						displayName: 'Allowed Channel IDs',
						name: 'allowedChannelIds',
						type: 'string',
						default: '',
						placeholder: '1234567890123456789, 2345678901234567890',
						description: 'Only messages in these server channels (and threads in them) start the workflow. Comma-separated; empty allows all. DMs are not affected.',
					},
					{
						displayName: 'Allowed Server IDs',
						name: 'allowedGuildIds',
						type: 'string',
						default: '',
						placeholder: '1234567890123456789',
						description: 'Only messages in these servers start the workflow. Comma-separated; empty allows all. DMs are not affected.',
					},
					{
						displayName: 'Allowed User IDs',
						name: 'allowedUserIds',
						type: 'string',
						default: '',
						placeholder: '1234567890123456789',
						description: 'Only messages from these users start the workflow, in DMs and servers. Comma-separated; empty allows everyone.',
					},
					{
						displayName: 'Direct Messages',
						name: 'directMessages',
						type: 'boolean',
						default: true,
						description: 'Whether direct messages to the bot start the workflow',
					},
					{
						displayName: 'Include Other Bots',
						name: 'includeBots',
						type: 'boolean',
						default: false,
						description: 'Whether messages from other bots and webhooks start the workflow. The bot\'s own messages never do.',
					},
					{
						displayName: 'Session Per User in Servers',
						name: 'perUserSessions',
						type: 'boolean',
						default: false,
						description: 'Whether each member of a channel gets a conversation of their own instead of one shared by the channel',
					},
				],
			},
		],
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const credential = (await this.getCredentials('clawgateDiscordApi')) as unknown as DiscordCredential;
		const options = triggerOptionsFrom(this.getNodeParameter('options', {}) as IDataObject);
		const manual = this.getMode() === 'manual';
		let emitted = false;

		let listener;
		try {
			listener = await startDiscordListener({
				credential,
				options,
				logger: this.logger,
				onEnvelope: (envelope) => {
					// "Listen for test event" takes the first message only.
					if (manual && emitted) return;
					emitted = true;
					// `this.emit` is read at call time: in manual mode n8n swaps it after trigger() returns.
					this.emit([this.helpers.returnJsonArray([envelope as unknown as IDataObject])]);
				},
				onFatalError: (error) => this.emitError(new NodeApiError(this.getNode(), { message: error.message } as JsonObject, { message: error.message })),
			});
		} catch (error) {
			const message = (error as Error).message;
			throw new NodeApiError(this.getNode(), { message } as JsonObject, { message });
		}
		// In manual mode n8n resolves the test run with the first emit, then calls closeFunction.
		return { closeFunction: async () => await listener.close() };
	}
}
