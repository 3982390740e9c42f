import { keepTyping, typingRefreshMs } from '../../nodes/core/typing';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** A typing action that records when it started and settles when the test says so (or at once). */
function recordingSender({ settle = 'at once' as 'at once' | 'by hand' } = {}) {
	const startedAt: number[] = [];
	const signals: AbortSignal[] = [];
	const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
	const send = (signal: AbortSignal) => {
		startedAt.push(Date.now());
		signals.push(signal);
		if (settle === 'at once') return Promise.resolve();
		return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
	};
	return { send, startedAt, signals, pending };
}

describe('refresh interval', () => {
	test('each platform\'s indicator is refreshed before it runs out, with room for a slow request', () => {
		// Telegram 5 s, Discord 10 s, Teams 3 s, Matrix 30 s.
		expect(typingRefreshMs(5_000)).toBe(4_000);
		expect(typingRefreshMs(10_000)).toBe(8_000);
		expect(typingRefreshMs(3_000)).toBe(2_000);
		expect(typingRefreshMs(30_000)).toBe(24_000);
	});

	test('never more than once a second, however short the indicator', () => {
		expect(typingRefreshMs(1_500)).toBe(1_000);
		expect(typingRefreshMs(0)).toBe(1_000);
	});
});

describe('keepTyping', () => {
	test('sends the first action at once and then one per refresh interval while the work goes on', async () => {
		const sender = recordingSender();
		const start = Date.now();
		const typing = keepTyping(sender.send, { lastsMs: 5_000 });
		expect(sender.startedAt).toEqual([start]);
		await jest.advanceTimersByTimeAsync(13_000);
		expect(sender.startedAt.map((at) => at - start)).toEqual([0, 4_000, 8_000, 12_000]);
		expect(typing.actions).toBe(4);
		typing.stop();
	});

	test('after stop, no action is sent ever again and the one in flight is aborted', async () => {
		const sender = recordingSender({ settle: 'by hand' });
		const typing = keepTyping(sender.send, { lastsMs: 10_000 });
		typing.stop();
		expect(sender.signals[0].aborted).toBe(true);
		sender.pending[0].resolve();
		await jest.advanceTimersByTimeAsync(60_000);
		expect(sender.startedAt).toHaveLength(1);
		// A second stop (the item's finally after an earlier stop) is harmless.
		expect(() => typing.stop()).not.toThrow();
	});

	test('a failed action (429, network) is reported, never thrown, and typing carries on', async () => {
		const errors: unknown[] = [];
		let calls = 0;
		const typing = keepTyping(
			async () => {
				calls += 1;
				if (calls === 1) throw new Error('Too Many Requests: retry after 3');
			},
			{ lastsMs: 5_000, onError: (error) => errors.push(error) },
		);
		await jest.advanceTimersByTimeAsync(4_000);
		expect(errors).toEqual([new Error('Too Many Requests: retry after 3')]);
		expect(calls).toBe(2);
		typing.stop();
	});

	test('a sender that throws synchronously or an onError that throws does not escape either', async () => {
		const typing = keepTyping(
			() => {
				throw new Error('no client');
			},
			{
				lastsMs: 5_000,
				onError: () => {
					throw new Error('logger broken');
				},
			},
		);
		await jest.advanceTimersByTimeAsync(4_000);
		expect(typing.actions).toBe(2);
		typing.stop();
	});

	test('an action aborted by stop is no error to report', async () => {
		const errors: unknown[] = [];
		const sender = recordingSender({ settle: 'by hand' });
		const typing = keepTyping(sender.send, { lastsMs: 5_000, onError: (error) => errors.push(error) });
		typing.stop();
		sender.pending[0].reject(new Error('This operation was aborted'));
		await jest.advanceTimersByTimeAsync(0);
		expect(errors).toEqual([]);
	});

	test('a slow action is not doubled: the next one goes when it settles, not on top of it', async () => {
		const sender = recordingSender({ settle: 'by hand' });
		const start = Date.now();
		const typing = keepTyping(sender.send, { lastsMs: 5_000 });
		await jest.advanceTimersByTimeAsync(6_000);
		expect(sender.startedAt).toHaveLength(1);
		sender.pending[0].resolve();
		await jest.advanceTimersByTimeAsync(0);
		// Already overdue (due at 4 s): sent as soon as the slow one settled.
		expect(sender.startedAt.map((at) => at - start)).toEqual([0, 6_000]);
		typing.stop();
	});
});
