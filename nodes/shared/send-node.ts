/**
 * The send node pipeline every channel shares: one credential read and one client per execution,
 * items in order, the platform's operation, `sent: { channel, chatId, messageIds }` on the item,
 * and n8n's Continue On Fail written once (`itemFailure`). A channel's node file declares its
 * plugin and operations; the standard Send Text operation (formatting, chunking, quoting,
 * threads and 429s from the plugin's capabilities) comes from here.
 */
import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeTypeDescription,
} from 'n8n-workflow';

import type { AnyChannelPlugin, SentMessages } from '../core/channel';
import type { Envelope } from '../core/envelope';
import { isTriggerEnvelope } from '../core/origin';
import { deliverText, messagesFor, quotes } from '../core/outbound';
import { itemFailure } from './item-failure';
import { envelopeOriginKey } from './origin-key';

export interface SendInput<Client> {
	client: Client;
	itemIndex: number;
	/** The item's json, which holds the envelope when a Clawgate trigger made it. */
	json: IDataObject;
}

export interface SendOperation<Client = unknown> {
	name: string;
	value: string;
	action: string;
	description: string;
	/** Parameters only this operation has (shown for it alone). */
	properties: INodeProperties[];
	run(this: IExecuteFunctions, input: SendInput<Client>): Promise<SentMessages>;
}

export interface SendDeclaration {
	/** Without "Clawgate" and "Send": "LINE". */
	displayName: string;
	description: string;
	version?: number | number[];
	operations: SendOperation<never>[];
	/** The operation a new node starts with; default the first. */
	defaultOperation?: string;
	/** Parameters every operation reads (a chat ID), before the operations' own. */
	commonProperties?: INodeProperties[];
}

/** A parameter as a trimmed string ('' when unset). */
export function stringParameter(context: IExecuteFunctions, name: string, itemIndex: number): string {
	return String(context.getNodeParameter(name, itemIndex, '') ?? '').trim();
}

function envelopeOf(json: IDataObject): Partial<Envelope> {
	return json as unknown as Partial<Envelope>;
}

/**
 * Send Text as every channel has it. Empty Chat ID and Text mean "the chat the item came from"
 * and "the AI Session answer", read from the envelope without an expression; so is the thread and
 * the quote, as the platform's capabilities say.
 */
export function sendTextOperation(plugin: AnyChannelPlugin): SendOperation<unknown> {
	const show = { show: { operation: ['sendText'] } };
	return {
		name: 'Send Text',
		value: 'sendText',
		action: 'Send a text message',
		description: `Send Markdown as ${plugin.name} formatting, split into several messages past ${plugin.capabilities.textLimit.toLocaleString('en-US')} characters`,
		properties: [
			{
				displayName: 'Text',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				placeholder: 'Empty: the AI Session answer (reply.text)',
				displayOptions: show,
				description: 'The message, in Markdown. Empty sends the answer of the Clawgate AI Session node.',
			},
			{
				displayName: 'Quote the Message',
				name: 'quote',
				type: 'boolean',
				default: true,
				displayOptions: show,
				description: `Whether the answer shows as a reply to the incoming message (${plugin.capabilities.quote === 'never' ? `${plugin.name} has no quoting` : plugin.capabilities.quote === 'groups' ? 'in groups' : 'always'})`,
			},
			linkPreviewsProperty(show),
		],
		async run({ client, itemIndex, json }) {
			const envelope = envelopeOf(json);
			const chatId = stringParameter(this, 'chatId', itemIndex);
			const fromEnvelope = chatId === '' || chatId === envelope.chat?.id;
			// An empty Chat ID answers where the item came from: only an envelope a Clawgate trigger signed says where that is.
			if (fromEnvelope && !isTriggerEnvelope(json, envelopeOriginKey())) {
				throw new Error(`The item was not made by a Clawgate trigger, so there is no chat to answer. Set "Chat ID" to the ${plugin.name} chat to send to.`);
			}
			const text = String(this.getNodeParameter('text', itemIndex, '') ?? '') || String((json.reply as IDataObject | undefined)?.text ?? '');
			const target = fromEnvelope && envelope.chat ? (plugin.outbound.replyTarget?.(envelope as Envelope, true) ?? { chatId: envelope.chat.id, threadId: envelope.chat.threadId }) : { chatId, threadId: null };
			const quote = this.getNodeParameter('quote', itemIndex, true) === true && fromEnvelope && envelope.message && envelope.chat && quotes(plugin, envelope as Envelope);
			return await deliverText(plugin, client, {
				...target,
				markdown: text,
				replyToId: quote ? (envelope.message?.id ?? null) : null,
				linkPreviews: this.getNodeParameter('linkPreviews', itemIndex, false) === true,
				accountId: fromEnvelope ? (envelope.accountId ?? null) : null,
			});
		},
	};
}

