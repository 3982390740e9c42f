/**
 * The delivery journal in n8n's terms (core/journal.ts has the rules): the trigger option
 * "Delivery Guarantee", journaling before the platform is acknowledged, recovery on the leader
 * main, and what AI Session and the send nodes do with a journaled item.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	IHookFunctions,
	INodeCredentialDescription,
	INodeExecutionData,
	INodeProperties,
	IRun,
	ITriggerFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import { buildMessageKey, type Envelope } from '../core/envelope';
import {
	DEFAULT_RECOVERY,
	deliveryStampOf,
	itemOfEntry,
	recoveryStep,
	type DeliveryJournal,
	type DeliveryStamp,
	type JournalStoreKind,
	type RecoveryPolicy,
} from '../core/journal';
import { isTriggerEnvelope } from '../core/origin';
import type { SessionStore } from '../core/session/store';
import { envelopeOriginKey } from './origin-key';
import { sessionStoreFor, type N8nPostgresCredential, type N8nRedisCredential } from './session-stores';

type JournalStore = SessionStore & DeliveryJournal;
type AnyFunctions = IWebhookFunctions | ITriggerFunctions | IHookFunctions | IExecuteFunctions;

const showJournal = { deliveryGuarantee: ['journal'] };

/** The trigger's "Delivery Guarantee" parameters (top level: n8n shows credentials by top-level parameters only). */
export const deliveryGuaranteeProperties: INodeProperties[] = [
	{
		displayName: 'Delivery Guarantee',
		name: 'deliveryGuarantee',
		type: 'options',
		default: 'journal',
		options: [
			{
				name: 'At Least Once, With Journal',
				value: 'journal',
				description:
					'Each message is journaled before the platform is told it arrived; after a crash, restart or lost worker it is answered once (the stored answer is sent again, the model is not asked twice)',
			},
			{ name: 'Best Effort', value: 'bestEffort', description: 'Nothing is journaled: a crash can lose the messages n8n was answering' },
		],
		description: 'What happens to messages n8n has taken when it crashes. Needs a Clawgate send or Reply node after AI Session; without one the trigger runs best effort.',
	},
	{
		displayName: 'Journal Store',
		name: 'journalStore',
		type: 'options',
		default: 'sqlite',
		displayOptions: { show: showJournal },
		options: [
			{ name: 'SQLite (This N8n)', value: 'sqlite', description: 'A file in the n8n user folder; for one n8n, not for queue mode' },
			{ name: 'Redis', value: 'redis', description: "For queue mode, with n8n's Redis credential" },
			{ name: 'Postgres', value: 'postgres', description: "For queue mode, with n8n's Postgres credential" },
		],
		description: 'Where messages are journaled: choose the store of your AI Session node, and the same under "Delivery Receipts" of the send or Reply node',
	},
	{
		displayName: 'Recover After (Seconds)',
		name: 'recoverAfterSeconds',
		type: 'number',
		default: DEFAULT_RECOVERY.graceMs / 1000,
		typeOptions: { minValue: 5 },
		displayOptions: { show: showJournal },
		description: 'A journaled message whose answer has no delivery receipt this long after it started the workflow is run again (at most 5 times, within 24 hours)',
	},
];

/** The Redis and Postgres credentials a journal in them needs, shown only then. */
export function journalCredentials(parameter: 'journalStore' | 'receiptStore', extra: Record<string, string[]> = {}): INodeCredentialDescription[] {
	return (['redis', 'postgres'] as const).map((name) => ({
		name,
		required: true,
		displayOptions: { show: { ...extra, [parameter]: [name] } },
	}));
}

/** A node's own credentials followed by the journal's (a call, not a spread, so n8n's description linters can read the node file). */
export function withJournalCredentials(own: INodeCredentialDescription[], parameter: 'journalStore' | 'receiptStore', extra: Record<string, string[]> = {}): INodeCredentialDescription[] {
	return [...own, ...journalCredentials(parameter, extra)];
}

/** The send and Reply nodes' "Delivery Receipts" parameter: where the trigger journals. */
export const receiptStoreProperty: INodeProperties = {
	displayName: 'Delivery Receipts',
	name: 'receiptStore',
	type: 'options',
	default: 'sqlite',
	options: [
		{ name: 'SQLite (This N8n)', value: 'sqlite' },
		{ name: 'Redis', value: 'redis' },
		{ name: 'Postgres', value: 'postgres' },
	],
	description:
		"The trigger's Journal Store. A receipt of each sent answer is kept there, so a message is never answered twice after a crash. Used only for messages a trigger journaled.",
};

