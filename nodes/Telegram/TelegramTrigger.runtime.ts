/**
 * What the Clawgate Telegram Trigger does at run time, in n8n's terms: read its settings, turn
 * an update into the item it emits, hold long polling open, and run "Listen for test event".
 * The Telegram side of each step lives in the adapter (telegram.adapter.ts).
 */
import { holdWhileRunning, journalItems, type TriggerJournal } from '../shared/delivery-journal';
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
import { admitMessage, pairingWorkOf } from '../core/admission';
import { signEnvelope } from '../core/origin';
import { envelopeOriginKey } from '../shared/origin-key';
import { receiveSettingsFrom } from '../shared/trigger-settings';
import { policyWithApprovedSenders, settlePairingWork } from '../shared/trigger-pairing';
import { telegramBotOf, telegramPlugin } from './telegram.plugin';
import {
	allowedUpdatesFor,
	assessWebhookHealth,
	botKeyOf,
	createTelegramApi,
	normalizeTelegramUpdate,
	telegramAccessFacts,
	whyTelegramUpdateIsNoMessage,
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
	TelegramApiError,
	TelegramBotTakenError,
	TelegramLongPoller,
	TELEGRAM_MAX_DOWNLOAD_BYTES,
	UpdateAbandonedError,
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
	/** "Max File Size (MB)" in bytes: larger files are not downloaded. */
	maxFileBytes: number;
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
		maxFileBytes: maxFileBytesOf(options.maxFileSizeMb),
		takeOver: options.takeOverWebhook === true,
		botKey: botKeyOf(credential.accessToken ?? ''),
	};
}

/** "Max File Size (MB)" in bytes; an empty or impossible value means Telegram's own limit (20 MB), which is also the ceiling. */
function maxFileBytesOf(megabytes: unknown): number {
	const bytes = typeof megabytes === 'number' && megabytes > 0 ? Math.round(megabytes * 1024 * 1024) : TELEGRAM_MAX_DOWNLOAD_BYTES;
	return Math.min(bytes, TELEGRAM_MAX_DOWNLOAD_BYTES);
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
	return await telegramBotOf(setup.api, setup.credential);
}

/** An attachment whose file was not downloaded says why, so the workflow can tell the user. */
type AttachmentWithDownloadError = EnvelopeAttachment & { downloadError?: string };

/**
 * Downloads each file of the message into binary data (`data`, then `data_1`, ...). A file that
 * fails (too large, too slow, refused) is left out: its attachment gets `downloadError` and the
 * logger warns; the message still starts the workflow.
 */
async function binaryFor(
	context: IWebhookFunctions | ITriggerFunctions,
	setup: TriggerSetup,
	envelope: Envelope,
	signal?: AbortSignal,
): Promise<{ binary: INodeExecutionData['binary']; attachments: AttachmentWithDownloadError[] }> {
	const binary: NonNullable<INodeExecutionData['binary']> = {};
	const attachments: AttachmentWithDownloadError[] = [];
	for (const attachment of envelope.message.attachments) {
		if (attachment.kind === 'location') {
			attachments.push(attachment);
			continue;
		}
		try {
			const file = await downloadTelegramFile(setup.api, setup.credential, attachment, { maxBytes: setup.maxFileBytes, signal });
			binary[Object.keys(binary).length === 0 ? 'data' : `data_${Object.keys(binary).length}`] = await context.helpers.prepareBinaryData(
				file.bytes,
				file.fileName,
				file.mimeType ?? undefined,
			);
			attachments.push(attachment);
		} catch (error) {
			const reason = (error as Error).message;
			attachments.push({ ...attachment, downloadError: reason });
			context.logger.warn(`Did not download the ${attachment.kind} of Telegram message ${envelope.message.id} in chat ${envelope.chat.id}: ${reason}. The message goes to the workflow without it.`);
		}
	}
	return { binary: Object.keys(binary).length > 0 ? binary : undefined, attachments };
}

/** The envelope the trigger emits for an update, or null when the update is not for this workflow. */
async function envelopeFor(context: IWebhookFunctions | ITriggerFunctions, setup: TriggerSetup, update: Update): Promise<Envelope | null> {
	const bot = await botOf(setup);
	const envelope = normalizeTelegramUpdate(update, { bot, sessionScope: setup.sessionScope });
	if (update.callback_query) {
		// Stops the spinner on the button; the workflow's answer (if any) comes as a message.
		await setup.api.answerCallbackQuery(update.callback_query.id).catch((error: unknown) => {
			context.logger.warn(describeTelegramError(error, 'answer a button press (answerCallbackQuery)').message);
		});
	}
	const skip = (reason: string) => {
		context.logger.debug(`Telegram update ${update.update_id} does not start the workflow: ${reason}`);
		return null;
	};
	if (!envelope) return skip('it is not a message, an edit or a button press');
	const notMessage = whyTelegramUpdateIsNoMessage(update, envelope, setup.rules);
	if (notMessage !== null) return skip(notMessage);
	// The shared access policy and DM pairing, as the webhook pipeline applies them.
	const stamped = stampVia(envelope, telegramPlugin.id);
	const admission = admitMessage(telegramPlugin, stamped, telegramAccessFacts(update, envelope, bot), policyWithApprovedSenders(context, setup.policy));
	const work = pairingWorkOf(admission);
	if (work) await settlePairingWork(context, telegramPlugin, setup.credential, work);
	if (admission.kind !== 'emit') return skip(admission.reason);
	return signEnvelope(stamped, envelopeOriginKey());
}

