import { createHash, randomUUID } from 'node:crypto';

import type { Redis, RedisOptions } from 'ioredis';

import {
	EMPTY_USAGE,
	LockTimeoutError,
	type AppendOptions,
	type AppendOutcome,
	type LockOptions,
	type NewTurn,
	type SessionLock,
	type SessionState,
	type SessionStore,
	type SessionSummary,
	type SessionUsage,
	type SessionWindow,
	type StoredTurn,
} from '../session/store';
import { parseCalibration } from '../token-calibration';
import type { DeliveryClaim, DeliveryJournal, JournalEntry, JournalState, NewJournalEntry, RecordOutcome } from '../journal';
import { ArrivalQueue, FifoMutex } from './fifo-mutex';
import { RedisInsights } from './redis.insights';
import { retentionSettings, type RetentionOptions } from './retention';

/** Connection settings, as n8n's built-in `redis` credential holds them (host, port, user, password, database, ssl). */
export interface RedisConnectionOptions {
	host: string;
	port: number;
	username?: string;
	password?: string;
	database?: number;
	tls?: boolean;
	/** Every key starts with this, so Clawgate can share a Redis with n8n's own queue. */
	keyPrefix?: string;
}

/** A client the caller made and keeps: the store uses it but never closes it. */
export interface RedisClientOptions {
	client: Redis;
	keyPrefix?: string;
}

/** Message keys expire after the retention (Redis TTLs, so no purge runs); counters after their own TTL. */
export type RedisStoreOptions = (RedisConnectionOptions | RedisClientOptions) & Pick<RetentionOptions, 'retentionMs'>;

export const DEFAULT_REDIS_KEY_PREFIX = 'clawgate:';

/** How often a waiter asks whether its turn has come. */
const LOCK_POLL_MS = 20;
/** A session's waiting queue disappears this long after its last waiter, even if every waiter crashed. */
const LOCK_QUEUE_IDLE_MS = 60 * 60 * 1000;
/** Turn bodies are read in chunks of this many fields. */
const LUA_UNPACK_CHUNK = 1000;

// Keys of one session: a hash of its state, a sorted set of seqs scored by running token total
// (so a window is one score range), and a hash seq → turn JSON (TurnBody).

const BODIES_OF = `
-- HMGET in chunks: unpack() has a stack limit near 8000 values.
local function bodiesOf(hash, seqs)
	local bodies = {}
	for i = 1, #seqs, ${LUA_UNPACK_CHUNK} do
		for _, body in ipairs(redis.call('HMGET', hash, unpack(seqs, i, math.min(i + ${LUA_UNPACK_CHUNK - 1}, #seqs)))) do
			bodies[#bodies + 1] = body
		end
	end
	return bodies
end
`;

const READ_WINDOW = `${BODIES_OF}
-- KEYS: 1 state hash, 2 index (seq scored by cumulative tokens), 3 turn bodies; ARGV: 1 maxTokens
local state = redis.call('HGETALL', KEYS[1])
local last = tonumber(redis.call('HGET', KEYS[1], 'lastCumulativeTokens') or '0')
local floor = math.max(tonumber(redis.call('HGET', KEYS[1], 'contextStartSeq') or '0'),
	tonumber(redis.call('HGET', KEYS[1], 'summaryThroughSeq') or '0'))
-- Every turn whose running total reaches (last - maxTokens): the window plus at most one boundary turn.
local index = redis.call('ZRANGEBYSCORE', KEYS[2], last - tonumber(ARGV[1]), '+inf')
local seqs = {}
for _, seq in ipairs(index) do
	if tonumber(seq) > floor then seqs[#seqs + 1] = seq end
end
return { state, bodiesOf(KEYS[3], seqs) }
`;

const READ_TURNS = `${BODIES_OF}
-- KEYS: 1 index, 2 turn bodies; ARGV: 1 afterSeq, 2 throughCumulativeTokens
local after = redis.call('HGET', KEYS[2], ARGV[1])
-- Start at the running total of turn afterSeq (read from its body) so the range skips older history.
local from = '-inf'
if after then from = cjson.decode(after).c end
local index = redis.call('ZRANGEBYSCORE', KEYS[1], from, ARGV[2])
local seqs = {}
for _, seq in ipairs(index) do
	if tonumber(seq) > tonumber(ARGV[1]) then seqs[#seqs + 1] = seq end
end
return bodiesOf(KEYS[2], seqs)
`;

