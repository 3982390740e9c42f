/**
 * The listener trigger pipeline in n8n's terms: a connection n8n holds open while the workflow
 * is active (Discord's gateway), its envelopes emitted as executions, "Listen for test event"
 * taking the first message only, and the connection closed on deactivation. The platform part
 * is a `start` function; the decisions (redelivery, access policy) happen inside it, through core.
 */
import { type IDataObject, type ITriggerFunctions, type ITriggerResponse } from 'n8n-workflow';

import type { AccessFacts, AccessPolicy } from '../core/access-policy';
import { admitMessage, pairingWorkOf } from '../core/admission';
import type { AnyChannelPlugin } from '../core/channel';
import { stampVia, type Envelope } from '../core/envelope';
import { signEnvelope } from '../core/origin';
import { journalItems, startRecovery, triggerJournalOf } from './delivery-journal';
import { asActivationError, asNodeError } from './node-errors';
import { envelopeOriginKey } from './origin-key';
import { policyWithApprovedSenders, settlePairingWork } from './trigger-pairing';

export interface ListenerHandlers {
	onEnvelope(envelope: Envelope): void;
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
	let stopRecovery: (() => Promise<void>) | null = null;
	try {
		const journal = manual ? null : await triggerJournalOf(context);
		const emit = (json: IDataObject) => context.emit([context.helpers.returnJsonArray([json])]);
		listener = await start({
			onEnvelope: (envelope) => {
				// "Listen for test event" takes the first message only.
				if (manual && emitted) return;
				emitted = true;
				// `context.emit` is read at call time: in manual mode n8n swaps it after trigger() returns.
				const json = signEnvelope(stampVia(envelope, plugin.id), envelopeOriginKey()) as unknown as IDataObject;
				if (!journal) return emit(json);
				journalItems(journal, [{ json }]).then(
					({ kept }) => kept.forEach((item) => emit(item.json)),
					(error: unknown) => {
						// The platform has no redelivery to fall back on: the message still runs, unjournaled.
						context.logger.warn(`${plugin.name} message ${envelope.message.id} runs without the delivery journal, which failed: ${(error as Error).message}`);
						emit(json);
					},
				);
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
