/**
 * What the Clawgate Telegram Trigger does at run time, in n8n's terms: read its settings, turn
 * an update into the item it emits, hold long polling open, and run "Listen for test event".
 * The Telegram side of each step lives in the adapter (telegram.adapter.ts).
 */
import {
	NodeApiError,
	NodeOperationError,
	WebhookPathTakenError,
	type IDataObject,
	type IHookFunctions,
	type INode,
	type INodeExecutionData,
	type IRun,
	type ITriggerFunctions,
	type ITriggerResponse,
	type IWebhookFunctions,
	type JsonObject,
} from 'n8n-workflow';
import type { Api } from 'grammy';
import type { Update } from 'grammy/types';

import type { AccessPolicy } from '../core/access-policy';
import { stampVia, type Envelope, type EnvelopeAttachment } from '../core/envelope';
import { receiveSettingsFrom } from '../shared/trigger-settings';
import { telegramPlugin } from './telegram.plugin';
import {
	allowedUpdatesFor,
	assessWebhookHealth,
	botIdFromToken,
	botKeyOf,
	createTelegramApi,
	decideTelegramUpdate,
	deleteWebhook,
	deriveWebhookSecret,
	describeBotTaken,
	describeTelegramError,
	downloadTelegramFile,
	findPoller,
	isSameTrigger,
	isWebhookOfNode,
	pollForFirstUpdate,
	readWebhookInfo,
	registerPoller,
	registerWebhook,
	resolveBotUsername,
	TelegramApiError,
	TelegramBotTakenError,
	TelegramLongPoller,
	type TelegramBot,
	type TelegramCredential,
	type TelegramTriggerRules,
} from './telegram.adapter';
import type { TelegramTriggerMode } from './TelegramTrigger.properties';

export type TelegramContext = IHookFunctions | IWebhookFunctions | ITriggerFunctions;

/** Everything a trigger needs for one activation, read once from the node and its credential. */
export interface TriggerSetup {
	credential: TelegramCredential;
	api: Api;
	mode: TelegramTriggerMode;
	/** The events asked for beyond messages. */
	rules: Pick<TelegramTriggerRules, 'editedMessages' | 'callbackQueries'>;
	policy: AccessPolicy;
	allowedUpdates: string[];
	sessionScope: 'chat' | 'user';
	downloadFiles: boolean;
	takeOver: boolean;
	botKey: string;
}

export function modeOf(context: TelegramContext): TelegramTriggerMode {
	return context.getNodeParameter('mode', 'webhook') === 'polling' ? 'polling' : 'webhook';
}

/** `credential` is the one the webhook already holds; everything else reads it from n8n. */
export async function setupFor(context: TelegramContext, credential?: TelegramCredential): Promise<TriggerSetup> {
	credential ??= (await context.getCredentials('clawgateTelegramApi')) as unknown as TelegramCredential;
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const rules = { editedMessages: options.emitEditedMessages === true, callbackQueries: options.emitCallbackQueries === true };
	const { policy, sessionScope } = receiveSettingsFrom(telegramPlugin, options);
	return {
		credential,
		api: createTelegramApi(credential),
		mode: modeOf(context),
		rules,
		policy,
		allowedUpdates: allowedUpdatesFor(rules),
		sessionScope,
		downloadFiles: options.downloadFiles === true,
		takeOver: options.takeOverWebhook === true,
		botKey: botKeyOf(credential.accessToken ?? ''),
	};
}

export function webhookSecretFor(context: TelegramContext, credential: TelegramCredential): string {
	const node = context.getNode();
	return deriveWebhookSecret(credential.accessToken, {
		workflowId: String(context.getWorkflow().id ?? ''),
		nodeId: node.id,
		webhookId: node.webhookId ?? '',
	});
}

export function asNodeError(context: TelegramContext, error: unknown): NodeApiError {
	return new NodeApiError(context.getNode(), { message: (error as Error).message } as JsonObject, {
		message: (error as Error).message,
	});
}

/** An activation failure as n8n shows it: n8n's own errors pass, Telegram's become NodeOperationError. */
export function asActivationError(context: TelegramContext, error: unknown): Error {
	if (error instanceof NodeOperationError || error instanceof NodeApiError || error instanceof WebhookPathTakenError) return error;
	if (error instanceof TelegramApiError) return new NodeOperationError(context.getNode(), error.message);
	return asNodeError(context, error);
}

