import type { IDataObject, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation } from '../shared/send-node';
import { sendTwilioMessage, type TwilioClient } from './twilio.adapter';
import { twilioPlugin } from './twilio.plugin';

function urlList(value: unknown): string[] {
	return String(value ?? '')
		.split(/[\s,]+/)
		.map((url) => url.trim())
		.filter(Boolean);
}

const properties: INodeProperties[] = [
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
];

const sendMessage: SendOperation<TwilioClient> = {
	name: 'Send Message',
	value: 'sendText',
	action: 'Send a message',
	description: 'Send a WhatsApp message or SMS, split into several past 1,600 characters',
	properties,
	async run({ client, itemIndex }) {
		const parameter = (name: string) => String(this.getNodeParameter(name, itemIndex, '') ?? '');
		const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
		return await sendTwilioMessage(client, {
			to: parameter('to'),
			from: parameter('from'),
			body: parameter('text'),
			mediaUrls: urlList(options.mediaUrls),
			statusCallback: String(options.statusCallback ?? ''),
			messagingServiceSid: String(options.messagingServiceSid ?? ''),
		});
	},
};

const operations = [sendMessage] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Twilio',
	description: 'Sends a WhatsApp message or SMS through Twilio; by default answers the person who wrote, on the same channel and number',
	operations,
};

export class TwilioSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(twilioPlugin, declaration), icon: { light: 'file:twilio.svg', dark: 'file:twilio.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(twilioPlugin, operations);
}
