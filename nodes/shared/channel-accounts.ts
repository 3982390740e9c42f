import { createHash } from 'node:crypto';

import type { AnyChannelPlugin } from '../core/channel';

// The account a credential speaks for does not change while the credential does not, so it is asked
// of the platform once per process (auth.test, GET /v2/bot/info), not on every execution.
const knownAccounts = new Map<string, string>();
const MAX_KNOWN_ACCOUNTS = 1_000;

/** The account a credential speaks for (`plugin.accountOf`), remembered per process; null when unknown. */
export async function accountOfCredential(plugin: AnyChannelPlugin, credential: object, client: unknown): Promise<string | null> {
	const key = createHash('sha256').update(plugin.id).update(JSON.stringify(credential)).digest('hex');
	const known = knownAccounts.get(key);
	if (known !== undefined) return known;
	const account = await plugin.accountOf(credential, client);
	// Unknown (a failed lookup) is asked again next time.
	if (account !== null) {
		if (knownAccounts.size >= MAX_KNOWN_ACCOUNTS) knownAccounts.clear();
		knownAccounts.set(key, account);
	}
	return account;
}
