/**
 * The listener trigger pipeline in n8n's terms: a connection n8n holds open while the workflow
 * is active (Discord's gateway), its envelopes emitted as executions, "Listen for test event"
 * taking the first message only, and the connection closed on deactivation. The platform part
 * is a `start` function; the decisions (redelivery, access policy) happen inside it, through core.
 */
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
import type { AnyChannelPlugin } from '../core/channel';
import { stampVia, type Envelope } from '../core/envelope';
import { signEnvelope } from '../core/origin';
import { asActivationError, asNodeError } from './node-errors';
import { envelopeOriginKey } from './origin-key';
import { policyWithApprovedSenders, settlePairingWork } from './trigger-pairing';
import { receiveSettingsFrom } from './trigger-settings';
import { triggerDescriptionBase, triggerOptionsProperty, type TriggerDeclaration } from './webhook-trigger';

export interface ListenerHandlers {
	onEnvelope(envelope: Envelope): void;
	/**
	 * Emits like `onEnvelope`, and resolves once the execution it started has ended (at once when
	 * nothing was started, or n8n cannot wait: test mode, engine v2), so a listener confirms a
	 * message to its platform only after its execution. Rejects when the execution failed.
	 */
	emitAndWait(envelope: Envelope): Promise<void>;
	/** The shared access policy and DM pairing: whether a message is emitted (pairing work is done here, never emitted). */
	admit(envelope: Envelope, facts: AccessFacts): Promise<boolean>;
	/** The connection is lost for good (a revoked token): n8n shows it and retries activation. */
	onFatalError(error: Error): void;
}

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
	let emitted = false;
	let listener: RunningListener;
	// Engine 2.0 workflows cannot wait for their executions; their messages count as done once handed over.
	const waits = !manual && (context.getWorkflowSettings() as IDataObject).engineType !== 'v2';
	const emit = (envelope: Envelope): Promise<void> => {
		// "Listen for test event" takes the first message only.
		if (manual && emitted) return Promise.resolve();
		emitted = true;
		const items = [context.helpers.returnJsonArray([signEnvelope(stampVia(envelope, plugin.id), envelopeOriginKey()) as unknown as IDataObject])];
		// `context.emit` is read at call time: in manual mode n8n swaps it after trigger() returns.
		if (!waits) return Promise.resolve(context.emit(items));
		const done = context.helpers.createDeferredPromise<IRun>();
		context.emit(items, undefined, done);
		return done.promise.then((run) => {
			if (run?.data?.resultData?.error) throw new Error(run.data.resultData.error.message);
		});
	};
	try {
		listener = await start({
			onEnvelope: (envelope) => void emit(envelope).catch(() => undefined),
			emitAndWait: emit,
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

/** What a listener channel's trigger node file declares: its plugin, names and options. */
export type ListenerTriggerDeclaration = Omit<TriggerDeclaration, 'legacyProperties'>;

/** The description of a listener channel's trigger, all but the icon and subtitle (the node file names them, for n8n's linter). */
export function listenerTriggerDescription(plugin: AnyChannelPlugin, declaration: ListenerTriggerDeclaration): Omit<INodeTypeDescription, 'icon'> {
	const notice = { displayName: declaration.setupNotice, name: 'setupNotice', type: 'notice' as const, default: '' };
	return { ...triggerDescriptionBase(plugin, declaration), properties: [notice, triggerOptionsProperty(plugin, declaration)] };
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