/**
 * Refusal to take a bot away from someone else. n8n retries activation errors for a while;
 * this one is marked as not transient (n8n's "webhook path taken" kind), so the user sees the
 * explanation at once instead of after the retries.
 */
export class TelegramBotTakenActivationError extends WebhookPathTakenError {
	constructor(node: INode, message: string) {
		super(node.name);
		this.message = message;
	}
}

export async function botOf(setup: TriggerSetup): Promise<TelegramBot> {
	return { id: botIdFromToken(setup.credential.accessToken), username: await resolveBotUsername(setup.api, setup.credential.accessToken) };
}

/** Downloads each file of the message into binary data (`data`, then `data_1`, ...); a failed download is logged, not fatal. */
async function binaryFor(context: IWebhookFunctions | ITriggerFunctions, setup: TriggerSetup, attachments: EnvelopeAttachment[]): Promise<INodeExecutionData['binary']> {
	const binary: NonNullable<INodeExecutionData['binary']> = {};
	for (const attachment of attachments.filter((candidate) => candidate.kind !== 'location')) {
		try {
			const file = await downloadTelegramFile(setup.api, setup.credential, attachment);
			binary[Object.keys(binary).length === 0 ? 'data' : `data_${Object.keys(binary).length}`] = await context.helpers.prepareBinaryData(
				file.bytes,
				file.fileName,
				file.mimeType ?? undefined,
			);
		} catch (error) {
			context.logger.warn(`Could not download a Telegram ${attachment.kind}: ${(error as Error).message}`);
		}
	}
	return Object.keys(binary).length > 0 ? binary : undefined;
}

/** The item the trigger emits for an update, or null when the update is not for this workflow. */
export async function itemFor(context: IWebhookFunctions | ITriggerFunctions, setup: TriggerSetup, update: Update): Promise<INodeExecutionData | null> {
	const decision = decideTelegramUpdate(update, { bot: await botOf(setup), sessionScope: setup.sessionScope, rules: setup.rules, policy: setup.policy });
	if (update.callback_query) {
		// Stops the spinner on the button; the workflow's answer (if any) comes as a message.
		await setup.api.answerCallbackQuery(update.callback_query.id).catch((error: unknown) => {
			context.logger.warn(describeTelegramError(error, 'answer a button press (answerCallbackQuery)').message);
		});
	}
	if (!decision.emit) {
		context.logger.debug(`Telegram update ${update.update_id} does not start the workflow: ${decision.reason}`);
		return null;
	}
	return await itemOfEnvelope(context, setup, stampVia(decision.envelope, telegramPlugin.id));
}

/** The item of an envelope the trigger emits, with the message's files when "Download Files" is on. */
export async function itemOfEnvelope(context: IWebhookFunctions | ITriggerFunctions, setup: TriggerSetup, envelope: Envelope): Promise<INodeExecutionData> {
	const binary = setup.downloadFiles ? await binaryFor(context, setup, envelope.message.attachments) : undefined;
	return { json: envelope as unknown as IDataObject, ...(binary ? { binary } : {}) };
}

/**
 * Production long polling. Updates are confirmed to Telegram only after their executions end
 * (see telegram.polling.ts), so restarts neither lose nor repeat them.
 */
