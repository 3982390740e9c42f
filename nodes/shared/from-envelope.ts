/**
 * Parameters that read the envelope without an expression. Old node versions default to an
 * expression (`={{ $json.chat.id }}`), which n8n evaluates in its expression engine for every item;
 * newer versions default to a plain empty value that the node reads as "from the envelope", so a
 * default workflow evaluates no expression per message. Each old version keeps its expression
 * default, because n8n stores only the parameters that differ from the default: a workflow saved
 * with the old default must mean the same after an update.
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { isTriggerEnvelope } from '../core/origin';
import { envelopeOriginKey } from './origin-key';

/** `displayOptions.show` entries for the node versions before `version`, and from `version` on. */
const beforeVersion = (version: number) => ({ '@version': [{ _cnd: { lt: version } }] });
const sinceVersion = (version: number) => ({ '@version': [{ _cnd: { gte: version } }] });

export interface EnvelopeDefault {
	/** The first node version whose default is the plain value. */
	since: number;
	/** The expression older versions default to (kept as it was). */
	expression: string;
	/** What the empty field means, shown in it on the canvas. */
	placeholder?: string;
	/** The description of the newer versions, which say what empty means. */
	description?: string;
}

/**
 * One parameter declared twice: older versions with the expression default (and `required` as
 * they had it), newer ones with an empty default (never `required`: an empty field is valid, and
 * n8n refuses to run a node whose required parameter is empty).
 */
export function withEnvelopeDefault(property: INodeProperties, envelope: EnvelopeDefault): INodeProperties[] {
	const show = property.displayOptions?.show ?? {};
	const optional: INodeProperties = { ...property };
	delete optional.required;
	return [
		{ ...property, default: envelope.expression, displayOptions: { ...property.displayOptions, show: { ...show, ...beforeVersion(envelope.since) } } },
		{
			...optional,
			default: '',
			...(envelope.placeholder ? { placeholder: envelope.placeholder } : {}),
			...(envelope.description ? { description: envelope.description } : {}),
			displayOptions: { ...property.displayOptions, show: { ...show, ...sinceVersion(envelope.since) } },
		},
	];
}

/** Whether this node's version reads an empty parameter from the envelope (see `withEnvelopeDefault`). */
export function readsEnvelopeWhenEmpty(context: IExecuteFunctions, since: number): boolean {
	return context.getNode().typeVersion >= since;
}

/** A parameter as a string ('' when unset or null). */
export function stringParameterOf(context: IExecuteFunctions, name: string, itemIndex: number): string {
	return String(context.getNodeParameter(name, itemIndex, '') ?? '');
}

/** The AI Session answer an item carries (`reply.text`), '' when it has none. */
export function replyTextOf(json: IDataObject): string {
	return String((json.reply as IDataObject | undefined)?.text ?? '');
}

/** What the user said: a Clawgate envelope's `message.text`, else n8n's Chat Trigger `chatInput`. */
export function messageTextOf(json: IDataObject): unknown {
	return (json.message as IDataObject | undefined)?.text ?? json.chatInput;
}

/** The conversation an item belongs to: `sessionId`, which Clawgate triggers and n8n's Chat Trigger set. */
export function sessionIdOf(json: IDataObject): unknown {
	return json.sessionId;
}

/**
 * The envelope's chat, for a parameter left empty. Only an envelope a Clawgate trigger signed
 * says where to answer; any other item must name its chat, so a Chat Trigger or Webhook body
 * shaped like an envelope cannot send the bot's answers to a chat of its choosing.
 */
export function envelopeChatOf(json: IDataObject, { platform, parameter }: { platform: string; parameter: string }): { id: string; type: string; threadId: string | null } {
	const chat = json.chat as { id?: unknown; type?: unknown; threadId?: unknown } | undefined;
	if (!isTriggerEnvelope(json, envelopeOriginKey()) || typeof chat?.id !== 'string' || chat.id === '') {
		throw new Error(`The item was not made by a Clawgate trigger, so there is no chat to answer. Set "${parameter}" to the ${platform} chat to send to.`);
	}
	return { id: chat.id, type: String(chat.type ?? ''), threadId: typeof chat.threadId === 'string' && chat.threadId !== '' ? chat.threadId : null };
}

/** `value`, or what `fromEnvelope` reads when this node's version reads an empty parameter from the envelope. */
export function orFromEnvelope(value: unknown, envelopeWhenEmpty: boolean, fromEnvelope: () => unknown): unknown {
	return envelopeWhenEmpty && (value === '' || value === undefined || value === null) ? fromEnvelope() : value;
}

/** The first message an earlier send node posted (`sent.messageIds[0]`), '' when there is none. */
export function sentMessageIdOf(json: IDataObject): string {
	const ids = (json.sent as IDataObject | undefined)?.messageIds;
	return Array.isArray(ids) && ids.length > 0 ? String(ids[0] ?? '') : '';
}

/** The envelope default of a Text parameter: the AI Session answer. */
export function replyTextDefault(since: number, description: string): EnvelopeDefault {
	return { since, expression: '={{ $json.reply.text }}', placeholder: 'Empty: the AI Session answer (reply.text)', description };
}

/** The envelope default of the message an edit replaces: the first one an earlier send node posted. */
export function sentMessageDefault(since: number, platform: string, description: string): EnvelopeDefault {
	return { since, expression: '={{ $json.sent?.messageIds?.[0] ?? "" }}', placeholder: `Empty: the first message an earlier ${platform} Send posted`, description };
}

/**
 * The quote of newer versions: a mode rather than an expression (an empty message ID already
 * meant "no quote"), and the ID field for the mode that names one.
 */
export function replyToModeProperties({ since, operations, incoming, description }: { since: number; operations: string[]; incoming: { name: string; value: string; description: string }; description: string }): INodeProperties[] {
	const show = { operation: operations, ...sinceVersion(since) };
	return [
		{
			displayName: 'Reply To',
			name: 'replyTo',
			type: 'options',
			default: incoming.value,
			options: [incoming, { name: 'Message ID', value: 'messageId', description: 'Quote the message with the ID below' }, { name: 'None', value: 'none', description: 'Send a plain message' }],
			displayOptions: { show },
			description,
		},
		{
			displayName: 'Reply To Message ID',
			name: 'replyToMessageId',
			type: 'string',
			default: '',
			required: true,
			displayOptions: { show: { ...show, replyTo: ['messageId'] } },
			description: 'The message to show this one as a reply to',
		},
	];
}
