/**
 * JSON Web Tokens signed RS256 (RFC 7515/7519), as Microsoft's Bot Framework and Google Chat sign
 * the requests they push to a bot, and as a Google service account signs its token request.
 * node:crypto only: the checks a bot needs are few (one algorithm, issuer, audience, times), and a
 * JWT library would bring options (other algorithms, `none`) that a webhook must never accept.
 */
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';

import type { WebhookInbound, WebhookRequest } from './channel';
import { isRecord, recordOrNull } from './payload';

/** Platforms' tokens are under 2 KB; a larger header is refused before any decoding. */
export const MAX_JWT_LENGTH = 8_192;

export interface DecodedJwt {
	header: Record<string, unknown>;
	payload: Record<string, unknown>;
	/** `base64url(header).base64url(payload)`: the bytes the signature covers. */
	signingInput: string;
	signature: Buffer;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

function jsonSegment(segment: string): Record<string, unknown> | null {
	try {
		return recordOrNull(JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')));
	} catch {
		return null;
	}
}

/** The token of an `Authorization: Bearer <jwt>` header, or null when there is none of a sane size. */
export function bearerTokenOf(headers: Record<string, string | string[] | undefined>): string | null {
	const value = headers.authorization;
	const header = Array.isArray(value) ? value[0] : value;
	if (typeof header !== 'string' || header.length > MAX_JWT_LENGTH + 7) return null;
	const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
	return match ? match[1] : null;
}

/** The parts of a compact JWT, or null when it is not one (three base64url segments, JSON header and payload). */
export function decodeJwt(token: string): DecodedJwt | null {
	if (token.length > MAX_JWT_LENGTH) return null;
	const segments = token.split('.');
	// An empty signature is a JWT too (`alg: none`), refused by its algorithm rather than its shape.
	if (segments.length !== 3 || !SEGMENT.test(segments[0]) || !SEGMENT.test(segments[1]) || !/^[A-Za-z0-9_-]*$/.test(segments[2])) return null;
	const header = jsonSegment(segments[0]);
	const payload = jsonSegment(segments[1]);
	if (!header || !payload) return null;
	return { header, payload, signingInput: `${segments[0]}.${segments[1]}`, signature: Buffer.from(segments[2], 'base64url') };
}

/**
 * Why a bearer token cannot be a platform's RS256 JWT (no token, not a JWT, another algorithm such
 * as `none` or HS256, no key ID), or null when it has the shape. Needs no key and no credential.
 */
export function rs256ShapeProblem(token: string | null): string | null {
	if (token === null) return 'The request carries no bearer token (Authorization: Bearer <JWT>).';
	const jwt = decodeJwt(token);
	if (!jwt) return 'The bearer token is not a JSON Web Token.';
	if (jwt.header.alg !== 'RS256') return `The bearer token is signed with ${JSON.stringify(jwt.header.alg ?? null)}, not RS256.`;
	if (typeof jwt.header.kid !== 'string' || jwt.header.kid === '') return 'The bearer token names no signing key (kid).';
	return null;
}

/** Whether the RS256 signature of `jwt` holds with `key` (an RSA public key). */
export function rs256SignatureHolds(jwt: DecodedJwt, key: KeyObject): boolean {
	if (key.asymmetricKeyType !== 'rsa') return false;
	try {
		return verify('RSA-SHA256', Buffer.from(jwt.signingInput), key, jwt.signature);
	} catch {
		return false;
	}
}

export interface ClaimExpectations {
	issuers: readonly string[];
	audience: string;
	/** Milliseconds since the epoch. */
	now: number;
	/** Seconds a clock may be off; default 300, as the Bot Framework allows. */
	clockSkewSeconds?: number;
}

/** Why the claims do not hold (issuer, audience, expiry, not-before), or null when they do. */
export function claimsProblem(payload: Record<string, unknown>, { issuers, audience, now, clockSkewSeconds = 300 }: ClaimExpectations): string | null {
	if (typeof payload.iss !== 'string' || !issuers.includes(payload.iss)) return `The token's issuer ${JSON.stringify(payload.iss ?? null)} is not ${issuers.join(' or ')}.`;
	const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
	if (!audience || !audiences.includes(audience)) return "The token's audience is not the one in the credential.";
	const seconds = now / 1000;
	if (typeof payload.exp !== 'number' || seconds > payload.exp + clockSkewSeconds) return 'The token has expired.';
	if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || seconds < payload.nbf - clockSkewSeconds)) return 'The token is not valid yet (nbf).';
	return null;
}

