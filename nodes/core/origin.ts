/**
 * Proof that an envelope was made by a Clawgate trigger. Items that no Clawgate trigger made (an
 * n8n Chat Trigger or Webhook body, passed through as the item) may carry fields shaped like an
 * envelope; without this proof they could name another person's session, claim their message
 * keys or route Reply to their chat. A trigger signs the fields that say whose conversation an
 * item belongs to with a key only the n8n instance holds; AI Session and Reply check it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import type { Envelope } from './envelope';

const VERSION = 'v1';

/** The fields that place a message in a conversation; text and attachments may be changed by the workflow. */
function identityOf(envelope: Pick<Envelope, 'sessionId' | 'channel' | 'via' | 'accountId' | 'chat' | 'sender' | 'message'>): string {
	return JSON.stringify([
		envelope.sessionId,
		envelope.channel,
		envelope.via ?? null,
		envelope.accountId,
		envelope.chat?.id,
		envelope.chat?.type,
		envelope.chat?.threadId ?? null,
		envelope.sender?.id,
		envelope.message?.id,
		envelope.message?.editedAt ?? null,
	]);
}

function signatureOf(envelope: Parameters<typeof identityOf>[0], key: Buffer): string {
	return `${VERSION}.${createHmac('sha256', key).update(identityOf(envelope)).digest('base64url')}`;
}

/** The envelope with its `origin` proof, last among its fields. */
export function signEnvelope(envelope: Envelope, key: Buffer): Envelope & { origin: string } {
	const fields: Envelope & { origin?: string } = { ...envelope };
	delete fields.origin;
	return { ...fields, origin: signatureOf(envelope, key) };
}

/** Whether an item's json is an envelope a Clawgate trigger made, unchanged in the fields that place it. */
export function isTriggerEnvelope(json: unknown, key: Buffer): boolean {
	if (typeof json !== 'object' || json === null) return false;
	const item = json as Partial<Envelope> & { origin?: unknown };
	if (typeof item.origin !== 'string' || typeof item.channel !== 'string' || typeof item.accountId !== 'string') return false;
	if (typeof item.chat !== 'object' || item.chat === null || typeof item.message !== 'object' || item.message === null) return false;
	const expected = Buffer.from(signatureOf(item as Envelope, key));
	const given = Buffer.from(item.origin);
	return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The namespace of conversations that no Clawgate trigger started (n8n Chat, Webhook, Set items). */
export const EXTERNAL_SESSION_PREFIX = 'chat:';
