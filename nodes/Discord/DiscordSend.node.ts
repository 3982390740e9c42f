import type { IDataObject, IExecuteFunctions, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';
import type { REST } from '@discordjs/rest';

import { envelopeChatOf, readsEnvelopeWhenEmpty, replyTextDefault, replyTextOf, replyToModeProperties, sentMessageDefault, sentMessageIdOf, withEnvelopeDefault } from '../shared/from-envelope';
import { envelopeTargetProperty, linkPreviewsProperty, replyTextProperty, sentMessageProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation } from '../shared/send-node';
import { discordCapabilities, editDiscordMessage, sendDiscordText, sendDiscordTyping } from './discord.adapter';
import { sendOverDraft } from '../shared/stream-preview';
import { discordPlugin } from './discord.plugin';

/** From this version an empty Channel ID, Text and Message ID read the envelope, and Reply To picks the quote. */
const ENVELOPE_DEFAULTS_SINCE = 2;

const properties: INodeProperties[] = [
	...withEnvelopeDefault(envelopeTargetProperty('Channel ID', 'channelId', '', 'The channel, thread or DM channel to post in. By default the one the incoming message came from (its thread, if it was in one).'), {
		since: ENVELOPE_DEFAULTS_SINCE,
		expression: '={{ $json.chat.threadId || $json.chat.id }}',
		placeholder: 'Empty: the channel (or thread) the message came from',
		description: 'The channel, thread or DM channel to post in. Empty answers the one the incoming message came from (its thread, if it was in one).',
	}),
	...withEnvelopeDefault(
		replyTextProperty('The message, in Discord Markdown. By default the answer of the Clawgate AI Session node.', ['sendText', 'editMessage']),
		replyTextDefault(ENVELOPE_DEFAULTS_SINCE, 'The message, in Discord Markdown. Empty sends the answer of the Clawgate AI Session node.'),
	),
	// Top-level rather than in the options collection: n8n applies a collection option's
	// default only once the user adds it, and this must work with zero changes.
	{
		displayName: 'Reply To Message ID',
		name: 'replyToMessageId',
		type: 'string',
		default: '={{ $json.message?.id ?? "" }}',
		displayOptions: { show: { operation: ['sendText'], '@version': [{ _cnd: { lt: ENVELOPE_DEFAULTS_SINCE } }] } },
		description: 'Shows the first message as a reply to this one (without pinging its author). By default the incoming message. Empty sends a plain message.',
	},
	...replyToModeProperties({
		since: ENVELOPE_DEFAULTS_SINCE,
		operations: ['sendText'],
		incoming: { name: 'Incoming Message', value: 'incoming', description: 'Quote the message being answered (without pinging its author)' },
		description: 'Whether the first message shows as a reply to another one (without pinging its author)',
	}),
	...withEnvelopeDefault(
		sentMessageProperty('Message ID', 'messageId', 'editMessage', 'The message to edit; it must be one the bot posted. By default the first message an earlier Clawgate Discord Send posted.'),
		sentMessageDefault(ENVELOPE_DEFAULTS_SINCE, 'Discord', 'The message to edit; it must be one the bot posted. Empty edits the first message an earlier Clawgate Discord Send posted.'),
	),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['sendText', 'editMessage'] } },
		options: [
			{
				displayName: 'Allow Mentions',
				name: 'allowMentions',
				type: 'boolean',
				default: false,
				description:
					'Whether user and role mentions in the text notify people (and the replied-to author is pinged). @everyone and @here never notify. Off by default, so an AI answer cannot ping anyone.',
			},
			linkPreviewsProperty({ show: { '/operation': ['sendText'] } }),
			{
				displayName: 'Max Lines Per Message',
				name: 'maxLines',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: discordCapabilities.maxLinesPerMessage,
				displayOptions: { show: { '/operation': ['sendText'] } },
				description: 'Longer text is split into several messages at this many lines (code blocks are closed and reopened). 0 splits only at 2,000 characters.',
			},
		],
	},
];

