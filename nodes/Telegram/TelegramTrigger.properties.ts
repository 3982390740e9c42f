import type { INodeProperties } from 'n8n-workflow';

import { deliveryGuaranteeProperties } from '../shared/delivery-journal';
import { SHARED_OPTIONS_SINCE, triggerOptionsProperty } from '../shared/webhook-trigger';
import { telegramPlugin } from './telegram.plugin';

export type TelegramTriggerMode = 'webhook' | 'polling';

const modeOptions = [
	{
		name: 'Long Polling',
		value: 'polling',
		description: 'N8n asks Telegram for new messages. Works on any n8n, also on a laptop or behind a firewall.',
	},
	{
		name: 'Webhook',
		value: 'webhook',
		description: 'Telegram pushes each message to n8n. Needs n8n reachable from the internet over HTTPS.',
	},
];

const modeDescription =
	'How messages reach this workflow. Both deliver every message once; a bot can be received by one active workflow at a time.';

const downloadFilesOption: INodeProperties = {
	displayName: 'Download Files',
	name: 'downloadFiles',
	type: 'boolean',
	default: false,
	description:
		'Whether to download the photo, document, voice message, audio, video or sticker of a message into binary data ("data"). Telegram serves files up to 20 MB to bots. A file that is too large or takes over 30 s is left out; its attachment then says why in downloadError.',
};

const maxFileSizeOption: INodeProperties = {
	displayName: 'Max File Size (MB)',
	name: 'maxFileSizeMb',
	type: 'number',
	// Telegram serves bots files up to 20 MB, so a higher limit could never be reached.
	typeOptions: { minValue: 0.01, maxValue: 20, numberPrecision: 2 },
	default: 20,
	description:
		'With "Download Files" on: larger files are not downloaded. The message still starts the workflow; its attachment gets downloadError ("too large ..."). At most 20 MB.',
};

const emitCallbackQueriesOption: INodeProperties = {
	displayName: 'Emit Button Presses',
	name: 'emitCallbackQueries',
	type: 'boolean',
	default: false,
	description:
		'Whether a press on an inline keyboard button of the bot\'s messages starts the workflow. The button\'s data is in message.text, event is "callback_query".',
};

const emitEditedMessagesOption: INodeProperties = {
	displayName: 'Emit Edited Messages',
	name: 'emitEditedMessages',
	type: 'boolean',
	default: false,
	description: 'Whether editing an earlier message starts the workflow again. Such items have event "edited_message" and message.editedAt.',
};

const takeOverWebhookOption: INodeProperties = {
	displayName: 'Take Over Webhook',
	name: 'takeOverWebhook',
	type: 'boolean',
	default: false,
	description:
		'Whether to move the bot to this workflow when its webhook points somewhere else (another workflow or program). That place stops receiving the bot\'s messages. Off: activation fails and names the other place.',
};

export const telegramTriggerProperties: INodeProperties[] = [
	{
		displayName:
			'<b>Which mode?</b> Long Polling works anywhere: n8n fetches messages from Telegram. Webhook needs n8n on a public https:// address (WEBHOOK_URL); Telegram then pushes each message. "Listen for test event" works in both modes, also while the workflow is active.',
		name: 'modeNotice',
		type: 'notice',
		default: '',
	},
	// Version 1 (shared workflow JSON from before long polling) keeps Webhook as its default;
	// nodes added from version 1.1 on start with Long Polling, which works without a public URL.
	{
		displayName: 'Mode',
		name: 'mode',
		type: 'options',
		options: modeOptions,
		default: 'webhook',
		description: modeDescription,
		displayOptions: { show: { '@version': [1] } },
	},
	{
		displayName: 'Mode',
		name: 'mode',
		type: 'options',
		options: modeOptions,
		default: 'polling',
		description: modeDescription,
		displayOptions: { show: { '@version': [{ _cnd: { gte: 1.1 } }] } },
	},
	// Version 2 reads the access policy from the options every Clawgate trigger shares.
	triggerOptionsProperty(telegramPlugin, {
		sharedSince: SHARED_OPTIONS_SINCE,
		ids: { senders: '42, 7012345678', chats: '-1001234567890', hint: 'numeric Telegram IDs; a bot like @userinfobot tells yours' },
		platformOptions: [downloadFilesOption, emitCallbackQueriesOption, emitEditedMessagesOption, maxFileSizeOption, takeOverWebhookOption],
	}),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { '@version': [1, 1.1] } },
		options: [
			downloadFilesOption,
			emitCallbackQueriesOption,
			emitEditedMessagesOption,
			{
				displayName: 'Ignore Other Bots',
				name: 'ignoreBots',
				type: 'boolean',
				default: true,
				description: 'Whether messages sent by bots are dropped. The bot\'s own messages are always dropped.',
			},
			{
				displayName: 'In Groups, React To',
				name: 'groupMessages',
				type: 'options',
				default: 'mentionsAndReplies',
				options: [
					{
						name: 'Mentions, Replies and Commands',
						value: 'mentionsAndReplies',
						description: 'Messages that mention @yourbot, reply to one of its messages, or are a command (/new, /new@yourbot)',
					},
					{ name: 'Every Message', value: 'all', description: 'Every message the bot receives in the group' },
				],
				description:
					'Which group messages start the workflow. Commands for another bot (/new@otherbot) never do. For "Every Message", turn off the bot\'s privacy mode in BotFather.',
			},
			maxFileSizeOption,
			{
				displayName: 'Only These Chats',
				name: 'allowedChatIds',
				type: 'string',
				default: '',
				placeholder: '-1001234567890, 42',
				description: 'Chat IDs, separated by commas. Messages from other chats are dropped. Empty allows every chat.',
			},
			{
				displayName: 'Only These Users',
				name: 'allowedUserIds',
				type: 'string',
				default: '',
				placeholder: '42, 7012345678',
				description: 'Telegram user IDs, separated by commas. Messages from other users are dropped. Empty allows everyone.',
			},
			{
				displayName: 'Session Per User in Groups',
				name: 'perUserSessions',
				type: 'boolean',
				default: false,
				description: 'Whether each member of a group gets a conversation of their own instead of one shared by the group',
			},
			takeOverWebhookOption,
		],
	},
	...deliveryGuaranteeProperties,
];
