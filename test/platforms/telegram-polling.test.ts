import type { Update } from 'grammy/types';
import type { IDataObject, INodeExecutionData, IRun, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import {
	createTelegramApi,
	pollForFirstUpdate,
	TelegramLongPoller,
	type HandledUpdate,
	type LongPollerOptions,
	type TelegramApiError,
} from '../../nodes/Telegram/telegram.adapter';
import { setupFor, startPolling } from '../../nodes/Telegram/TelegramTrigger.runtime';
import { TelegramEmulator, type FileServing } from '../emulators/telegram';

const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
const api = () => createTelegramApi({ accessToken: telegram.token, baseUrl: telegram.apiRoot });
const textOf = (update: Update) => update.message?.text ?? '';

/** A deferred value: the "execution" a test finishes when it wants. */
function deferred() {
	let resolve!: () => void;
	const promise = new Promise<void>((done) => (resolve = done));
	return { promise, resolve };
}

interface Harness {
	poller: TelegramLongPoller;
	handed: Update[];
	warnings: string[];
	infos: string[];
	fatal: TelegramApiError[];
}

/** A poller whose "executions" finish at once, unless `hold` keeps some running. */
function startPoller(options: Partial<LongPollerOptions> & { hold?: (update: Update) => Promise<void> | null; skip?: (update: Update) => boolean } = {}): Harness {
	const harness: Harness = { handed: [], warnings: [], infos: [], fatal: [], poller: null as unknown as TelegramLongPoller };
	harness.poller = new TelegramLongPoller({
		api: api(),
		allowedUpdates: ['message'],
		longPollSeconds: 2,
		busyPollIntervalMs: 100,
		backoffMs: { initial: 50, max: 200 },
		stopTimeoutMs: 2_000,
		log: {
			debug: () => {},
			info: (message) => harness.infos.push(message),
			warn: (message) => harness.warnings.push(message),
		},
		handleUpdate: async (update): Promise<HandledUpdate> => {
			if (options.skip?.(update)) return null;
			harness.handed.push(update);
			return { done: options.hold?.(update) ?? Promise.resolve() };
		},
		onFatalError: (error) => harness.fatal.push(error),
		...options,
	});
	harness.poller.start();
	return harness;
}

async function until(check: () => boolean, description: string, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${description}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** A call the emulator has received, even one still open (the kit's waitFor resolves on the answer). */
const received = (method: string, predicate: (body: Record<string, unknown>) => boolean = () => true, after = 0) =>
	until(() => telegram.calls(method).slice(after).some((call) => predicate(call.body)), `a ${method} call`);

const queue = (...texts: string[]) => texts.map((text) => {
	const update = telegram.textUpdate({ text });
	telegram.queueUpdate(update);
	return update;
});

beforeAll(() => telegram.start());
afterAll(() => telegram.stop());
afterEach(async () => {
	// Each test starts with no webhook and nothing waiting.
	await api().deleteWebhook();
	const pending = telegram.pendingUpdateIds;
	if (pending.length > 0) await api().getUpdates({ offset: Math.max(...pending) + 1, timeout: 0 });
});

describe('the emulator keeps Telegram\'s getUpdates semantics', () => {
	test('an update stays until getUpdates is called with a higher offset', async () => {
		const [first, second] = queue('one', 'two');
		expect((await api().getUpdates({ timeout: 0 })).map((update) => update.update_id)).toEqual([first.update_id, second.update_id]);
		expect((await api().getUpdates({ timeout: 0 })).map(textOf)).toEqual(['one', 'two']);
		expect((await api().getUpdates({ offset: second.update_id, timeout: 0 })).map(textOf)).toEqual(['two']);
		expect(telegram.pendingUpdateIds).toEqual([second.update_id]);
		await api().getUpdates({ offset: second.update_id + 1, timeout: 0 });
		expect(telegram.pendingUpdateIds).toEqual([]);
	});

	test('a long poll waits for the next update, and returns empty after its timeout', async () => {
		const started = Date.now();
		const waiting = api().getUpdates({ timeout: 5 });
		setTimeout(() => queue('late'), 300);
		expect((await waiting).map(textOf)).toEqual(['late']);
		expect(Date.now() - started).toBeLessThan(2_000);
		await api().getUpdates({ offset: telegram.pendingUpdateIds[0] + 1, timeout: 0 });

		const quiet = Date.now();
		expect(await api().getUpdates({ timeout: 1 })).toEqual([]);
		expect(Date.now() - quiet).toBeGreaterThanOrEqual(900);
	});

	test('getUpdates is refused with 409 while a webhook is set, and a newer getUpdates ends an older one with 409', async () => {
		await api().setWebhook('https://n8n.example.com/webhook/x/webhook');
		await expect(api().getUpdates({ timeout: 0 })).rejects.toThrow(/409.*can't use getUpdates method while webhook is active/);
		await api().deleteWebhook();

		const before = telegram.calls('getUpdates').length;
		const older = api().getUpdates({ timeout: 5 });
		await received('getUpdates', (body) => body.timeout === 5, before);
		const newer = api().getUpdates({ timeout: 0 });
		await expect(older).rejects.toThrow(/409.*terminated by other getUpdates request/);
		await expect(newer).resolves.toEqual([]);
	});

	test('updates of types the bot did not ask for are not stored', async () => {
		await api().getUpdates({ timeout: 0, allowed_updates: ['message'] });
		telegram.queueUpdate(telegram.editedUpdate(telegram.textUpdate({ text: 'x' }), 'y'));
		expect(telegram.pendingUpdateIds).toEqual([]);
	});
});

describe('long polling hands every update to n8n once', () => {
	test('updates are handed over in order and confirmed once their executions finish', async () => {
		const { poller, handed } = startPoller();
		queue('a', 'b', 'c');
		await until(() => handed.length === 3, 'three updates');
		expect(handed.map(textOf)).toEqual(['a', 'b', 'c']);
		await telegram.drained();
		expect(telegram.calls('getUpdates').at(-1)?.body.allowed_updates).toEqual(['message']);
		await poller.stop();
	});

	test('an update is not confirmed while its execution runs, and newer updates are handed over meanwhile', async () => {
		const slow = deferred();
		const { poller, handed } = startPoller({ hold: (update) => (textOf(update) === 'slow' ? slow.promise : null) });
		const [slowUpdate] = queue('slow');
		await until(() => handed.length === 1, 'the slow update');
		queue('fast 1', 'fast 2');
		await until(() => handed.length === 3, 'the updates after it');
		expect(handed.map(textOf)).toEqual(['slow', 'fast 1', 'fast 2']);
		// Telegram still holds the slow one (and those after it): a crash now would redeliver them.
		expect(telegram.pendingUpdateIds[0]).toBe(slowUpdate.update_id);

		slow.resolve();
		await telegram.drained();
		expect(handed.map(textOf)).toEqual(['slow', 'fast 1', 'fast 2']);
		await poller.stop();
	});

	test('a clean stop aborts the waiting long poll at once, waits for running executions and confirms them', async () => {
		const running = deferred();
		const { poller, handed } = startPoller({ hold: () => running.promise, longPollSeconds: 30 });
		queue('in flight');
		await until(() => handed.length === 1, 'the update');
		setTimeout(() => running.resolve(), 300);
		const started = Date.now();
		await poller.stop();
		expect(Date.now() - started).toBeLessThan(1_500);
		expect(telegram.pendingUpdateIds).toEqual([]);
	});

	test('across a restart nothing is lost and nothing repeats: the next poller gets exactly what came after', async () => {
		const first = startPoller();
		queue('before 1', 'before 2');
		await until(() => first.handed.length === 2, 'the first two');
		const stopping = first.poller.stop();
		queue('during 1');
		await stopping;
		queue('during 2');

		const second = startPoller();
		queue('after 1');
		await until(() => second.handed.length >= 3, 'the rest');
		await telegram.drained();
		await new Promise((resolve) => setTimeout(resolve, 300));
		await second.poller.stop();
		const all = [...first.handed, ...second.handed].map(textOf);
		expect(all.sort()).toEqual(['after 1', 'before 1', 'before 2', 'during 1', 'during 2']);
	});

	test('an execution still running when the stop gives up is sent again after the restart (at least once)', async () => {
		const never = new Promise<void>(() => {});
		const first = startPoller({ hold: () => never, stopTimeoutMs: 100 });
		queue('unfinished');
		await until(() => first.handed.length === 1, 'the update');
		await first.poller.stop();

		const second = startPoller();
		await until(() => second.handed.length === 1, 'the redelivery');
		expect(second.handed.map(textOf)).toEqual(['unfinished']);
		expect(second.handed[0].update_id).toBe(first.handed[0].update_id);
		await second.poller.stop();
	});

	test('skipped updates are confirmed like handled ones', async () => {
		const { poller, handed } = startPoller({ skip: (update) => textOf(update).startsWith('skip') });
		queue('skip me', 'keep me');
		await until(() => handed.length === 1, 'the kept update');
		await telegram.drained();
		expect(handed.map(textOf)).toEqual(['keep me']);
		await poller.stop();
	});

	test('network and server errors are retried with backoff; the user is told once, and when it works again', async () => {
		telegram.failNext('getUpdates', { status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } }, 3);
		const { poller, handed, warnings, infos } = startPoller();
		queue('after errors');
		await until(() => handed.length === 1, 'the update after the errors');
		expect(warnings).toHaveLength(1);
		expect(warnings[0]).toMatch(/Telegram refused to fetch new messages \(getUpdates\) \(502: Bad Gateway\).*Retrying in/);
		expect(infos).toContain('Telegram long polling works again');
		await poller.stop();
	});

	test('while a webhook is set, polling waits and says another receiver has the bot; it resumes once the webhook is gone', async () => {
		await api().setWebhook('https://elsewhere.example.com/hook');
		const { poller, handed, warnings } = startPoller();
		await until(() => warnings.length > 0, 'the conflict warning');
		expect(warnings[0]).toMatch(/409.*Another program, workflow or webhook is receiving this bot's messages/);
		await api().deleteWebhook();
		queue('after conflict');
		await until(() => handed.length === 1, 'the update after the conflict', 8_000);
		await poller.stop();
	});

	test('a revoked token stops polling and is reported as fatal', async () => {
		telegram.failNext('getUpdates', { status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } });
		const { poller, fatal } = startPoller();
		await until(() => fatal.length === 1, 'the fatal error');
		expect(fatal[0].message).toMatch(/401: Unauthorized.*Check the bot token/);
		await poller.stop();
	});

	test('flood control on getUpdates is waited out', async () => {
		telegram.rateLimitNext('getUpdates', 1);
		const { poller, handed } = startPoller();
		queue('after flood wait');
		await until(() => handed.length === 1, 'the update after the wait', 5_000);
		await poller.stop();
	});

	test('a paused poller asks Telegram for nothing until resumed', async () => {
		const before = telegram.calls('getUpdates').length;
		const { poller, handed } = startPoller({ longPollSeconds: 30 });
		await received('getUpdates', (body) => body.timeout === 30, before);
		const resume = await poller.pause();
		const callsWhilePaused = telegram.calls('getUpdates').length;
		queue('while paused');
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(telegram.calls('getUpdates')).toHaveLength(callsWhilePaused);
		expect(handed).toEqual([]);
		resume();
		await until(() => handed.length === 1, 'the update after resuming');
		await poller.stop();
	});
});

describe('the test listener', () => {
	test('hands over the first update the trigger emits and confirms it, leaving later ones for production', async () => {
		const [skipped, wanted, later] = queue('not for us', 'for us', 'later');
		const handed: string[] = [];
		await pollForFirstUpdate({
			api: api(),
			allowedUpdates: ['message'],
			signal: new AbortController().signal,
			log: { debug: () => {}, info: () => {}, warn: () => {} },
			handleUpdate: async (update) => {
				if (textOf(update) === 'not for us') return false;
				handed.push(textOf(update));
				return true;
			},
		});
		expect(handed).toEqual(['for us']);
		expect(telegram.pendingUpdateIds).toEqual([later.update_id]);
		expect(telegram.pendingUpdateIds).not.toContain(skipped.update_id);
		expect(telegram.pendingUpdateIds).not.toContain(wanted.update_id);
	});

	test('stops waiting as soon as the user stops listening', async () => {
		const listening = new AbortController();
		const before = telegram.calls('getUpdates').length;
		const started = Date.now();
		const done = pollForFirstUpdate({
			api: api(),
			allowedUpdates: ['message'],
			signal: listening.signal,
			log: { debug: () => {}, info: () => {}, warn: () => {} },
			handleUpdate: async () => true,
		});
		await received('getUpdates', (body) => body.timeout === 20, before);
		listening.abort();
		await done;
		expect(Date.now() - started).toBeLessThan(2_000);
	});
});

describe('the trigger\'s long polling with "Download Files"', () => {
	interface Emitted {
		item: INodeExecutionData;
		at: number;
	}

	/** The Telegram Trigger's production long polling, in a minimal trigger context whose executions end at once. */
	async function pollingTrigger(options: IDataObject) {
		const emitted: Emitted[] = [];
		const warnings: string[] = [];
		const context = {
			getNode: () => ({ id: 'download-trigger', name: 'Telegram Trigger', webhookId: 'download-hook', type: 'clawgateTelegramTrigger', typeVersion: 2, position: [0, 0], parameters: {} }),
			getWorkflow: () => ({ id: 'download-workflow', name: 'Downloads' }),
			getWorkflowSettings: () => ({}),
			getNodeParameter: (name: string, fallback: unknown) => (name === 'mode' ? 'polling' : name === 'options' ? options : fallback),
			getCredentials: async () => ({ accessToken: telegram.token, baseUrl: telegram.apiRoot }),
			logger: { debug: () => {}, info: () => {}, error: () => {}, warn: (message: string) => warnings.push(message) },
			helpers: {
				createDeferredPromise: () => {
					const deferred = {} as { promise: Promise<IRun>; resolve: (run: IRun) => void };
					deferred.promise = new Promise<IRun>((resolve) => (deferred.resolve = resolve));
					return deferred;
				},
				prepareBinaryData: async (bytes: Buffer, fileName: string, mimeType?: string) => ({ data: bytes.toString('base64'), fileName, mimeType, fileSize: String(bytes.length) }),
			},
			emit: (data: INodeExecutionData[][], _response: unknown, done?: { resolve: (run: IRun) => void }) => {
				emitted.push({ item: data[0][0], at: Date.now() });
				done?.resolve({} as IRun);
			},
			emitError: (error: Error) => warnings.push(`emitError: ${error.message}`),
		} as unknown as ITriggerFunctions;
		const response: ITriggerResponse = await startPolling(context, await setupFor(context), null);
		return { emitted, warnings, stop: () => response.closeFunction!() };
	}

	const textsOf = (emitted: Emitted[]) => emitted.map(({ item }) => (item.json.message as { text: string }).text);
	const person = (id: number) => ({ id, is_bot: false, first_name: `User ${id}` });
	const photoFrom = (chatId: number, fileId: string, caption: string, fileSize = 1000) =>
		telegram.messageUpdate({ caption, photo: [{ file_id: fileId, file_unique_id: `u${fileId}`, width: 800, height: 600, file_size: fileSize }] }, { chatId, from: person(chatId) });
	const textFrom = (chatId: number, text: string) => telegram.textUpdate({ text, chatId, from: person(chatId) });
	const photoFile = (path: string, serving?: FileServing) => telegram.addFile('jpeg bytes', { mimeType: 'image/jpeg', path, serving });

	test('a slow file download holds back neither the poller nor other chats; the same chat\'s next message still waits for it', async () => {
		const fileId = photoFile('photos/slow.jpg', { delayMs: 2_000 });
		const trigger = await pollingTrigger({ downloadFiles: true });
		const queuedAt = Date.now();
		[photoFrom(1001, fileId, 'look at this'), textFrom(1002, 'another chat'), textFrom(1001, 'what is in it?')].forEach((update) => telegram.queueUpdate(update));

		await until(() => textsOf(trigger.emitted).includes('another chat'), 'the other chat\'s message');
		expect(trigger.emitted[0].at - queuedAt).toBeLessThan(1_000);
		await until(() => trigger.emitted.length === 3, 'all three messages');
		expect(textsOf(trigger.emitted)).toEqual(['another chat', 'look at this', 'what is in it?']);
		expect(trigger.emitted[1].item.binary?.data).toMatchObject({ fileName: 'slow.jpg', mimeType: 'image/jpeg' });
		await telegram.drained();
		await trigger.stop();
		expect(trigger.warnings).toEqual([]);
	});

	test('a file over "Max File Size (MB)" is not downloaded: the message still starts the workflow, its attachment says why, the log warns', async () => {
		const fileId = photoFile('photos/huge.jpg');
		const trigger = await pollingTrigger({ downloadFiles: true, maxFileSizeMb: 1 });
		telegram.queueUpdate(photoFrom(1003, fileId, 'a huge photo', 5 * 1024 * 1024));

		await until(() => trigger.emitted.length === 1, 'the message');
		const { item } = trigger.emitted[0];
		expect(item.binary).toBeUndefined();
		expect((item.json.message as { attachments: unknown[] }).attachments).toEqual([
			{ kind: 'image', id: fileId, mimeType: 'image/jpeg', name: null, size: 5 * 1024 * 1024, downloadError: 'too large (5 MB; the limit is 1 MB)' },
		]);
		expect(telegram.fileDownloads(fileId)).toHaveLength(0);
		expect(trigger.warnings).toEqual([expect.stringMatching(/Did not download the image of Telegram message \d+ in chat 1003: too large \(5 MB; the limit is 1 MB\)/)]);
		await trigger.stop();
	});

	test('stopping the trigger during a download hands nothing more to n8n, and Telegram keeps the update for the restart', async () => {
		const fileId = photoFile('photos/never.jpg', { delayMs: 5_000 });
		const trigger = await pollingTrigger({ downloadFiles: true });
		const update = photoFrom(1004, fileId, 'interrupted');
		telegram.queueUpdate(update);
		await until(() => telegram.fileDownloads(fileId).length === 1, 'the download');

		const stopping = Date.now();
		await trigger.stop();
		expect(Date.now() - stopping).toBeLessThan(1_500);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(trigger.emitted).toEqual([]);
		expect(telegram.pendingUpdateIds).toContain(update.update_id);
	});
});