/** A compact RS256 JWT signed with a PEM private key (a Google service account's `private_key`). */
export function signRs256Jwt(payload: Record<string, unknown>, privateKeyPem: string, kid?: string): string {
	const header = { alg: 'RS256', typ: 'JWT', ...(kid ? { kid } : {}) };
	const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
	const signature = sign('RSA-SHA256', Buffer.from(signingInput), createPrivateKey(privateKeyPem));
	return `${signingInput}.${signature.toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------
// Published signing keys

/** The RSA keys of a JWKS document (`{ keys: [{ kid, kty, n, e }] }`) by key ID; keys that are not RSA are left out. */
export function keysOfJwks(document: unknown): Map<string, KeyObject> {
	const keys = new Map<string, KeyObject>();
	const list = recordOrNull(document)?.keys;
	for (const jwk of Array.isArray(list) ? list : []) {
		if (!isRecord(jwk) || jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') continue;
		try {
			keys.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }));
		} catch {
			// A key Node cannot read is a key nobody can be verified with.
		}
	}
	return keys;
}

/** The public keys of an X.509 certificate map (`{ kid: "-----BEGIN CERTIFICATE-----..." }`), as Google publishes them. */
export function keysOfX509Map(document: unknown): Map<string, KeyObject> {
	const keys = new Map<string, KeyObject>();
	for (const [kid, pem] of Object.entries(recordOrNull(document) ?? {})) {
		if (typeof pem !== 'string') continue;
		try {
			keys.set(kid, new X509Certificate(pem).publicKey);
		} catch {
			// As above.
		}
	}
	return keys;
}

/** Key sets are small (a handful of keys); a larger answer is no key set. */
const MAX_KEY_SET_BYTES = 256 * 1024;

/** GETs a JSON document of a key set or its metadata, bounded in time and size; its Cache-Control max-age when it sends one. */
export async function fetchKeyDocument(url: string): Promise<{ document: unknown; maxAgeMs: number | null }> {
	const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
	const text = await response.text();
	if (!response.ok) throw new Error(`Fetching signing keys from ${url} failed (${response.status}).`);
	if (text.length > MAX_KEY_SET_BYTES) throw new Error(`The signing keys at ${url} are larger than ${MAX_KEY_SET_BYTES} bytes.`);
	const maxAge = /max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '');
	try {
		return { document: JSON.parse(text), maxAgeMs: maxAge ? Number(maxAge[1]) * 1000 : null };
	} catch {
		throw new Error(`The signing keys at ${url} are not JSON.`);
	}
}

export interface KeySetTiming {
	/** How long fetched keys are kept when the answer names no max-age; default one hour. */
	ttlMs?: number;
	/** An unknown key ID refetches the set at most this often, so forged key IDs cannot make the bot fetch per request; default 60 s. */
	refetchCooldownMs?: number;
}

/**
 * One published key set, fetched when first needed, kept for its max-age (between 5 minutes and
 * a day) and fetched again once when a token names a key it does not hold (a rotation), at most
 * once per cooldown. Concurrent requests share one fetch.
 */
export class PublishedKeySet {
	private keys = new Map<string, KeyObject>();
	private fetchedAt = Number.NEGATIVE_INFINITY;
	private expiresAt = Number.NEGATIVE_INFINITY;
	private pending: Promise<void> | null = null;

	constructor(
		private readonly load: () => Promise<{ keys: Map<string, KeyObject>; maxAgeMs: number | null }>,
		private readonly timing: KeySetTiming = {},
	) {}

	/** The key with this ID, if it is held and fresh; never fetches. */
	keyFor(kid: string, now = Date.now()): KeyObject | null {
		return now < this.expiresAt ? (this.keys.get(kid) ?? null) : null;
	}

	/** Fetches the set when it is stale, or when `kid` is unknown and the cooldown has passed. */
	async refreshFor(kid: string, now = Date.now()): Promise<void> {
		if (this.keyFor(kid, now)) return;
		const stale = now >= this.expiresAt;
		if (!stale && now - this.fetchedAt < (this.timing.refetchCooldownMs ?? 60_000)) return;
		this.pending ??= this.fetch(now).finally(() => (this.pending = null));
		await this.pending;
	}

	private async fetch(now: number): Promise<void> {
		const { keys, maxAgeMs } = await this.load();
		const ttl = Math.min(24 * 3_600_000, Math.max(5 * 60_000, maxAgeMs ?? this.timing.ttlMs ?? 3_600_000));
		this.keys = keys;
		this.fetchedAt = now;
		this.expiresAt = now + ttl;
	}
}

/** Key sets by URL, one per process, so every trigger of a platform shares the fetched keys. */
export class KeySetRegistry {
	private readonly sets = new Map<string, PublishedKeySet>();

	constructor(private readonly timing: KeySetTiming = {}) {}

	get(url: string, load: () => Promise<{ keys: Map<string, KeyObject>; maxAgeMs: number | null }>): PublishedKeySet {
		let set = this.sets.get(url);
		if (!set) {
			// A handful of URLs in practice (public and emulator); the bound only guards odd setups.
			if (this.sets.size >= 100) this.sets.clear();
			set = new PublishedKeySet(load, this.timing);
			this.sets.set(url, set);
		}
		return set;
	}
}

// ---------------------------------------------------------------------------------------------
// Access tokens a bot obtains for its own calls

/**
 * OAuth access tokens by what they were issued for (token URL, client, secret), kept until shortly
 * before they expire so that every send does not cost a token request. Concurrent sends share one
 * request. Process memory only: each n8n process asks once an hour.
 */
export class AccessTokenCache {
	private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
	private readonly pending = new Map<string, Promise<string>>();

	async get(key: string, issue: () => Promise<{ token: string; expiresInSeconds: number }>, now = Date.now()): Promise<string> {
		const kept = this.tokens.get(key);
		if (kept && now < kept.expiresAt) return kept.token;
		let request = this.pending.get(key);
		if (!request) {
			request = issue()
				.then(({ token, expiresInSeconds }) => {
					// Five minutes early, so a token never expires between this check and the platform's.
					if (this.tokens.size >= 1_000) this.tokens.clear();
					this.tokens.set(key, { token, expiresAt: now + Math.max(0, expiresInSeconds - 300) * 1000 });
					return token;
				})
				.finally(() => this.pending.delete(key));
			this.pending.set(key, request);
		}
		return await request;
	}

	/** After the platform refused a token (401): the next call asks for a new one. */
	forget(key: string): void {
		this.tokens.delete(key);
	}
}

// ---------------------------------------------------------------------------------------------
// A webhook whose proof is a bearer JWT signed with published keys

export interface BearerJwtProof<Credential> {
	/** Whose tokens these are, for refusals ("Bot Framework", "Google Chat"). */
	platform: string;
	/** The key set that signs this token for this credential (by its issuer), or null when the issuer is none of the platform's. */
	keySetFor(jwt: DecodedJwt, credential: Credential): PublishedKeySet | null;
	/** Why the claims of a token whose signature holds do not fit this credential and request, or null when they do. */
	claimsDisproof(jwt: DecodedJwt, credential: Credential, request: WebhookRequest, now: number): string | null;
}

/**
 * The proof members of a webhook that receives `Authorization: Bearer <RS256 JWT>`: the shape is
 * checked without the credential (no token, `alg: none`, no kid → 401 with no read), the signature
 * with the platform's published key, then the platform's claims; keys are fetched as the key set allows.
 */
export function bearerJwtProof<Credential>(proof: BearerJwtProof<Credential>): Pick<WebhookInbound<Credential>, 'missingProof' | 'disproof' | 'fetchProofKeys'> {
	const tokenOf = (request: WebhookRequest) => {
		const token = bearerTokenOf(request.headers);
		return token !== null && rs256ShapeProblem(token) === null ? decodeJwt(token) : null;
	};
	return {
		missingProof: (request) => rs256ShapeProblem(bearerTokenOf(request.headers)),
		disproof(request, credential, context) {
			const jwt = tokenOf(request);
			if (!jwt) return `The request carries no ${proof.platform} token.`;
			const keySet = proof.keySetFor(jwt, credential);
			if (!keySet) return `The token's issuer ${JSON.stringify(jwt.payload.iss ?? null)} is not ${proof.platform}.`;
			const key = keySet.keyFor(String(jwt.header.kid), context.now);
			if (!key) return `The token is signed with a key ${proof.platform} does not publish.`;
			if (!rs256SignatureHolds(jwt, key)) return 'The token signature does not hold.';
			return proof.claimsDisproof(jwt, credential, request, context.now);
		},
		async fetchProofKeys(request, credential, context) {
			const jwt = tokenOf(request);
			const keySet = jwt ? proof.keySetFor(jwt, credential) : null;
			if (jwt && keySet) await keySet.refreshFor(String(jwt.header.kid), context.now);
		},
	};
}