/** The Redis or Postgres journal each node run (one context) opened: its credential is read and decrypted once, not per item. */
const journalsOfRun = new WeakMap<AnyFunctions, Map<JournalStoreKind, Promise<JournalStore>>>();

/** The store of a journal kind (the trigger's Journal Store, a send node's Delivery Receipts), once per node run. */
export async function openJournal(context: AnyFunctions, kind: JournalStoreKind): Promise<JournalStore> {
	// The default SQLite file, whatever AI Session uses: the journal is the trigger's, in the n8n user folder.
	if (kind === 'sqlite') return sessionStoreFor({ kind: 'sqlite' }) as JournalStore;
	let opened = journalsOfRun.get(context);
	if (!opened) journalsOfRun.set(context, (opened = new Map()));
	let journal = opened.get(kind);
	if (!journal) {
		journal = (async () =>
			sessionStoreFor({
				kind,
				redis: kind === 'redis' ? ((await context.getCredentials('redis')) as unknown as N8nRedisCredential) : undefined,
				postgres: kind === 'postgres' ? ((await context.getCredentials('postgres')) as unknown as N8nPostgresCredential) : undefined,
			}) as JournalStore)();
		opened.set(kind, journal);
	}
	return await journal;
}

/** Clawgate nodes that write delivery receipts. */
function writesReceipts(type: string): boolean {
	return type.startsWith('n8n-nodes-clawgate.') && (type.endsWith('Send') || type.endsWith('.reply'));
}

export interface TriggerJournal {
	journal: DeliveryJournal;
	kind: JournalStoreKind;
	/** `workflowId:nodeId`: the trigger that re-emits its entries. */
	owner: string;
	recovery: RecoveryPolicy;
}

const warned = new Set<string>();

function warnOnce(context: AnyFunctions, owner: string, message: string): void {
	if (warned.has(`${owner}:${message}`)) return;
	warned.add(`${owner}:${message}`);
	context.logger.warn(message);
}

// The journal of each trigger node, kept a minute: reading the Redis or Postgres credential costs
// n8n an expression sandbox, which every delivery would otherwise pay.
const triggerJournals = new Map<string, { journal: TriggerJournal | null; until: number }>();

/** The trigger's journal, or null when it runs best effort (chosen, or nothing downstream could write receipts). */
export async function triggerJournalOf(context: IWebhookFunctions | ITriggerFunctions): Promise<TriggerJournal | null> {
	const node = context.getNode();
	const owner = `${String(context.getWorkflow().id ?? '')}:${node.id}`;
	const cacheKey = `${owner}:${context.getMode()}:${JSON.stringify(node.parameters)}:${JSON.stringify(node.credentials ?? {})}`;
	const cached = triggerJournals.get(cacheKey);
	if (cached && cached.until > Date.now()) return cached.journal;
	const journal = await resolveTriggerJournal(context, owner);
	if (triggerJournals.size > 1_000) triggerJournals.clear();
	triggerJournals.set(cacheKey, { journal, until: Date.now() + 60_000 });
	return journal;
}

async function resolveTriggerJournal(context: IWebhookFunctions | ITriggerFunctions, owner: string): Promise<TriggerJournal | null> {
	// A test event ("Listen for test event") is the editor's, never the published workflow's to run again.
	if (context.getMode() === 'manual') return null;
	if (context.getNodeParameter('deliveryGuarantee', 'journal') !== 'journal') return null;
	const node = context.getNode();
	if (!context.getChildNodes(node.name).some((child) => !child.disabled && writesReceipts(child.type))) {
		warnOnce(context, owner, `"${node.name}" runs best effort: no Clawgate send or Reply node follows it to record deliveries, so its journal would run every message again.`);
		return null;
	}
	const kind = context.getNodeParameter('journalStore', 'sqlite') as JournalStoreKind;
	if (kind === 'sqlite' && process.env.EXECUTIONS_MODE === 'queue') {
		warnOnce(context, owner, `"${node.name}" runs best effort: its Journal Store is SQLite, which queue-mode workers cannot reach. Choose Redis or Postgres.`);
		return null;
	}
	const seconds = Number(context.getNodeParameter('recoverAfterSeconds', DEFAULT_RECOVERY.graceMs / 1000));
	return {
		journal: await openJournal(context, kind),
		kind,
		owner,
		recovery: { ...DEFAULT_RECOVERY, graceMs: Math.max(5, Number.isFinite(seconds) ? seconds : 60) * 1000 },
	};
}

