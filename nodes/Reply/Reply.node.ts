import { NodeConnectionTypes, NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import type { AnyChannelPlugin, ReplyRequest } from '../core/channel';
import { isTriggerEnvelope } from '../core/origin';
import { replyTargetOf, replyTo } from '../core/outbound';
import { accountOfCredential } from '../shared/channel-accounts';
import { envelopeOriginKey } from '../shared/origin-key';
import { deliverOnce, receiptStoreProperty, withJournalCredentials } from '../shared/delivery-journal';
import { itemFailure } from '../shared/item-failure';
import { DeliveryRecorder } from '../shared/insights-recorder';
import { orFromEnvelope, readsEnvelopeWhenEmpty, replyTextDefault, replyTextOf, stringParameterOf, withEnvelopeDefault } from '../shared/from-envelope';
import { linkPreviewsProperty, replyTextProperty } from '../shared/send-node';
import { draftOfItem } from '../shared/stream-preview';
import { channelPlugins, pluginForItem } from './channel-registry';

/** From this version an empty Text reads the AI Session answer (`reply.text`). */
const TEXT_FROM_REPLY_SINCE = 2;

const supportedChannels = [...new Set(channelPlugins.flatMap((plugin) => plugin.channels))].join(', ');

/** One client per platform for the whole execution, and the account its credential speaks for. */
interface Connection {
	client: unknown;
	account: string | null;
}

async function connectionFor(context: IExecuteFunctions, plugin: AnyChannelPlugin, itemIndex: number): Promise<Connection> {
	const credential = await context.getCredentials(plugin.credentialType, itemIndex).catch(() => {
		throw new NodeOperationError(context.getNode(), `This item came from ${plugin.name}, but no "Clawgate ${plugin.name} API" credential is set on the Reply node. Add it under Credentials.`, { itemIndex });
	});
	const client = await plugin.createClient(credential);
	return { client, account: await accountOfCredential(plugin, credential, client) };
}

export class Reply implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Reply',
		name: 'reply',
		icon: { light: 'file:reply.svg', dark: 'file:reply.dark.svg' },
		group: ['output'],
		// 2: an empty Text sends the AI Session answer, so no expression runs per item.
		version: [1, TEXT_FROM_REPLY_SINCE],
		defaultVersion: TEXT_FROM_REPLY_SINCE,
		subtitle: 'on the channel each message came from',
		description: `Answers each item on the channel it came from (${supportedChannels})`,
		defaults: { name: 'Reply' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		// Each platform's credential is optional: set the ones for the channels this workflow serves.
		credentials: withJournalCredentials(channelPlugins.map((plugin) => ({ name: plugin.credentialType, required: false })), 'receiptStore'),
		properties: [
			{
				displayName: 'Set the credential of every channel this workflow answers. An item from a channel without its credential fails with a message naming it.',
				name: 'credentialsNotice',
				type: 'notice',
				default: '',
			},
			...withEnvelopeDefault(
				replyTextProperty('The answer, in Markdown; each platform gets its own formatting. By default the AI Session reply.'),
				replyTextDefault(TEXT_FROM_REPLY_SINCE, 'The answer, in Markdown; each platform gets its own formatting. Empty sends the AI Session answer.'),
			),
			{
				displayName: 'Quote the Message',
				name: 'quote',
				type: 'boolean',
				default: true,
				description: 'Whether the answer shows as a reply to the incoming message where the platform shows quotes (Telegram groups, Discord)',
			},
			{
				displayName: 'Stay in Thread',
				name: 'inThread',
				type: 'boolean',
				default: true,
				description: 'Whether the answer goes into the thread or topic the message came from',
			},
			linkPreviewsProperty(),
			receiptStoreProperty,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const results: INodeExecutionData[] = [];
		const connections = new Map<string, Promise<Connection>>();
		const insights = new DeliveryRecorder(this);
		const textFromReply = readsEnvelopeWhenEmpty(this, TEXT_FROM_REPLY_SINCE);
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const json = items[itemIndex].json;
			try {
				// Only an envelope a Clawgate trigger signed names a chat Reply may answer: a Chat Trigger or
				// Webhook body shaped like one could otherwise send the bot's answers to anyone's chat.
				if (!isTriggerEnvelope(json, envelopeOriginKey())) {
					throw new NodeOperationError(this.getNode(), 'This item was not made by a Clawgate trigger (or its chat, sender or message fields were changed), so Reply does not know where to answer. Connect a Clawgate trigger (through AI Session) to this node; to message a chat of your choice, use a Clawgate Send node with its Chat ID.', { itemIndex });
				}
				const plugin = pluginForItem(json);
				if (!plugin) {
					throw new NodeOperationError(this.getNode(), `The item's channel "${String(json.via ?? json.channel ?? '')}" cannot be answered here. Reply knows: ${supportedChannels}. Connect a Clawgate trigger (through AI Session) to this node.`, { itemIndex });
				}
				const request: ReplyRequest = {
					envelope: json as unknown as ReplyRequest['envelope'],
					text: String(orFromEnvelope(stringParameterOf(this, 'text', itemIndex), textFromReply, () => replyTextOf(json))),
					quote: this.getNodeParameter('quote', itemIndex, true) as boolean,
					inThread: this.getNodeParameter('inThread', itemIndex, true) as boolean,
					linkPreviews: this.getNodeParameter('linkPreviews', itemIndex, false) as boolean,
				};
				if (!request.envelope.chat?.id) throw new NodeOperationError(this.getNode(), 'The item has no chat to answer ({{ $json.chat.id }} is empty). Connect a Clawgate trigger to this node.', { itemIndex });
				request.draft = draftOfItem(plugin, json, replyTargetOf(plugin, request.envelope, request.inThread).chatId);
				if (!connections.has(plugin.id)) connections.set(plugin.id, connectionFor(this, plugin, itemIndex));
				const { client, account } = await connections.get(plugin.id)!;
				if (account !== null && request.envelope.accountId && account !== request.envelope.accountId) {
					// n8n holds one credential per type on a node: a second bot of a platform answers through its own node.
					throw new NodeOperationError(
						this.getNode(),
						`This item came to ${plugin.name} account ${request.envelope.accountId}, but the ${plugin.name} credential on Reply is for account ${account}, so it would answer from the wrong bot. Route that bot's items (a Switch on {{ $json.accountId }}) to a Reply or Send node with its own credential.`,
						{ itemIndex },
					);
				}
				const delivery = await deliverOnce(this, json, itemIndex, insights.timed(json, async () => await replyTo(plugin, client, request)));
				const sent = delivery.kind === 'sent' ? delivery.sent : { skipped: delivery.reason, messageIds: [] };
				results.push({ json: { ...json, sent: { channel: String(json.channel ?? plugin.channels[0]), ...sent } }, pairedItem: { item: itemIndex } });
			} catch (error) {
				results.push(itemFailure(this, items[itemIndex], itemIndex, error));
			}
		}
		await insights.record();
		return [results];
	}
}
