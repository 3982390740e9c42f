import { DEFAULT_RETRY_AFTER, RateLimitedError, withRetryAfter, type RetryAfterOptions } from '../../nodes/core/retry-after';

/** A platform error carrying how long to wait, as a client would throw it. */
class TooManyRequests extends Error {
	constructor(readonly waitMs: number) {
		super('429 Too Many Requests');
	}
}

/** A call that fails with the given errors in turn, then returns `done`; counts its attempts. */
function scripted(...failures: unknown[]) {
	const call = jest.fn(async () => {
		if (call.mock.calls.length <= failures.length) throw failures[call.mock.calls.length - 1];
		return 'done';
	});
	return call;
}

function optionsWith(overrides: Partial<RetryAfterOptions> = {}) {
	const waits: number[] = [];
	const options: RetryAfterOptions = {
		action: 'send a message',
		platform: 'Testnet',
		retryAfterMs: (error) => (error instanceof TooManyRequests ? error.waitMs : null),
		sleep: async (ms) => {
			waits.push(ms);
		},
		...overrides,
	};
	return { options, waits };
}

describe('withRetryAfter: waiting out rate limits', () => {
	test('a call that succeeds is run once, without waiting', async () => {
		const call = scripted();
		const { options, waits } = optionsWith();
		await expect(withRetryAfter(call, options)).resolves.toBe('done');
		expect(call).toHaveBeenCalledTimes(1);
		expect(waits).toEqual([]);
	});

	test('waits the time the platform asked for, then retries until the call succeeds', async () => {
		const call = scripted(new TooManyRequests(1_500), new TooManyRequests(250));
		const { options, waits } = optionsWith();
		await expect(withRetryAfter(call, options)).resolves.toBe('done');
		expect(call).toHaveBeenCalledTimes(3);
		expect(waits).toEqual([1_500, 250]);
	});

	test('a wait of exactly the longest allowed is still waited; a negative one is no wait', async () => {
		const { options, waits } = optionsWith({ policy: { maxRetries: 3, maxWaitMs: 2_000 } });
		await expect(withRetryAfter(scripted(new TooManyRequests(2_000), new TooManyRequests(-5)), options)).resolves.toBe('done');
		expect(waits).toEqual([2_000, 0]);
	});

	test('gives up after maxRetries retries, saying so', async () => {
		const call = scripted(...Array.from({ length: 10 }, () => new TooManyRequests(100)));
		const { options, waits } = optionsWith({ policy: { maxRetries: 2, maxWaitMs: 30_000 } });
		const failure = withRetryAfter(call, options);
		await expect(failure).rejects.toBeInstanceOf(RateLimitedError);
		await expect(failure).rejects.toThrow('Testnet kept rate-limiting the bot after 2 retries to send a message. Send fewer messages or try again later.');
		await expect(failure).rejects.toMatchObject({ retryAfterMs: 100 });
		expect(call).toHaveBeenCalledTimes(3);
		expect(waits).toEqual([100, 100]);
	});

	test('the default policy retries three times and waits at most 30 s', async () => {
		expect(DEFAULT_RETRY_AFTER).toEqual({ maxRetries: 3, maxWaitMs: 30_000 });
		const call = scripted(...Array.from({ length: 10 }, () => new TooManyRequests(10)));
		const { options } = optionsWith();
		await expect(withRetryAfter(call, options)).rejects.toThrow(/after 3 retries/);
		expect(call).toHaveBeenCalledTimes(4);
	});

	test('a wait longer than maxWaitMs fails at once with a message a user can act on', async () => {
		const call = scripted(new TooManyRequests(120_000));
		const { options, waits } = optionsWith({ policy: { maxRetries: 3, maxWaitMs: 30_000 } });
		const failure = withRetryAfter(call, options);
		await expect(failure).rejects.toBeInstanceOf(RateLimitedError);
		await expect(failure).rejects.toThrow(
			'Testnet is rate-limiting the bot and asked to wait 120 s to send a message, longer than Clawgate waits (30 s). Send fewer messages or try again later.',
		);
		await expect(failure).rejects.toMatchObject({ retryAfterMs: 120_000 });
		expect(call).toHaveBeenCalledTimes(1);
		expect(waits).toEqual([]);
	});

	test('any other error is rethrown unchanged, at once', async () => {
		const refused = Object.assign(new Error('chat not found'), { status: 400 });
		const call = scripted(refused);
		const { options, waits } = optionsWith();
		await expect(withRetryAfter(call, options)).rejects.toBe(refused);
		expect(call).toHaveBeenCalledTimes(1);
		expect(waits).toEqual([]);
	});

	test('a non-Error rejection is rethrown unchanged too', async () => {
		const { options } = optionsWith();
		await expect(withRetryAfter(scripted('socket hang up'), options)).rejects.toBe('socket hang up');
	});

	test('an error after a rate limit is rethrown unchanged', async () => {
		const refused = new Error('forbidden');
		const call = scripted(new TooManyRequests(10), refused);
		const { options, waits } = optionsWith();
		await expect(withRetryAfter(call, options)).rejects.toBe(refused);
		expect(waits).toEqual([10]);
	});

	test('without an injected sleep it really waits', async () => {
		const call = scripted(new TooManyRequests(60));
		const { options } = optionsWith({ sleep: undefined });
		const started = Date.now();
		await expect(withRetryAfter(call, options)).resolves.toBe('done');
		expect(Date.now() - started).toBeGreaterThanOrEqual(50);
	});
});
