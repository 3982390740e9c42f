import type { INodeProperties } from 'n8n-workflow';

/** Options only Twilio has, in every version. */
export const twilioChannelsOption: INodeProperties = {
	displayName: 'Channels',
	name: 'channels',
	type: 'multiOptions',
	options: [
		{ name: 'SMS', value: 'sms', description: 'Text messages (and MMS) to your Twilio number' },
		{ name: 'WhatsApp', value: 'whatsapp', description: 'WhatsApp messages to your WhatsApp sender or the sandbox' },
	],
	default: ['sms', 'whatsapp'],
	description: 'Which messages start the workflow. Others are acknowledged to Twilio and dropped.',
};

export const twilioPublicUrlOption: INodeProperties = {
	displayName: 'Public URL',
	name: 'publicUrl',
	type: 'string',
	default: '',
	placeholder: 'https://chat.example.com/webhook/…/webhook',
	description:
		'The exact URL pasted into Twilio, when it differs from the Production URL above (a proxy or tunnel in front of n8n). Twilio signs requests over the URL it calls, so the signature is checked against this one.',
};

/** Twilio Trigger v1's options, shown for v1 nodes only; the shared pipeline still reads their names. */
export const twilioTriggerV1Options: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	displayOptions: { show: { '@version': [1] } },
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
		twilioChannelsOption,
		twilioPublicUrlOption,
	],
};
