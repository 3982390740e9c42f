/**
 * The webhook trigger pipeline in n8n's terms, written once for every channel that receives by
 * webhook: a node file declares its plugin and options, and gets its description, activation
 * and request handling from here. The decisions themselves are core's (`handleWebhookDelivery`).
 */
import {
	NodeConnectionTypes,
	type IDataObject,
	type IHookFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import type { AnyChannelPlugin, WebhookContext, WebhookRequest } from '../core/channel';
import type { Envelope } from '../core/envelope';
import { signEnvelope } from '../core/origin';
import { RecentKeys } from '../core/recent-keys';
import { handleWebhookDelivery } from '../core/webhook-delivery';
import { deliveryGuaranteeProperties, holdWhileRunning, journalItems, recoveryTrigger, triggerJournalOf, withJournalCredentials, type TriggerJournal } from './delivery-journal';
import { asActivationError, asNodeError } from './node-errors';
import { envelopeOriginKey } from './origin-key';
import { policyWithApprovedSenders, settlePairingWork } from './trigger-pairing';
import { accessPolicyOptions, receiveSettingsFrom, type IdExamples } from './trigger-settings';
import { credentialForWebhookRequest } from './webhook-credential';

// Deliveries seen in the last hour by this process, for every webhook trigger; keys carry the webhook ID.
const recentDeliveries = new RecentKeys();

type WebhookFunctions = IHookFunctions | IWebhookFunctions;

export function webhookContextOf(context: WebhookFunctions, now = Date.now()): WebhookContext {
	const node = context.getNode();
	return {
		workflowId: String(context.getWorkflow().id ?? ''),
		nodeId: node.id,
		webhookId: node.webhookId ?? '',
		options: context.getNodeParameter('options', {}) as IDataObject,
		now,
	};
}

function requestOf(context: IWebhookFunctions): WebhookRequest {
	const request = context.getRequestObject();
	return {
		method: request.method,
		headers: context.getHeaderData() as WebhookRequest['headers'],
		rawBody: request.rawBody,
		body: context.getBodyData(),
		query: context.getQueryData() as Record<string, unknown>,
		// The test URL while listening for a test event, else the production URL.
		url: context.getWebhookResourceUrl?.('default') ?? context.getNodeWebhookUrl('default') ?? '',
	};
}

/** The items a trigger emits for its envelopes; a platform may add binary data (Telegram's Download Files). */
export type ItemsFor = (envelopes: Envelope[], credential: unknown) => Promise<INodeExecutionData[]>;

/** Handles one request to a channel's webhook trigger: refusals and handshakes answered here, messages emitted. */
export async function receiveWebhook(context: IWebhookFunctions, plugin: AnyChannelPlugin, itemsFor?: ItemsFor): Promise<IWebhookResponseData> {
	const webhookContext = webhookContextOf(context);
	const settings = receiveSettingsFrom(plugin, webhookContext.options);
	// Resolved once a minute per trigger (cached), so a forged request costs no store work; a journal
	// that cannot be opened refuses messages below (503, delivered again), never forged requests.
	const journal = await triggerJournalOf(context).then(
		(opened) => ({ opened, error: null }),
		(error: unknown) => ({ opened: null, error }),
	);
	let outcome;
	try {
		outcome = await handleWebhookDelivery(plugin, {
			request: requestOf(context),
			context: webhookContext,
			credentialFor: (verifies) => credentialForWebhookRequest(context, plugin.credentialType, verifies),
			...settings,
			policy: policyWithApprovedSenders(context, settings.policy),
			// With a journal, the journal drops redeliveries: only a message it recorded counts as received.
			recent: journal.opened || journal.error ? null : recentDeliveries,
		});
	} catch (error) {
		throw asNodeError(context.getNode(), error);
	}
	let envelopes: Envelope[] = [];
	if (outcome.kind === 'taken' && outcome.envelopes.length > 0) {
		envelopes = outcome.envelopes.map((envelope) => signEnvelope(envelope, envelopeOriginKey()));
		try {
			if (journal.error) throw journal.error;
			envelopes = journal.opened ? await journaled(journal.opened, envelopes, outcome.dropped) : envelopes;
		} catch (error) {
			// Not journaled, so not acknowledged: the platform delivers it again.
			context.logger.error(`${plugin.name} message not taken, the delivery journal failed: ${(error as Error).message}`);
			context.getResponseObject().status(503).json({ error: 'The delivery journal is not available; deliver again later.' });
			return { noWebhookResponse: true };
		}
	}
	// Answered here, before any execution starts: platforms wait only seconds, and redeliver otherwise.
	const { status, body, contentType } = outcome.answer;
	const response = context.getResponseObject().status(status);
	if (contentType) response.type(contentType).send(body);
	else response.json(body);
	if (outcome.kind === 'taken') {
		for (const reason of outcome.dropped) context.logger.debug(`${plugin.name} event starts no execution: ${reason}`);
		// After the answer: the platform does not wait for the code messages, which start no execution.
		if (outcome.pairing) await settlePairingWork(context, plugin, outcome.credential, outcome.pairing);
		if (envelopes.length > 0) {
			const items = itemsFor ? await itemsFor(envelopes, outcome.credential) : context.helpers.returnJsonArray(envelopes as unknown as IDataObject[]);
			return { noWebhookResponse: true, workflowData: [items] };
		}
	} else if (outcome.kind !== 'answered') {
		context.logger.debug(`${plugin.name} webhook request refused (${outcome.answer.status}): ${outcome.reason}`);
	}
	return { noWebhookResponse: true };
}

/** The envelopes to emit, journaled first (redeliveries dropped). */
async function journaled(journal: TriggerJournal, envelopes: Envelope[], dropped: string[]): Promise<Envelope[]> {
	const { kept, dropped: known } = await journalItems(journal, envelopes.map((json) => ({ json: json as unknown as IDataObject })));
	dropped.push(...known);
	// This process runs the execution (one n8n, not queue mode), but n8n tells a webhook nothing of its
	// end: the entry is held until AI Session or the send node here finishes with it, for 3 minutes at
	// most (AI Session's heartbeat keeps a message it works on fresh; one n8n never started is recovery's).
	if (process.env.EXECUTIONS_MODE !== 'queue') for (const item of kept) holdWhileRunning(journal, item.json, null);
	return kept.map((item) => item.json as unknown as Envelope);
}

/**
 * Activation: the platform is told the URL where it has an API for it; where the user pastes the
 * URL instead, activation checks what it can (the credential works), so a wrong credential shows at once.
 */
export function webhookMethodsFor(plugin: AnyChannelPlugin) {
	const inbound = plugin.webhook!;
	return {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return false;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const credential = await this.getCredentials(plugin.credentialType);
				try {
					if (inbound.register) await inbound.register(credential, this.getNodeWebhookUrl('default') ?? '', webhookContextOf(this));
					else await inbound.checkCredential?.(credential);
				} catch (error) {
					throw asActivationError(this.getNode(), error);
				}
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				if (!inbound.unregister) return true;
				const credential = await this.getCredentials(plugin.credentialType);
				try {
					await inbound.unregister(credential, this.getNodeWebhookUrl('default') ?? '', webhookContextOf(this));
				} catch (error) {
					throw asNodeError(this.getNode(), error);
				}
				return true;
			},
		},
	};
}