export async function startPolling(context: ITriggerFunctions, setup: TriggerSetup): Promise<ITriggerResponse> {
	const node = context.getNode();
	const workflow = context.getWorkflow();
	const owner = { workflowId: String(workflow.id ?? ''), workflowName: workflow.name ?? '', nodeId: node.id };

	const other = findPoller(setup.botKey);
	if (other && !isSameTrigger(other.owner, owner)) {
		throw new NodeOperationError(
			node,
			`The workflow "${other.owner.workflowName}" already receives this bot's messages by long polling. Telegram delivers a bot's messages to one receiver only: deactivate that workflow, or use another bot here.`,
		);
	}
	const info = await readWebhookInfo(setup.api);
	if (info.url) {
		if (!isWebhookOfNode(info.url, node.webhookId) && !setup.takeOver) throw new TelegramBotTakenError(describeBotTaken(info.url, { purpose: 'polling' }));
		if (!isWebhookOfNode(info.url, node.webhookId)) context.logger.warn(`Took the Telegram bot over from the webhook ${info.url} ("Take Over Webhook" is on).`);
		// Long polling and a webhook exclude each other on Telegram's side.
		await deleteWebhook(setup.api);
	}

	// Engine 2.0 workflows cannot wait for their executions; their updates count as done once handed over.
	const waitsForExecutions = (context.getWorkflowSettings() as IDataObject).engineType !== 'v2';
	const poller = new TelegramLongPoller({
		api: setup.api,
		allowedUpdates: setup.allowedUpdates,
		log: context.logger,
		handleUpdate: async (update) => {
			const item = await itemFor(context, setup, update);
			if (!item) return null;
			if (!waitsForExecutions) {
				context.emit([[item]]);
				return { done: Promise.resolve() };
			}
			const done = context.helpers.createDeferredPromise<IRun>();
			context.emit([[item]], undefined, done);
			return { done: done.promise };
		},
		onFatalError: (error) => context.emitError(asNodeError(context, error)),
	});
	const unregister = registerPoller(setup.botKey, owner, poller);
	poller.start();
	return {
		closeFunction: async () => {
			unregister();
			await poller.stop();
		},
	};
}

/**
 * "Listen for test event" in either mode: fetches the next message with getUpdates, so it works
 * without a public URL. While it listens, the bot is borrowed from this workflow's own
 * production trigger (its webhook is removed, or its long polling paused) and given back as
 * soon as the listener stops, whether a message came or the user stopped listening.
 */
export async function startTestListener(context: ITriggerFunctions, setup: TriggerSetup): Promise<ITriggerResponse> {
	const node = context.getNode();
	const self = { workflowId: String(context.getWorkflow().id ?? ''), nodeId: node.id };
	const info = await readWebhookInfo(setup.api);
	let productionWebhook: { url: string; allowedUpdates: string[] } | null = null;
	if (info.url) {
		if (!isWebhookOfNode(info.url, node.webhookId)) {
			throw new NodeOperationError(node, describeBotTaken(info.url, { purpose: 'test' }));
		}
		productionWebhook = { url: info.url, allowedUpdates: info.allowed_updates ?? setup.allowedUpdates };
		await deleteWebhook(setup.api);
	}
	let resumeProduction: (() => void) | null = null;
	const poller = findPoller(setup.botKey);
	if (poller && !isSameTrigger(poller.owner, self)) {
		throw new NodeOperationError(node, `The active workflow "${poller.owner.workflowName}" receives this bot's messages. To test here, deactivate it first.`);
	}
	if (poller) resumeProduction = await poller.poller.pause();

	const listening = new AbortController();
	const listener = pollForFirstUpdate({
		api: setup.api,
		allowedUpdates: setup.allowedUpdates,
		signal: listening.signal,
		log: context.logger,
		handleUpdate: async (update) => {
			const item = await itemFor(context, setup, update);
			if (item) context.emit([[item]]);
			return item !== null;
		},
	}).catch((error: unknown) => context.emitError(asNodeError(context, error)));

	let givenBack: Promise<void> | null = null;
	const giveBack = () =>
		(givenBack ??= (async () => {
			listening.abort();
			await listener;
			try {
				if (productionWebhook) {
					await registerWebhook(setup.api, productionWebhook.url, webhookSecretFor(context, setup.credential), productionWebhook.allowedUpdates);
					context.logger.info(`Gave the Telegram bot back to the active workflow's webhook ${productionWebhook.url}.`);
				}
			} finally {
				resumeProduction?.();
			}
		})());
	void listener.then(giveBack);
	return { closeFunction: giveBack };
}

/** Logs Telegram's delivery problems for this webhook in words a non-developer can act on. */
export function reportWebhookHealth(context: IHookFunctions, info: Parameters<typeof assessWebhookHealth>[0], url: string): void {
	const staticData = context.getWorkflowStaticData('node');
	const previous = typeof staticData.telegramPendingUpdates === 'number' ? staticData.telegramPendingUpdates : undefined;
	const health = assessWebhookHealth(info, url, previous);
	staticData.telegramPendingUpdates = health.pendingUpdateCount;
	if (health.warning) context.logger.warn(health.warning);
}
