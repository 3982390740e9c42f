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
import { RateLimitedError, withRetryAfter } from '../core/retry-after';
import { deliverOnce, receiptStoreProperty, withJournalCredentials } from './delivery-journal';
import { DeliveryRecorder } from './insights-recorder';
import { itemFailure } from './item-failure';
import { envelopeOriginKey } from './origin-key';
import { draftOfItem } from './stream-preview';

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
	/** Several versions: a new node gets the last one. */
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
			const { target, fromEnvelope } = sendTargetOf(this, plugin, json, itemIndex);
			const text = textParameterOrReply(this, json, itemIndex);
			const quote = this.getNodeParameter('quote', itemIndex, true) === true && fromEnvelope && envelope.message && envelope.chat && quotes(plugin, envelope as Envelope);
			return await deliverText(plugin, client, {
				...target,
				markdown: text,
				replyToId: quote ? (envelope.message?.id ?? null) : null,
				linkPreviews: this.getNodeParameter('linkPreviews', itemIndex, false) === true,
				accountId: fromEnvelope ? (envelope.accountId ?? null) : null,
				answers: quote ? (envelope as Envelope) : null,
				// Stream Preview: AI Session's draft in this chat becomes the answer's first message.
				draft: fromEnvelope ? draftOfItem(plugin, json, target.chatId) : null,
			});
		},
	};
}

/** The Text parameter, or the AI Session answer when it is empty. */
function textParameterOrReply(context: IExecuteFunctions, json: IDataObject, itemIndex: number): string {
	return String(context.getNodeParameter('text', itemIndex, '') ?? '') || String((json.reply as IDataObject | undefined)?.text ?? '');
}

/**
 * Where the standard operations send: the Chat ID parameter, or, when it is empty (or names the
 * item's own chat), the chat and thread the item came from, as the plugin's reply target says.
 */
function sendTargetOf(context: IExecuteFunctions, plugin: AnyChannelPlugin, json: IDataObject, itemIndex: number): { target: { chatId: string; threadId: string | null }; fromEnvelope: boolean } {
	const envelope = envelopeOf(json);
	const chatId = stringParameter(context, 'chatId', itemIndex);
	const fromEnvelope = chatId === '' || chatId === envelope.chat?.id;
	// An empty Chat ID answers where the item came from: only an envelope a Clawgate trigger signed says where that is.
	if (fromEnvelope && !isTriggerEnvelope(json, envelopeOriginKey())) {
		throw new Error(`The item was not made by a Clawgate trigger, so there is no chat to answer. Set "Chat ID" to the ${plugin.name} chat to send to.`);
	}
	const target = fromEnvelope && envelope.chat ? (plugin.outbound.replyTarget?.(envelope as Envelope, true) ?? { chatId: envelope.chat.id, threadId: envelope.chat.threadId }) : { chatId, threadId: null };
	return { target, fromEnvelope };
}

/**
 * Edit Text for platforms with edits (`capabilities.edit`): replaces the text of a message the bot
 * posted, by default the first one the send node before it posted, in the chat the item came from.
 * An edit is one message, so Markdown past the limit is cut at the first chunk.
 */
