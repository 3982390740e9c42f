import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import type { ReplyRequest } from '../core/reply-route';
import { replyRouteFor, replyRoutes } from './reply.routes';
import { itemFailure } from '../shared/item-failure';

const supportedChannels = [...new Set(replyRoutes.flatMap((route) => route.channels))].join(', ');

export class Reply implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Reply',
		name: 'reply',
		icon: 'file:reply.svg',
		group: ['output'],
		version: 1,
		subtitle: 'on the channel each message came from',
		description: 'Answers each item on the channel it came from (Telegram, Discord, Slack, WhatsApp, SMS)',
		defaults: { name: 'Reply' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		// Each platform's credential is optional: set the ones for the channels this workflow serves.
		credentials: replyRoutes.map((route) => ({ name: route.credentialType, required: false })),
		properties: [
			{
				displayName: 'Set the credential of every channel this workflow answers. An item from a channel without its credential fails with a message naming it.',
				name: 'credentialsNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Text',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '={{ $json.reply.text }}',
				required: true,
				description: 'The answer, in Markdown; each platform gets its own formatting. By default the AI Session reply.',
			},
			{
				displayName: 'Quote the Message',
				name: 'quote',
				type: 'boolean',
				default: true,
				description: 'Whether the answer shows as a reply to the incoming message where the platform supports it (Telegram groups, Discord)',
			},
			{
				displayName: 'Stay in Thread',
				name: 'inThread',
				type: 'boolean',
				default: true,
				description: 'Whether the answer goes into the thread or topic the message came from',
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const results: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const json = items[itemIndex].json;
			try {
				const route = replyRouteFor(json.channel);
				if (!route) {
					throw new Error(`The item's channel "${String(json.channel ?? '')}" cannot be answered here. Reply knows: ${supportedChannels}. Connect a Clawgate trigger (through AI Session) to this node.`);
				}
				const credential = await this.getCredentials(route.credentialType, itemIndex).catch(() => {
					throw new Error(`This item came from ${String(json.channel)}, but no "${route.credentialName}" credential is set on the Reply node. Add it under Credentials.`);
				});
				const request: ReplyRequest = {
					envelope: json as unknown as ReplyRequest['envelope'],
					text: String(this.getNodeParameter('text', itemIndex, '') ?? ''),
					quote: this.getNodeParameter('quote', itemIndex, true) as boolean,
					inThread: this.getNodeParameter('inThread', itemIndex, true) as boolean,
				};
				if (!request.envelope.chat?.id) throw new Error('The item has no chat to answer ({{ $json.chat.id }} is empty). Connect a Clawgate trigger to this node.');
				const sent = await route.send(credential as never, request);
				results.push({ json: { ...json, sent: sent as unknown as IDataObject }, pairedItem: { item: itemIndex } });
			} catch (error) {
				results.push(itemFailure(this, items[itemIndex], itemIndex, error));
			}
		}
		return [results];
	}
}
