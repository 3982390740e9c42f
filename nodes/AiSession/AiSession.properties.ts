import type { INodeProperties } from 'n8n-workflow';

import { withEnvelopeDefault } from '../shared/from-envelope';
import { mediaProperty } from './media.properties';

/** From this version an empty Session Key and Message Text read the item's envelope (`sessionId`, `message.text`). */
export const AI_SESSION_ENVELOPE_DEFAULTS_SINCE = 3;

/** The AI Session node's parameters; every default works with a Clawgate trigger's envelope. */
export const aiSessionProperties: INodeProperties[] = [
	{
		displayName: 'Model Source',
		name: 'modelSource',
		type: 'options',
		noDataExpression: true,
		default: 'openAiCredential',
		options: [
			{
				name: 'OpenAI Credential',
				value: 'openAiCredential',
				description: "Any OpenAI-compatible API (OpenAI, OpenRouter, Ollama, vLLM, LM Studio...) through n8n's OpenAI credential",
			},
			{
				name: 'Connected Chat Model',
				value: 'chatModel',
				description: 'A Chat Model sub-node connected to the Model input (Anthropic, Gemini, Azure OpenAI, Bedrock, Mistral, Groq...), and optionally a second one as fallback',
			},
		],
		displayOptions: { show: { '@version': [{ _cnd: { gte: 2 } }] } },
	},
	{
		displayName:
			"Connect a Chat Model sub-node to the Model input, and optionally another to Fallback Model (answers when the first fails). The sub-node's own model, answer length and temperature apply; AI Session's retries replace the sub-node's.",
		name: 'chatModelNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { modelSource: ['chatModel'] } },
	},
	{
		displayName: 'Model',
		name: 'model',
		type: 'string',
		default: 'gpt-4o-mini',
		required: true,
		description: 'The model ID at the provider of the OpenAI credential (OpenAI, OpenRouter, Ollama, vLLM, LM Studio...)',
		displayOptions: { hide: { modelSource: ['chatModel'] } },
	},
	{
		displayName: 'Fallback Models',
		name: 'fallbackModels',
		type: 'string',
		default: '',
		placeholder: 'gpt-4.1-mini, gpt-4o',
		description: 'Comma-separated models tried in order when the model keeps failing (rate limits, outages, timeouts)',
		displayOptions: { hide: { modelSource: ['chatModel'] } },
	},
	mediaProperty,
	{
		displayName: 'System Prompt',
		name: 'systemPrompt',
		type: 'string',
		typeOptions: { rows: 4 },
		default: 'You are a helpful assistant. Answer briefly and clearly.',
		description: 'Instructions for the model. An expression can vary them, e.g. by {{ $json.channel }}.',
	},
	// Version 3 reads the envelope when these are empty, so a default node evaluates no expression per item.
	...withEnvelopeDefault(
		{
			displayName: 'Session Key',
			name: 'sessionKey',
			type: 'string',
			default: '',
			required: true,
			description: 'Messages with the same key share one conversation. Clawgate triggers and n8n\'s Chat Trigger set sessionId.',
		},
		{
			since: AI_SESSION_ENVELOPE_DEFAULTS_SINCE,
			expression: '={{ $json.sessionId }}',
			placeholder: 'Empty: the sessionId of the item',
			description: 'Messages with the same key share one conversation. Empty uses the sessionId that Clawgate triggers and n8n\'s Chat Trigger set.',
		},
	),
	...withEnvelopeDefault(
		{
			displayName: 'Message Text',
			name: 'text',
			type: 'string',
			default: '',
			description: 'What the user said. By default the text of a Clawgate envelope or of n8n\'s Chat Trigger.',
		},
		{
			since: AI_SESSION_ENVELOPE_DEFAULTS_SINCE,
			expression: '={{ $json.message?.text ?? $json.chatInput }}',
			placeholder: 'Empty: the message text of the item',
			description: 'What the user said. Empty uses the text of a Clawgate envelope (message.text) or of n8n\'s Chat Trigger (chatInput).',
		},
	),
	{
		displayName: 'Store',
		name: 'store',
		type: 'options',
		default: 'sqlite',
		options: [
			{ name: 'SQLite (This N8n)', value: 'sqlite', description: 'A file in the n8n user folder; survives restarts; one n8n instance' },
			{ name: 'Memory', value: 'memory', description: 'For trying things out; forgotten on restart' },
			{ name: 'Redis', value: 'redis', description: 'For queue mode with many workers' },
			{ name: 'Postgres', value: 'postgres', description: 'For queue mode; durable and queryable' },
		],
		description: 'Where conversations are kept',
	},
	{
		displayName:
			'Memory loses every conversation when n8n restarts, and in queue mode each worker remembers only its own messages. Use SQLite, Redis or Postgres for a real bot.',
		name: 'memoryNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { store: ['memory'] } },
	},
	{
		displayName: 'Commands',
		name: 'commands',
		type: 'multiOptions',
		default: ['new', 'reset', 'usage', 'help'],
		options: [
			{ name: '/help: List Commands', value: 'help' },
			{ name: '/new: Start a New Conversation', value: 'new' },
			{ name: '/reset: Forget the Conversation', value: 'reset' },
			{ name: '/usage: Token Totals', value: 'usage' },
		],
		description: 'Commands answered without calling the model',
	},
	{
		displayName: 'Limits',
		name: 'limits',
		type: 'collection',
		placeholder: 'Add Limit',
		default: {},
		options: [
			{
				displayName: 'Limit Reply',
				name: 'limitReply',
				type: 'string',
				default: 'You are sending messages faster than I can answer. Please wait a moment.',
				description: 'The answer when a sender is over a limit (no model call is made)',
			},
			{
				displayName: 'Messages Per Minute (Per Sender)',
				name: 'messagesPerMinute',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Maximum messages one sender may send in a minute; 0 means no limit',
			},
			{
				displayName: 'Tokens Per Day (Per Sender)',
				name: 'tokensPerDay',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Maximum model tokens spent on one sender per UTC day; 0 means no limit',
			},
		],
	},
	{
		displayName: 'Compaction',
		name: 'compaction',
		type: 'collection',
		placeholder: 'Add Setting',
		default: {},
		options: [
			{
				displayName: 'Enabled',
				name: 'enabled',
				type: 'boolean',
				default: true,
				description: 'Whether older turns are summarised by the model instead of falling out of the context',
			},
			{
				displayName: 'Keep Recent Tokens',
				name: 'keepRecentTokens',
				type: 'number',
				default: 2000,
				description: 'The newest turns up to this many tokens always stay word for word',
			},
			{
				displayName: 'Threshold Tokens',
				name: 'thresholdTokens',
				type: 'number',
				default: 6000,
				description: 'Summarise once the conversation in context passes this many tokens',
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
				displayName: 'Allow /forget',
				name: 'allowForget',
				type: 'boolean',
				default: false,
				description:
					'Whether a user may send /forget to erase their conversation (turns and summary) from the store. Unlike /reset, nothing of it is kept. Rate limits and quotas are not reset.',
			},
			{
				displayName: 'Context Window',
				name: 'contextWindow',
				type: 'number',
				default: 0,
				description: 'The model\'s context window in tokens; 0 uses the built-in table (8,192 for unknown models)',
			},
			{
				displayName: 'Data Retention (Days)',
				name: 'retentionDays',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 30,
				description:
					'How long the store remembers which messages it has answered (so a redelivered message is not answered twice) and how long expired rate-limit and quota counters may stay before they are deleted. Conversations are not affected.',
			},
			{
				displayName: 'Enable Streaming',
				name: 'enableStreaming',
				type: 'boolean',
				default: true,
				description:
					"Whether the answer is streamed to n8n's Chat Trigger as the model writes it, when the trigger's Response Mode is Streaming. The stored conversation is the same either way.",
			},
			{
				displayName: 'Error Reply',
				name: 'errorReply',
				type: 'string',
				typeOptions: { rows: 2 },
				default: '',
				placeholder: 'Sorry, I cannot answer right now. Please try again in a minute.',
				description: 'What the user is told when every model failed (after retries and fallbacks). Empty: the item fails instead (use the node\'s error output or "Continue" to handle it). Nothing is stored either way, so the same message can be tried again.',
			},
			{
				displayName: 'Max Message Length (Characters)',
				name: 'maxInputCharacters',
				type: 'number',
				typeOptions: { minValue: 100 },
				default: 16000,
				description:
					'Longer user messages are cut in the middle before anything else happens, and the model is told how much was cut. Protects n8n from very large Webhook or Chat Trigger inputs.',
			},
			{
				displayName: 'Max Output Tokens',
				name: 'maxOutputTokens',
				type: 'number',
				default: 1024,
				description: 'The longest answer the model may give; reserved in the context window (with a connected Chat Model, at least its own maximum is reserved)',
			},
			{
				displayName: 'Model Timeout (Seconds)',
				name: 'timeoutSeconds',
				type: 'number',
				default: 60,
				description: 'How long one model call may take before it is retried',
			},
			{
				displayName: 'Retries Per Model',
				name: 'retries',
				type: 'number',
				default: 2,
				description: 'Retries after a rate limit (honouring retry-after), server error or timeout, before the next fallback model',
			},
			{
				displayName: 'Safety Margin (Tokens)',
				name: 'safetyMargin',
				type: 'number',
				default: 256,
				description: 'Tokens kept free in the context window for counting differences',
			},
			{
				displayName: 'SQLite File',
				name: 'sqliteFile',
				type: 'string',
				default: '',
				placeholder: '~/.n8n/clawgate/sessions.sqlite',
				description:
					'Where the SQLite store keeps conversations (created readable by the n8n user only); empty uses the n8n user folder. ~ is the home folder. When N8N_RESTRICT_FILE_ACCESS_TO is set, the file must be inside one of its folders.',
			},
			{
				displayName: 'Temperature',
				name: 'temperature',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 2, numberPrecision: 1 },
				default: 1,
				description: 'Higher is more varied, lower more focused',
				// A connected Chat Model sends its own temperature.
				displayOptions: { hide: { '/modelSource': ['chatModel'] } },
			},
			{
				displayName: 'Wait For Earlier Messages (Seconds)',
				name: 'waitSeconds',
				type: 'number',
				default: 120,
				description: 'Messages of one conversation are answered one at a time, in order; how long a message may wait for its turn',
			},
		],
	},
];
