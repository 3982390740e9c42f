import type { IWebhookFunctions } from 'n8n-workflow';

/**
 * Credentials that webhook triggers read recently, by workflow, node and credential, for a
 * short time. Each `getCredentials()` costs n8n a fresh expression sandbox (several ms of CPU
 * with its default isolated-vm engine), and a trigger needs its credential for every request,
 * so without this every delivery, forged or not, would pay for one. Process memory only: each
 * webhook process keeps its own entries, and nothing in them needs sharing.
 */
export class RecentWebhookCredentials {
	private readonly kept = new Map<string, { credential: unknown; readAt: number }>();

	constructor(
		/** Long enough to spare a busy webhook most reads; short, since a change to a field other than the secret shows only once it ends. */
		private readonly ttlMs = 60_000,
		/** One entry per active trigger node and credential; the bound only guards against unusual setups. */
		private readonly maxEntries = 1_000,
	) {}

	/** The credential kept under `key`, or undefined when there is none younger than the TTL. */
	get(key: string, now = Date.now()): unknown {
		const entry = this.kept.get(key);
		if (entry && now - entry.readAt < this.ttlMs) return entry.credential;
		this.kept.delete(key);
		return undefined;
	}

	set(key: string, credential: unknown, now = Date.now()): void {
		this.kept.delete(key);
		this.kept.set(key, { credential, readAt: now });
		// Oldest reads first (Map keeps insertion order, and set re-inserts).
		for (const [oldest, entry] of this.kept) {
			if (this.kept.size <= this.maxEntries && now - entry.readAt < this.ttlMs) break;
			this.kept.delete(oldest);
		}
	}

	get size(): number {
		return this.kept.size;
	}
}

const recentCredentials = new RecentWebhookCredentials();

/** Another workflow, node or credential never shares an entry. */
function keyOf(context: IWebhookFunctions, type: string): string {
	const node = context.getNode();
	const reference = node.credentials?.[type];
	return JSON.stringify([String(context.getWorkflow().id ?? ''), node.id, type, reference?.id ?? reference?.name ?? '']);
}

/**
 * The credential to handle this webhook request with, and whether the request verifies with it:
 * the one read for this trigger within the last minute when the request verifies with it, else
 * the credential as n8n holds it now. A request that fails with the kept one is always checked
 * again with a fresh read, so a rotated secret or token works at once and nothing is refused on
 * stale data. A fresh credential is kept only once a request verified with it. Call it after
 * refusing requests that carry no signature at all, which need no credential.
 */
export async function credentialForWebhookRequest<T>(
	context: IWebhookFunctions,
	type: string,
	verifies: (credential: T) => boolean,
	cache: RecentWebhookCredentials = recentCredentials,
): Promise<{ credential: T; verified: boolean }> {
	const key = keyOf(context, type);
	const kept = cache.get(key) as T | undefined;
	if (kept !== undefined && verifies(kept)) return { credential: kept, verified: true };
	const fresh = (await context.getCredentials(type)) as unknown as T;
	const verified = verifies(fresh);
	if (verified) cache.set(key, fresh);
	return { credential: fresh, verified };
}
