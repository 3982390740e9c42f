import type { IDataObject, IExecuteFunctions, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';
import type { REST } from 'discord.js';

import { envelopeTargetProperty, linkPreviewsProperty, replyTextProperty, sentMessageProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation } from '../shared/send-node';
import { discordCapabilities, editDiscordMessage, sendDiscordText, sendDiscordTyping } from './discord.adapter';
import { sendOverDraft } from '../shared/stream-preview';
import { discordPlugin } from './discord.plugin';

const properties: INodeProperties[] = [
	envelopeTargetProperty('Channel ID', 'channelId', '={{ $json.chat.threadId || $json.chat.id }}', 'The channel, thread or DM channel to post in. By default the one the incoming message came from (its thread, if it was in one).'),
	replyTextProperty('The message, in Discord Markdown. By default the answer of the Clawgate AI Session node.', ['sendText', 'editMessage']),
	// Top-level rather than in the options collection: n8n applies a collection option's
	// default only once the user adds it, and this must work with zero changes.
	{
		displayName: 'Reply To Message ID',
		name: 'replyToMessageId',
		type: 'string',
		default: '={{ $json.message?.id ?? "" }}',
		displayOptions: { show: { operation: ['sendText'] } },
		description: 'Shows the first message as a reply to this one (without pinging its author). By default the incoming message. Empty sends a plain message.',
	},
	sentMessageProperty('Message ID', 'messageId', 'editMessage', 'The message to edit; it must be one the bot posted. By default the first message an earlier Clawgate Discord Send posted.'),
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

const operations = [
	{
		name: 'Send Text',
		value: 'sendText',
		action: 'Send a text message',
		description: "Post a message, split into several past Discord's 2,000-character limit",
		properties: [],
		async run({ client, itemIndex, json }) {
			const options = optionsOf(this, itemIndex);
			const input = {
				channelId: parameter(this, 'channelId', itemIndex),
				text: parameter(this, 'text', itemIndex),
				replyToMessageId: parameter(this, 'replyToMessageId', itemIndex),
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
		async run({ client, itemIndex }) {
			return await sendDiscordTyping(client, parameter(this, 'channelId', itemIndex));
		},
	},
	{
		name: 'Edit Message',
		value: 'editMessage',
		action: 'Edit a message',
		description: 'Replace the text of a message the bot posted',
		properties: [],
		async run({ client, itemIndex }) {
			return await editDiscordMessage(client, {
				channelId: parameter(this, 'channelId', itemIndex),
				messageId: parameter(this, 'messageId', itemIndex),
				text: parameter(this, 'text', itemIndex),
				allowMentions: optionsOf(this, itemIndex).allowMentions === true,
			});
		},
	},
] satisfies SendOperation<REST>[] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Discord',
	description: 'Sends a message with your Discord bot; by default answers the channel or thread the item came from',
	operations,
	commonProperties: properties,
};

export class DiscordSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(discordPlugin, declaration), icon: { light: 'file:discord.svg', dark: 'file:discord.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(discordPlugin, operations);
}