export function editTextOperation(plugin: AnyChannelPlugin): SendOperation<unknown> {
	const show = { show: { operation: ['editText'] } };
	return {
		name: 'Edit Text',
		value: 'editText',
		action: 'Edit a message',
		description: `Replace the text of a message the bot posted (Markdown as ${plugin.name} formatting, one message)`,
		properties: [
			sentMessageProperty('Message ID', 'messageId', 'editText', `The message to edit; it must be one the bot posted. By default the first message an earlier Clawgate ${plugin.name} Send posted.`),
			{
				displayName: 'Text',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				placeholder: 'Empty: the AI Session answer (reply.text)',
				displayOptions: show,
				description: 'The new text, in Markdown. Empty uses the answer of the Clawgate AI Session node.',
			},
		],
		async run({ client, itemIndex, json }) {
			const { target } = sendTargetOf(this, plugin, json, itemIndex);
			const messageId = stringParameter(this, 'messageId', itemIndex);
			if (!messageId) throw new Error('There is no message to edit. Set "Message ID" (by default the first message the send node before this one posted).');
			const [text] = messagesFor(plugin, textParameterOrReply(this, json, itemIndex));
			if (!text) throw new Error('There is no text to put into the message. Set "Text" (by default the answer of Clawgate AI Session, reply.text).');
			await withRetryAfter(() => plugin.outbound.editMessage!(client, { ...target, messageId, text }), { action: 'edit a message', platform: plugin.name, retryAfterMs: (error) => plugin.retryAfterMs(error) }).catch((error: unknown) => {
				throw error instanceof RateLimitedError ? error : plugin.describeError(error, 'edit a message');
			});
			return { chatId: target.chatId, messageIds: [messageId], threadId: target.threadId };
		},
	};
}

/** Send Typing for platforms with a typing indicator (`capabilities.typing`), in the chat the item came from by default. */
export function typingOperation(plugin: AnyChannelPlugin): SendOperation<unknown> {
	return {
		name: 'Send Typing',
		value: 'sendTyping',
		action: 'Show the typing indicator',
		description: 'Show the bot as typing for a few seconds, or until it posts',
		properties: [],
		async run({ client, itemIndex, json }) {
			const { target } = sendTargetOf(this, plugin, json, itemIndex);
			await plugin.outbound.sendTyping!(client, target).catch((error: unknown) => {
				throw plugin.describeError(error, 'show the typing indicator');
			});
			return { chatId: target.chatId, messageIds: [] };
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
		...(Array.isArray(declaration.version) ? { defaultVersion: declaration.version[declaration.version.length - 1] } : {}),
		description: declaration.description,
		defaults: { name: `${declaration.displayName} Send` },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: withJournalCredentials([{ name: plugin.credentialType, required: true }], 'receiptStore'),
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
			receiptStoreProperty,
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
	const insights = new DeliveryRecorder(context);
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			client ??= await plugin.createClient(credential);
			const value = context.getNodeParameter('operation', itemIndex) as string;
			const operation = operations.find((candidate) => candidate.value === value);
			if (!operation) throw new Error(`The operation "${value}" is not known to this version of the node.`);
			const json = items[itemIndex].json;
			const delivery = await deliverOnce(context, json, itemIndex, insights.timed(json, async () => await operation.run.call(context, { client: client as never, itemIndex, json })));
			const channel = String(json.channel ?? plugin.channels[0]);
			const sent = delivery.kind === 'sent' ? delivery.sent : { skipped: delivery.reason, messageIds: [] };
			results.push({ json: { ...json, sent: { channel: plugin.channels.includes(channel) ? channel : plugin.channels[0], ...sent } }, pairedItem: { item: itemIndex } });
		} catch (error) {
			results.push(itemFailure(context, items[itemIndex], itemIndex, error));
		}
	}
	await insights.record();
	return [results];
}

/**
 * The chat parameter of a version-1 send node: an expression that reads the envelope, kept as it
 * is because shared workflow JSON stores it.
 */
export function envelopeTargetProperty(displayName: string, name: string, expression: string, description: string): INodeProperties {
	return { displayName, name, type: 'string', default: expression, required: true, description };
}

/**
 * The Text parameter of a version-1 send or Reply node: by default the AI Session answer; shown for
 * `operations` where the node has operations, and required unless the node never required it.
 */
export function replyTextProperty(description: string, operations?: string[], { required = true } = {}): INodeProperties {
	return {
		displayName: 'Text',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '={{ $json.reply.text }}',
		...(required ? { required: true } : {}),
		...(operations ? { displayOptions: { show: { operation: operations } } } : {}),
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
