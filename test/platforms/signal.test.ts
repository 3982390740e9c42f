/**
 * Signal against the signal-cli-rest-api emulator: the receive WebSocket of json-rpc mode (DMs,
 * groups, mention gating, quotes, reconnecting with backoff, closing on deactivation), polling the
 * receive endpoint of normal/native mode (messages kept on Signal's servers until taken, handed
 * over before the next receive, nothing lost when stopping), and sending (recipients, groups,
 * quotes, typing, 429s).
 */
import type { ReceiveSettings } from '../../nodes/core/channel';
import { deliverText, replyTo } from '../../nodes/core/outbound';
import { createSignalClient, signalGroupRecipient, signalPlugin } from '../../nodes/Signal/signal.plugin';
import { signalPollSource } from '../../nodes/Signal/signal.poll';
import { startSignalListener } from '../../nodes/Signal/signal.socket';
import { SignalEmulator } from '../emulators/signal';
import { ListenerHarness, pause, until } from './listener-harness';

const signal = new SignalEmulator();
const settings: ReceiveSettings = { policy: { dmPolicy: 'open', groupActivation: 'mentions', includeBots: false, allowedSenderIds: [], allowedChatIds: [] }, sessionScope: 'chat' };

beforeAll(() => signal.start());
afterAll(() => signal.stop());

async function listen() {
	const harness = new ListenerHarness(signalPlugin);
	const listener = await startSignalListener({ credential: signal.credential(), settings, log: harness.log, ...harness.handlers, backoffMs: { initial: 50, max: 200 } });
	await until(() => signal.openSockets === 1, 'the WebSocket');
	return { harness, listener };
}

describe('receiving over the WebSocket', () => {
	test('a DM is a DM envelope; in a group only a mention (or a reply to the bot) starts the workflow', async () => {
		const { harness, listener } = await listen();
		const ada = signal.people.ada;
		signal.receive(signal.envelope(ada, 'hello bot'));
		signal.receive(signal.envelope(ada, 'lunch, anyone?', { group: true }));
		signal.receive(signal.envelope(signal.people.eve, '/new', { group: true, mention: true }));
		signal.receive(signal.envelope(ada, 'thanks', { group: true, quote: { timestamp: 123, author: signal.account } }));
		signal.receive({ envelope: { source: ada.number, sourceNumber: ada.number, timestamp: Date.now(), typingMessage: { action: 'STARTED', timestamp: Date.now() } }, account: signal.account });
		await until(() => harness.executed.length === 3, 'three messages');
		await pause(200);
		await listener.close();
		const [dm, mention, reply] = harness.executed;
		expect(dm).toMatchObject({ sessionId: `signal:${signal.account}:dm:${ada.number}`, chat: { id: ada.number, type: 'dm' }, sender: { id: ada.number, name: 'Ada', isBot: false }, message: { text: 'hello bot' } });
		expect(mention).toMatchObject({ chat: { id: signal.groupRecipient, type: 'group', title: 'Makers' }, message: { text: '/new', command: 'new', mentionsBot: true } });
		expect(reply.message).toMatchObject({ text: 'thanks', replyToId: `123@${signal.account}` });
		expect(signal.groupRecipient).toBe(signalGroupRecipient(signal.groupInternalId));
	});

	test('the JSON-RPC frame around an envelope is read the same; a frame seen twice is handed over once', async () => {
		const { harness, listener } = await listen();
		const frame = signal.envelope(signal.people.ada, 'once');
		signal.receive({ jsonrpc: '2.0', method: 'receive', params: frame });
		signal.receive(frame);
		await until(() => harness.executed.length === 1, 'the message');
		await pause(200);
		await listener.close();
		expect(harness.texts()).toEqual(['once']);
	});

	test('a dropped connection is reconnected with backoff; closing ends the socket for good', async () => {
		const { harness, listener } = await listen();
		signal.dropConnections();
		await until(() => signal.openSockets === 1, 'the reconnect');
		signal.receive(signal.envelope(signal.people.ada, 'after the reconnect'));
		await until(() => harness.executed.length === 1, 'the message after the reconnect');
		expect(harness.log.lines.some((line) => line.startsWith('warn: Signal: the connection to signal-cli-rest-api closed; reconnecting'))).toBe(true);
		await listener.close();
		await until(() => signal.openSockets === 0, 'the socket to close');
		await pause(400);
		expect(signal.openSockets).toBe(0);
	});

	test("on a Node without a global WebSocket (Node 20) the ws package stands in", async () => {
		const global = globalThis as { WebSocket?: unknown };
		const saved = global.WebSocket;
		delete global.WebSocket;
		try {
			const { harness, listener } = await listen();
			signal.receive(signal.envelope(signal.people.ada, 'through ws'));
			await until(() => harness.executed.length === 1, 'the message');
			await listener.close();
			expect(harness.texts()).toEqual(['through ws']);
		} finally {
			global.WebSocket = saved;
		}
	});

	test('a URL without the receive WebSocket fails activation in words that name json-rpc mode', async () => {
		const failure = await startSignalListener({ credential: { baseUrl: `${signal.baseUrl}/nothing`, account: signal.account }, settings, log: new ListenerHarness(signalPlugin).log, ...new ListenerHarness(signalPlugin).handlers }).catch(
			(error: Error) => error,
		);
		expect((failure as Error).message).toMatch(/MODE=json-rpc/);
	});
});