export interface TriggerDeclaration {
	/** Without "Clawgate" and "Trigger": "Slack". */
	displayName: string;
	description: string;
	/** Versions the node answers to; the last is the default. Version 2 introduced the shared option names. */
	version: number[];
	/** How the user connects the platform to this URL (a notice above the options). */
	setupNotice: string;
	ids: IdExamples;
	/** False for platforms without group chats (SMS), whose triggers then show no group options. */
	groups?: boolean;
	/** Options only this platform has, merged into the collection. */
	platformOptions?: INodeProperties[];
	/** Properties of older versions, shown only for them (their option names are still read). */
	legacyProperties?: INodeProperties[];
}

/** Triggers older than the kit introduced the shared option names in version 2; their v1 options stay for v1 nodes. */
export const SHARED_OPTIONS_SINCE = 2;

/** A trigger's Options collection with the shared access policy and its own extras. */
export function triggerOptionsProperty(plugin: AnyChannelPlugin, declaration: Pick<TriggerDeclaration, 'ids' | 'groups' | 'platformOptions'> & { sharedSince?: number }): INodeProperties {
	const options = [...accessPolicyOptions(plugin, declaration.ids, declaration.groups !== false), ...(declaration.platformOptions ?? [])];
	options.sort((a, b) => a.displayName.localeCompare(b.displayName));
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		...(declaration.sharedSince ? { displayOptions: { show: { '@version': [{ _cnd: { gte: declaration.sharedSince } }] } } } : {}),
		options,
	};
}

/** What every channel's trigger description holds, webhook or listener: names, versions, one credential, one output. */
export function triggerDescriptionBase(plugin: AnyChannelPlugin, declaration: Pick<TriggerDeclaration, 'displayName' | 'description' | 'version'>): Omit<INodeTypeDescription, 'icon' | 'properties'> {
	return {
		displayName: `Clawgate ${declaration.displayName} Trigger`,
		name: `${plugin.id}Trigger`,
		group: ['trigger'],
		version: declaration.version,
		defaultVersion: declaration.version[declaration.version.length - 1],
		description: declaration.description,
		defaults: { name: `${declaration.displayName} Trigger` },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: withJournalCredentials([{ name: plugin.credentialType, required: true }], 'journalStore', { deliveryGuarantee: ['journal'] }),
	};
}

/**
 * The description of a channel's webhook trigger, all but the icon: the node file names its icon
 * files itself, where n8n's linter checks that they exist.
 */
export function webhookTriggerDescription(plugin: AnyChannelPlugin, declaration: TriggerDeclaration): Omit<INodeTypeDescription, 'icon'> {
	return {
		...triggerDescriptionBase(plugin, declaration),
		webhooks: (plugin.webhook?.httpMethods ?? ['POST']).map((httpMethod) => ({ name: httpMethod === 'GET' ? 'setup' : 'default', httpMethod, responseMode: 'onReceived', path: 'webhook' })),
		properties: [
			{ displayName: declaration.setupNotice, name: 'setupNotice', type: 'notice', default: '' },
			...(declaration.legacyProperties ?? []),
			triggerOptionsProperty(plugin, { ...declaration, sharedSince: declaration.legacyProperties ? SHARED_OPTIONS_SINCE : undefined }),
			...deliveryGuaranteeProperties,
		],
	};
}

/**
 * A webhook trigger node's methods, for its class (`webhook = methods.webhook` and so on): each
 * request through the shared pipeline, the webhook registered on activation, and journal recovery
 * on the leader main, its only `trigger()` work.
 */
export function webhookTriggerMethods(plugin: AnyChannelPlugin) {
	return {
		trigger: recoveryTrigger(),
		webhookMethods: webhookMethodsFor(plugin),
		async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
			return await receiveWebhook(this, plugin);
		},
	};
}
