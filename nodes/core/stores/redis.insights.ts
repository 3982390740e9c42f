import type { Redis } from 'ioredis';

import { ALL_TIME, type CounterDelta, type InsightsBatch } from '../insights/events';
import { daysFrom } from '../insights/period';
import type { InsightsStore, SessionActivity, SessionQuery } from '../insights/store';

/** The Redis store's own plumbing: its script runner (EVALSHA), its command wrapper and its key prefix. */
export interface RedisPlumbing {
	script(source: string, keys: string[], args: (string | number)[]): Promise<unknown>;
	command<T>(work: (redis: Redis) => Promise<T>): Promise<T>;
	prefix: string;
	retentionMs: number;
}

// Keys: `insights:counters:<day>` hash of `<series>\u0000<field>` → value (expires after the retention;
// `insights:counters:all` never); `insights:session:<id>` hash per session; `insights:seen` and
// `insights:busy` sorted sets of session IDs by last seen and by messages.
const RECORD = `
-- KEYS: 1 seen zset, 2 busy zset; ARGV: 1 key prefix, 2 retention ms, 3 oldest last-seen kept, 4 counter count, then
-- per counter: day, field key, value; then per session: id, channel, via, account, first, last, messages, tokens, errors
local prefix = ARGV[1]
local n = tonumber(ARGV[4])
local days = {}
local i = 5
for _ = 1, n do
	local key = prefix .. 'insights:counters:' .. ARGV[i]
	redis.call('HINCRBY', key, ARGV[i + 1], ARGV[i + 2])
	if ARGV[i] ~= '${ALL_TIME}' then days[key] = true end
	i = i + 3
end
for key in pairs(days) do redis.call('PEXPIRE', key, tonumber(ARGV[2]) + 86400000) end
while i <= #ARGV do
	local key = prefix .. 'insights:session:' .. ARGV[i]
	local first = tonumber(redis.call('HGET', key, 'first') or ARGV[i + 4])
	local last = tonumber(redis.call('HGET', key, 'last') or ARGV[i + 5])
	last = math.max(last, tonumber(ARGV[i + 5]))
	redis.call('HSET', key, 'channel', ARGV[i + 1], 'via', ARGV[i + 2], 'account', ARGV[i + 3],
		'first', math.min(first, tonumber(ARGV[i + 4])), 'last', last)
	redis.call('HINCRBY', key, 'messages', ARGV[i + 6])
	redis.call('HINCRBY', key, 'tokens', ARGV[i + 7])
	redis.call('HINCRBY', key, 'errors', ARGV[i + 8])
	redis.call('PEXPIRE', key, ARGV[2])
	redis.call('ZADD', KEYS[1], last, ARGV[i])
	redis.call('ZINCRBY', KEYS[2], ARGV[i + 6], ARGV[i])
	i = i + 9
end
-- Sessions past the retention leave both indexes (a few per write, so no write ever takes long).
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3], 'LIMIT', 0, 100)) do
	redis.call('ZREM', KEYS[1], id)
	redis.call('ZREM', KEYS[2], id)
end
return 1
`;

/** Insights in the Redis store: one script call (one round trip) per batch. */
export class RedisInsights implements InsightsStore {
	constructor(private readonly redis: RedisPlumbing) {}

	private key(name: string): string {
		return `${this.redis.prefix}insights:${name}`;
	}

	async recordInsights({ counters, sessions }: InsightsBatch): Promise<void> {
		if (counters.length === 0 && sessions.length === 0) return;
		const args: (string | number)[] = [this.redis.prefix, this.redis.retentionMs, Date.now() - this.redis.retentionMs, counters.length];
		for (const delta of counters) args.push(delta.day, `${delta.series}\u0000${delta.field}`, delta.value);
		for (const s of sessions) args.push(s.sessionId, s.channel, s.via, s.accountId, s.firstSeen, s.lastSeen, s.messages, s.tokens, s.errors);
		await this.redis.script(RECORD, [this.key('seen'), this.key('busy')], args);
	}

	async readCounters(fromDay: string, toDay: string): Promise<CounterDelta[]> {
		const days = fromDay === ALL_TIME ? [ALL_TIME] : daysFrom(fromDay, toDay);
		const hashes = await this.redis.command(async (redis) => {
			const pipeline = redis.pipeline();
			for (const day of days) pipeline.hgetall(this.key(`counters:${day}`));
			return ((await pipeline.exec()) ?? []).map(([error, hash]) => {
				if (error) throw error;
				return hash as Record<string, string>;
			});
		});
		const rows: CounterDelta[] = [];
		hashes.forEach((hash, index) => {
			for (const [key, value] of Object.entries(hash)) {
				const split = key.lastIndexOf('\u0000');
				rows.push({ day: days[index], series: key.slice(0, split), field: key.slice(split + 1), value: Number(value) });
			}
		});
		return rows;
	}

	async readSessions({ since, limit, order }: SessionQuery): Promise<SessionActivity[]> {
		return await this.redis.command(async (redis) => {
			// Most messages first: read more than asked, since some may have been seen before `since`.
			const ids =
				order === 'messages'
					? await redis.zrevrange(this.key('busy'), 0, Math.max(limit * 4, 100) - 1)
					: await redis.zrevrangebyscore(this.key('seen'), '+inf', since, 'LIMIT', 0, limit);
			if (ids.length === 0) return [];
			const pipeline = redis.pipeline();
			for (const id of ids) pipeline.hgetall(this.key(`session:${id}`));
			const hashes = ((await pipeline.exec()) ?? []).map(([, hash]) => hash as Record<string, string>);
			const sessions: SessionActivity[] = [];
			ids.forEach((id, index) => {
				const hash = hashes[index];
				if (!hash || hash.last === undefined || Number(hash.last) < since) return;
				sessions.push({
					sessionId: id,
					channel: hash.channel,
					via: hash.via,
					accountId: hash.account,
					firstSeen: Number(hash.first),
					lastSeen: Number(hash.last),
					messages: Number(hash.messages ?? 0),
					tokens: Number(hash.tokens ?? 0),
					errors: Number(hash.errors ?? 0),
				});
			});
			if (order === 'messages') sessions.sort((a, b) => b.messages - a.messages || b.lastSeen - a.lastSeen);
			return sessions.slice(0, limit);
		});
	}

	async countSessionsSince(times: number[]): Promise<number[]> {
		return await this.redis.command(async (redis) => {
			const pipeline = redis.pipeline();
			for (const time of times) pipeline.zcount(this.key('seen'), time, '+inf');
			return ((await pipeline.exec()) ?? []).map(([error, count]) => {
				if (error) throw error;
				return Number(count);
			});
		});
	}
}