const parameter = (context: IExecuteFunctions, name: string, itemIndex: number) => String(context.getNodeParameter(name, itemIndex, '') ?? '');
const optionsOf = (context: IExecuteFunctions, itemIndex: number) => context.getNodeParameter('options', itemIndex, {}) as IDataObject;
const envelopeWhenEmpty = (context: IExecuteFunctions) => readsEnvelopeWhenEmpty(context, ENVELOPE_DEFAULTS_SINCE);

/** The channel to post in: the parameter, or (version 2, Channel ID empty) the thread or channel the item came from. */
function channelOf(context: IExecuteFunctions, itemIndex: number, json: IDataObject): { channelId: string; incomingMessageId: string } {
	const channelId = parameter(context, 'channelId', itemIndex).trim();
	if (channelId || !envelopeWhenEmpty(context)) return { channelId, incomingMessageId: '' };
	const chat = envelopeChatOf(json, { platform: 'Discord', parameter: 'Channel ID' });
	return { channelId: chat.threadId ?? chat.id, incomingMessageId: String((json.message as IDataObject | undefined)?.id ?? '') };
}

function replyToMessageIdOf(context: IExecuteFunctions, itemIndex: number, incomingMessageId: string): string {
	if (!envelopeWhenEmpty(context)) return parameter(context, 'replyToMessageId', itemIndex);
	const replyTo = context.getNodeParameter('replyTo', itemIndex, 'incoming') as string;
	if (replyTo === 'messageId') return parameter(context, 'replyToMessageId', itemIndex);
	return replyTo === 'incoming' ? incomingMessageId : '';
}

function textOf(context: IExecuteFunctions, itemIndex: number, json: IDataObject): string {
	const text = parameter(context, 'text', itemIndex);
	return text === '' && envelopeWhenEmpty(context) ? replyTextOf(json) : text;
}

const operations = [
	{
		name: 'Send Text',
		value: 'sendText',
		action: 'Send a text message',
		description: "Post a message, split into several past Discord's 2,000-character limit",
		properties: [],
		async run({ client, itemIndex, json }) {
			const options = optionsOf(this, itemIndex);
			const { channelId, incomingMessageId } = channelOf(this, itemIndex, json);
			const input = {
				channelId,
				text: textOf(this, itemIndex, json),
				replyToMessageId: replyToMessageIdOf(this, itemIndex, incomingMessageId),
				allowMentions: options.allowMentions === true,
				maxLines: typeof options.maxLines === 'number' ? options.maxLines : undefined,
				linkPreviews: options.linkPreviews === true,
			};
			// The draft was posted pinging nobody: with mentions allowed the answer is posted anew.
			const overDraft = { chatId: input.channelId.trim(), threadId: null, markdown: input.text, linkPreviews: input.linkPreviews, maxLines: input.maxLines };
			return (await sendOverDraft(discordPlugin, client, json, overDraft, !input.allowMentions)) ?? (await sendDiscordText(client, input));
		},
	},
	{
		name: 'Typing',
		value: 'typing',
		action: 'Show the typing indicator',
		description: 'Show "&lt;bot&gt; is typing…" for up to 10 seconds, or until the bot posts',
		properties: [],
		async run({ client, itemIndex, json }) {
			return await sendDiscordTyping(client, channelOf(this, itemIndex, json).channelId);
		},
	},
	{
		name: 'Edit Message',
		value: 'editMessage',
		action: 'Edit a message',
		description: 'Replace the text of a message the bot posted',
		properties: [],
		async run({ client, itemIndex, json }) {
			return await editDiscordMessage(client, {
				channelId: channelOf(this, itemIndex, json).channelId,
				messageId: parameter(this, 'messageId', itemIndex) || (envelopeWhenEmpty(this) ? sentMessageIdOf(json) : ''),
				text: textOf(this, itemIndex, json),
				allowMentions: optionsOf(this, itemIndex).allowMentions === true,
			});
		},
	},
] satisfies SendOperation<REST>[] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Discord',
	description: 'Sends a message with your Discord bot; by default answers the channel or thread the item came from',
	version: [1, ENVELOPE_DEFAULTS_SINCE],
	operations,
	commonProperties: properties,
};

export class DiscordSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(discordPlugin, declaration), icon: { light: 'file:discord.svg', dark: 'file:discord.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(discordPlugin, operations);
}
