import {
	NodeConnectionTypes,
	NodeOperationError,
	type INodeType,
	type INodeTypeDescription,
	type ISupplyDataFunctions,
	type SupplyData,
} from 'n8n-workflow';

import { TokenWindowHistory } from '../core/session/chat-memory';
import { sessionIdOfItem } from '../core/session/inbound';
import { isTriggerEnvelope } from '../core/origin';
import { createTokenCounter } from '../core/tokens';
import { envelopeOriginKey } from '../shared/origin-key';
import { DEFAULT_RETENTION_DAYS, sessionStoreFor, type N8nPostgresCredential, type N8nRedisCredential, type StoreKind } from '../shared/session-stores';
import { loadAiNodeSdk, tokenWindowMemory } from './ai-node-sdk';

export class ChatMemory implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Chat Memory',
		name: 'chatMemory',
		icon: { light: 'file:chatMemory.svg', dark: 'file:chatMemory.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ "Store: " + $parameter["store"] + ", " + $parameter["maxTokens"] + " tokens" }}',
		description: "Gives n8n's AI Agent the conversation AI Session keeps: same store, same sessions, a token window",
		defaults: { name: 'Clawgate Chat Memory' },
		inputs: [],
		outputs: [NodeConnectionTypes.AiMemory],
		outputNames: ['Memory'],
		credentials: [
			// n8n's own credentials, as AI Session uses them (DESIGN.md "Names").
			// eslint-disable-next-line @n8n/community-nodes/no-credential-reuse, @n8n/community-nodes/valid-credential-references
			{ name: 'redis', required: true, displayOptions: { show: { store: ['redis'] } } },
			// eslint-disable-next-line @n8n/community-nodes/no-credential-reuse, @n8n/community-nodes/valid-credential-references
			{ name: 'postgres', required: true, displayOptions: { show: { store: ['postgres'] } } },
		],
		properties: [
			{
				displayName: 'Session Key',
				name: 'sessionKey',
				type: 'string',
				default: '={{ $json.sessionId }}',
				required: true,
				description: 'Messages with the same key share one conversation, the same one AI Session reads for this key. Clawgate triggers and n8n\'s Chat Trigger set sessionId.',
			},
			{
				displayName: 'Token Window',
				name: 'maxTokens',
				type: 'number',
				typeOptions: { minValue: 100 },
				default: 4000,
				description: 'The most tokens of earlier conversation the agent gets: the newest turns (and AI Session\'s summary, if it made one) that fit',
			},
			{
				displayName: 'Store',
				name: 'store',
				type: 'options',
				default: 'sqlite',
				options: [
					{ name: 'SQLite (This N8n)', value: 'sqlite', description: 'A file in the n8n user folder; survives restarts; one n8n instance' },
					{ name: 'Redis', value: 'redis', description: 'For queue mode with many workers' },
					{ name: 'Postgres', value: 'postgres', description: 'For queue mode; durable and queryable' },
				],
				description: 'Where conversations are kept: choose the store of your AI Session node to share its conversations',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Count Tokens As Model',
						name: 'countingModel',
						type: 'string',
						default: 'gpt-4o-mini',
						description:
							"The model whose tokenizer counts new turns, as AI Session counts them for its Model. OpenAI's models count exactly; others are counted with a 20 % margin.",
					},
					{
						displayName: 'SQLite File',
						name: 'sqliteFile',
						type: 'string',
						default: '',
						placeholder: '~/.n8n/clawgate/sessions.sqlite',
						description: "The SQLite file of your AI Session node, if you changed it there; empty uses the n8n user folder. ~ is the home folder.",
					},
				],
			},
		],
	};

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const storeKind = this.getNodeParameter('store', itemIndex) as StoreKind;
		const options = this.getNodeParameter('options', itemIndex, {}) as { countingModel?: string; sqliteFile?: string };
		// The agent's input item: a trigger's signed envelope keeps its session; any other item gets `chat:` + its key, as in AI Session.
		const item = this.getInputData(0, NodeConnectionTypes.Main)[itemIndex]?.json ?? {};
		try {
			const sessionId = sessionIdOfItem(item, {
				sessionId: this.getNodeParameter('sessionKey', itemIndex),
				fromTrigger: isTriggerEnvelope(item, envelopeOriginKey()),
			});
			const store = sessionStoreFor({
				kind: storeKind,
				sqliteFile: options.sqliteFile || undefined,
				// AI Session's default, so both nodes share one store instance (and one connection) in this process.
				retentionDays: DEFAULT_RETENTION_DAYS,
				redis: storeKind === 'redis' ? ((await this.getCredentials('redis')) as unknown as N8nRedisCredential) : undefined,
				postgres: storeKind === 'postgres' ? ((await this.getCredentials('postgres')) as unknown as N8nPostgresCredential) : undefined,
			});
			const window = new TokenWindowHistory(store, sessionId, {
				windowTokens: Number(this.getNodeParameter('maxTokens', itemIndex, 4000)),
				counter: createTokenCounter((options.countingModel ?? '').trim() || 'gpt-4o-mini'),
			});
			const sdk = loadAiNodeSdk(this.getNode());
			return sdk.supplyMemory(this, tokenWindowMemory(sdk, window));
		} catch (error) {
			throw new NodeOperationError(this.getNode(), error as Error, { itemIndex });
		}
	}
}
