import { RecentKeys } from '../../nodes/core/recent-keys';

describe('RecentKeys: redeliveries seen lately', () => {
	test('a key is new once, then a redelivery within the TTL is recognised', () => {
		const recent = new RecentKeys(60_000, 100);
		expect(recent.remember('Ev1', 1_000)).toBe(true);
		expect(recent.remember('Ev1', 1_001)).toBe(false);
		expect(recent.remember('Ev1', 60_999)).toBe(false);
		expect(recent.remember('Ev2', 1_002)).toBe(true);
		expect(recent.size).toBe(2);
	});

	test('a key is new again once its TTL has passed', () => {
		const recent = new RecentKeys(60_000, 100);
		recent.remember('Ev1', 0);
		expect(recent.remember('Ev1', 60_000)).toBe(true);
		// Remembered afresh: the TTL counts from the second time.
		expect(recent.remember('Ev1', 119_999)).toBe(false);
		expect(recent.remember('Ev1', 120_000)).toBe(true);
	});

	test('a redelivery does not extend the TTL of the first delivery', () => {
		const recent = new RecentKeys(60_000, 100);
		recent.remember('Ev1', 0);
		expect(recent.remember('Ev1', 59_000)).toBe(false);
		expect(recent.remember('Ev1', 60_000)).toBe(true);
	});

	test('expired keys are forgotten as new ones arrive, so memory does not grow with traffic', () => {
		const recent = new RecentKeys(1_000, 100);
		for (let i = 0; i < 50; i++) recent.remember(`old${i}`, i);
		expect(recent.size).toBe(50);
		recent.remember('new', 5_000);
		expect(recent.size).toBe(1);
	});

	test('the count is bounded: the oldest keys are forgotten first', () => {
		const recent = new RecentKeys(60_000, 3);
		for (const key of ['a', 'b', 'c', 'd']) recent.remember(key, 1_000);
		expect(recent.size).toBe(3);
		expect(recent.remember('b', 1_001)).toBe(false);
		expect(recent.remember('c', 1_001)).toBe(false);
		expect(recent.remember('d', 1_001)).toBe(false);
		// "a" was pushed out by "d", so it counts as new (and pushes out "b").
		expect(recent.remember('a', 1_001)).toBe(true);
		expect(recent.size).toBe(3);
		expect(recent.remember('b', 1_002)).toBe(true);
	});

	test('a key remembered again after its TTL moves to the newest end', () => {
		const recent = new RecentKeys(1_000, 2);
		recent.remember('a', 0);
		recent.remember('b', 500);
		expect(recent.remember('a', 1_000)).toBe(true);
		// Over the bound: "b" is the oldest now, not "a".
		recent.remember('c', 1_100);
		expect(recent.remember('a', 1_200)).toBe(false);
		expect(recent.remember('b', 1_200)).toBe(true);
	});

	test('defaults: an hour and 10,000 keys', () => {
		const recent = new RecentKeys();
		recent.remember('k', 0);
		expect(recent.remember('k', 60 * 60_000 - 1)).toBe(false);
		expect(recent.remember('k', 60 * 60_000)).toBe(true);
		for (let i = 0; i < 10_050; i++) recent.remember(`k${i}`, 60 * 60_000 + 1);
		expect(recent.size).toBe(10_000);
	});
});