/**
 * Journaled messages this process has handed to n8n whose executions have not ended, by message
 * key. Recovery renews their entries rather than running them again: on a busy n8n an execution
 * can start later than the grace period, and a second run of it only adds load, which delays the
 * next executions further (a retry storm). A hold ends with its execution (n8n's done promise, or
 * AI Session or a send node in this process finishing with the message), and at the latest after
 * `HOLD_LIMIT_MS`, so an execution n8n lost without settling it is run again. A crash ends every
 * hold with the process, and recovery in the next one runs what was lost.
 */
const HOLD_LIMIT_MS = 10 * 60_000;
/**
 * A hold without a done promise (a webhook's execution: n8n tells a webhook nothing of its end)
 * only covers the time before AI Session takes the message; from then on AI Session's heartbeat
 * keeps the entry fresh. n8n on a saturated SQLite database can fail to create or start an
 * execution after the webhook handed it over (its write lock timed out: the execution stays
 * "new", or "running" with no node ever run) while its executions took up to two minutes to
 * start: measured beside the forged-input barrage. Such a message runs again after this instead.
 */
const START_LIMIT_MS = 3 * 60_000;
interface Hold {
	owner: string;
	until: number;
	byRecovery: boolean;
}
const holds = new Map<string, Hold>();

/** Holds the entry of `json` (a journaled envelope) while its execution runs; `done` settles when it ends (null: until AI Session takes it). */
export function holdWhileRunning(journal: TriggerJournal, json: IDataObject, done: Promise<unknown> | null, byRecovery = false): void {
	const key = buildMessageKey(json as unknown as Envelope);
	const hold: Hold = { owner: journal.owner, until: Date.now() + (done ? HOLD_LIMIT_MS : START_LIMIT_MS), byRecovery };
	holds.set(key, hold);
	const end = () => {
		if (holds.get(key) === hold) holds.delete(key);
	};
	done?.then(end, end);
}

/** A node in this process finished with the message: its entry is recovery's again once overdue. */
export function releaseHold(key: string): void {
	holds.delete(key);
}

/** The live holds of `owner` (expired ones dropped), and how many of them recovery emitted. */
export function holdsOf(owner: string, now = Date.now()): { keys: string[]; byRecovery: number } {
	const keys: string[] = [];
	let byRecovery = 0;
	for (const [key, hold] of holds) {
		if (hold.until <= now) holds.delete(key);
		else if (hold.owner === owner) {
			keys.push(key);
			if (hold.byRecovery) byRecovery++;
		}
	}
	return { keys, byRecovery };
}

/**
 * Journals the items of one delivery before the platform is acknowledged: each gets its delivery
 * stamp; an item whose message was journaled before (a redelivery) is dropped, since recovery
 * owns it now. Throws when the journal cannot be written: the platform must then deliver again.
 */
export async function journalItems(journal: TriggerJournal, items: INodeExecutionData[], now = Date.now()): Promise<{ kept: INodeExecutionData[]; dropped: string[] }> {
	const kept: INodeExecutionData[] = [];
	const dropped: string[] = [];
	for (const item of items) {
		const envelope = item.json as unknown as Envelope;
		const key = buildMessageKey(envelope);
		const outcome = await journal.journal.record({ key, sessionId: envelope.sessionId, owner: journal.owner, item: item.json, receivedAt: now });
		if (outcome.kind === 'known') {
			dropped.push(`message ${envelope.message.id} was journaled before (${outcome.state}); recovery answers it if it is not delivered`);
			continue;
		}
		const stamp: DeliveryStamp = { journal: journal.kind, seq: outcome.seq, attempt: 1 };
		kept.push({ ...item, json: { ...item.json, delivery: stamp as unknown as IDataObject } });
	}
	return { kept, dropped };
}

/**
 * Recovery on the leader main (n8n runs `trigger()` there only): journaled messages without a
 * delivery receipt are emitted again once overdue, and given up on (emitted once more, marked)
 * after the attempt or age limit. Entries this process holds (their executions are still running)
 * are renewed instead, and at most `recovery.inFlight` re-emitted executions run at once; when one
 * ends, the next overdue entry is taken. Returns the function that stops it.
 */
