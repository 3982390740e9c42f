/**
 * The listener trigger pipeline in n8n's terms: a connection n8n holds open while the workflow
 * is active (Discord's gateway), its envelopes emitted as executions, "Listen for test event"
 * taking the first message only, and the connection closed on deactivation. The platform part
 * is a `start` function; the decisions (redelivery, access policy) happen inside it, through core.
 */
import { NodeConnectionTypes, type IDataObject, type INodeTypeDescription, type IRun, type ITriggerFunctions, type ITriggerResponse } from 'n8n-workflow';

import type { AccessFacts, AccessPolicy } from '../core/access-policy';
import { admitMessage, pairingWorkOf } from '../core/admission';
import type { AnyChannelPlugin } from '../core/channel';
import { stampVia, type Envelope } from '../core/envelope';
import { signEnvelope } from '../core/origin';
import { asActivationError, asNodeError } from './node-errors';
import { envelopeOriginKey } from './origin-key';
import { policyWithApprovedSenders, settlePairingWork } from './trigger-pairing';
import { accessPolicyOptions, type IdExamples } from './trigger-settings';

export interface ListenerHandlers {
	onEnvelope(envelope: Envelope): void;
	/**
	 * Emits like `onEnvelope`, and settles once the execution it started has ended (at once in
	 * manual mode and for workflows that cannot wait): what a listener needs to hold its connection
	 * open on close until the messages it took are answered.
	 */
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
	const emit = (envelope: Envelope): Promise<void> => {
		// "Listen for test event" takes the first message only.
		if (manual && emitted) return Promise.resolve();
		emitted = true;
		const items = [context.helpers.returnJsonArray([signEnvelope(stampVia(envelope, plugin.id), envelopeOriginKey()) as unknown as IDataObject])];
		// `context.emit` is read at call time: in manual mode n8n swaps it after trigger() returns.
		if (!waits) return Promise.resolve(context.emit(items));
		const done = context.helpers.createDeferredPromise<IRun>();
		context.emit(items, undefined, done);
		return done.promise.then(() => undefined);
	};
	const staticData = context.getWorkflowStaticData('node');
	try {
		listener = await start({
			// A failed execution is n8n's to show; nothing here waits for it.
			onEnvelope: (envelope) => void emit(envelope).catch(() => undefined),
			emitAndWait: emit,
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
	} catch (error) {
		throw asActivationError(context.getNode(), error);
	}
	// In manual mode n8n resolves the test run with the first emit, then calls closeFunction.
	return { closeFunction: async () => await listener.close() };
}

export interface ListenerTriggerDeclaration {
	/** Without "Clawgate" and "Trigger": "Mattermost". */
	displayName: string;
	description: string;
	/** How the user sets the platform up (a notice above the options). */
	notice: string;
	ids: IdExamples;
}

/** The description of a listener trigger, all but the icon (the node file names its icon files, for n8n's linter). */
export function listenerTriggerDescription(plugin: AnyChannelPlugin, declaration: ListenerTriggerDeclaration): Omit<INodeTypeDescription, 'icon'> {
	return {
		displayName: `Clawgate ${declaration.displayName} Trigger`,
		name: `${plugin.id}Trigger`,
		group: ['trigger'],
		version: 1,
		description: declaration.description,
		defaults: { name: `${declaration.displayName} Trigger` },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: plugin.credentialType, required: true }],
		properties: [
			{ displayName: declaration.notice, name: 'listenerNotice', type: 'notice', default: '' },
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: accessPolicyOptions(plugin, declaration.ids).sort((a, b) => a.displayName.localeCompare(b.displayName)),
			},
		],
	};
}
