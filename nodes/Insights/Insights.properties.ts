import type { INodeProperties } from 'n8n-workflow';

import { durableStoreOptions } from '../shared/session-stores';

const show = (...operation: string[]) => ({ show: { operation } });

/** The Clawgate Insights node's parameters. */
export const insightsProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'usageSummary',
		options: [
			{ name: 'Dashboard Page', value: 'dashboard', action: 'Render the operations dashboard', description: 'One self-contained HTML page (inline charts) for a Respond to Webhook node' },
			{ name: 'Metrics', value: 'metrics', action: 'Expose metrics in the text exposition format', description: 'Counters, histograms and gauges in the Prometheus text format, for a /metrics webhook' },
			{ name: 'Sessions', value: 'sessions', action: 'List sessions', description: 'Sessions seen in the period, most recent or most active first' },
			{ name: 'Transcript', value: 'transcript', action: 'Read a session transcript', description: "One session's stored turns, oldest first" },
			{ name: 'Usage Summary', value: 'usageSummary', action: 'Summarise usage', description: 'Messages, tokens, estimated cost, errors and latency by channel, model or day' },
		],
	},
	{
		displayName: 'Store',
		name: 'store',
		type: 'options',
		default: 'sqlite',
		options: [durableStoreOptions.sqlite, durableStoreOptions.redis, durableStoreOptions.postgres],
		description: 'The store your AI Session node uses (and your send nodes under "Delivery Receipts")',
	},
	{
		displayName: 'Period (Days)',
		name: 'days',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 400 },
		default: 7,
		description: 'The last this many UTC days, today included; at most the store\'s Data Retention',
		displayOptions: show('usageSummary', 'sessions', 'dashboard'),
	},
	{
		displayName: 'Group By',
		name: 'groupBy',
		type: 'multiOptions',
		default: ['channel', 'model'],
		options: [
			{ name: 'Account', value: 'accountId' },
			{ name: 'Channel', value: 'channel' },
			{ name: 'Day', value: 'day' },
			{ name: 'Model', value: 'model' },
			{ name: 'Via (Integration)', value: 'via' },
		],
		description: 'One item per combination; none gives one item with the totals',
		displayOptions: show('usageSummary'),
	},
	{
		displayName: 'Order',
		name: 'order',
		type: 'options',
		default: 'lastSeen',
		options: [
			{ name: 'Last Seen First', value: 'lastSeen' },
			{ name: 'Most Active First', value: 'messages' },
		],
		displayOptions: show('sessions'),
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: show('sessions', 'transcript'),
	},
	{
		displayName: 'Session ID',
		name: 'sessionId',
		type: 'string',
		default: '={{ $json.sessionId }}',
		required: true,
		description: "The session's ID as AI Session stores it (e.g. telegram:7012345678:dm:42)",
		displayOptions: show('transcript'),
	},
	{
		displayName: 'Title',
		name: 'title',
		type: 'string',
		default: 'Clawgate Operations',
		displayOptions: show('dashboard'),
	},
	{
		displayName: 'Model Prices',
		name: 'prices',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Model Price',
		default: {},
		description: 'US dollars per million tokens, overriding or adding to the built-in list prices (a name also matches dated versions: gpt-4o-mini matches gpt-4o-mini-2024-07-18)',
		displayOptions: show('usageSummary', 'metrics', 'dashboard'),
		options: [
			{
				displayName: 'Price',
				name: 'price',
				values: [
					{ displayName: 'Model', name: 'model', type: 'string', default: '', placeholder: 'gpt-4o-mini' },
					{ displayName: 'Prompt (Input) USD per 1M Tokens', name: 'input', type: 'number', typeOptions: { minValue: 0, numberPrecision: 4 }, default: 0 },
					{ displayName: 'Completion (Output) USD per 1M Tokens', name: 'output', type: 'number', typeOptions: { minValue: 0, numberPrecision: 4 }, default: 0 },
				],
			},
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Busiest Sessions Shown',
				name: 'busiestSessions',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 10,
				displayOptions: { show: { '/operation': ['dashboard'] } },
			},
			{
				displayName: 'Reload Every (Seconds)',
				name: 'refreshSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 60,
				description: 'The page reloads itself this often; 0 never',
				displayOptions: { show: { '/operation': ['dashboard'] } },
			},
			{
				displayName: 'SQLite File',
				name: 'sqliteFile',
				type: 'string',
				default: '',
				placeholder: '~/.n8n/clawgate/sessions.sqlite',
				description: "The AI Session node's SQLite File option, if you set one; empty reads the default file in the n8n user folder",
				displayOptions: { show: { '/store': ['sqlite'] } },
			},
		],
	},
];
