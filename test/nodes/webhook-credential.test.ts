import type { ICredentialDataDecryptedObject, IWebhookFunctions } from 'n8n-workflow';

import { credentialForWebhookRequest, RecentWebhookCredentials } from '../../nodes/shared/webhook-credential';

interface Secret {
	secret: string;
}

/** The part of a webhook context the helper uses; `stored` is the credential as n8n holds it now. */
function contextFor({ workflowId = 'wf-1', nodeId = 'node-1', credentialId = 'cred-1' } = {}, stored: Secret = { secret: 'one' }) {
	const context = {
		reads: 0,
		stored,
		getWorkflow: () => ({ id: workflowId }),
		getNode: () => ({ id: nodeId, credentials: { testApi: { id: credentialId, name: 'Test' } } }),
		async getCredentials() {
			context.reads++;
			return { ...context.stored } as unknown as ICredentialDataDecryptedObject;
		},
	};
	return context;
}

const signedWith = (secret: string) => (credential: Secret) => credential.secret === secret;

function read(context: ReturnType<typeof contextFor>, verifies: (credential: Secret) => boolean, cache: RecentWebhookCredentials, now = Date.now()) {
	return credentialForWebhookRequest<Secret>(context as unknown as IWebhookFunctions, 'testApi', verifies, cache, now);
}

test('a credential that verified a request is kept: the next genuine requests read nothing', async () => {
	const cache = new RecentWebhookCredentials();
	const context = contextFor();
	expect(await read(context, signedWith('one'), cache)).toEqual({ credential: { secret: 'one' }, verified: true });
	expect(await read(context, signedWith('one'), cache)).toEqual({ credential: { secret: 'one' }, verified: true });
	expect(await read(context, signedWith('one'), cache)).toEqual({ credential: { secret: 'one' }, verified: true });
	expect(context.reads).toBe(1);
});

test('1,000 forged requests after a genuine one read the credential at most once per 5 s', async () => {
	const cache = new RecentWebhookCredentials();
	const context = contextFor();
	await read(context, signedWith('one'), cache, 0);
	for (let index = 0; index < 1_000; index++) {
		expect((await read(context, signedWith(`forged-${index}`), cache, index * 4)).verified).toBe(false);
	}
	// 0 … 3,996 ms: all within 5 s of the genuine read.
	expect(context.reads).toBe(1);
	// The genuine sender still needs no read.
	expect((await read(context, signedWith('one'), cache, 4_000)).verified).toBe(true);
	expect(context.reads).toBe(1);
});

test('after the secret changed, requests signed with the new one are accepted at most 5 s after the first one that failed, and the new one is kept', async () => {
	const cache = new RecentWebhookCredentials();
	const context = contextFor();
	await read(context, signedWith('one'), cache, 0);
	context.stored = { secret: 'two' };

	// Within 5 s of the last read: refused without a read (the platform redelivers).
	expect(await read(context, signedWith('two'), cache, 1_000)).toEqual({ credential: { secret: 'one' }, verified: false });
	expect(context.reads).toBe(1);
	expect(await read(context, signedWith('two'), cache, 5_000)).toEqual({ credential: { secret: 'two' }, verified: true });
	expect(context.reads).toBe(2);
	expect(await read(context, signedWith('two'), cache, 6_000)).toEqual({ credential: { secret: 'two' }, verified: true });
	expect(context.reads).toBe(2);
});

test('a revoked secret stops verifying within 5 s of the first request that failed', async () => {
	const cache = new RecentWebhookCredentials();
	const context = contextFor();
	await read(context, signedWith('one'), cache, 0);
	context.stored = { secret: 'rotated' };
	// Still verifies from the kept credential until a check fails …
	expect((await read(context, signedWith('one'), cache, 2_000)).verified).toBe(true);
	expect((await read(context, signedWith('forged'), cache, 3_000)).verified).toBe(false);
	// … and no longer 5 s after the last read: the kept credential expired, the fresh one says no.
	expect((await read(context, signedWith('one'), cache, 5_000)).verified).toBe(false);
	expect(context.reads).toBe(2);
});

test('a credential read for a request that did not verify is kept as n8n holds it, so the next forged request reads nothing', async () => {
	const cache = new RecentWebhookCredentials();
	const context = contextFor();
	expect((await read(context, signedWith('forged'), cache, 0)).verified).toBe(false);
	expect(cache.size).toBe(1);
	expect((await read(context, signedWith('forged again'), cache, 100)).verified).toBe(false);
	expect((await read(context, signedWith('one'), cache, 200)).verified).toBe(true);
	expect(context.reads).toBe(1);
});

test('another workflow, node or credential never gets a kept credential', async () => {
	const cache = new RecentWebhookCredentials();
	const stored = { secret: 'one' };
	const contexts = [
		contextFor({}, stored),
		contextFor({ workflowId: 'wf-2' }, stored),
		contextFor({ nodeId: 'node-2' }, stored),
		contextFor({ credentialId: 'cred-2' }, stored),
	];
	for (const context of contexts) await read(context, signedWith('one'), cache);
	for (const context of contexts) await read(context, signedWith('one'), cache);
	expect(contexts.map((context) => context.reads)).toEqual([1, 1, 1, 1]);
	expect(cache.size).toBe(4);
});

test('a kept credential expires after the TTL', () => {
	const cache = new RecentWebhookCredentials(60_000);
	cache.set('a', { secret: 'one' }, 1_000);
	expect(cache.get('a', 60_999)).toEqual({ secret: 'one' });
	expect(cache.get('a', 61_000)).toBeUndefined();
	expect(cache.size).toBe(0);
});

test('the number of kept credentials is bounded; the oldest read goes first', () => {
	const cache = new RecentWebhookCredentials(60_000, 5_000, 2);
	cache.set('a', 1, 1);
	cache.set('b', 2, 2);
	cache.set('a', 3, 3);
	cache.set('c', 4, 4);
	expect(cache.size).toBe(2);
	expect(cache.get('b', 5)).toBeUndefined();
	expect(cache.get('a', 5)).toBe(3);
	expect(cache.get('c', 5)).toBe(4);
});
