/**
 * One webhook delivery through the shared trigger pipeline, as a function of the request (no n8n
 * here, so every channel's path is unit-tested the same way): proof of origin, then parsing,
 * redelivery, the platform's own skips and the access policy. The n8n glue only reads the
 * credential when asked and answers what this decides; with DM Policy Pairing it also settles the
 * pairing work this hands it (codes for strangers, owners' `/pair`), which never starts an execution.
 */
import type { AccessPolicy } from './access-policy';
import { admitMessage } from './admission';
import type { AnyChannelPlugin, ChannelPlugin, WebhookAnswer, WebhookContext, WebhookRequest } from './channel';
import { stampVia, type Envelope, type SessionScope } from './envelope';
import { InvalidPayloadError } from './errors';
import type { PairingWork } from './pairing';
import type { RecentKeys } from './recent-keys';

export type WebhookOutcome =
	| { kind: 'forged'; answer: WebhookAnswer; reason: string }
	| { kind: 'invalid'; answer: WebhookAnswer; reason: string }
	| { kind: 'answered'; answer: WebhookAnswer; reason: string }
	/**
	 * `envelopes` may be empty: everything in the delivery was dropped (`dropped` says why).
	 * `pairing` is there only when the delivery holds pairing work (DM Policy Pairing): strangers'
	 * direct messages and owners' `/pair` commands, which are in `dropped` too and start nothing.
	 */
	| { kind: 'taken'; answer: WebhookAnswer; envelopes: Envelope[]; dropped: string[]; credential: unknown; pairing?: PairingWork };

export interface WebhookDeliveryInput<Credential> {
	request: WebhookRequest;
	context: WebhookContext;
	/**
	 * The credential to check the proof with, and whether the proof holds with it; called only for
	 * requests that carry a proof (n8n's credential read is not free).
	 */
	credentialFor(verifies: (credential: Credential) => boolean): Promise<{ credential: Credential; verified: boolean }>;
	policy: AccessPolicy;
	sessionScope: SessionScope;
	/**
	 * Deliveries seen lately; keys are kept apart per trigger by the webhook ID. Null where the
	 * trigger's delivery journal drops redeliveries itself: a key remembered here before the message
	 * was journaled would drop the platform's redelivery of a delivery that then failed (the
	 * journal unreachable, n8n killed), and the message would be acknowledged and never answered.
	 */
	recent: RecentKeys | null;
}

function refused(plugin: AnyChannelPlugin, kind: 'forged' | 'invalid', status: number, reason: string): WebhookOutcome {
	const answer = plugin.webhook?.refusal?.(status, reason) ?? { status, body: { error: reason } };
	return { kind, answer, reason };
}

export async function handleWebhookDelivery<Credential, Client>(plugin: ChannelPlugin<Credential, Client>, input: WebhookDeliveryInput<Credential>): Promise<WebhookOutcome> {
	const inbound = plugin.webhook;
	if (!inbound) throw new Error(`${plugin.name} receives messages through a listener, not a webhook.`);
	const { request, context } = input;
	const missing = inbound.missingProof(request, context);
	if (missing !== null) return refused(plugin, 'forged', 401, missing);
	const checked = await input.credentialFor((candidate) => inbound.disproof(request, candidate, context) === null);
	const { credential } = checked;
	let { verified } = checked;
	// Keys the platform publishes are fetched once the credential says where, then the proof is checked again.
	if (!verified && inbound.fetchProofKeys) {
		await inbound.fetchProofKeys(request, credential, context);
		verified = inbound.disproof(request, credential, context) === null;
	}
	if (!verified) return refused(plugin, 'forged', 401, inbound.disproof(request, credential, context) ?? 'The request is not signed for this webhook.');

	let receipt;
	try {
		receipt = await inbound.receive(request, credential, context, { policy: input.policy, sessionScope: input.sessionScope });
	} catch (error) {
		if (error instanceof InvalidPayloadError) return refused(plugin, 'invalid', 400, error.message);
		throw error;
	}
	if (receipt.kind === 'answer') return { kind: 'answered', answer: receipt.answer, reason: receipt.reason };

	const envelopes: Envelope[] = [];
	const dropped: string[] = [];
	const pairing: PairingWork = { requests: [], commands: [] };
	for (const event of receipt.events) {
		// Remembered before anything else can wait, so a redelivery racing the first one is caught too.
		if (input.recent && !input.recent.remember(`${context.webhookId}:${event.dedupeKey}`, context.now)) {
			dropped.push(`${event.dedupeKey}: a redelivery of an event already received`);
			continue;
		}
		if (!event.envelope) {
			dropped.push(`${event.dedupeKey}: ${event.skipped ?? 'not a message this trigger emits'}`);
			continue;
		}
		const envelope = stampVia(event.envelope, plugin.id);
		const admission = admitMessage(plugin, envelope, event.facts, input.policy);
		if (admission.kind === 'pair-command') pairing.commands.push(admission.command);
		if (admission.kind === 'pairing-request') pairing.requests.push(admission.request);
		if (admission.kind !== 'emit') {
			dropped.push(`${event.dedupeKey}: ${admission.reason}`);
			continue;
		}
		envelopes.push(envelope);
	}
	const hasPairingWork = pairing.requests.length > 0 || pairing.commands.length > 0;
	return { kind: 'taken', answer: inbound.acknowledgement, envelopes, dropped, credential, ...(hasPairingWork ? { pairing } : {}) };
}