describe('polling the receive endpoint (normal or native mode)', () => {
	const native = new SignalEmulator('native');
	const receives = () => native.server.matching((request) => request.path.startsWith('/v1/receive/'));
	const source = (harness: ListenerHarness, oneAtATime = false) => signalPollSource(native.credential(), { ...settings, waitSeconds: 1, oneAtATime }, harness.log);

	beforeAll(() => native.start());
	afterAll(() => native.stop());

	test('messages sent while nothing polls wait on Signal\'s servers and are handed over once, in order; group messages still need a mention', async () => {
		const ada = native.people.ada;
		const first = native.receive(native.envelope(ada, 'sent while n8n was down'));
		native.receive(native.envelope(ada, 'lunch, anyone?', { group: true }));
		native.receive(native.envelope(native.people.eve, 'what is new?', { group: true, mention: true }));
		native.receive(first);
		const harness = new ListenerHarness(signalPlugin);
		const poller = await harness.poll(source(harness));
		await until(() => harness.executed.length === 2, 'the two messages');
		await poller.stop();
		expect(harness.texts()).toEqual(['sent while n8n was down', 'what is new?']);
		expect(harness.executed[1].chat).toMatchObject({ id: native.groupRecipient, type: 'group' });
		expect(native.queued).toEqual([]);
		// Nothing is confirmed later: there is no cursor to keep.
		expect(harness.confirmed.every((cursor) => cursor === '')).toBe(true);
	});

	test('a receive waits for one envelope; what queued meanwhile is drained in batches; the next receive starts only after the executions', async () => {
		const harness = new ListenerHarness(signalPlugin);
		harness.hold = true;
		const before = receives().length;
		const poller = await harness.poll(source(harness));
		await until(() => native.openPolls === 1, 'the waiting receive');
		native.receive(native.envelope(native.people.ada, 'one'));
		await until(() => harness.executed.length === 1, 'the first message');
		native.receive(native.envelope(native.people.ada, 'two'));
		native.receive(native.envelope(native.people.ada, 'three'));
		await pause(1_500);
		// The execution runs: the messages after it stay on Signal's servers.
		expect(native.queued).toHaveLength(2);
		expect(receives().length - before).toBe(1);
		harness.finishAll();
		await until(() => harness.executed.length === 3, 'the drained messages');
		harness.finishAll();
		await poller.stop();
		const queries = receives().slice(before).map((request) => Object.fromEntries(request.query));
		expect(queries[0]).toEqual({ timeout: '1', max_messages: '1', ignore_stories: 'true' });
		expect(queries[1]).toEqual({ timeout: '1', max_messages: '20', ignore_stories: 'true' });
		expect(harness.texts()).toEqual(['one', 'two', 'three']);
	});

	test('deactivating lets the running receive end and hands over what it took: nothing is lost, and no receive follows', async () => {
		const harness = new ListenerHarness(signalPlugin);
		const poller = await harness.poll(source(harness));
		await until(() => native.openPolls === 1, 'the waiting receive');
		const droppedBefore = native.dropped;
		const stopping = poller.stop();
		native.receive(native.envelope(native.people.ada, 'during the deactivation'));
		await stopping;
		const after = receives().length;
		await pause(1_200);
		expect(harness.texts()).toEqual(['during the deactivation']);
		expect(native.dropped).toBe(droppedBefore);
		expect(native.openPolls).toBe(0);
		expect(receives().length).toBe(after);
	});

	test('a failing receive is retried with backoff; the messages wait for it', async () => {
		native.failNextReceives(2);
		native.receive(native.envelope(native.people.ada, 'after the failures'));
		const harness = new ListenerHarness(signalPlugin);
		const poller = await harness.poll(source(harness));
		await until(() => harness.executed.length === 1, 'the message after the failures');
		await poller.stop();
		expect(harness.log.lines.filter((line) => line.startsWith('warn: signal-cli-rest-api refused to fetch new messages'))).toHaveLength(1);
		expect(harness.log.lines).toContain('info: Signal: polling works again');
	});

	test('"Listen for test event" takes one envelope per receive', async () => {
		native.receive(native.envelope(native.people.ada, 'test event'));
		native.receive(native.envelope(native.people.ada, 'left for the workflow'));
		const harness = new ListenerHarness(signalPlugin);
		const polling = source(harness, true);
		const batch = await polling.fetch('', new AbortController().signal);
		expect(batch.events).toHaveLength(1);
		expect(native.queued).toHaveLength(1);
		expect(Object.fromEntries(receives().at(-1)!.query)).toMatchObject({ max_messages: '1' });
		await polling.fetch('', new AbortController().signal);
	});

	test('against json-rpc mode, activation and each receive say to switch Receive Through or the container\'s MODE', async () => {
		const harness = new ListenerHarness(signalPlugin);
		const polling = signalPollSource(signal.credential(), settings, harness.log);
		const failure = await polling.begin(new AbortController().signal).catch((error: Error) => error);
		expect((failure as Error).message).toMatch(/json-rpc mode.*"Receive Through".*MODE=native/);
		const receiveFailure = await polling.fetch('', new AbortController().signal).catch((error: unknown) => error);
		expect(polling.isFatal(receiveFailure)).toBe(true);
		expect(polling.describe(receiveFailure, 'fetch new messages').message).toMatch(/"Receive Through"/);
		expect(await signalPollSource(native.credential(), settings, harness.log).begin(new AbortController().signal)).toBe('');
	});
});

