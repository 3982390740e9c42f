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
	checkTwilioAuthToken,
	handleTwilioDelivery,
	parseNumberList,
	RecentTwilioMessages,
	refuseUnsignedTwilioDelivery,
	verifyTwilioDelivery,
	type TwilioChannel,
	type TwilioCredential,
	type TwilioDeliveryOutcome,
	type TwilioDeliveryRequest,
	type TwilioParams,
	type TwilioTriggerOptions,
} from './twilio.adapter';

// MessageSids this process has seen lately, to drop Twilio's redeliveries.
const recentMessages = new RecentTwilioMessages();

function asNodeError(context: IHookFunctions | IWebhookFunctions, error: unknown): NodeApiError {
	const message = (error as Error).message;
	return new NodeApiError(context.getNode(), { message } as JsonObject, { message });
}

function triggerOptions(options: IDataObject): TwilioTriggerOptions {
	return {
		channels: Array.isArray(options.channels) ? (options.channels as TwilioChannel[]) : undefined,
		allowedSenders: parseNumberList(options.allowedSenders),
	};
}

/** Checks the signature with the credential this trigger holds (read afresh if it does not match), then handles the delivery. */
async function handleSignedDelivery(context: IWebhookFunctions, request: TwilioDeliveryRequest): Promise<TwilioDeliveryOutcome> {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const publicUrl = String(options.publicUrl ?? '');
	const { credential } = await credentialForWebhookRequest<TwilioCredential>(
		context,
		'clawgateTwilioApi',
		(candidate) => verifyTwilioDelivery(request, { authToken: candidate.authToken ?? '', publicUrl }).valid,
	);
	try {
		return handleTwilioDelivery(request, {
			authToken: credential.authToken ?? '',
			publicUrl,
			options: triggerOptions(options),
			recentMessages,
			dedupeScope: context.getNode().webhookId,
		});
	} catch (error) {
		throw asNodeError(context, error);
	}
}

export class TwilioTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Twilio Trigger',
		name: 'twilioTrigger',
		icon: 'file:twilio.svg',
		group: ['trigger'],
		version: 1,
		subtitle: 'WhatsApp and SMS messages',
		description: 'Starts the workflow when your Twilio number or WhatsApp sender receives a message, as a Clawgate envelope',
		defaults: { name: 'Twilio Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'clawgateTwilioApi', required: true }],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' }],
		properties: [
			{
				displayName:
					'Twilio cannot be told this URL by n8n: copy the <b>Production URL</b> from "Webhook URLs" above and paste it into Twilio, with method <b>HTTP POST</b>. For a phone number: Console → Phone Numbers → Manage → Active numbers → your number → Messaging Configuration → <b>A message comes in</b>: Webhook. For the WhatsApp sandbox: Console → Messaging → Try it out → Send a WhatsApp message → Sandbox settings → <b>When a message comes in</b>. Twilio signs every request with the account\'s Auth Token; if n8n sits behind a proxy and Twilio calls another address than the one shown, set <b>Public URL</b> below.',
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
						displayName: 'Allowed Senders',
						name: 'allowedSenders',
						type: 'string',
						default: '',
						placeholder: '+14155550123, +447700900123',
						description: 'Only answer these phone numbers (comma-separated, E.164), on SMS and WhatsApp alike. Empty answers everyone.',
					},
					{
						displayName: 'Channels',
						name: 'channels',
						type: 'multiOptions',
						options: [
							{ name: 'SMS', value: 'sms', description: 'Text messages (and MMS) to your Twilio number' },
							{ name: 'WhatsApp', value: 'whatsapp', description: 'WhatsApp messages to your WhatsApp sender or the sandbox' },
						],
						default: ['sms', 'whatsapp'],
						description: 'Which messages start the workflow. Others are acknowledged to Twilio and dropped.',
					},
					{
						displayName: 'Public URL',
						name: 'publicUrl',
						type: 'string',
						default: '',
						placeholder: 'https://chat.example.com/webhook/…/webhook',
						description:
							'The exact URL pasted into Twilio, when it differs from the Production URL above (a proxy or tunnel in front of n8n). Twilio signs requests over the URL it calls, so the signature is checked against this one.',
					},
				],
			},
		],
	};

	// Twilio's number configuration is left to the user (the URL is pasted into the Console), so
	// activation checks what it can instead: Twilio accepts the Account SID and Auth Token, which
	// every webhook signature is checked with.
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return false;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const credential = (await this.getCredentials('clawgateTwilioApi')) as unknown as TwilioCredential;
				try {
					await checkTwilioAuthToken(credential);
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
		const request: TwilioDeliveryRequest = {
			// The test URL while listening for a test event, else the production URL.
			url: this.getWebhookResourceUrl?.('default') ?? this.getNodeWebhookUrl('default') ?? '',
			params: this.getBodyData() as TwilioParams,
			signature: this.getHeaderData()['x-twilio-signature'],
		};
		// A request without the signature header cannot be Twilio's, so it is refused before the credential is read.
		const outcome = refuseUnsignedTwilioDelivery(request) ?? (await handleSignedDelivery(this, request));
		// Answered here, before any execution starts: Twilio waits at most 15 s, and an empty TwiML
		// document (text/xml) tells it not to send an automatic reply.
		this.getResponseObject().status(outcome.status).type(outcome.contentType).send(outcome.body);
		if (outcome.kind !== 'emit') return { noWebhookResponse: true };
		return { noWebhookResponse: true, workflowData: [this.helpers.returnJsonArray([outcome.envelope as unknown as IDataObject])] };
	}
}
