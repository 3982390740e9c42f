import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { DEFAULT_MAX_INPUT_CHARACTERS, SessionEngine, type CommandName, type SessionEngineConfig } from '../core/session/engine';
import { isTriggerEnvelope } from '../core/origin';
import { inboundFromItem } from '../core/session/inbound';
import { envelopeOriginKey } from '../shared/origin-key';
import { OpenAiChatModel } from '../core/session/openai.model';
import { aiSessionInputs, connectedChatModels, modelSourceOf, type ConnectedModels } from './chat-model-input';
import { AI_SESSION_ENVELOPE_DEFAULTS_SINCE, aiSessionProperties } from './AiSession.properties';
import { messageTextOf, orFromEnvelope, readsEnvelopeWhenEmpty, sessionIdOf } from '../shared/from-envelope';
import { ChatAnswerStream, streamsAnswers } from './chat-stream';
import { DEFAULT_RETENTION_DAYS, sessionStoreFor, type N8nPostgresCredential, type N8nRedisCredential, type StoreKind } from '../shared/session-stores';
import { journalOfItem, waitForEarlierMessages, whileWorkingOn } from '../shared/delivery-journal';
import { itemFailure } from '../shared/item-failure';
import { AnswerRecorder } from '../shared/insights-recorder';
import { ChatTyping, withShowTypingProperties, withTypingCredentials } from '../shared/typing';
import { PlatformConnections } from '../shared/live-replies';
import { bothStreams, StreamPreviews, withStreamPreviewCredentials, withStreamPreviewProperty } from '../shared/stream-preview';
import { MediaInput } from '../shared/media-input';
import { channelPlugins, pluginForItem } from '../Reply/channel-registry';

interface OpenAiCredential {
	apiKey: string;
	organizationId?: string;
	url?: string;
}

