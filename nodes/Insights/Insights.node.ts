import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { dashboardPage, metricsText, priceTable, sessionActivity, sessionTranscript, usageSummary } from '../core/insights/operations';
import type { ModelPrice } from '../core/insights/prices';
import { PROMETHEUS_CONTENT_TYPE } from '../core/insights/prometheus';
import type { GroupKey } from '../core/insights/report';
import { hasInsights, type InsightsStore } from '../core/insights/store';
import type { SessionStore } from '../core/session/store';
import { itemFailure } from '../shared/item-failure';
import { DEFAULT_RETENTION_DAYS, sessionStoreFor, type N8nPostgresCredential, type N8nRedisCredential, type StoreKind } from '../shared/session-stores';
import { insightsProperties } from './Insights.properties';

export class Insights implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Insights',
		name: 'insights',
		icon: { light: 'file:insights.svg', dark: 'file:insights.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Usage, cost, latency and errors of your Clawgate bots, as items, an HTML dashboard or Prometheus metrics',
		defaults: { name: 'Clawgate Insights' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [
			// n8n's own credentials, the ones AI Session's stores use (DESIGN.md "Names").
			// eslint-disable-next-line @n8n/community-nodes/no-credential-reuse, @n8n/community-nodes/valid-credential-references
			{ name: 'redis', required: true, displayOptions: { show: { store: ['redis'] } } },
			// eslint-disable-next-line @n8n/community-nodes/no-credential-reuse, @n8n/community-nodes/valid-credential-references
			{ name: 'postgres', required: true, displayOptions: { show: { store: ['postgres'] } } },
		],
		properties: insightsProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const results: INodeExecutionData[] = [];
		const kind = this.getNodeParameter('store', 0) as Exclude<StoreKind, 'memory'>;
		const store = sessionStoreFor({
			kind,
			sqliteFile: (this.getNodeParameter('options.sqliteFile', 0, '') as string) || undefined,
			// The AI Session default, so both nodes share one store (and connection) in this process.
			retentionDays: DEFAULT_RETENTION_DAYS,
			redis: kind === 'redis' ? ((await this.getCredentials('redis')) as unknown as N8nRedisCredential) : undefined,
			postgres: kind === 'postgres' ? ((await this.getCredentials('postgres')) as unknown as N8nPostgresCredential) : undefined,
		});
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			try {
				const outputs = await runOperation(this, itemIndex, store);
				results.push(...outputs.map((json) => ({ json, pairedItem: { item: itemIndex } })));
			} catch (error) {
				results.push(itemFailure(this, items[itemIndex], itemIndex, error));
			}
		}
		return [results];
	}
}

function pricesOf(context: IExecuteFunctions, itemIndex: number): Record<string, ModelPrice> {
	const entries = ((context.getNodeParameter('prices.price', itemIndex, []) as IDataObject[]) ?? []).filter((entry) => String(entry.model ?? '').trim());
	return priceTable(Object.fromEntries(entries.map((entry) => [String(entry.model).trim(), { input: Number(entry.input ?? 0), output: Number(entry.output ?? 0) }])));
}

async function runOperation(context: IExecuteFunctions, itemIndex: number, store: SessionStore): Promise<IDataObject[]> {
	if (!hasInsights(store)) throw new NodeOperationError(context.getNode(), 'This store keeps no insights.', { itemIndex });
	const insights: InsightsStore = store.insights;
	const operation = context.getNodeParameter('operation', itemIndex) as string;
	const days = Number(context.getNodeParameter('days', itemIndex, 7));
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	switch (operation) {
		case 'usageSummary':
			return (await usageSummary(insights, { days, groupBy: context.getNodeParameter('groupBy', itemIndex, []) as GroupKey[], prices: pricesOf(context, itemIndex) })) as unknown as IDataObject[];
		case 'sessions':
			return (await sessionActivity(insights, {
				days,
				order: context.getNodeParameter('order', itemIndex, 'lastSeen') as 'lastSeen' | 'messages',
				limit: Number(context.getNodeParameter('limit', itemIndex, 50)),
			})).map((session) => ({ ...session, firstSeen: new Date(session.firstSeen).toISOString(), lastSeen: new Date(session.lastSeen).toISOString() }));
		case 'transcript': {
			const sessionId = String(context.getNodeParameter('sessionId', itemIndex, '') ?? '').trim();
			if (!sessionId) throw new NodeOperationError(context.getNode(), 'Set "Session ID" to the session to read (the sessionId of an item from a Clawgate trigger, or of the Sessions operation).', { itemIndex });
			const turns = await sessionTranscript(store, sessionId, Number(context.getNodeParameter('limit', itemIndex, 50)));
			return turns.map((turn) => ({ sessionId, seq: turn.seq, role: turn.role, content: turn.content, tokens: turn.tokens, createdAt: new Date(turn.createdAt).toISOString() }));
		}
		case 'metrics':
			return [{ metrics: await metricsText(insights, pricesOf(context, itemIndex)), contentType: PROMETHEUS_CONTENT_TYPE }];
		case 'dashboard': {
			const { html, totals } = await dashboardPage(insights, {
				days,
				title: String(context.getNodeParameter('title', itemIndex, 'Clawgate Operations')),
				prices: pricesOf(context, itemIndex),
				busiestSessions: Number(options.busiestSessions ?? 10),
				refreshSeconds: Number(options.refreshSeconds ?? 60),
			});
			return [{ html, contentType: 'text/html; charset=utf-8', totals: totals as unknown as IDataObject }];
		}
		default:
			throw new NodeOperationError(context.getNode(), `The operation "${operation}" is not known to this version of the node.`, { itemIndex });
	}
}
