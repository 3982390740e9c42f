import type { IDataObject, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { envelopeChatOf, readsEnvelopeWhenEmpty, replyTextDefault, replyTextOf, withEnvelopeDefault } from '../shared/from-envelope';
import { replyTextProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation } from '../shared/send-node';
import { sendTwilioMessage, type TwilioClient } from './twilio.adapter';
import { twilioPlugin } from './twilio.plugin';

function urlList(value: unknown): string[] {
	return String(value ?? '')
		.split(/[\s,]+/)
		.map((url) => url.trim())
		.filter(Boolean);
}

/** From this version an empty To, From and Text read the envelope. */
const ENVELOPE_DEFAULTS_SINCE = 2;

const properties: INodeProperties[] = [
	...withEnvelopeDefault(
		{
			displayName: 'To',
			name: 'to',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'whatsapp:+14155550123',
			description:
				'The recipient: +14155550123 for SMS, whatsapp:+14155550123 for WhatsApp. By default the person the incoming message came from, on the same channel.',
		},
		{
			since: ENVELOPE_DEFAULTS_SINCE,
			expression: '={{ $json.chat.id }}',
			placeholder: 'Empty: the person the message came from',
			description: 'The recipient: +14155550123 for SMS, whatsapp:+14155550123 for WhatsApp. Empty answers the person the incoming message came from, on the same channel.',
		},
	),
	// Top-level rather than in the options collection: n8n applies a collection option's
	// default only once the user adds it, and this must work with zero changes.
	...withEnvelopeDefault(
		{
			displayName: 'From',
			name: 'from',
			type: 'string',
			default: '',
			placeholder: '+14155238886',
			description:
				'Your Twilio number or WhatsApp sender (E.164). By default the number the incoming message came in on. "whatsapp:" is added when To is a WhatsApp address. Ignored when a Messaging Service SID is set.',
		},
		{
			since: ENVELOPE_DEFAULTS_SINCE,
			expression: '={{ $json.accountId }}',
			placeholder: 'Empty: the number the message came in on',
			description:
				'Your Twilio number or WhatsApp sender (E.164). Empty uses the number the incoming message came in on. "whatsapp:" is added when To is a WhatsApp address. Ignored when a Messaging Service SID is set.',
		},
	),
	...withEnvelopeDefault(
		// Version 1 never required it.
		replyTextProperty('The message. By default the answer of the Clawgate AI Session node. Markdown becomes plain text; past 1,600 characters it is sent as several messages.', undefined, { required: false }),
		replyTextDefault(ENVELOPE_DEFAULTS_SINCE, 'The message. Empty sends the answer of the Clawgate AI Session node. Markdown becomes plain text; past 1,600 characters it is sent as several messages.'),
	),
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
	async run({ client, itemIndex, json }) {
		const parameter = (name: string) => String(this.getNodeParameter(name, itemIndex, '') ?? '');
		const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
		const fromEnvelope = readsEnvelopeWhenEmpty(this, ENVELOPE_DEFAULTS_SINCE);
		const to = parameter('to').trim();
		return await sendTwilioMessage(client, {
			to: to || (fromEnvelope ? envelopeChatOf(json, { platform: 'Twilio', parameter: 'To' }).id : ''),
			from: parameter('from') || (fromEnvelope && typeof json.accountId === 'string' ? json.accountId : ''),
			body: parameter('text') || (fromEnvelope ? replyTextOf(json) : ''),
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
	version: [1, ENVELOPE_DEFAULTS_SINCE],
	operations,
};

export class TwilioSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(twilioPlugin, declaration), icon: { light: 'file:twilio.svg', dark: 'file:twilio.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(twilioPlugin, operations);
}
