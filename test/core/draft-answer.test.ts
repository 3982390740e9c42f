/**
 * Stream Preview's core: the per-chat edit pace and the draft that coalesces a streamed answer
 * into few edits. A fake platform records what a chat would have seen, and when.
 */
import { DRAFT_CURSOR, DraftAnswer, draftTextOf, type DraftChat } from '../../nodes/core/draft-answer';
import { EditPacer, editSpacingMs } from '../../nodes/core/edit-pacer';
import { markdownRenderer } from '../../nodes/core/text/renderer';

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A chat that takes `latencyMs` per call and records every post, edit and delete with its time. */
function fakeChat(pacer: EditPacer, { spacingMs = 100, latencyMs = 5, failPost = false } = {}) {
	const calls: Array<{ action: 'post' | 'edit' | 'delete'; text: string | null; at: number }> = [];
	const errors: string[] = [];
	let posted = 0;
	const chat: DraftChat = {
		where: { via: 'telegram', chatId: '42', threadId: null },
		render: (markdown) => draftTextOf({ renderer: markdownRenderer, textLimit: 100 }, markdown),
		async post(text) {
			await settle(latencyMs);
			if (failPost) throw new Error('refused');
			calls.push({ action: 'post', text, at: Date.now() });
			return String(++posted);
		},
		async edit(_id, text) {
			await settle(latencyMs);
			calls.push({ action: 'edit', text, at: Date.now() });
		},
		async remove() {
			await settle(latencyMs);
			calls.push({ action: 'delete', text: null, at: Date.now() });
		},
		paced: (call, signal) => pacer.run('telegram:bot:42', spacingMs, call, signal),
		onError: (error, action) => errors.push(`${action}: ${(error as Error).message}`),
	};
	return { chat, calls, errors };
}

describe('edit pace per chat', () => {
	test('spreads a limit evenly over its window (Discord 5 per 5 s: one a second; Telegram groups 20 a minute: one per 3 s)', () => {
		expect(editSpacingMs({ edits: 5, perMs: 5_000 })).toBe(1_000);
		expect(editSpacingMs({ edits: 20, perMs: 60_000 })).toBe(3_000);
		expect(editSpacingMs({ edits: 50, perMs: 60_000 })).toBe(1_200);
	});

	test('calls on one chat never overlap and start at least the spacing after the previous one ended; other chats do not wait', async () => {
		const pacer = new EditPacer();
		const log: Array<{ key: string; start: number; end: number }> = [];
		const call = (key: string) => pacer.run(key, 80, async () => {
			const start = Date.now();
			await settle(20);
			log.push({ key, start, end: Date.now() });
		});
		const began = Date.now();
		await Promise.all([call('a'), call('a'), call('a'), call('b')]);
		const a = log.filter((entry) => entry.key === 'a');
		expect(a).toHaveLength(3);
		for (let index = 1; index < a.length; index++) expect(a[index].start - a[index - 1].end).toBeGreaterThanOrEqual(79);
		expect(log.find((entry) => entry.key === 'b')!.start - began).toBeLessThan(60);
	});

	test('a call no longer wanted when its turn comes is skipped and uses up no turn: the final edit does not wait for a draft edit that never went', async () => {
		const pacer = new EditPacer();
		await pacer.run('a', 300, async () => undefined);
		const abort = new AbortController();
		const skipped = pacer.run('a', 300, async () => 'sent', abort.signal);
		await settle(20);
		abort.abort();
		await expect(skipped).rejects.toThrow('no longer wanted');
		const before = Date.now();
		await pacer.run('a', 300, async () => undefined);
		// The next call waits out what is left of the first call's spacing (about 280 ms), not a second
		// spacing for the skipped call (about 580 ms); the bar sits between the two.
		expect(Date.now() - before).toBeLessThan(430);
	});

	test('a failed call does not stop the lane', async () => {
		const pacer = new EditPacer();
		await expect(pacer.run('a', 10, () => Promise.reject(new Error('429')))).rejects.toThrow('429');
		await expect(pacer.run('a', 10, async () => 'next')).resolves.toBe('next');
	});
});