describe('sending', () => {
	const client = () => createSignalClient(signal.credential());

	test('a group answer quotes the question by its timestamp and author; a DM answer does not quote', async () => {
		const ada = signal.people.ada;
		const envelope = {
			channel: 'signal',
			accountId: signal.account,
			chat: { id: signal.groupRecipient, type: 'group' as const, threadId: null, title: null },
			message: { id: `1700000000000@${ada.number}`, text: 'q', replyToId: null, mentionsBot: true, command: null, attachments: [], timestamp: new Date().toISOString() },
		};
		await replyTo(signalPlugin, client(), { envelope, text: '**yes**', quote: true, inThread: true, linkPreviews: false });
		await replyTo(signalPlugin, client(), { envelope: { ...envelope, chat: { ...envelope.chat, id: ada.number, type: 'dm' } }, text: 'hi', quote: true, inThread: true, linkPreviews: false });
		expect(signal.sent.slice(-2)).toMatchObject([
			{ message: 'yes', recipients: [signal.groupRecipient], quoteTimestamp: 1700000000000, quoteAuthor: ada.number },
			{ message: 'hi', recipients: [ada.number], quoteTimestamp: null },
		]);
	});

	test('a 429 is waited out; typing reaches the API; an unknown account points at the credential', async () => {
		signal.rateLimitNextSend(1);
		const started = Date.now();
		await deliverText(signalPlugin, client(), { chatId: signal.people.eve.number, threadId: null, markdown: 'after the wait', replyToId: null, linkPreviews: false });
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
		await signalPlugin.outbound.sendTyping!(client(), { chatId: signal.people.eve.number, threadId: null });
		expect(signal.typing.at(-1)).toEqual({ recipient: signal.people.eve.number });
		const failure = await deliverText(signalPlugin, createSignalClient({ ...signal.credential(), account: '+4915199999999' }), { chatId: signal.people.eve.number, threadId: null, markdown: 'x', replyToId: null, linkPreviews: false }).catch((error: Error) => error);
		expect((failure as Error).message).toMatch(/Signal credential/);
	});
});