export function startRecovery(context: ITriggerFunctions, journal: TriggerJournal): () => Promise<void> {
	const { recovery } = journal;
	let running: Promise<void> | null = null;
	let again = false;
	let stopped = false;
	// Engine 2.0 workflows take no done promise: their executions are neither held nor counted.
	const awaitable = (context.getWorkflowSettings() as IDataObject).engineType !== 'v2';
	const emitHeld = (item: Record<string, unknown>) => {
		if (!awaitable) return context.emit([context.helpers.returnJsonArray([item as IDataObject])]);
		const done = context.helpers.createDeferredPromise<IRun>();
		holdWhileRunning(journal, item as IDataObject, done.promise, true);
		done.promise.then(tick, tick);
		context.emit([context.helpers.returnJsonArray([item as IDataObject])], undefined, done);
	};
	const look = async () => {
		const now = Date.now();
		const held = holdsOf(journal.owner, now);
		if (held.keys.length > 0) await journal.journal.touch(held.keys, now);
		const room = recovery.inFlight - held.byRecovery;
		if (room <= 0) return;
		// Each further attempt of one message waits twice as long as the one before.
		const due = await journal.journal.takeOverdue(journal.owner, now - recovery.graceMs, now, Math.min(recovery.batch, room), recovery.graceMs);
		for (const entry of due) {
			if (stopped) return;
			const step = recoveryStep(entry, recovery, now);
			if (step.kind === 'give-up') {
				await journal.journal.abandon(entry.key, step.reason);
				context.logger.warn(`${step.reason} (message ${entry.key})`);
				emitHeld(itemOfEntry(entry, journal.kind, step.reason));
			} else {
				context.logger.info(`Running message ${entry.key} again (attempt ${entry.attempts}): it has no delivery receipt.`);
				emitHeld(itemOfEntry(entry, journal.kind));
			}
		}
	};
	function tick(): void {
		if (stopped) return;
		if (running) {
			again = true;
			return;
		}
		again = false;
		running = look()
			.catch((error: unknown) => context.logger.warn(`Clawgate journal recovery: ${(error as Error).message}`))
			.finally(() => {
				running = null;
				if (again) tick();
			});
	}
	tick();
	const timer = setInterval(tick, recovery.intervalMs);
	timer.unref?.();
	return async () => {
		stopped = true;
		clearInterval(timer);
		await running;
	};
}

/** A webhook trigger's `trigger()`: nothing to hold open but recovery (n8n also needs a running trigger to count it active). */
export function recoveryTrigger() {
	return async function (this: ITriggerFunctions) {
		if (this.getMode() === 'manual') return { closeFunction: async () => {} };
		const journal = await triggerJournalOf(this);
		const stop = journal ? startRecovery(this, journal) : null;
		return { closeFunction: async () => await stop?.() };
	};
}

/** The journal an item names, when a Clawgate trigger signed and journaled it; null for every other item. */
export async function journalOfItem(
	context: IExecuteFunctions,
	json: IDataObject,
	/** The node's own store (AI Session), used when the item's journal is of its kind. */
	own?: { kind: string; store: SessionStore },
	/** The parameter naming the node's receipt store (send nodes), when it has one. */
	parameter?: string,
	itemIndex = 0,
): Promise<{ journal: DeliveryJournal; stamp: DeliveryStamp; key: string } | null> {
	const stamp = deliveryStampOf(json);
	if (!stamp || !isTriggerEnvelope(json, envelopeOriginKey())) return null;
	const key = buildMessageKey(json as unknown as Envelope);
	if (stamp.journal === 'sqlite') return { journal: (await openJournal(context, 'sqlite')) as DeliveryJournal, stamp, key };
	if (own?.kind === stamp.journal) return { journal: own.store as unknown as DeliveryJournal, stamp, key };
	if (parameter && context.getNodeParameter(parameter, itemIndex, 'sqlite') === stamp.journal) return { journal: await openJournal(context, stamp.journal), stamp, key };
	const where = stamp.journal === 'redis' ? 'Redis' : 'Postgres';
	throw new Error(
		`This message was journaled in ${where} by its trigger (Delivery Guarantee). Choose ${where} here too (${parameter ? '"Delivery Receipts"' : '"Store"'}, with the same credential), or set the trigger's Delivery Guarantee to Best Effort.`,
	);
}

