/**
 * The listener trigger pipeline in n8n's terms: a connection n8n holds open while the workflow
 * is active (Discord's gateway), its envelopes emitted as executions, "Listen for test event"
 * taking the first message only, and the connection closed on deactivation. The platform part
 * is a `start` function; the decisions (redelivery, access policy) happen inside it, through core.
 */
import { createHash } from 'node:crypto';

import {
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDataObject,
	type INodeCredentialTestResult,
	type INodeTypeDescription,
	type IRun,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import type { AccessFacts, AccessPolicy } from '../core/access-policy';
import { admitMessage, pairingWorkOf } from '../core/admission';
import type { AnyChannelPlugin, ReceiveSettings } from '../core/channel';
import { buildMessageKey, stampVia, type Envelope } from '../core/envelope';
import { signEnvelope } from '../core/origin';
import { deliveryGuaranteeProperties, holdWhileRunning, journalItems, startRecovery, triggerJournalOf, type TriggerJournal } from './delivery-journal';
import { asActivationError, asNodeError } from './node-errors';
import { envelopeOriginKey } from './origin-key';
import { policyWithApprovedSenders, settlePairingWork } from './trigger-pairing';
import { receiveSettingsFrom } from './trigger-settings';
import { triggerDescriptionBase, triggerOptionsProperty, type TriggerDeclaration } from './webhook-trigger';

export interface ListenerHandlers {
	onEnvelope(envelope: Envelope): void;
	/**
	 * Emits the envelope and settles once its execution has ended (at once while listening for a
	 * test event, and for engine 2.0 workflows, which cannot be waited for): a listener confirms a
	 * message to its platform only after this, so a restart neither loses nor repeats it.
	 */
	execute(envelope: Envelope): Promise<void>;
	/**
	 * As `execute`, for a message the platform will not give again (fetching it took it off the
	 * platform's servers): journaled first where the trigger journals, but still run when the
	 * journal cannot be written, since refusing it would lose it.
	 */
	executeTaken(envelope: Envelope): Promise<void>;
	/**
	 * As `executeTaken`, but settles as soon as n8n has the message, without waiting for its
	 * execution: for a socket whose messages arrive faster than they are answered and that the
	 * platform gives again only to a resumed session (Discord's gateway). `handedOver` runs after the
	 * journal write and right before the emit (or when the journal drops the message as one it holds
	 * already): a cursor written there is saved with this very emit, since n8n saves the node's static
	 * data as an emit starts the execution.
	 */
	handOver(envelope: Envelope, handedOver?: () => void): Promise<void>;
	/** The same as `execute` (the name the IRC, XMPP, Email, Mattermost and Rocket.Chat listeners use). */
	emitAndWait(envelope: Envelope): Promise<void>;
	/** Where a listener keeps how far it has read (the node's static data, which n8n saves on each emit). */
	cursor: ListenerCursor;
	/** The shared access policy and DM pairing: whether a message is emitted (pairing work is done here, never emitted). */
	admit(envelope: Envelope, facts: AccessFacts): Promise<boolean>;
	/** The connection is lost for good (a revoked token): n8n shows it and retries activation. */
	onFatalError(error: Error): void;
}

/** How far a listener has read, as it stores it (plain JSON); null before the first message. */
export interface ListenerCursor {
	read(): IDataObject | null;
	write(value: IDataObject): void;
}

/** The key under the node's static data: one name, visible to a user who reads the workflow JSON. */
const CURSOR_KEY = 'clawgateListenerCursor';

export interface RunningListener {
	close(): Promise<void>;
}

export interface ListenerSetup {
	credential: unknown;
	policy: AccessPolicy;
}

export async function runListenerTrigger(
	context: ITriggerFunctions,
	plugin: AnyChannelPlugin,
	{ credential, policy }: ListenerSetup,
	start: (handlers: ListenerHandlers) => Promise<RunningListener>,
): Promise<ITriggerResponse> {
	const manual = context.getMode() === 'manual';
	// Engine 2.0 workflows cannot wait for their executions; their messages count as done once handed over.
	const waits = !manual && (context.getWorkflowSettings() as IDataObject).engineType !== 'v2';
	let emitted = false;
	let listener: RunningListener;
	let stopRecovery: (() => Promise<void>) | null = null;
	let journal: TriggerJournal | null = null;
	const node = context.getNode();
	const workflowId = String(context.getWorkflow().id ?? '');
	/**
	 * n8n (2.40 and later) starts no second execution with the same deduplication key: a message a
	 * listener fetches again after a restart (its confirmation was not saved yet) is not run twice.
	 * Older n8n versions ignore the key.
	 */
	const deduplicationKeyOf = (envelope: Envelope) => `clawgate:${createHash('sha256').update(`${workflowId}\n${node.id}\n${buildMessageKey(envelope)}`).digest('hex')}`;
	/**
	 * Messages are journaled one after another, in the order the listener got them: the journal's
	 * sequence is the order AI Session answers a conversation in, and two writes in flight at once
	 * could finish the other way round. Only the journal write waits its turn, not the execution.
	 */
	let journalTail: Promise<unknown> = Promise.resolve();
	const journalInArrivalOrder = (journal: TriggerJournal, json: IDataObject): Promise<IDataObject | null> => {
		const step = journalTail.then(async () => {
			const { kept, dropped } = await journalItems(journal, [{ json }]);
			// Said as the webhook pipeline says it: a message dropped here never reaches an execution.
			for (const reason of dropped) context.logger.debug(`${plugin.name} message starts no execution: ${reason}`);
			return kept[0]?.json ?? null;
		});
		journalTail = step.catch(() => undefined);
		return step;
	};
	/**
	 * Hands the envelope to n8n, journaled first when the trigger's Delivery Guarantee asks for it (a
	 * message journaled before is recovery's, not emitted again); settles when its execution ends,
	 * where that can be waited for. `confirmable`: the listener confirms the message to its platform
	 * after this, so a journal that cannot be written fails it (the platform gives it again) instead
	 * of letting it run unjournaled. `deduplicate`: n8n is told the message key, so a message handed
	 * over twice runs once. `wait: false` settles once n8n has it; `handedOver` runs right before the emit.
	 */
	const emit = async (
		envelope: Envelope,
		{ confirmable = false, deduplicate = confirmable, wait = true, handedOver }: { confirmable?: boolean; deduplicate?: boolean; wait?: boolean; handedOver?: () => void } = {},
	): Promise<void> => {
		// "Listen for test event" takes the first message only.
		if (manual && emitted) return;
		emitted = true;
		let json = signEnvelope(stampVia(envelope, plugin.id), envelopeOriginKey()) as unknown as IDataObject;
		if (journal) {
			try {
				const journaled = await journalInArrivalOrder(journal, json);
				if (!journaled) return handedOver?.();
				json = journaled;
			} catch (error) {
				if (confirmable) throw asNodeError(context.getNode(), error);
				// The platform has no redelivery to fall back on: the message still runs, unjournaled.
				context.logger.warn(`${plugin.name} message ${envelope.message.id} runs without the delivery journal, which failed: ${(error as Error).message}`);
			}
		}
		handedOver?.();
		const items = [context.helpers.returnJsonArray([json])];
		const deduplicationKey = deduplicate ? deduplicationKeyOf(envelope) : undefined;
		// `context.emit` is read at call time: in manual mode n8n swaps it after trigger() returns.
		if (!waits) return context.emit(items);
		const done = context.helpers.createDeferredPromise<IRun>();
		// A journaled message is renewed, not run again by recovery, while its execution runs.
		if (journal && json.delivery) holdWhileRunning(journal, json, done.promise);
		context.emit(items, undefined, done, deduplicationKey);
		if (!wait) return;
		await done.promise.catch((error: unknown) => context.logger.debug(`${plugin.name} execution ended with an error: ${(error as Error).message}`));
	};
	const staticData = context.getWorkflowStaticData('node');
	try {
		journal = manual ? null : await triggerJournalOf(context);
		listener = await start({
			onEnvelope: (envelope) => void emit(envelope).catch(() => undefined),
			execute: async (envelope) => await emit(envelope, { confirmable: true }),
			executeTaken: async (envelope) => await emit(envelope, { deduplicate: true }),
			handOver: async (envelope, handedOver) => await emit(envelope, { deduplicate: true, wait: false, handedOver }),
			emitAndWait: async (envelope) => await emit(envelope, { confirmable: true }),
			cursor: {
				read: () => (staticData[CURSOR_KEY] && typeof staticData[CURSOR_KEY] === 'object' ? (staticData[CURSOR_KEY] as IDataObject) : null),
				write: (value) => void (staticData[CURSOR_KEY] = value),
			},
			admit: async (envelope, facts) => {
				const admission = admitMessage(plugin, stampVia(envelope, plugin.id), facts, policyWithApprovedSenders(context, policy));
				const work = pairingWorkOf(admission);
				if (work) await settlePairingWork(context, plugin, credential, work);
				if (admission.kind !== 'emit') context.logger.debug(`${plugin.name} message starts no execution: ${admission.reason}`);
				return admission.kind === 'emit';
			},
			onFatalError: (error) => context.emitError(asNodeError(context.getNode(), error)),
		});
		if (journal) stopRecovery = startRecovery(context, journal);
	} catch (error) {
		throw asActivationError(context.getNode(), error);
	}
	// In manual mode n8n resolves the test run with the first emit, then calls closeFunction.
	return {
		closeFunction: async () => {
			await stopRecovery?.();
			await listener.close();
		},
	};
}

/** What a listener channel's trigger node file declares: its names, setup notice and options. */
export type ListenerTriggerDeclaration = Omit<TriggerDeclaration, 'legacyProperties'>;

/** The description of a listener channel's trigger, all but the icon and subtitle (the node file names them, for n8n's linter). */
export function listenerTriggerDescription(plugin: AnyChannelPlugin, declaration: ListenerTriggerDeclaration): Omit<INodeTypeDescription, 'icon'> {
	const notice = { displayName: declaration.setupNotice, name: 'setupNotice', type: 'notice' as const, default: '' };
	return { ...triggerDescriptionBase(plugin, declaration), properties: [notice, triggerOptionsProperty(plugin, declaration), ...deliveryGuaranteeProperties] };
}

/** What a listener trigger starts, given its credential and settings (the node's options as well, for the platform's own). */
export type StartListening = (context: ITriggerFunctions, setup: { credential: unknown; settings: ReceiveSettings; options: IDataObject }) => Promise<ITriggerResponse>;

/** A listener trigger node's description (all but icon and subtitle, which its file names) and `trigger`. */
export function listenerTriggerNode(
	plugin: AnyChannelPlugin,
	declaration: ListenerTriggerDeclaration,
	start: StartListening,
): { description: Omit<INodeTypeDescription, 'icon'>; trigger(this: ITriggerFunctions): Promise<ITriggerResponse> } {
	return {
		description: listenerTriggerDescription(plugin, declaration),
		async trigger(this: ITriggerFunctions) {
			const credential = await this.getCredentials(plugin.credentialType);
			const options = this.getNodeParameter('options', {}) as IDataObject;
			return await start(this, { credential, settings: receiveSettingsFrom(plugin, options), options });
		},
	};
}

/** What a channel's listener gets to start with: the credential, the trigger's options and the shared handlers. */
export interface ChannelListenerInput<Credential> extends ListenerHandlers {
	credential: Credential;
	options: IDataObject;
	sessionScope: ReturnType<typeof receiveSettingsFrom>['sessionScope'];
	/** The trigger node's static data: saved by n8n with the next execution the trigger starts. */
	staticData: IDataObject;
	logger: ITriggerFunctions['logger'];
}

/** A listener channel's `trigger()`: reads the credential and options, then holds the platform's connection through `runListenerTrigger`. */
export async function runChannelListener<Credential>(
	context: ITriggerFunctions,
	plugin: AnyChannelPlugin,
	start: (input: ChannelListenerInput<Credential>) => Promise<RunningListener>,
): Promise<ITriggerResponse> {
	const credential = (await context.getCredentials(plugin.credentialType)) as unknown as Credential;
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const { policy, sessionScope } = receiveSettingsFrom(plugin, options);
	return await runListenerTrigger(context, plugin, { credential, policy }, async (handlers) =>
		await start({ ...handlers, credential, options, sessionScope, staticData: context.getWorkflowStaticData('node'), logger: context.logger }),
	);
}

/**
 * n8n's "Test" button of a credential whose platform has no HTTP API to ask (IRC, XMPP, IMAP): the
 * check logs in and out once. Named in the trigger's `credentials[].testedBy`.
 */
export function listenerCredentialTest<Credential>(check: (credential: Credential) => Promise<void>) {
	return async function (this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
		try {
			await check((credential.data ?? {}) as Credential);
			return { status: 'OK', message: 'Logged in' };
		} catch (error) {
			return { status: 'Error', message: (error as Error).message };
		}
	};
}

/** A listener channel's `trigger` method, for its node class: `trigger = listenerTrigger(plugin, startListener)`. */
export function listenerTrigger<Credential>(plugin: AnyChannelPlugin, start: (input: ChannelListenerInput<Credential>) => Promise<RunningListener>) {
	return async function (this: ITriggerFunctions): Promise<ITriggerResponse> {
		return await runChannelListener(this, plugin, start);
	};
}
