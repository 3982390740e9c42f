/**
 * RS256 JWTs as Teams and Google Chat sign their requests: the shape check that needs no key, the
 * claims, published key sets (kept, refetched once for a rotated key, never per forged request)
 * and the access token cache.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

import { AccessTokenCache, claimsProblem, decodeJwt, PublishedKeySet, rs256ShapeProblem, rs256SignatureHolds, signRs256Jwt } from '../../nodes/core/jwt';

const pair = () => generateKeyPairSync('rsa', { modulusLength: 1024 });
const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('RS256 tokens', () => {
	const { privateKey, publicKey } = pair();

	test('a token signed with the key verifies; one signed with another key does not', () => {
		const jwt = decodeJwt(signRs256Jwt({ iss: 'a' }, pem(privateKey), 'k1'))!;
		expect(rs256SignatureHolds(jwt, publicKey)).toBe(true);
		expect(rs256SignatureHolds(jwt, pair().publicKey)).toBe(false);
	});

	test('only RS256 with a key ID has the shape of a platform token', () => {
		const none = `${Buffer.from('{"alg":"none","kid":"k"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`;
		expect(rs256ShapeProblem(none)).toMatch(/not RS256/);
		expect(rs256ShapeProblem(signRs256Jwt({}, pem(privateKey)))).toMatch(/kid/);
		expect(rs256ShapeProblem('a.b')).toMatch(/not a JSON Web Token/);
		expect(rs256ShapeProblem(signRs256Jwt({}, pem(privateKey), 'k1'))).toBeNull();
	});

	test('claims: issuer, audience (string or list), expiry and not-before with clock skew', () => {
		const now = 1_700_000_000_000;
		const seconds = now / 1000;
		const expect_ = { issuers: ['iss'], audience: 'app', now, clockSkewSeconds: 60 };
		expect(claimsProblem({ iss: 'iss', aud: 'app', exp: seconds + 10 }, expect_)).toBeNull();
		expect(claimsProblem({ iss: 'iss', aud: ['x', 'app'], exp: seconds - 30 }, expect_)).toBeNull();
		expect(claimsProblem({ iss: 'iss', aud: 'app', exp: seconds - 61 }, expect_)).toMatch(/expired/);
		expect(claimsProblem({ iss: 'iss', aud: 'app' }, expect_)).toMatch(/expired/);
		expect(claimsProblem({ iss: 'iss', aud: 'app', exp: seconds + 10, nbf: seconds + 120 }, expect_)).toMatch(/not valid yet/);
		expect(claimsProblem({ iss: 'other', aud: 'app', exp: seconds + 10 }, expect_)).toMatch(/issuer/);
		expect(claimsProblem({ iss: 'iss', aud: 'someone', exp: seconds + 10 }, expect_)).toMatch(/audience/);
		expect(claimsProblem({ iss: 'iss', aud: '', exp: seconds + 10 }, { ...expect_, audience: '' })).toMatch(/audience/);
	});
});

describe('a published key set', () => {
	const first = pair().publicKey;
	const rotated = pair().publicKey;

	function keySet(timing = { refetchCooldownMs: 60_000 }) {
		let served = new Map([['k1', first]]);
		let fetches = 0;
		const set = new PublishedKeySet(async () => {
			fetches++;
			return { keys: served, maxAgeMs: 3_600_000 };
		}, timing);
		return { set, fetches: () => fetches, rotate: () => (served = new Map([['k2', rotated]])) };
	}

	test('is fetched once when first needed and kept for its max-age', async () => {
		const { set, fetches } = keySet();
		expect(set.keyFor('k1', 0)).toBeNull();
		await set.refreshFor('k1', 0);
		await Promise.all([set.refreshFor('k1', 1000), set.refreshFor('k1', 2000)]);
		expect(set.keyFor('k1', 3_599_000)).toBe(first);
		expect(fetches()).toBe(1);
		expect(set.keyFor('k1', 3_600_000)).toBeNull();
	});

	test('an unknown key ID is fetched again once the cooldown has passed (a rotation), never per request', async () => {
		const { set, fetches, rotate } = keySet();
		await set.refreshFor('k1', 0);
		rotate();
		for (let at = 1000; at < 60_000; at += 5000) await set.refreshFor('forged', at);
		expect(fetches()).toBe(1);
		await set.refreshFor('k2', 61_000);
		expect(fetches()).toBe(2);
		expect(set.keyFor('k2', 61_000)).toBe(rotated);
		await set.refreshFor('k2', 62_000);
		expect(fetches()).toBe(2);
	});

	test('concurrent requests for an unknown key share one fetch', async () => {
		const { set, fetches } = keySet();
		await Promise.all(Array.from({ length: 10 }, () => set.refreshFor('k1', 0)));
		expect(fetches()).toBe(1);
	});
});

describe('access tokens', () => {
	test('are asked for once and kept until five minutes before they expire; forget asks again', async () => {
		const cache = new AccessTokenCache();
		let issued = 0;
		const issue = async () => ({ token: `t${++issued}`, expiresInSeconds: 3600 });
		expect(await Promise.all([cache.get('k', issue, 0), cache.get('k', issue, 0)])).toEqual(['t1', 't1']);
		expect(await cache.get('k', issue, 3_299_000)).toBe('t1');
		expect(await cache.get('k', issue, 3_300_000)).toBe('t2');
		cache.forget('k');
		expect(await cache.get('k', issue, 3_300_001)).toBe('t3');
	});

	test('a failed request is not kept', async () => {
		const cache = new AccessTokenCache();
		await expect(cache.get('k', async () => Promise.reject(new Error('refused')), 0)).rejects.toThrow('refused');
		expect(await cache.get('k', async () => ({ token: 'ok', expiresInSeconds: 3600 }), 0)).toBe('ok');
	});
});
