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

import { InvalidPayloadError } from '../core/errors';
import {
	botIdFromToken,
	createTelegramApi,
	deriveWebhookSecret,
	isGenuineWebhookRequest,
	isWebhookRegistered,
	normalizeTelegramUpdate,
	parseTelegramUpdate,
	registerWebhook,
	removeWebhook,
	resolveBotUsername,
	type TelegramCredential,
} from './telegram.adapter';

type TelegramContext = IHookFunctions | IWebhookFunctions;

async function webhookSecretFor(context: TelegramContext, credential: TelegramCredential): Promise<string> {
	const node = context.getNode();
	return deriveWebhookSecret(credential.accessToken, {
		workflowId: String(context.getWorkflow().id ?? ''),
		nodeId: node.id,
		webhookId: node.webhookId ?? '',
	});
}

function asNodeError(context: TelegramContext, error: unknown): NodeApiError {
	return new NodeApiError(context.getNode(), { message: (error as Error).message } as JsonObject, {
		message: (error as Error).message,
	});
}

export class TelegramTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Telegram Trigger',
		name: 'telegramTrigger',
		icon: 'file:telegram.svg',
		group: ['trigger'],
		version: 1,
		subtitle: 'Messages to your bot',
		description: 'Starts the workflow when your Telegram bot receives a message, as a Clawgate envelope',
		defaults: { name: 'Telegram Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'clawgateTelegramApi', required: true }],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' }],
		properties: [
			{
				displayName:
					'Telegram must reach this workflow over public HTTPS: activate it on an n8n whose webhook URL is https://. The webhook is registered with Telegram on activation and removed on deactivation.',
				name: 'webhookNotice',
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
						displayName: 'Session Per User in Groups',
						name: 'perUserSessions',
						type: 'boolean',
						default: false,
						description: 'Whether each member of a group gets a conversation of their own instead of one shared by the group',
					},
				],
			},
		],
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				const credential = (await this.getCredentials('clawgateTelegramApi')) as unknown as TelegramCredential;
				try {
					return await isWebhookRegistered(createTelegramApi(credential), this.getNodeWebhookUrl('default') as string);
				} catch (error) {
					throw asNodeError(this, error);
				}
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const credential = (await this.getCredentials('clawgateTelegramApi')) as unknown as TelegramCredential;
				try {
					await registerWebhook(
						createTelegramApi(credential),
						this.getNodeWebhookUrl('default') as string,
						await webhookSecretFor(this, credential),
					);
					return true;
				} catch (error) {
					throw asNodeError(this, error);
				}
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				const credential = (await this.getCredentials('clawgateTelegramApi')) as unknown as TelegramCredential;
				try {
					await removeWebhook(createTelegramApi(credential), this.getNodeWebhookUrl('default') as string);
					return true;
				} catch (error) {
					throw asNodeError(this, error);
				}
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const credential = (await this.getCredentials('clawgateTelegramApi')) as unknown as TelegramCredential;
		const response = this.getResponseObject();
		const secret = await webhookSecretFor(this, credential);
		if (!isGenuineWebhookRequest(this.getHeaderData()['x-telegram-bot-api-secret-token'], secret)) {
			response.status(401).json({ error: 'This request does not carry the secret token Telegram was given for this webhook.' });
			return { noWebhookResponse: true };
		}

		let envelope;
		try {
			const update = parseTelegramUpdate(this.getBodyData());
			const options = this.getNodeParameter('options', {}) as IDataObject;
			const api = createTelegramApi(credential);
			envelope = normalizeTelegramUpdate(update, {
				bot: { id: botIdFromToken(credential.accessToken), username: await resolveBotUsername(api, credential.accessToken) },
				sessionScope: options.perUserSessions ? 'user' : 'chat',
			});
		} catch (error) {
			if (!(error instanceof InvalidPayloadError)) throw asNodeError(this, error);
			response.status(400).json({ error: error.message });
			return { noWebhookResponse: true };
		}
		// Updates this trigger does not emit are acknowledged so Telegram does not redeliver them.
		if (!envelope) return { webhookResponse: 'OK' };
		return { workflowData: [this.helpers.returnJsonArray([envelope as unknown as IDataObject])] };
	}
}