export class AiSession implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate AI Session',
		name: 'aiSession',
		icon: { light: 'file:aiSession.svg', dark: 'file:aiSession.dark.svg' },
		group: ['transform'],
		// 2: the model can come from Chat Model sub-nodes (Model Source); version 1 uses the OpenAI credential only.
		// 3: an empty Session Key and Message Text read the envelope, so no expression runs per item.
		version: [1, 2, 3],
		defaultVersion: 3,
		subtitle: '={{ $parameter["modelSource"] === "chatModel" ? "Connected Chat Model" : $parameter["model"] }}',
		description: 'Answers each message with an AI model, remembering the conversation within a token budget',
		defaults: { name: 'AI Session' },
		inputs: aiSessionInputs,
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Reply', 'Ignored'],
		usableAsTool: true,
		// Show Typing adds each typing channel's credential, optional: the ones its triggers use.
		credentials: withStreamPreviewCredentials(channelPlugins, withTypingCredentials(channelPlugins, [
			// n8n's own credentials, so users reuse the OpenAI, Redis and Postgres accounts they already have (DESIGN.md "Names").
			{ name: 'openAiApi', required: true, displayOptions: { hide: { modelSource: ['chatModel'] } } },
			{ name: 'redis', required: true, displayOptions: { show: { store: ['redis'] } } },
			{ name: 'postgres', required: true, displayOptions: { show: { store: ['postgres'] } } },
		])),
		properties: withStreamPreviewProperty(withShowTypingProperties(aiSessionProperties, channelPlugins), channelPlugins),
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const replies: INodeExecutionData[] = [];
		const ignored: INodeExecutionData[] = [];
		const connected: ConnectedModels | null = modelSourceOf(this) === 'chatModel' ? await connectedChatModels(this) : null;
		const credential = connected ? null : ((await this.getCredentials('openAiApi')) as unknown as OpenAiCredential);
		const storeKind = this.getNodeParameter('store', 0) as StoreKind;
		const store = sessionStoreFor({
			kind: storeKind,
			sqliteFile: (this.getNodeParameter('options.sqliteFile', 0, '') as string) || undefined,
			retentionDays: Number(this.getNodeParameter('options.retentionDays', 0, DEFAULT_RETENTION_DAYS)),
			redis: storeKind === 'redis' ? ((await this.getCredentials('redis')) as unknown as N8nRedisCredential) : undefined,
			postgres: storeKind === 'postgres' ? ((await this.getCredentials('postgres')) as unknown as N8nPostgresCredential) : undefined,
		});
		const insights = new AnswerRecorder(this, store);

		const streaming = streamsAnswers(this);

		// One credential read and one client per platform, for typing, drafts and attachment downloads alike.
		const connections = new PlatformConnections(this);
		const typing = new ChatTyping(this, channelPlugins, pluginForItem, connections);
		const previews = new StreamPreviews(this, channelPlugins, pluginForItem, connections);
		const media = new MediaInput(this, connections, pluginForItem, credential ? { apiKey: credential.apiKey, baseUrl: credential.url } : null);
		const envelopeWhenEmpty = readsEnvelopeWhenEmpty(this, AI_SESSION_ENVELOPE_DEFAULTS_SINCE);
		// One model client and one engine for all items with the same settings (all of them, unless
		// an expression varies a setting by item), so an execution builds each once.
		const engines = new Map<string, SessionEngine>();
		const engineFor = (config: SessionEngineConfig): SessionEngine => {
			const key = JSON.stringify(config);
			let engine = engines.get(key);
			if (!engine) {
				const model =
					connected?.model ??
					new OpenAiChatModel({ apiKey: credential!.apiKey, baseUrl: credential!.url, organizationId: credential!.organizationId, timeoutMs: config.timeoutMs });
				engine = new SessionEngine(store, insights.timedModel(model), config);
				engines.set(key, engine);
			}
			return engine;
		};
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const item = items[itemIndex];
			const chatStream = streaming ? new ChatAnswerStream(this, itemIndex) : undefined;
			let draft: ReturnType<StreamPreviews['begin']>;
			try {
				const config = readEngineConfig(this, itemIndex, connected);
				insights.startItem(itemIndex);
				const engine = engineFor(config);
				const inbound = inboundFromItem(item.json, {
					sessionId: orFromEnvelope(this.getNodeParameter('sessionKey', itemIndex), envelopeWhenEmpty, () => sessionIdOf(item.json)),
					text: orFromEnvelope(this.getNodeParameter('text', itemIndex), envelopeWhenEmpty, () => messageTextOf(item.json)),
					fromTrigger: isTriggerEnvelope(item.json, envelopeOriginKey()),
				});
				inbound.media = media.of(itemIndex, item.json, { text: inbound.text, model: config.models[0], timeoutMs: config.timeoutMs });
				// Before any store or model work, so the chat shows typing at once; stopped in `finally`.
				typing.start(itemIndex, item.json, inbound, config.commands);
				// Stream Preview: the draft replaces typing once it shows; the engine settles it into reply.preview.
				draft = previews.begin(itemIndex, item.json, inbound, config.commands, () => typing.stop(itemIndex));
				const stream = bothStreams(chatStream, draft);
				const journaled = await journalOfItem(this, item.json, { kind: storeKind, store });
				if (journaled?.stamp.gaveUp) throw new NodeOperationError(this.getNode(), journaled.stamp.gaveUp, { itemIndex });
				let outcome = await whileWorkingOn(journaled, async () => {
					if (journaled) await waitForEarlierMessages(journaled, String(item.json.sessionId), config.lock.waitMs);
					const handled = await engine.handle(inbound, { stream }).catch(async (error: unknown) => {
						// Settled either way, so later messages of the session wait no longer; recovery runs it again.
						await journaled?.journal.recordFailure(journaled.key, (error as Error).message).catch(() => undefined);
						await journaled?.journal.markAnswered(journaled.key).catch(() => undefined);
						throw error;
					});
					return handled;
				});
				if (outcome.kind === 'ignored' && outcome.reason === 'duplicate' && journaled && !(await journaled.journal.isDelivered(journaled.key))) {
					// Answered before a crash, never delivered: the stored answer goes out again.
					const reply = await engine.replay(inbound);
					if (reply) outcome = { kind: 'reply', reply };
				}
				// Another run stored the answer first (its draft, if any, is in the replayed reply): this run's would be a second one.
				if (outcome.kind === 'ignored' || outcome.reply.replayed) await draft?.discard();
				await journaled?.journal.markAnswered(journaled.key);
				chatStream?.finish(outcome.kind === 'reply' ? outcome.reply.text : null);
				if (outcome.kind === 'ignored') {
					ignored.push({ json: { ...item.json, ignored: outcome.reason }, pairedItem: { item: itemIndex } });
				} else {
					// `output` is where n8n's Chat Trigger (Last Node mode) and AI nodes look for the answer.
					replies.push({ json: { ...item.json, reply: outcome.reply as unknown as IDataObject, output: outcome.reply.text }, pairedItem: { item: itemIndex } });
				}
			} catch (error) {
				insights.failed(itemIndex, item.json, error);
				// A half-written draft of a failed answer would stay in the chat: recovery writes a new one.
				await draft?.discard();
				// Without Continue On Fail the execution stops, and n8n sends the chat the error itself.
				if (this.continueOnFail()) chatStream?.fail((error as Error).message);
				replies.push(itemFailure(this, item, itemIndex, error));
			} finally {
				typing.stop(itemIndex);
			}
		}
		insights.record(replies, ignored);
		return [replies, ignored];
	}
}