/** The Chat ID parameter of the standard operations: empty means the chat the item came from. */
export function chatIdProperty(plugin: AnyChannelPlugin, placeholder: string): INodeProperties {
	return {
		displayName: 'Chat ID',
		name: 'chatId',
		type: 'string',
		default: '',
		placeholder: `Empty: the chat the message came from (${placeholder})`,
		description: `The ${plugin.name} chat to send to. Empty answers the chat (and thread) the incoming message came from.`,
	};
}

/** The description of a channel's send node, all but the icon (the node file names it, for n8n's linter). */
export function sendNodeDescription(plugin: AnyChannelPlugin, declaration: SendDeclaration): Omit<INodeTypeDescription, 'icon'> {
	const operations = declaration.operations;
	return {
		displayName: `Clawgate ${declaration.displayName} Send`,
		name: `${plugin.id}Send`,
		group: ['output'],
		version: declaration.version ?? 1,
		description: declaration.description,
		defaults: { name: `${declaration.displayName} Send` },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: plugin.credentialType, required: true }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				default: declaration.defaultOperation ?? operations[0].value,
				options: operations.map(({ name, value, action, description }) => ({ name, value, action, description })),
			},
			...(declaration.commonProperties ?? []),
			...operations.flatMap((operation) => operation.properties),
		],
	};
}

/** A send node's `execute`, for its class: `execute = sendExecutor(plugin, operations)`. */
export function sendExecutor(plugin: AnyChannelPlugin, operations: SendOperation<never>[]): (this: IExecuteFunctions) => Promise<INodeExecutionData[][]> {
	return async function (this: IExecuteFunctions) {
		return await executeSend(this, plugin, operations);
	};
}

/** Runs a send node's items: one client, the chosen operation per item, `sent` on success, Continue On Fail on failure. */
export async function executeSend(context: IExecuteFunctions, plugin: AnyChannelPlugin, operations: SendOperation<never>[]): Promise<INodeExecutionData[][]> {
	const items = context.getInputData();
	const credential = await context.getCredentials(plugin.credentialType);
	const results: INodeExecutionData[] = [];
	// One client for all items, so rate-limit state carries over from item to item.
	let client: unknown;
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			client ??= await plugin.createClient(credential);
			const value = context.getNodeParameter('operation', itemIndex) as string;
			const operation = operations.find((candidate) => candidate.value === value);
			if (!operation) throw new Error(`The operation "${value}" is not known to this version of the node.`);
			const sent = await operation.run.call(context, { client: client as never, itemIndex, json: items[itemIndex].json });
			const channel = String(items[itemIndex].json.channel ?? plugin.channels[0]);
			results.push({ json: { ...items[itemIndex].json, sent: { channel: plugin.channels.includes(channel) ? channel : plugin.channels[0], ...sent } }, pairedItem: { item: itemIndex } });
		} catch (error) {
			results.push(itemFailure(context, items[itemIndex], itemIndex, error));
		}
	}
	return [results];
}

/**
 * The chat parameter of a version-1 send node: an expression that reads the envelope, kept as it
 * is because shared workflow JSON stores it.
 */
export function envelopeTargetProperty(displayName: string, name: string, expression: string, description: string): INodeProperties {
	return { displayName, name, type: 'string', default: expression, required: true, description };
}

