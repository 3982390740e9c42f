import type { IWebhookFunctions } from 'n8n-workflow';

/**
 * Credentials that webhook triggers read recently, by workflow, node and credential, for a
 * short time. Each `getCredentials()` costs n8n a fresh expression sandbox (several ms of CPU
 * with its default isolated-vm engine), and a trigger needs its credential for every request,
 * so without this every delivery, forged or not, would pay for one. Process memory only: each
 * webhook process keeps its own entries, and nothing in them needs sharing.
 */
export class RecentWebhookCredentials {
	private readonly kept = new Map<string, { credential: unknown; readAt: number; expiresAt: number }>();

	constructor(
		/** Long enough to spare a busy webhook most reads; short, since a change to a field other than the secret shows only once it ends. */
		private readonly ttlMs = 60_000,
		/**
		 * How old the kept credential must be before a request that does not verify reads it again:
		 * a flood of forged requests costs at most one read per trigger in this time, and a changed
		 * (rotated or revoked) secret takes effect at most this long after the first request that
		 * did not verify.
		 */
		readonly rereadAfterFailureMs = 5_000,
		/** One entry per active trigger node and credential; the bound only guards against unusual setups. */
		private readonly maxEntries = 1_000,
	) {}

	/** The credential kept under `key` and when it was read, or undefined when it expired. */
	entry(key: string, now = Date.now()): { credential: unknown; readAt: number } | undefined {
		const entry = this.kept.get(key);
		if (entry && now < entry.expiresAt) return entry;
		this.kept.delete(key);
		return undefined;
	}

	/** The credential kept under `key`, or undefined when there is none younger than the TTL. */
	get(key: string, now = Date.now()): unknown {
		return this.entry(key, now)?.credential;
	}

	set(key: string, credential: unknown, now = Date.now()): void {
		this.kept.delete(key);
		this.kept.set(key, { credential, readAt: now, expiresAt: now + this.ttlMs });
		// Oldest reads first (Map keeps insertion order, and set re-inserts).
		for (const [oldest, entry] of this.kept) {
			if (this.kept.size <= this.maxEntries && now < entry.expiresAt) break;
			this.kept.delete(oldest);
		}
	}

	/** After a request that did not verify: the kept credential is read again once it is older than the re-read delay. */
	expireSoon(key: string, now = Date.now()): void {
		const entry = this.kept.get(key);
		if (entry) entry.expiresAt = Math.min(entry.expiresAt, Math.max(now, entry.readAt + this.rereadAfterFailureMs));
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
 * The credential to handle this webhook request with, and whether the request verifies with it.
 * A credential that verified a request is kept for a minute. A request that does not verify with
 * the kept one reads the credential again only when the kept one is older than a few seconds
 * (`rereadAfterFailureMs`); otherwise it is refused without a read, and the kept one expires once
 * it is that old, so a changed secret takes effect within those seconds: rotated, its first
 * requests may be refused briefly (platforms redeliver); revoked, it stops verifying. Call it
 * after refusing requests that carry no proof at all, which need no credential.
 */
export async function credentialForWebhookRequest<T>(
	context: IWebhookFunctions,
	type: string,
	verifies: (credential: T) => boolean,
	cache: RecentWebhookCredentials = recentCredentials,
	now = Date.now(),
): Promise<{ credential: T; verified: boolean }> {
	const key = keyOf(context, type);
	const kept = cache.entry(key, now);
	if (kept !== undefined) {
		if (verifies(kept.credential as T)) return { credential: kept.credential as T, verified: true };
		if (now - kept.readAt < cache.rereadAfterFailureMs) {
			cache.expireSoon(key, now);
			return { credential: kept.credential as T, verified: false };
		}
	}
	const fresh = (await context.getCredentials(type)) as unknown as T;
	// Kept whether or not the request verified: it is the credential as n8n holds it now.
	cache.set(key, fresh, now);
	return { credential: fresh, verified: verifies(fresh) };
}