/**
 * With Chat Model sub-nodes the models are theirs (primary, then fallback), and the answer length
 * they ask for is reserved in the window when it is more than Max Output Tokens.
 */
function readEngineConfig(context: IExecuteFunctions, itemIndex: number, connected: ConnectedModels | null): SessionEngineConfig {
	const parameter = <T>(name: string, fallback: T): T => context.getNodeParameter(name, itemIndex, fallback) as T;
	const fallbackModels = parameter('fallbackModels', '')
		.split(',')
		.map((model) => model.trim())
		.filter(Boolean);
	const options = parameter<IDataObject>('options', {});
	const enabledCommands = parameter<string[]>('commands', ['new', 'reset', 'usage', 'help']);
	const commandNames: Exclude<CommandName, 'forget'>[] = ['new', 'reset', 'usage', 'help'];
	const compaction = parameter<IDataObject>('compaction', {});
	const limits = parameter<IDataObject>('limits', {});
	return {
		models: connected ? connected.model.names : [parameter('model', 'gpt-4o-mini').trim(), ...fallbackModels],
		systemPrompt: parameter('systemPrompt', ''),
		contextWindow: Number(options.contextWindow ?? 0) || undefined,
		maxOutputTokens: Math.max(Number(options.maxOutputTokens ?? 1024), connected?.outputLimit ?? 0),
		safetyMargin: Number(options.safetyMargin ?? 256),
		temperature: options.temperature === undefined ? undefined : Number(options.temperature),
		commands: {
			...(Object.fromEntries(commandNames.map((name) => [name, enabledCommands.includes(name)])) as Record<CommandName, boolean>),
			// Off unless switched on: it erases stored history, which an operator may need to keep.
			forget: Boolean(options.allowForget ?? false),
		},
		maxInputCharacters: Number(options.maxInputCharacters ?? DEFAULT_MAX_INPUT_CHARACTERS),
		limits: {
			messagesPerMinute: Number(limits.messagesPerMinute ?? 0),
			tokensPerDay: Number(limits.tokensPerDay ?? 0),
			limitReply: String(limits.limitReply ?? 'You are sending messages faster than I can answer. Please wait a moment.'),
		},
		compaction: {
			enabled: Boolean(compaction.enabled ?? false),
			thresholdTokens: Number(compaction.thresholdTokens ?? 6000),
			keepRecentTokens: Number(compaction.keepRecentTokens ?? 2000),
		},
		retries: Number(options.retries ?? 2),
		timeoutMs: Number(options.timeoutSeconds ?? 60) * 1000,
		// The lease only matters when a holder crashes; a live holder renews it.
		lock: { waitMs: Number(options.waitSeconds ?? 120) * 1000, leaseMs: 30_000 },
		errorReply: String(options.errorReply ?? ''),
	};
}