const APPEND_TURNS = `
-- KEYS: 1 state hash, 2 index, 3 turn bodies, 4 message key (optional)
-- ARGV: 1 message key ttl ms, 2 createdAt, 3-5 usage (prompt, completion, total), 6 the answer (JSON) or "",
-- 7 the token calibration (JSON) or "", then per turn: tokens, role, content
if KEYS[4] then
	local value = ARGV[6] ~= '' and ARGV[6] or ARGV[2]
	if not redis.call('SET', KEYS[4], value, 'NX', 'PX', ARGV[1]) then return 0 end
end
local seq = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
local cumulative = tonumber(redis.call('HGET', KEYS[1], 'lastCumulativeTokens') or '0')
for i = 8, #ARGV, 3 do
	seq = seq + 1
	cumulative = cumulative + tonumber(ARGV[i])
	redis.call('ZADD', KEYS[2], cumulative, seq)
	redis.call('HSET', KEYS[3], seq, cjson.encode({ s = seq, r = ARGV[i + 1], m = ARGV[i + 2], t = tonumber(ARGV[i]), c = cumulative, at = tonumber(ARGV[2]) }))
end
redis.call('HSET', KEYS[1], 'lastSeq', seq, 'lastCumulativeTokens', cumulative)
redis.call('HINCRBY', KEYS[1], 'promptTokens', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'completionTokens', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'totalTokens', ARGV[5])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'calibration', ARGV[7]) end
return 1
`;

// The delivery journal (core/journal.ts). An entry is a hash `journal:entry:<key>`; `journal:due` holds the
// keys without a receipt by last emission; `journal:pending:<session>` the unanswered ones by seq.
const JOURNAL_RECORD = `
-- KEYS: 1 entry, 2 seq counter, 3 owner's due, 4 session's pending; ARGV: 1 key, 2 sessionId, 3 item, 4 receivedAt, 5 ttl ms, 6 owner
local state = redis.call('HGET', KEYS[1], 'state')
if state then return { 0, state } end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'sessionId', ARGV[2], 'seq', seq, 'item', ARGV[3], 'receivedAt', ARGV[4], 'attempts', 1, 'state', 'pending', 'owner', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], seq, ARGV[1])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
return { 1, seq }
`;

const JOURNAL_SETTLE = `
-- KEYS: 1 entry; ARGV: 1 key, 2 new state (answered | delivered | abandoned), 3 pending key prefix, 4 reason or "", 5 due key prefix
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'delivered' then return 0 end
if ARGV[2] == 'answered' and state ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'lastError', ARGV[4]) end
if ARGV[2] ~= 'answered' then redis.call('ZREM', ARGV[5] .. redis.call('HGET', KEYS[1], 'owner'), ARGV[1]) end
redis.call('ZREM', ARGV[3] .. redis.call('HGET', KEYS[1], 'sessionId'), ARGV[1])
return 1
`;

const JOURNAL_TOUCH = `
-- KEYS: 1 entry; ARGV: 1 key, 2 now, 3 due key prefix
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'pending' and state ~= 'answered' then return 0 end
local due = ARGV[3] .. redis.call('HGET', KEYS[1], 'owner')
if tonumber(ARGV[2]) > tonumber(redis.call('ZSCORE', due, ARGV[1]) or '0') then redis.call('ZADD', due, ARGV[2], ARGV[1]) end
return 1
`;

const JOURNAL_CLAIM = `
-- KEYS: 1 receipt; ARGV: 1 claimant, 2 now, 3 lease ms, 4 ttl ms
if redis.call('HGET', KEYS[1], 'deliveredAt') then return 'delivered' end
local holder = redis.call('HGET', KEYS[1], 'claimant')
if holder and holder ~= ARGV[1] and tonumber(redis.call('HGET', KEYS[1], 'claimExpires') or '0') > tonumber(ARGV[2]) then return 'busy' end
redis.call('HSET', KEYS[1], 'claimant', ARGV[1], 'claimExpires', tonumber(ARGV[2]) + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 'claimed'
`;

