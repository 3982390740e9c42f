/**
 * DM pairing (DESIGN.md "Channels", DM Policy `pairing`, after OpenClaw's model): a stranger who
 * writes to the bot in a direct message gets a one-time code instead of an answer; an owner (a
 * sender in Allowed Senders) approves it with `/pair <CODE>` in any chat the bot sees, or adds
 * the stranger to Allowed Senders in n8n. Nothing reaches the model before.
 *
 * Plain functions over a small serialisable state that the n8n glue keeps in the trigger node's
 * static data; no n8n, no I/O, the time passed in. Every step returns a new state.
 */
import { randomInt } from 'node:crypto';

import type { AccessFacts, AccessPolicy } from './access-policy';
import type { AnyChannelPlugin } from './channel';
import { parseCommand, type Envelope } from './envelope';

/** No 0/O and 1/I, which people mix up when they read a code aloud or retype it. */
export const PAIRING_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** 32^8 ≈ 10^12 codes; only owners can try one, so guessing is no attack. */
export const PAIRING_CODE_LENGTH = 8;
export const PAIRING_CODE_TTL_MS = 60 * 60 * 1000;
/** Strangers waiting at once per trigger: a fourth gets nothing until a code expires or is approved, so nobody can make the bot spam. */
export const MAX_PENDING_PAIRINGS = 3;
/** A stranger who writes again is reminded of their code at most this often. */
export const PAIRING_REMINDER_INTERVAL_MS = 60 * 1000;
/** Approvals kept in the workflow's static data; beyond this, owners list people in Allowed Senders. */
export const MAX_APPROVED_SENDERS = 1_000;

/** The owner's command: `/pair ABCD2345`. */
export const PAIR_COMMAND = 'pair';

/** Where a message to a person goes (the plugin's reply target of their message). */
export interface PairingTarget {
	chatId: string;
	threadId: string | null;
	/** The account that received their message (Twilio answers from it). */
	accountId: string | null;
}

export interface PendingPairing {
	code: string;
	/** As Allowed Senders names the sender (`senderListedAs`, else `sender.id`). */
	senderId: string;
	senderName: string | null;
	/** Where the stranger is told their code, and later that they were approved. */
	target: PairingTarget;
	createdAt: number;
	lastNotifiedAt: number;
}

/** What a trigger node keeps: JSON, bounded (MAX_PENDING_PAIRINGS, MAX_APPROVED_SENDERS). */
export interface PairingState {
	approvedSenderIds: string[];
	pending: PendingPairing[];
}

/** A stranger's direct message that the access policy handed to pairing. */
export interface PairingRequest {
	envelope: Envelope;
	/** Why it starts no execution (the access decision's reason). */
	reason: string;
	senderId: string;
	senderName: string | null;
	target: PairingTarget;
}

/** An owner's `/pair <CODE>`: approves the code's sender and starts no execution. */
export interface PairCommand {
	envelope: Envelope;
	/** Upper case, as issued; empty when the owner wrote `/pair` alone. */
	code: string;
	ownerId: string;
	/** Where the owner is answered: the chat (and thread) of the command. */
	target: PairingTarget;
}

/** A delivery's pairing work, for the n8n glue to settle against the stored state. */
export interface PairingWork {
	requests: PairingRequest[];
	commands: PairCommand[];
}

/** A message the glue sends (Markdown, through the plugin's renderer and limits). */
export interface PairingNotice {
	target: PairingTarget;
	text: string;
}

export const emptyPairingState = (): PairingState => ({ approvedSenderIds: [], pending: [] });

const isString = (value: unknown): value is string => typeof value === 'string' && value !== '';
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The state as stored, defensively: static data is JSON anyone can edit, so what does not fit is left out. */
export function readPairingState(stored: unknown): PairingState {
	if (typeof stored !== 'object' || stored === null) return emptyPairingState();
	const { approvedSenderIds, pending } = stored as Partial<Record<keyof PairingState, unknown>>;
	const approved = Array.isArray(approvedSenderIds) ? approvedSenderIds.filter(isString) : [];
	const codes = (Array.isArray(pending) ? pending : []).filter((entry): entry is PendingPairing => {
		const candidate = entry as Partial<PendingPairing> | null;
		return (
			typeof candidate === 'object' &&
			candidate !== null &&
			isString(candidate.code) &&
			isString(candidate.senderId) &&
			isTime(candidate.createdAt) &&
			isTime(candidate.lastNotifiedAt) &&
			typeof candidate.target === 'object' &&
			candidate.target !== null &&
			isString(candidate.target.chatId)
		);
	});
	return { approvedSenderIds: [...new Set(approved)].slice(-MAX_APPROVED_SENDERS), pending: codes.slice(-MAX_PENDING_PAIRINGS) };
}