/**
 * Holds a journaled message while an earlier message of its session is journaled and unanswered
 * (answered in the order the platform delivered, also across queue-mode workers), for at most
 * `waitMs` ("Wait For Earlier Messages"); then it goes ahead, so a message that never reaches AI
 * Session (filtered out by the workflow, lost with its worker) holds the session back no longer.
 */
export async function waitForEarlierMessages(journaled: { journal: DeliveryJournal; stamp: DeliveryStamp }, sessionId: string, waitMs: number): Promise<void> {
	const started = Date.now();
	let pause = 20;
	for (;;) {
		// Where the store announces settled messages (Postgres), the wait ends at the announcement and polls only slowly.
		const watch = journaled.journal.watchSession?.(sessionId);
		try {
			if (Date.now() - started >= waitMs || !(await journaled.journal.hasEarlierPending(sessionId, journaled.stamp.seq, started - waitMs))) return;
			const ms = Math.min(watch?.listening ? 1_000 : pause, Math.max(0, waitMs - (Date.now() - started)));
			let timer: NodeJS.Timeout | undefined;
			await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), watch?.changed].filter(Boolean));
			clearTimeout(timer);
		} finally {
			watch?.stop();
		}
		pause = Math.min(pause * 2, 250);
	}
}

/**
 * How long a send node's claim on an answer lasts unless renewed: a live send renews it every
 * third of this (a send that waits out 429s keeps it); a send on a worker that died frees it soon,
 * well before recovery's next attempt.
 */
const CLAIM_LEASE_MS = 30_000;

export type Delivery<T> = { kind: 'sent'; sent: T } | { kind: 'skipped'; reason: string };

/**
 * Sends an item's answer at most once per sending node: an item a trigger journaled is claimed
 * first (skipped when this node delivered it before, or another execution is delivering it now),
 * and its receipt is written once the platform accepted it. Other items are sent as they are.
 */
export async function deliverOnce<T extends { messageIds: string[] }>(context: IExecuteFunctions, json: IDataObject, itemIndex: number, send: () => Promise<T>): Promise<Delivery<T>> {
	const journaled = await journalOfItem(context, json, undefined, 'receiptStore', itemIndex);
	if (!journaled) return { kind: 'sent', sent: await send() };
	if (journaled.stamp.gaveUp) throw new Error(journaled.stamp.gaveUp);
	const sender = context.getNode().name;
	const claimant = `${context.getExecutionId()}:${itemIndex}`;
	const claim = await journaled.journal.claimDelivery(journaled.key, sender, claimant, CLAIM_LEASE_MS);
	if (claim === 'delivered') return { kind: 'skipped', reason: 'delivered before' };
	if (claim === 'busy') return { kind: 'skipped', reason: 'another execution is delivering it' };
	const renewal = setInterval(() => void journaled.journal.claimDelivery(journaled.key, sender, claimant, CLAIM_LEASE_MS).catch(() => undefined), CLAIM_LEASE_MS / 3);
	renewal.unref?.();
	const sent = await send()
		.catch(async (error: unknown) => {
			// Freed for the next attempt, with the reason kept for when Clawgate gives up; recovery's once overdue.
			await journaled.journal.releaseClaim(journaled.key, sender, claimant, (error as Error).message).catch(() => undefined);
			releaseHold(journaled.key);
			throw error;
		})
		.finally(() => clearInterval(renewal));
	await journaled.journal.recordReceipt(journaled.key, sender, claimant, sent.messageIds);
	releaseHold(journaled.key);
	return { kind: 'sent', sent };
}

/** How often an execution working on a journaled message says so (`touch`), well inside the shortest grace period (5 s). */
const HEARTBEAT_MS = 2_000;

/**
 * Runs `work` on a journaled message while telling the journal it is alive, so recovery does not
 * run it a second time while a slow model, a wait for earlier messages or a busy n8n holds it up.
 */
export async function whileWorkingOn<T>(journaled: { journal: DeliveryJournal; key: string } | null, work: () => Promise<T>): Promise<T> {
	if (!journaled) return await work();
	const touch = () => void journaled.journal.touch([journaled.key], Date.now()).catch(() => undefined);
	touch();
	const heartbeat = setInterval(touch, HEARTBEAT_MS);
	heartbeat.unref?.();
	try {
		return await work();
	} finally {
		clearInterval(heartbeat);
		releaseHold(journaled.key);
	}
}