const JOURNAL_RELEASE = `
-- KEYS: 1 receipt, 2 entry; ARGV: 1 claimant, 2 reason
if redis.call('HGET', KEYS[1], 'claimant') == ARGV[1] and not redis.call('HGET', KEYS[1], 'deliveredAt') then redis.call('HSET', KEYS[1], 'claimExpires', 0) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'lastError', ARGV[2]) end
return 1
`;

const JOURNAL_EARLIER_PENDING = `
-- KEYS: 1 session's pending; ARGV: 1 seq, 2 since, 3 entry key prefix
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])) do
	local fields = redis.call('HMGET', ARGV[3] .. key, 'state', 'receivedAt')
	if fields[1] == 'pending' and tonumber(fields[2]) >= tonumber(ARGV[2]) then return 1 end
end
return 0
`;

const JOURNAL_TAKE_OVERDUE = `
-- KEYS: 1 due; ARGV: 1 due before, 2 now, 3 limit, 4 entry key prefix, 5 backoff ms. Returns key, hash, key, hash, ...
local taken = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[3])) do
	local entry = ARGV[4] .. key
	local state = redis.call('HGET', entry, 'state')
	if state == 'pending' or state == 'answered' then
		local before = redis.call('HINCRBY', entry, 'attempts', 1) - 1
		redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[5]) * (2 ^ math.min(before, 6) - 1), key)
		table.insert(taken, key)
		table.insert(taken, redis.call('HGETALL', entry))
	else
		redis.call('ZREM', KEYS[1], key)
	end
end
return taken
`;

const RESET_CONTEXT = `
redis.call('HSET', KEYS[1], 'contextStartSeq', redis.call('HGET', KEYS[1], 'lastSeq') or '0')
redis.call('HDEL', KEYS[1], 'summary', 'summaryTokens', 'summaryThroughSeq')
`;

