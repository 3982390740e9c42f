/**
 * What becomes of one inbound message once its platform has had its say: emitted, dropped (and
 * why), or pairing work (a stranger's code, an owner's `/pair`). One decision for every
 * trigger, whether messages arrive by webhook or through a listener.
 */
import { decideAccess, type AccessFacts, type AccessPolicy } from './access-policy';
import type { AnyChannelPlugin } from './channel';
import type { Envelope } from './envelope';
import { pairCommandOf, pairingRequestOf, type PairCommand, type PairingRequest, type PairingWork } from './pairing';

export type Admission =
	| { kind: 'emit' }
	| { kind: 'drop'; reason: string }
	/** An owner's `/pair CODE`: answered, never emitted. */
	| { kind: 'pair-command'; command: PairCommand; reason: string }
	/** A stranger's DM under DM Policy Pairing: a code goes back, nothing is emitted. */
	| { kind: 'pairing-request'; request: PairingRequest; reason: string };

export function admitMessage(plugin: AnyChannelPlugin, envelope: Envelope, facts: AccessFacts, policy: AccessPolicy): Admission {
	const command = pairCommandOf(plugin, envelope, facts, policy);
	if (command) return { kind: 'pair-command', command, reason: "an owner's /pair command, answered without an execution" };
	const access = decideAccess(envelope, facts, policy);
	if (access.allowed === true) return { kind: 'emit' };
	if (access.allowed === 'pairing') return { kind: 'pairing-request', request: pairingRequestOf(plugin, envelope, facts, access.reason), reason: access.reason };
	return { kind: 'drop', reason: access.reason };
}

/** The pairing work of one admission, or null when there is none. */
export function pairingWorkOf(admission: Admission): PairingWork | null {
	if (admission.kind === 'pair-command') return { requests: [], commands: [admission.command] };
	if (admission.kind === 'pairing-request') return { requests: [admission.request], commands: [] };
	return null;
}
