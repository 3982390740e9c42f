import {
	NodeApiError,
	NodeConnectionTypes,
	type IDataObject,
	type IHookFunctions,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
	type JsonObject,
} from 'n8n-workflow';

import { credentialForWebhookRequest } from '../shared/webhook-credential';
import {
	checkSlackTriggerCredential,
	createSlackClient,
	handleSlackDelivery,
	RecentSlackEvents,
	refuseUnsignedSlackDelivery,
	resolveSlackBotUserId,
	verifySlackDelivery,
	type SlackCredential,
	type SlackDeliveryOutcome,
	type SlackDeliveryRequest,
	type SlackTriggerOptions,
} from './slack.adapter';

// Event IDs this process has seen in the last ten minutes, to drop Slack's retries.
const recentEvents = new RecentSlackEvents();

function asNodeError(context: IHookFunctions | IWebhookFunctions, error: unknown): NodeApiError {
	const message = (error as Error).message;
	return new NodeApiError(context.getNode(), { message } as JsonObject, { message });
}

function idList(value: unknown): string[] {
	return String(value ?? '')
		.split(/[\s,]+/)
		.map((id) => id.trim())
		.filter(Boolean);
}

function triggerOptions(options: IDataObject): SlackTriggerOptions {
	return {
		channelMessages: options.channelMessages === true,
		includeBots: options.includeBots === true,
		allowedUserIds: idList(options.allowedUserIds),
		allowedChannelIds: idList(options.allowedChannelIds),
		sessionScope: options.perUserSessions ? 'user' : 'chat',
	};
}

/** Checks the signature with the credential this trigger holds (read afresh if it does not match), then handles the delivery. */
async function handleSignedDelivery(context: IWebhookFunctions, request: SlackDeliveryRequest): Promise<SlackDeliveryOutcome> {
	const now = Date.now();
	const { credential } = await credentialForWebhookRequest<SlackCredential>(
		context,
		'clawgateSlackApi',
		(candidate) => verifySlackDelivery(request, candidate.signingSecret ?? '', now).valid,
	);
	try {
		return await handleSlackDelivery(request, {
			signingSecret: credential.signingSecret ?? '',
			options: triggerOptions(context.getNodeParameter('options', {}) as IDataObject),
			recentEvents,
			dedupeScope: context.getNode().webhookId,
			resolveBotUserId: () => resolveSlackBotUserId(createSlackClient(credential), credential.botToken),
			now,
		});
	} catch (error) {
		throw asNodeError(context, error);
	}
}

export class SlackTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Slack Trigger',
		name: 'slackTrigger',
		icon: 'file:slack.svg',
		group: ['trigger'],
		version: 1,
		subtitle: 'Messages to your Slack app',
		description: 'Starts the workflow when your Slack app is messaged or @mentioned, as a Clawgate envelope',
		defaults: { name: 'Slack Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'clawgateSlackApi', required: true }],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' }],
		properties: [
			{
				displayName:
					'Slack cannot be told this URL by n8n. In your app at <a href="https://api.slack.com/apps" target="_blank">api.slack.com/apps</a>: <b>Event Subscriptions</b> → Enable Events → paste the <b>Production URL</b> from "Webhook URLs" above as the Request URL (activate this workflow first: Slack checks the URL at once). Under <b>Subscribe to bot events</b> add <code>message.im</code> and <code>app_mention</code> (and <code>message.channels</code>, <code>message.groups</code>, <code>message.mpim</code> for Channel Messages). Bot token scopes under <b>OAuth &amp; Permissions</b>: <code>chat:write</code>, <code>im:history</code>, <code>app_mentions:read</code>, <code>files:write</code> (plus <code>channels:history</code>, <code>groups:history</code>, <code>mpim:history</code> for Channel Messages); reinstall the app after changing them. Under <b>App Home</b> allow users to send messages to the app.',
				name: 'setupNotice',
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
						displayName: 'Allowed Channel IDs',
						name: 'allowedChannelIds',
						type: 'string',
						default: '',
						placeholder: 'C0123456789, G0123456789',
						description: 'Only answer in these channels (comma-separated IDs). Empty answers in every channel the bot is in. Direct messages are limited by Allowed User IDs instead.',
					},
					{
						displayName: 'Allowed User IDs',
						name: 'allowedUserIds',
						type: 'string',
						default: '',
						placeholder: 'U0123456789, U0987654321',
						description: 'Only answer these people (comma-separated member IDs, from a profile\'s ⋮ menu → Copy member ID). Empty answers everyone.',
					},
					{
						displayName: 'Channel Messages',
						name: 'channelMessages',
						type: 'boolean',
						default: false,
						description:
							'Whether to start the workflow for every message in channels the bot is in, not only when it is @mentioned. Needs the message.channels, message.groups and message.mpim events; mentions then arrive through them.',
					},
					{
						displayName: 'Include Bots',
						name: 'includeBots',
						type: 'boolean',
						default: false,
						description: 'Whether messages from other bots and apps start the workflow. The bot\'s own messages never do.',
					},
					{
						displayName: 'Session Per User in Channels',
						name: 'perUserSessions',
						type: 'boolean',
						default: false,
						description: 'Whether each member of a channel gets a conversation of their own instead of one shared by the channel (or thread)',
					},
				],
			},
		],
	};

	// Slack has no API to register a Request URL (the user pastes it into the app), so activation
	// checks what it can instead: the signing secret is there and Slack accepts the bot token.
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return false;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const credential = (await this.getCredentials('clawgateSlackApi')) as unknown as SlackCredential;
				try {
					await checkSlackTriggerCredential(createSlackClient(credential), credential);
				} catch (error) {
					throw asNodeError(this, error);
				}
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const response = this.getResponseObject();
		const request: SlackDeliveryRequest = { headers: this.getHeaderData() as SlackDeliveryRequest['headers'], rawBody: this.getRequestObject().rawBody };
		// A request without signature headers cannot be Slack's, so it is refused before the credential is read.
		const outcome = refuseUnsignedSlackDelivery(request) ?? (await handleSignedDelivery(this, request));
		if (outcome.kind === 'emit') {
			return { workflowData: [this.helpers.returnJsonArray([outcome.envelope as unknown as IDataObject])] };
		}
		// Everything else is answered here and starts no execution: Slack needs a 2xx within 3 s
		// for events it should not redeliver, and the challenge back for the URL check.
		response.status(outcome.status).json(outcome.body);
		return { noWebhookResponse: true };
	}
}
