import {
	NodeConnectionTypes,
	NodeOperationError,
	type IHookFunctions,
	type INodeType,
	type INodeTypeDescription,
	type ITriggerFunctions,
	type ITriggerResponse,
	type IWebhookDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { startRecovery, triggerJournalOf, withJournalCredentials } from '../shared/delivery-journal';
import { isReadForLiveWebhookRequest } from '../shared/live-webhook-read';
import { receiveWebhook } from '../shared/webhook-trigger';
import {
	describeBotTaken,
	findPoller,
	isRegisteredAs,
	isSameTrigger,
	isWebhookOfNode,
	readWebhookInfo,
	registerWebhook,
	removeWebhook,
	webhookUrlProblem,
	type TelegramCredential,
} from './telegram.adapter';
import {
	asActivationError,
	asNodeError,
	botOf,
	itemOfEnvelope,
	modeOf,
	reportWebhookHealth,
	setupFor,
	startPolling,
	startTestListener,
	TelegramBotTakenActivationError,
	webhookSecretFor,
} from './TelegramTrigger.runtime';
import { telegramTriggerProperties } from './TelegramTrigger.properties';
import { telegramPlugin } from './telegram.plugin';

const WEBHOOK: IWebhookDescription = {
	name: 'default',
	httpMethod: '={{ $parameter["mode"] !== "polling" && $workflow.active ? "POST" : "" }}',
	responseMode: 'onReceived',
	path: 'webhook',
	ndvHideUrl: true,
	ndvHideMethod: true,
};
const LIVE_WEBHOOK: IWebhookDescription = { ...WEBHOOK, httpMethod: 'POST' };

export class TelegramTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Clawgate Telegram Trigger',
		name: 'telegramTrigger',
		icon: { light: 'file:telegram.svg', dark: 'file:telegram.dark.svg' },
		group: ['trigger'],
		version: [1, 1.1, 2],
		defaultVersion: 2,
		subtitle: '={{ $parameter["mode"] === "polling" ? "Long polling" : "Webhook" }}',
		description: 'Starts the workflow when your Telegram bot receives a message, as a Clawgate envelope',
		defaults: { name: 'Telegram Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: withJournalCredentials([{ name: 'clawgateTelegramApi', required: true }], 'journalStore', { deliveryGuarantee: ['journal'] }),
		triggerPanel: {
			header: '',
			executionsHelp: {
				inactive:
					"<b>While building your workflow</b>, click 'Listen for test event' and write to your bot: the next message runs the workflow here. It works in both modes and needs no public address.<br /><br /><b>Once you're happy with your workflow</b>, publish it. Then every message to the bot starts an execution, shown in the <a data-key='executions'>executions list</a>.",
				active:
					"<b>While building your workflow</b>, click 'Listen for test event' and write to your bot: the next message runs here instead of in the published workflow, which gets the bot back as soon as listening stops.<br /><br /><b>The published workflow</b> handles every other message; see the <a data-key='executions'>executions list</a>.",
			},
			activationHint: 'Once you’ve finished building your workflow, publish it to answer every message to your bot.',
		},
		// The webhook exists only for a published workflow in Webhook mode. In Long Polling mode, and
		// for "Listen for test event" in both modes, its method is empty, so n8n registers nothing
		// and runs `trigger()` instead (test runs always have `$workflow.active` false). Answering a
		// production request, n8n reads the plain POST: only a published workflow in Webhook mode
		// has a production webhook, and the expression would cost an engine trip per message.
		get webhooks() {
			return isReadForLiveWebhookRequest() ? [LIVE_WEBHOOK] : [WEBHOOK];
		},
		properties: telegramTriggerProperties,
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				const setup = await setupFor(this);
				if (setup.mode === 'polling') return true;
				const url = this.getNodeWebhookUrl('default') as string;
				try {
					const info = await readWebhookInfo(setup.api);
					const exists = isRegisteredAs(info, url, setup.allowedUpdates);
					if (exists) reportWebhookHealth(this, info, url);
					return exists;
				} catch (error) {
					throw asNodeError(this, error);
				}
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const setup = await setupFor(this);
				if (setup.mode === 'polling') return true;
				const node = this.getNode();
				const url = this.getNodeWebhookUrl('default') as string;
				const problem = webhookUrlProblem(url, setup.credential);
				if (problem) throw new NodeOperationError(node, problem);
				try {
					const info = await readWebhookInfo(setup.api);
					const current = info.url ?? '';
					const foreign = current !== '' && current !== url && !isWebhookOfNode(current, node.webhookId);
					if (foreign && !setup.takeOver) throw new TelegramBotTakenActivationError(node, describeBotTaken(current, { ownUrl: url, purpose: 'webhook' }));
					// This node's own poller (the workflow switches from Long Polling to Webhook) is stopped by n8n.
					const poller = findPoller(setup.botKey);
					const self = { workflowId: String(this.getWorkflow().id ?? ''), nodeId: node.id };
					if (poller && !isSameTrigger(poller.owner, self) && !setup.takeOver) {
						throw new TelegramBotTakenActivationError(
							node,
							`The workflow "${poller.owner.workflowName}" receives this bot's messages by long polling. Telegram delivers a bot's messages to one place only: deactivate that workflow, or turn on "Take Over Webhook" to move the bot here.`,
						);
					}
					await registerWebhook(setup.api, url, webhookSecretFor(this, setup.credential), setup.allowedUpdates);
					if (foreign) this.logger.warn(`Took the Telegram bot over from the webhook ${current} ("Take Over Webhook" is on).`);
					reportWebhookHealth(this, info, url);
					return true;
				} catch (error) {
					throw asActivationError(this, error);
				}
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				const setup = await setupFor(this);
				if (setup.mode === 'polling') return true;
				try {
					await removeWebhook(setup.api, this.getNodeWebhookUrl('default') as string);
					return true;
				} catch (error) {
					throw asNodeError(this, error);
				}
			},
		},
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse | undefined> {
		const setup = await setupFor(this);
		const manual = this.getMode() === 'manual';
		try {
			if (manual) {
				// Fails fast on a wrong token.
				await botOf(setup);
				return await startTestListener(this, setup);
			}
			// Journal recovery runs in both modes; a published workflow in Webhook mode is otherwise served
			// by webhook(). The response still registers the trigger, since n8n's publication reconciler
			// otherwise sees a trigger node without a running trigger and republishes the workflow every 10 s.
			const journal = await triggerJournalOf(this);
			let polling: ITriggerResponse | null = null;
			if (setup.mode === 'polling') {
				await botOf(setup);
				polling = await startPolling(this, setup, journal);
			}
			const stopRecovery = journal ? startRecovery(this, journal) : null;
			return {
				closeFunction: async () => {
					await stopRecovery?.();
					await polling?.closeFunction?.();
				},
			};
		} catch (error) {
			throw asActivationError(this, error);
		}
	}

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		if (modeOf(this) === 'polling') {
			this.getResponseObject().status(404).json({ error: 'This trigger receives messages by long polling, not by webhook.' });
			return { noWebhookResponse: true };
		}
		return await receiveWebhook(this, telegramPlugin, async (envelopes, credential) => {
			const setup = await setupFor(this, credential as TelegramCredential);
			return await Promise.all(envelopes.map(async (envelope) => await itemOfEnvelope(this, setup, envelope)));
		});
	}
}
