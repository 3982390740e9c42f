import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { createTwilioClient, sendTwilioMessage, type TwilioClient, type TwilioCredential } from './twilio.adapter';
import { itemFailure } from '../shared/item-failure';

function urlList(value: unknown): string[] {
	return String(value ?? '')
		.split(/[\s,]+/)
		.map((url) => url.trim())
		.filter(Boolean);
}

export class TwilioSend implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Twilio Send',
		name: 'twilioSend',
		icon: 'file:twilio.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{ "to " + $parameter["to"] }}',
		description: 'Sends a WhatsApp message or SMS through Twilio; by default answers the person who wrote, on the same channel and number',
		defaults: { name: 'Twilio Send' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [{ name: 'clawgateTwilioApi', required: true }],
		properties: [
			{
				displayName: 'To',
				name: 'to',
				type: 'string',
				default: '={{ $json.chat.id }}',
				required: true,
				placeholder: 'whatsapp:+14155550123',
				description:
					'The recipient: +14155550123 for SMS, whatsapp:+14155550123 for WhatsApp. By default the person the incoming message came from, on the same channel.',
			},
			// Top-level rather than in the options collection: n8n applies a collection option's
			// default only once the user adds it, and this must work with zero changes.
			{
				displayName: 'From',
				name: 'from',
				type: 'string',
				default: '={{ $json.accountId }}',
				placeholder: '+14155238886',
				description:
					'Your Twilio number or WhatsApp sender (E.164). By default the number the incoming message came in on. "whatsapp:" is added when To is a WhatsApp address. Ignored when a Messaging Service SID is set.',
			},
			{
				displayName: 'Text',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '={{ $json.reply.text }}',
				description:
					'The message. By default the answer of the Clawgate AI Session node. Markdown becomes plain text; past 1,600 characters it is sent as several messages.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Media URLs',
						name: 'mediaUrls',
						type: 'string',
						default: '',
						placeholder: 'https://example.com/picture.jpg',
						description:
							'Public addresses of images or files Twilio downloads and attaches to the first message (comma-separated). WhatsApp takes one per message; MMS up to ten.',
					},
					{
						displayName: 'Messaging Service SID',
						name: 'messagingServiceSid',
						type: 'string',
						default: '',
						placeholder: 'MG0123456789abcdef0123456789abcdef',
						description: 'Send through a Messaging Service (MG…), which picks the sender from its pool. From is then not used.',
					},
					{
						displayName: 'Status Callback URL',
						name: 'statusCallback',
						type: 'string',
						default: '',
						placeholder: 'https://example.com/twilio-status',
						description: 'Twilio posts each message\'s delivery status (sent, delivered, read, failed…) to this address',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const credential = (await this.getCredentials('clawgateTwilioApi')) as unknown as TwilioCredential;
		const results: INodeExecutionData[] = [];
		let client: TwilioClient | undefined;

		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const parameter = (name: string) => String(this.getNodeParameter(name, itemIndex, '') ?? '');
			try {
				client ??= createTwilioClient(credential);
				const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
				const sent = await sendTwilioMessage(client, {
					to: parameter('to'),
					from: parameter('from'),
					body: parameter('text'),
					mediaUrls: urlList(options.mediaUrls),
					statusCallback: String(options.statusCallback ?? ''),
					messagingServiceSid: String(options.messagingServiceSid ?? ''),
				});
				results.push({ json: { ...items[itemIndex].json, sent: { ...sent } }, pairedItem: { item: itemIndex } });
			} catch (error) {
				results.push(itemFailure(this, items[itemIndex], itemIndex, error));
			}
		}
		return [results];
	}
}
