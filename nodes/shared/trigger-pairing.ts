/**
 * DM pairing in n8n's terms, for webhook and listener triggers alike: the state (approved
 * senders, pending codes) lives in the trigger node's static data, and the codes and approvals
 * are sent through the plugin's own send path. The rules are core's (`nodes/core/pairing.ts`).
 *
 * n8n saves a webhook's changed static data once the webhook method returns, and a listener
 * trigger's when it next emits (an approval made through a listener is written to the database
 * with that trigger's next execution; until then it holds in the running trigger).
 */
import type { IDataObject, IWebhookFunctions } from 'n8n-workflow';

import type { AccessPolicy } from '../core/access-policy';
import type { AnyChannelPlugin } from '../core/channel';
import { deliverText } from '../core/outbound';
import { readPairingState, settlePairing, type PairingNotice, type PairingWork } from '../core/pairing';

/** The key under the node's static data: one name, so a user who looks at the workflow JSON sees what it is. */
const PAIRING_STATE_KEY = 'clawgatePairing';

/** How long a webhook waits for its pairing messages before it returns (the platform has its answer already); they go on in the background. */
const PAIRING_SEND_WAIT_MS = 3_000;

export type PairingContext = Pick<IWebhookFunctions, 'getWorkflowStaticData' | 'logger'>;

/** The policy with the senders approved by code, when the DM Policy is Pairing (under other policies they count for nothing). */
export function policyWithApprovedSenders(context: PairingContext, policy: AccessPolicy): AccessPolicy {
	if (policy.dmPolicy !== 'pairing') return policy;
	const state = readPairingState(context.getWorkflowStaticData('node')[PAIRING_STATE_KEY]);
	return { ...policy, approvedSenderIds: state.approvedSenderIds };
}

/** Posts each notice; a failure is logged and the others still go (a stranger's blocked DM must not keep the owner's answer). */
async function sendPairingNotices(context: PairingContext, plugin: AnyChannelPlugin, credential: unknown, notices: PairingNotice[]): Promise<void> {
	let client: unknown;
	try {
		client = await plugin.createClient(credential);
	} catch (error) {
		context.logger.warn(`${plugin.name} pairing: could not send ${notices.length} message(s): ${(error as Error).message}`);
		return;
	}
	for (const { target, text } of notices) {
		await deliverText(plugin, client, { ...target, markdown: text, replyToId: null, linkPreviews: false }).catch((error: unknown) => {
			context.logger.warn(`${plugin.name} pairing: could not send a message to chat ${target.chatId}: ${(error as Error).message}`);
		});
	}
}

/**
 * Settles a delivery's pairing work: the new state is written to static data at once (before any
 * wait), the log says what happened, and the messages are sent; resolves once they are sent or
 * after a few seconds, never rejects.
 */
export async function settlePairingWork(context: PairingContext, plugin: AnyChannelPlugin, credential: unknown, work: PairingWork, now = Date.now()): Promise<void> {
	const data = context.getWorkflowStaticData('node');
	const stored = readPairingState(data[PAIRING_STATE_KEY]);
	const settled = settlePairing(stored, work, now);
	if (settled.state !== stored) data[PAIRING_STATE_KEY] = settled.state as unknown as IDataObject;
	for (const line of settled.log) context.logger.info(`${plugin.name} pairing: ${line}`);
	if (settled.notices.length === 0) return;
	const sending = sendPairingNotices(context, plugin, credential, settled.notices);
	let timer: NodeJS.Timeout | undefined;
	const waited = new Promise<void>((resolve) => {
		timer = setTimeout(resolve, PAIRING_SEND_WAIT_MS);
	});
	await Promise.race([sending, waited]).finally(() => clearTimeout(timer));
}