describe('the draft of a streamed answer', () => {
	test('shows the first text at once, then only the newest text at the chat\'s pace, never more often', async () => {
		const { chat, calls } = fakeChat(new EditPacer(), { spacingMs: 100 });
		const draft = new DraftAnswer(chat);
		const words = Array.from({ length: 40 }, (_, index) => `word${index} `);
		const started = Date.now();
		for (const word of words) {
			draft.write(word);
			await settle(10);
		}
		const preview = await draft.settle();
		expect(preview).toEqual({ via: 'telegram', chatId: '42', threadId: null, messageIds: ['1'] });
		expect(calls[0]).toMatchObject({ action: 'post', text: `word0${DRAFT_CURSOR}` });
		expect(calls[0].at - started).toBeLessThan(50);
		// ~400 ms of writing at one call per ~100 ms: a handful of edits, not forty.
		expect(calls.length).toBeGreaterThan(1);
		expect(calls.length).toBeLessThanOrEqual(6);
		for (let index = 1; index < calls.length; index++) expect(calls[index].at - calls[index - 1].at).toBeGreaterThanOrEqual(100);
		for (const call of calls) expect(call.text!.endsWith(DRAFT_CURSOR)).toBe(true);
	});

	test('a draft is the first message only: a long answer stops changing it once the first message is full', () => {
		const long = 'lorem ipsum '.repeat(100);
		const text = draftTextOf({ renderer: markdownRenderer, textLimit: 100 }, long)!;
		expect(text.length).toBeLessThanOrEqual(100);
		expect(draftTextOf({ renderer: markdownRenderer, textLimit: 100 }, long + 'more words')).toBe(text);
		expect(draftTextOf({ renderer: markdownRenderer, textLimit: 100 }, '   ')).toBeNull();
	});

	test('nothing is posted before the model writes, and nothing after it settled', async () => {
		const { chat, calls } = fakeChat(new EditPacer());
		const draft = new DraftAnswer(chat);
		expect(await draft.settle()).toBeNull();
		draft.write('late');
		await settle(50);
		expect(calls).toEqual([]);
	});

	test('settle waits for the post in flight, so the send node never edits before the draft exists', async () => {
		const { chat, calls } = fakeChat(new EditPacer(), { latencyMs: 60 });
		const draft = new DraftAnswer(chat);
		draft.write('Hello');
		await settle(10);
		const preview = await draft.settle();
		expect(preview?.messageIds).toEqual(['1']);
		expect(calls.map((call) => call.action)).toEqual(['post']);
	});

	test('settle does not wait for the chat\'s pace: an update still waiting for its turn is dropped', async () => {
		const { chat, calls } = fakeChat(new EditPacer(), { spacingMs: 1_000 });
		const draft = new DraftAnswer(chat);
		draft.write('Hello');
		await settle(20);
		draft.write(' world');
		const started = Date.now();
		expect(await draft.settle()).toMatchObject({ messageIds: ['1'] });
		expect(Date.now() - started).toBeLessThan(200);
		expect(calls.map((call) => call.action)).toEqual(['post']);
	});

	test('a retry after a part-written answer replaces the draft\'s text instead of adding to it', async () => {
		const { chat, calls } = fakeChat(new EditPacer(), { spacingMs: 20 });
		const draft = new DraftAnswer(chat);
		draft.write('First attempt');
		await settle(40);
		draft.restart();
		draft.write('Second');
		await settle(60);
		await draft.settle();
		expect(calls.at(-1)!.text).toBe(`Second${DRAFT_CURSOR}`);
	});

	test('discard deletes the draft (a failed answer leaves nothing half-written in the chat)', async () => {
		const { chat, calls } = fakeChat(new EditPacer(), { spacingMs: 20 });
		const draft = new DraftAnswer(chat);
		draft.write('Half an answer');
		await settle(30);
		await draft.discard();
		expect(calls.map((call) => call.action)).toEqual(['post', 'delete']);
	});

	test('a refused post means no draft: the answer is sent as usual, and the failure is reported, not thrown', async () => {
		const { chat, calls, errors } = fakeChat(new EditPacer(), { failPost: true });
		const draft = new DraftAnswer(chat);
		draft.write('Hello');
		await settle(30);
		draft.write(' world');
		expect(await draft.settle()).toBeNull();
		expect(calls).toEqual([]);
		expect(errors).toEqual(['post: refused']);
	});
});