/** The Text parameter of a version-1 send node: by default the AI Session answer. */
export function replyTextProperty(description: string, operations: string[]): INodeProperties {
	return {
		displayName: 'Text',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '={{ $json.reply.text }}',
		required: true,
		displayOptions: { show: { operation: operations } },
		description,
	};
}

/** The parameter naming the message an edit replaces: by default the first one an earlier send node posted. */
export function sentMessageProperty(displayName: string, name: string, operation: string, description: string): INodeProperties {
	return {
		displayName,
		name,
		type: 'string',
		default: '={{ $json.sent?.messageIds?.[0] ?? "" }}',
		required: true,
		displayOptions: { show: { operation: [operation] } },
		description,
	};
}

/** Link previews of model text: off unless asked, since the platform fetches a link (perhaps planted by a prompt) without a click. */
export function linkPreviewsProperty(displayOptions?: INodeProperties['displayOptions']): INodeProperties {
	return {
		displayName: 'Link Previews',
		name: 'linkPreviews',
		type: 'boolean',
		default: false,
		...(displayOptions ? { displayOptions } : {}),
		description: 'Whether the platform may fetch and show previews of links in the text. Off by default: a link a model was tricked into writing is not fetched without a click.',
	};
}

/**
 * Edit Message, for platforms whose plugin edits (`outbound.editMessage`): the text is formatted
 * like Send Text and must fit one message; by default it replaces the first message an earlier
 * send node of the channel posted, in the chat of the item.
 */
export function editTextOperation(plugin: AnyChannelPlugin): SendOperation<unknown> {
	const show = { show: { operation: ['editMessage'] } };
	return {
		name: 'Edit Message',
		value: 'editMessage',
		action: 'Edit a message',
		description: `Replace the text of a message the bot posted on ${plugin.name}`,
		properties: [
			{ ...sentMessageProperty('Message ID', 'messageId', 'editMessage', `The message to edit; it must be one the bot posted. By default the first message an earlier Clawgate ${plugin.name} Send posted.`), displayOptions: show },
			{ displayName: 'Text', name: 'editText', type: 'string', typeOptions: { rows: 4 }, default: '', required: true, displayOptions: show, description: 'The new text, in Markdown' },
		],
		async run({ client, itemIndex, json }) {
			const sent = json.sent as { chatId?: unknown } | undefined;
			const chatId = stringParameter(this, 'chatId', itemIndex) || String(sent?.chatId ?? (json.chat as { id?: unknown } | undefined)?.id ?? '');
			const messageId = stringParameter(this, 'messageId', itemIndex);
			const [text, ...more] = messagesFor(plugin, String(this.getNodeParameter('editText', itemIndex, '') ?? ''));
			if (!text) throw new Error('There is no text to put into the message. Set "Text".');
			if (more.length > 0) throw new Error(`The new text is longer than one ${plugin.name} message (${plugin.capabilities.textLimit.toLocaleString('en-US')} characters). Shorten it.`);
			await plugin.outbound.editMessage!(client, { chatId, messageId, text, threadId: null }).catch((error: unknown) => {
				throw plugin.describeError(error, `edit message ${messageId}`);
			});
			return { chatId, messageIds: [messageId] };
		},
	};
}

/** Show Typing, for platforms whose plugin shows it (`outbound.sendTyping`): in the chat (and thread) of the item by default. */
export function typingOperation(plugin: AnyChannelPlugin): SendOperation<unknown> {
	return {
		name: 'Show Typing',
		value: 'sendTyping',
		action: 'Show the bot as typing',
		description: `Show "typing…" in the ${plugin.name} chat for a few seconds`,
		properties: [],
		async run({ client, itemIndex, json }) {
			const envelope = envelopeOf(json);
			const chatId = stringParameter(this, 'chatId', itemIndex) || String(envelope.chat?.id ?? '');
			const threadId = chatId === envelope.chat?.id ? (envelope.chat?.threadId ?? null) : null;
			await plugin.outbound.sendTyping!(client, { chatId, threadId }).catch((error: unknown) => {
				throw plugin.describeError(error, 'show typing');
			});
			return { chatId, messageIds: [] };
		},
	};
}