/** The item the trigger emits for an update, or null when the update is not for this workflow. */
export async function itemFor(context: IWebhookFunctions | ITriggerFunctions, setup: TriggerSetup, update: Update): Promise<INodeExecutionData | null> {
	const envelope = await envelopeFor(context, setup, update);
	return envelope ? await itemOfEnvelope(context, setup, envelope) : null;
}

/** The item of an envelope the trigger emits, with the message's files when "Download Files" is on. */
export async function itemOfEnvelope(
	context: IWebhookFunctions | ITriggerFunctions,
	setup: TriggerSetup,
	envelope: Envelope,
	signal?: AbortSignal,
): Promise<INodeExecutionData> {
	if (!setup.downloadFiles || !envelope.message.attachments.some((attachment) => attachment.kind !== 'location')) {
		return { json: envelope as unknown as IDataObject };
	}
	const { binary, attachments } = await binaryFor(context, setup, envelope, signal);
	const json = { ...envelope, message: { ...envelope.message, attachments } };
	return { json: json as unknown as IDataObject, ...(binary ? { binary } : {}) };
}

/**
 * Runs tasks one after another per key (in the order they were queued) and tasks of different
 * keys side by side: messages of one chat reach n8n in the order they were written, while one
 * chat's slow file download holds back no other chat.
 */
function inOrderPerKey() {
	const tails = new Map<string, Promise<unknown>>();
	return <T>(key: string, task: () => Promise<T>): Promise<T> => {
		const run = (tails.get(key) ?? Promise.resolve()).then(task);
		const tail = run.catch(() => undefined);
		tails.set(key, tail);
		void tail.then(() => {
			if (tails.get(key) === tail) tails.delete(key);
		});
		return run;
	};
}

/**
 * Production long polling. Updates are confirmed to Telegram only after their executions end
 * (see telegram.polling.ts), so restarts neither lose nor repeat them.
 */
export async function startPolling(context: ITriggerFunctions, setup: TriggerSetup, journal: TriggerJournal | null): Promise<ITriggerResponse> {
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
	const stopping = new AbortController();
	const inChatOrder = inOrderPerKey();
	/** Prepares the item (downloads its files) and hands it to n8n; settles when its execution ends. */
	const emitInChatOrder = (update: Update, envelope: Envelope): Promise<unknown> => {
		const handedOver = inChatOrder(envelope.chat.id, async () => {
			if (stopping.signal.aborted) throw new UpdateAbandonedError(update.update_id);
			let item = await itemOfEnvelope(context, setup, envelope, stopping.signal);
			if (stopping.signal.aborted) throw new UpdateAbandonedError(update.update_id);
			if (journal) {
				// Journaled before it is confirmed to Telegram; a repeat of a journaled update is recovery's to answer.
				const { kept } = await journalItems(journal, [item]).catch((error: unknown) => {
					context.logger.warn(`Telegram update ${update.update_id} stays unconfirmed, the delivery journal failed: ${(error as Error).message}`);
					throw new UpdateAbandonedError(update.update_id);
				});
				if (kept.length === 0) return { execution: Promise.resolve() };
				item = kept[0];
			}
			// A journaled update is safe once journaled: it is confirmed to Telegram without waiting for
			// its execution, which recovery runs again if it never delivers.
			if (journal && waitsForExecutions) {
				const done = context.helpers.createDeferredPromise<IRun>();
				holdWhileRunning(journal, item.json, done.promise);
				context.emit([[item]], undefined, done);
				return { execution: Promise.resolve() };
			}
			if (journal || !waitsForExecutions) {
				context.emit([[item]]);
				return { execution: Promise.resolve() };
			}
			const done = context.helpers.createDeferredPromise<IRun>();
			context.emit([[item]], undefined, done);
			// Wrapped, so the chat's queue moves on once the item is handed over, not once its execution ends.
			return { execution: done.promise };
		});
		return handedOver.then(
			async ({ execution }) => await execution,
			(error: unknown) => {
				// One broken update must not stop the bot; it is confirmed like an ignored one (unless the trigger stopped).
				if (!(error instanceof UpdateAbandonedError)) context.logger.warn(`Skipped Telegram update ${update.update_id}: ${(error as Error).message}`);
				throw error;
			},
		);
	};
	const poller = new TelegramLongPoller({
		api: setup.api,
		allowedUpdates: setup.allowedUpdates,
		log: context.logger,
		handleUpdate: async (update) => {
			const envelope = await envelopeFor(context, setup, update);
			if (!envelope) return null;
			// Downloading files is part of the update's own work (which gates its confirmation), not of
			// fetching updates: a large or slow file holds back only later messages of its chat.
			return { done: emitInChatOrder(update, envelope) };
		},
		onFatalError: (error) => context.emitError(asNodeError(context, error)),
	});
	const unregister = registerPoller(setup.botKey, owner, poller);
	poller.start();
	return {
		closeFunction: async () => {
			unregister();
			// Downloads still running are dropped; Telegram sends their updates again after the restart.
			stopping.abort();
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