const INCREMENT_COUNTER = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
-- Only the first increment sets the expiry (no TTL yet), so a busy sender cannot extend their window.
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
`;

const LOCK_TRY_ACQUIRE = `
-- KEYS: 1 waiting queue (list of tokens), 2 lock; ARGV: 1 token, 2 leaseMs, 3 alive-key prefix, 4 queue idle ms
-- Returns 1 when acquired, 0 to wait, -1 when the token is no longer queued (it was taken for crashed).
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return -1 end
while true do
	local head = redis.call('LINDEX', KEYS[1], 0)
	if head == ARGV[1] then break end
	if redis.call('EXISTS', ARGV[3] .. head) == 1 then return 0 end
	-- The waiter at the head stopped refreshing its alive key: its process died.
	redis.call('LPOP', KEYS[1])
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('LPOP', KEYS[1])
return 1
`;

const LOCK_HEARTBEAT = `
-- KEYS: 1 alive key, 2 lock; ARGV: 1 token, 2 ms. Proves the waiter is alive and renews the lease it holds.
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 0
`;

const LOCK_RELEASE = `
-- KEYS: 1 lock, 2 queue, 3 alive key; ARGV: 1 token. Compare-and-delete: never frees a lock someone else took over.
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('DEL', KEYS[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/** A turn body as stored: short field names, since every turn of every session carries them. */
interface TurnBody {
	s: number;
	r: StoredTurn['role'];
	m: string;
	t: number;
	c: number;
	at: number;
}

interface HeldLock {
	/** Stops heartbeats and frees the in-process mutex without touching Redis (close, or a lost connection). */
	abandon(): void;
}

/** Duck-typed: socket errors come from Node's own realm, where `instanceof Error` can fail (jest, vm). */
function messageOf(error: unknown): string {
	return typeof error === 'object' && error !== null && typeof (error as Error).message === 'string' ? (error as Error).message : String(error);
}

function isClientOptions(options: RedisStoreOptions): options is RedisClientOptions {
	return 'client' in options && options.client !== undefined;
}

function stateFromHash(flat: string[]): SessionState {
	const hash: Record<string, string> = {};
	for (let i = 0; i < flat.length; i += 2) hash[flat[i]] = flat[i + 1];
	const number = (field: string) => Number(hash[field] ?? 0);
	return {
		turnCount: number('lastSeq'),
		lastSeq: number('lastSeq'),
		lastCumulativeTokens: number('lastCumulativeTokens'),
		contextStartSeq: number('contextStartSeq'),
		summary:
			hash.summary === undefined
				? null
				: { content: hash.summary, tokens: number('summaryTokens'), throughSeq: number('summaryThroughSeq') },
		usage: {
			promptTokens: number('promptTokens'),
			completionTokens: number('completionTokens'),
			totalTokens: number('totalTokens'),
		},
		calibration: parseCalibration(hash.calibration),
	};
}

function turnsFromBodies(bodies: (string | null)[]): StoredTurn[] {
	return (
		bodies
			.filter((body): body is string => typeof body === 'string')
			.map((body) => JSON.parse(body) as TurnBody)
			.map((body) => ({ seq: body.s, role: body.r, content: body.m, tokens: body.t, cumulativeTokens: body.c, createdAt: body.at }))
			// Equal running totals (0-token turns) come back in member order ("10" < "9"): sort by seq.
			.sort((a, b) => a.seq - b.seq)
	);
}

function assertCounts(turns: NewTurn[], usage: SessionUsage): void {
	// A script stops half-way on a bad number, and Redis does not roll back: check before sending.
	const counts = [...turns.map((turn) => turn.tokens), usage.promptTokens, usage.completionTokens, usage.totalTokens];
	const bad = counts.find((count) => !Number.isSafeInteger(count) || count < 0);
	if (bad !== undefined) throw new Error(`Token counts must be whole numbers of 0 or more, got ${bad}.`);
}

/**
 * Redis, for n8n queue mode: every worker sees the same sessions, and the per-session lock works
 * across processes. Conversations do not expire (/forget erases one), so size Redis for the history
 * you keep; message keys expire after the retention and counters after their own TTL. Redis Cluster is not supported: scripts touch keys of several slots.
 */
export class RedisSessionStore implements SessionStore, DeliveryJournal {
	private readonly client: Redis;
	private readonly ownsClient: boolean;
	private readonly prefix: string;
	private readonly where: string;
	private readonly messageKeyTtlMs: number;
	private readonly mutex = new FifoMutex();
	private readonly arrivals = new ArrivalQueue();
	private readonly scriptHashes = new Map<string, string>();
	private readonly heldLocks = new Set<HeldLock>();
	private readonly pendingSleeps = new Set<() => void>();
	private connecting: Promise<void> | null = null;
	private lastConnectionError: Error | null = null;
	private wrongDatabase: unknown = null;
	private readonly rememberError = (error: Error) => {
		this.lastConnectionError = error;
	};
	private readonly forgetError = () => {
		this.lastConnectionError = null;
	};
	private closed = false;

	constructor(options: RedisStoreOptions) {
		this.prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
		this.messageKeyTtlMs = Math.max(1, Math.ceil(retentionSettings({ retentionMs: options.retentionMs }).retentionMs));
		if (isClientOptions(options)) {
			this.client = options.client;
			this.ownsClient = false;
			this.where = `${options.client.options.host ?? 'localhost'}:${options.client.options.port ?? 6379}`;
		} else {
			const redisOptions: RedisOptions = {
				host: options.host,
				port: options.port,
				username: options.username || undefined,
				password: options.password || undefined,
				db: options.database ?? 0,
				tls: options.tls ? {} : undefined,
				lazyConnect: true,
				connectTimeout: 10_000,
				// Fail a command after one reconnect attempt instead of queueing it forever while Redis is down.
				maxRetriesPerRequest: 1,
				// Reconnect at least every second while Redis is away (ioredis backs off to 2 s): a command then fails
				// within about 2 s rather than 4, and service resumes within a second of Redis coming back.
				retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
			};
			// ioredis is loaded on first use, not on import: a node file can be loaded without running (n8n loads them all right after an install), Redis used or not.
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const { Redis } = require('ioredis') as typeof import('ioredis');
			this.client = new Redis(redisOptions);
			this.ownsClient = true;
			this.where = `${options.host}:${options.port}`;
		}
		// Without a listener ioredis prints every connection error; the last one explains a failed command.
		this.client.on('error', this.rememberError);
		this.client.on('ready', this.forgetError);
		this.insights = new RedisInsights({
			script: (source, keys, args) => this.script(source, keys, args),
			command: (work) => this.command(work),
			prefix: this.prefix,
			retentionMs: this.messageKeyTtlMs,
		});
	}

	/** The operations view's counters and session activity, beside the sessions (core/insights). */
	readonly insights: RedisInsights;

	private key(kind: string, id: string): string {
		return `${this.prefix}${kind}:${id}`;
	}

	private sessionKeys(sessionId: string): [string, string, string] {
		return [this.key('session', sessionId), this.key('turn-index', sessionId), this.key('turns', sessionId)];
	}

	async readWindow(sessionId: string, maxTokens: number): Promise<SessionWindow> {
		const [hash, bodies] = (await this.script(READ_WINDOW, this.sessionKeys(sessionId), [maxTokens])) as [string[], (string | null)[]];
		const state = stateFromHash(hash);
		const minStart = state.lastCumulativeTokens - maxTokens;
		// The score range may hold one turn that starts before the budget; it is dropped here.
		const turns = turnsFromBodies(bodies).filter((turn) => turn.cumulativeTokens - turn.tokens >= minStart);
		return { state, turns };
	}

	async readTurns(sessionId: string, afterSeq: number, throughCumulativeTokens: number): Promise<StoredTurn[]> {
		const [, index, bodies] = this.sessionKeys(sessionId);
		return turnsFromBodies((await this.script(READ_TURNS, [index, bodies], [afterSeq, throughCumulativeTokens])) as (string | null)[]);
	}

	async appendTurns(sessionId: string, turns: NewTurn[], options: AppendOptions = {}): Promise<AppendOutcome> {
		const usage = options.usage ?? EMPTY_USAGE;
		assertCounts(turns, usage);
		const keys: string[] = this.sessionKeys(sessionId);
		if (options.messageKey) keys.push(this.key('message', options.messageKey));
		const args: (string | number)[] = [this.messageKeyTtlMs, Date.now(), usage.promptTokens, usage.completionTokens, usage.totalTokens, options.answer ?? '', options.calibration ? JSON.stringify(options.calibration) : ''];
		for (const turn of turns) args.push(turn.tokens, turn.role, turn.content);
		const appended = await this.script(APPEND_TURNS, keys, args);
		return appended === 1 ? 'appended' : 'duplicate';
	}

	async hasMessageKey(messageKey: string): Promise<boolean> {
		return (await this.command((redis) => redis.exists(this.key('message', messageKey)))) === 1;
	}

	async readAnswer(messageKey: string): Promise<string | null> {
		const value = await this.command((redis) => redis.get(this.key('message', messageKey)));
		// Keys recorded without an answer hold their time of recording.
		return value?.startsWith('{') ? value : null;
	}

	async record(entry: NewJournalEntry): Promise<RecordOutcome> {
		const keys = [this.key('journal:entry', entry.key), `${this.prefix}journal:seq`, this.key('journal:due', entry.owner), this.key('journal:pending', entry.sessionId)];
		const args = [entry.key, entry.sessionId, JSON.stringify(entry.item), entry.receivedAt, this.messageKeyTtlMs, entry.owner];
		const [fresh, value] = (await this.script(JOURNAL_RECORD, keys, args)) as [number, number | string];
		return fresh === 1 ? { kind: 'journaled', seq: Number(value) } : { kind: 'known', state: value as JournalState };
	}

	private async settle(key: string, state: 'answered' | 'delivered' | 'abandoned', reason = ''): Promise<void> {
		await this.script(JOURNAL_SETTLE, [this.key('journal:entry', key)], [key, state, `${this.prefix}journal:pending:`, reason, `${this.prefix}journal:due:`]);
	}

	async markAnswered(key: string): Promise<void> {
		await this.settle(key, 'answered');
	}

	async touch(keys: readonly string[], now: number): Promise<void> {
		// Sent together: the client writes them on one connection without waiting for each answer.
		await Promise.all(keys.map((key) => this.script(JOURNAL_TOUCH, [this.key('journal:entry', key)], [key, now, `${this.prefix}journal:due:`])));
	}

	async claimDelivery(key: string, sender: string, claimant: string, leaseMs: number): Promise<DeliveryClaim> {
		return (await this.script(JOURNAL_CLAIM, [this.receiptKey(key, sender)], [claimant, Date.now(), leaseMs, this.messageKeyTtlMs])) as DeliveryClaim;
	}

	private receiptKey(key: string, sender: string): string {
		return this.key('journal:receipt', `${key}\u0000${sender}`);
	}

	async recordReceipt(key: string, sender: string, _claimant: string, messageIds: string[]): Promise<void> {
		await this.command((redis) =>
			redis
				.multi()
				.hset(this.receiptKey(key, sender), 'deliveredAt', Date.now(), 'messageIds', JSON.stringify(messageIds), 'claimExpires', 0)
				.pexpire(this.receiptKey(key, sender), this.messageKeyTtlMs)
				.exec(),
		);
		await this.settle(key, 'delivered');
	}

	async releaseClaim(key: string, sender: string, claimant: string, reason: string): Promise<void> {
		await this.script(JOURNAL_RELEASE, [this.receiptKey(key, sender), this.key('journal:entry', key)], [claimant, reason]);
	}

	async isDelivered(key: string): Promise<boolean> {
		return (await this.command((redis) => redis.hget(this.key('journal:entry', key), 'state'))) === 'delivered';
	}

	async recordFailure(key: string, reason: string): Promise<void> {
		await this.script(JOURNAL_RELEASE, [this.key('journal:no-receipt', key), this.key('journal:entry', key)], ['', reason]);
	}

	async hasEarlierPending(sessionId: string, seq: number, since: number): Promise<boolean> {
		return (await this.script(JOURNAL_EARLIER_PENDING, [this.key('journal:pending', sessionId)], [seq, since, `${this.prefix}journal:entry:`])) === 1;
	}

	async takeOverdue(owner: string, dueBefore: number, now: number, limit: number, backoffMs = 0): Promise<JournalEntry[]> {
		const taken = (await this.script(JOURNAL_TAKE_OVERDUE, [this.key('journal:due', owner)], [dueBefore, now, limit, `${this.prefix}journal:entry:`, backoffMs])) as Array<string | string[]>;
		const entries: JournalEntry[] = [];
		for (let i = 0; i < taken.length; i += 2) {
			const flat = taken[i + 1] as string[];
			const hash: Record<string, string> = {};
			for (let j = 0; j < flat.length; j += 2) hash[flat[j]] = flat[j + 1];
			entries.push({
				key: taken[i] as string,
				sessionId: hash.sessionId,
				seq: Number(hash.seq),
				item: JSON.parse(hash.item) as Record<string, unknown>,
				receivedAt: Number(hash.receivedAt),
				attempts: Number(hash.attempts),
				state: hash.state as JournalState,
				lastError: hash.lastError ?? null,
			});
		}
		return entries.sort((a, b) => a.seq - b.seq);
	}

	async abandon(key: string, reason: string): Promise<void> {
		await this.settle(key, 'abandoned', reason);
	}

	async purgeJournal(before: number): Promise<void> {
		// Entries and receipts expire by themselves; due sets hold keys until they are settled or purged here.
		await this.command(async (redis) => {
			for await (const keys of redis.scanStream({ match: `${this.prefix}journal:due:*`, count: 100 })) {
				for (const key of keys as string[]) await redis.zremrangebyscore(key, '-inf', `(${before}`);
			}
		});
	}

	async resetContext(sessionId: string): Promise<void> {
		await this.script(RESET_CONTEXT, [this.key('session', sessionId)], []);
	}

	async forgetSession(sessionId: string): Promise<void> {
		// UNLINK frees a long history in the background instead of blocking Redis while it deletes.
		await this.command((redis) => redis.unlink(...this.sessionKeys(sessionId)));
	}

	async saveSummary(sessionId: string, summary: SessionSummary): Promise<void> {
		await this.command((redis) =>
			redis.hset(this.key('session', sessionId), {
				summary: summary.content,
				summaryTokens: summary.tokens,
				summaryThroughSeq: summary.throughSeq,
			}),
		);
	}

	async incrementCounter(key: string, amount: number, ttlMs: number): Promise<number> {
		return Number(await this.script(INCREMENT_COUNTER, [this.key('counter', key)], [amount, Math.max(1, Math.ceil(ttlMs))]));
	}

	async readCounter(key: string): Promise<number> {
		return Number((await this.command((redis) => redis.get(this.key('counter', key)))) ?? 0);
	}

	/** Nothing to do: Redis deletes message keys and counters itself when their TTL runs out. */
	async purgeExpired(): Promise<void> {}

	/**
	 * A Redis queue: the waiter's token joins a list the moment lock() is called (in call order
	 * within this process, whatever any other process does meanwhile), and it takes the lock (SET NX
	 * PX lease) when its token is at the head. Waiters keep an `alive:<token>` key fresh; a head whose
	 * key expired crashed and is skipped. A crashed holder stops renewing its lease, and the lock
	 * frees itself after leaseMs. Only the first waiter of this process polls (the in-process FIFO
	 * admits the others one at a time, in the same order as their tokens).
	 */
	async lock(sessionId: string, { waitMs, leaseMs }: LockOptions): Promise<SessionLock> {
		const deadline = Date.now() + waitMs;
		const token = randomUUID();
		const aliveKey = this.key('alive', token);
		const lockKey = this.key('lock', sessionId);
		const queueKey = this.key('lock-queue', sessionId);
		const lease = Math.max(1, Math.ceil(leaseMs));

		let local: SessionLock | undefined;
		let heartbeat: NodeJS.Timeout | undefined;
		let abandoned = false;
		const held: HeldLock = {
			abandon: () => {
				abandoned = true;
				clearInterval(heartbeat);
				this.heldLocks.delete(held);
				void local?.release();
			},
		};
		this.heldLocks.add(held);
		const releaseInRedis = () => this.script(LOCK_RELEASE, [lockKey, queueKey, aliveKey], [token]);
		const enqueue = () =>
			this.command((redis) => redis.multi().set(aliveKey, '1', 'PX', lease).rpush(queueKey, token).pexpire(queueKey, LOCK_QUEUE_IDLE_MS).exec());

		// The place in the queue is taken now, at arrival, not when earlier messages of this process are done.
		let queued = false;
		const joined = this.arrivals.run(sessionId, enqueue).then(() => {
			queued = true;
			if (abandoned) return;
			heartbeat = setInterval(() => {
				// A failed heartbeat is not fatal: the next one, or the lease, settles it.
				this.script(LOCK_HEARTBEAT, [aliveKey, lockKey], [token, lease]).catch(() => undefined);
			}, Math.max(10, Math.floor(lease / 3)));
		});
		joined.catch(() => undefined);

		let acquired = false;
		try {
			local = await this.mutex.acquire(sessionId, waitMs);
			await joined;
			for (;;) {
				const outcome = Number(await this.script(LOCK_TRY_ACQUIRE, [queueKey, lockKey], [token, lease, this.key('alive', ''), LOCK_QUEUE_IDLE_MS]));
				if (outcome === 1) break;
				// Our token was dropped as crashed (this process stalled for longer than the lease): queue again.
				if (outcome === -1) await enqueue();
				else if (Date.now() >= deadline) throw new LockTimeoutError(sessionId, waitMs);
				await this.sleep(Math.max(0, Math.min(LOCK_POLL_MS, deadline - Date.now())));
			}
			acquired = true;
		} finally {
			if (!acquired) {
				held.abandon();
				// Leaving the queue lets the next waiter in now rather than after our alive key expires. A waiter that
				// never got in (Redis unreachable) has nothing to leave, and asking would only delay its error.
				await joined.catch(() => undefined);
				if (queued && !this.closed) await releaseInRedis().catch(() => undefined);
			}
		}

		let released = false;
		return {
			release: async () => {
				if (released) return;
				released = true;
				const wasHeld = this.heldLocks.has(held);
				held.abandon();
				// After close() the connection is gone; the lease frees the lock.
				if (wasHeld && !this.closed) await releaseInRedis();
			},
		};
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		// Locks still held are not released here: like a crashed process, their leases run out.
		for (const held of [...this.heldLocks]) held.abandon();
		for (const wake of [...this.pendingSleeps]) wake();
		this.client.off('ready', this.forgetError);
		if (!this.ownsClient) {
			this.client.off('error', this.rememberError);
			return;
		}
		if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
		else this.client.disconnect();
	}

	private sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const wake = () => {
				clearTimeout(timer);
				this.pendingSleeps.delete(wake);
				resolve();
			};
			const timer = setTimeout(wake, ms);
			this.pendingSleeps.add(wake);
		});
	}

	/** Runs a Lua script by its SHA (EVALSHA), loading it on the first NOSCRIPT reply. */
	private script(source: string, keys: string[], args: (string | number)[]): Promise<unknown> {
		let sha = this.scriptHashes.get(source);
		if (!sha) {
			sha = createHash('sha1').update(source).digest('hex');
			this.scriptHashes.set(source, sha);
		}
		const hash = sha;
		return this.command((redis) =>
			redis
				.evalsha(hash, keys.length, ...keys, ...args)
				.catch((error: unknown) =>
					messageOf(error).startsWith('NOSCRIPT') ? redis.eval(source, keys.length, ...keys, ...args) : Promise.reject(error),
				),
		);
	}

	/** Every Redis call goes through here: connects on first use and turns failures into actionable messages. */
	private async command<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
		if (this.closed) throw new Error('The Redis session store was closed; the AI Session node opens a new one on its next run.');
		try {
			await this.connect();
			return await work(this.client);
		} catch (error) {
			throw this.explain(error);
		}
	}

	private connect(): Promise<void> {
		if (this.wrongDatabase) return Promise.reject(this.wrongDatabase);
		if (this.client.status !== 'wait') return Promise.resolve();
		const database = this.client.options.db ?? 0;
		this.connecting ??= this.client
			.connect()
			// ioredis only logs a failed SELECT and carries on in database 0: ask again, and stop for good if it fails.
			.then(() => (database ? this.client.select(database) : undefined))
			.then(
				() => undefined,
				(error: unknown) => {
					if (/DB index/i.test(messageOf(error))) this.wrongDatabase = error;
					throw error;
				},
			)
			.finally(() => {
				this.connecting = null;
			});
		return this.connecting;
	}

	private explain(error: unknown): Error {
		if (error instanceof LockTimeoutError) return error;
		const message = messageOf(error);
		// ioredis reports a lost connection generically; the last connection error says why.
		const cause = /Connection is closed|max retries per request|Stream isn't writeable/i.test(message) ? (this.lastConnectionError ?? error) : error;
		const detail = messageOf(cause);
		if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(detail)) {
			return new Error(`Redis at ${this.where} rejected the user name or password. Check the Redis credential's user and password.`, { cause });
		}
		if (/NOPERM/.test(detail)) {
			return new Error(`The Redis user may not run the commands or scripts the session store needs (${detail}). Allow EVAL/EVALSHA and keys under "${this.prefix}*" for this user.`, { cause });
		}
		if (/DB index is out of range/i.test(detail)) {
			return new Error(`Redis at ${this.where} has no database with that number. Check the Redis credential's database number.`, { cause });
		}
		const code = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET)\b/.exec(detail)?.[1];
		if (code || cause !== error || /connect/i.test(detail)) {
			return new Error(`Could not connect to Redis at ${this.where}${code ? ` (${code})` : ''}. Check the Redis credential's host, port and SSL setting, and that Redis is running.`, { cause });
		}
		return new Error(`Redis session store: ${detail}`, { cause: error });
	}
}