/** A fresh code from `crypto.randomInt` (injectable for tests). */
export function newPairingCode(draw: (max: number) => number = randomInt): string {
	let code = '';
	for (let i = 0; i < PAIRING_CODE_LENGTH; i++) code += PAIRING_CODE_ALPHABET[draw(PAIRING_CODE_ALPHABET.length)];
	return code;
}

/** The state without the codes older than an hour. */
export function withoutExpiredPairings(state: PairingState, now: number): PairingState {
	const pending = state.pending.filter((entry) => now - entry.createdAt < PAIRING_CODE_TTL_MS);
	return pending.length === state.pending.length ? state : { ...state, pending };
}

export type PairingRequestResult =
	/** A new code: tell the stranger. */
	| { kind: 'issued'; pending: PendingPairing }
	/** Their code from before, last told over a minute ago: tell them again. */
	| { kind: 'reminded'; pending: PendingPairing }
	/** Their code from before, told them within the last minute: say nothing. */
	| { kind: 'quiet'; pending: PendingPairing }
	/** MAX_PENDING_PAIRINGS others are waiting: nothing is issued or sent. */
	| { kind: 'full' }
	| { kind: 'approved' };

/** A stranger asks (by writing to the bot): their code, new or existing, or nothing when three others are waiting. */
export function requestPairing(
	state: PairingState,
	request: Pick<PairingRequest, 'senderId' | 'senderName' | 'target'>,
	now: number,
	draw?: (max: number) => number,
): { state: PairingState; result: PairingRequestResult } {
	const current = withoutExpiredPairings(state, now);
	if (current.approvedSenderIds.includes(request.senderId)) return { state: current, result: { kind: 'approved' } };
	const existing = current.pending.find((entry) => entry.senderId === request.senderId);
	if (existing) {
		if (now - existing.lastNotifiedAt < PAIRING_REMINDER_INTERVAL_MS) return { state: current, result: { kind: 'quiet', pending: existing } };
		const reminded = { ...existing, target: request.target, lastNotifiedAt: now };
		return { state: { ...current, pending: current.pending.map((entry) => (entry === existing ? reminded : entry)) }, result: { kind: 'reminded', pending: reminded } };
	}
	if (current.pending.length >= MAX_PENDING_PAIRINGS) return { state: current, result: { kind: 'full' } };
	let code = newPairingCode(draw);
	while (current.pending.some((entry) => entry.code === code)) code = newPairingCode(draw);
	const issued: PendingPairing = { code, senderId: request.senderId, senderName: request.senderName, target: request.target, createdAt: now, lastNotifiedAt: now };
	return { state: { ...current, pending: [...current.pending, issued] }, result: { kind: 'issued', pending: issued } };
}

export type PairingApprovalResult = { kind: 'approved'; pending: PendingPairing } | { kind: 'unknown' } | { kind: 'full' };

/** An owner approves a code: its sender joins the approved senders. Unknown and expired codes approve nobody. */
export function approvePairing(state: PairingState, code: string, now: number): { state: PairingState; result: PairingApprovalResult } {
	const current = withoutExpiredPairings(state, now);
	const wanted = normalizePairingCode(code);
	const pending = current.pending.find((entry) => entry.code === wanted);
	if (!pending) return { state: current, result: { kind: 'unknown' } };
	if (current.approvedSenderIds.length >= MAX_APPROVED_SENDERS) return { state: current, result: { kind: 'full' } };
	return {
		state: { approvedSenderIds: [...current.approvedSenderIds.filter((id) => id !== pending.senderId), pending.senderId], pending: current.pending.filter((entry) => entry !== pending) },
		result: { kind: 'approved', pending },
	};
}

/** How people may type a code: any case, with spaces or a dash in the middle. */
export function normalizePairingCode(code: string): string {
	return code.replace(/[\s-]+/g, '').toUpperCase();
}

/** Where a message to the sender of `envelope` goes: the plugin's reply target (a Discord thread, Twilio's receiving number). */
export function pairingTargetOf(plugin: AnyChannelPlugin, envelope: Envelope, inThread: boolean): PairingTarget {
	const target = plugin.outbound.replyTarget?.(envelope, inThread) ?? { chatId: envelope.chat.id, threadId: inThread ? envelope.chat.threadId : null };
	return { ...target, accountId: envelope.accountId };
}

/** The pairing request of a stranger's direct message that the access policy decided `pairing` for. */
export function pairingRequestOf(plugin: AnyChannelPlugin, envelope: Envelope, facts: AccessFacts, reason: string): PairingRequest {
	return { envelope, reason, senderId: facts.senderListedAs ?? envelope.sender.id, senderName: envelope.sender.name ?? envelope.sender.username ?? null, target: pairingTargetOf(plugin, envelope, false) };
}

/**
 * The owner's `/pair <CODE>` in a message, or null when the message is none: only with DM Policy
 * Pairing, only from a person listed in Allowed Senders (approved strangers cannot approve others),
 * in any chat, and never a command addressed to another bot (`/pair@otherbot`).
 */
export function pairCommandOf(plugin: AnyChannelPlugin, envelope: Envelope, facts: AccessFacts, policy: AccessPolicy): PairCommand | null {
	if (policy.dmPolicy !== 'pairing' || facts.fromSelf || envelope.sender.isBot) return null;
	const parsed = parseCommand(envelope.message.text ?? '');
	if (parsed?.command !== PAIR_COMMAND) return null;
	if (parsed.addressee && envelope.message.command !== PAIR_COMMAND) return null;
	const ownerId = facts.senderListedAs ?? envelope.sender.id;
	if (!policy.allowedSenderIds.includes(ownerId)) return null;
	return { envelope, code: normalizePairingCode(parsed.args), ownerId, target: pairingTargetOf(plugin, envelope, true) };
}

const nameOf = (pending: Pick<PendingPairing, 'senderId' | 'senderName'>) => (pending.senderName ? `${pending.senderName} (${pending.senderId})` : pending.senderId);

/** The stranger's message: their code, how long it holds, and what the owner does with it. */
export function pairingCodeMessage(pending: PendingPairing): string {
	return [
		'This bot answers approved people only, and your messages were not passed on.',
		`Your pairing code: \`${pending.code}\` (valid for 1 hour).`,
		`Send it to the bot's owner; they approve it by writing \`/${PAIR_COMMAND} ${pending.code}\` to the bot.`,
	].join('\n\n');
}

export const PAIRING_WELCOME_MESSAGE = 'You are approved: you can now talk to the bot.';

/**
 * Settles a delivery's pairing work against the stored state: approvals first (they free places),
 * then requests. Returns the new state, the messages to send, and a line for the log per step.
 */
export function settlePairing(
	state: PairingState,
	work: PairingWork,
	now: number,
	draw?: (max: number) => number,
): { state: PairingState; notices: PairingNotice[]; log: string[] } {
	let current = withoutExpiredPairings(state, now);
	const notices: PairingNotice[] = [];
	const log: string[] = [];
	for (const command of work.commands) {
		if (!command.code) {
			notices.push({ target: command.target, text: `Write the code after the command: \`/${PAIR_COMMAND} ABCD2345\`.` });
			log.push(`owner ${command.ownerId} sent /${PAIR_COMMAND} without a code`);
			continue;
		}
		const approval = approvePairing(current, command.code, now);
		current = approval.state;
		if (approval.result.kind === 'approved') {
			const { pending } = approval.result;
			notices.push({ target: command.target, text: `Approved ${nameOf(pending)}.` }, { target: pending.target, text: PAIRING_WELCOME_MESSAGE });
			log.push(`owner ${command.ownerId} approved sender ${pending.senderId} (code ${pending.code})`);
		} else if (approval.result.kind === 'full') {
			notices.push({ target: command.target, text: `No more people can be approved by code (${MAX_APPROVED_SENDERS} are). Add them to "Allowed Senders" in n8n instead.` });
			log.push(`owner ${command.ownerId} could not approve code ${command.code}: ${MAX_APPROVED_SENDERS} senders are approved already`);
		} else {
			notices.push({ target: command.target, text: `No pending pairing code ${command.code}. Codes hold for 1 hour; the person gets a new one by writing to the bot again.` });
			log.push(`owner ${command.ownerId} sent an unknown or expired pairing code`);
		}
	}
	for (const request of work.requests) {
		const asked = requestPairing(current, request, now, draw);
		current = asked.state;
		const { result } = asked;
		if (result.kind === 'issued' || result.kind === 'reminded') {
			notices.push({ target: result.pending.target, text: pairingCodeMessage(result.pending) });
			log.push(`sender ${request.senderId} ${result.kind === 'issued' ? 'was given pairing code' : 'was reminded of pairing code'} ${result.pending.code}`);
		} else if (result.kind === 'quiet') {
			log.push(`sender ${request.senderId} wrote again within a minute of being told their pairing code; not told again`);
		} else if (result.kind === 'full') {
			log.push(`sender ${request.senderId} got no pairing code: ${MAX_PENDING_PAIRINGS} codes are pending (they expire after 1 hour)`);
		}
	}
	return { state: current, notices, log };
}
