/**
 * Zulip against the server emulator: the event queue (register, long polls that acknowledge by
 * last_event_id, re-registration after BAD_EVENT_QUEUE_ID), streams and topics, DMs, mention
 * gating, and sending (stream topics, direct messages, edits, typing, 429s).
 */
import { deliverText } from '../../nodes/core/outbound';
import type { ReceiveSettings } from '../../nodes/core/channel';
import { createZulipClient, zulipPlugin } from '../../nodes/Zulip/zulip.plugin';
import { zulipQueueSource } from '../../nodes/Zulip/zulip.queue';
import { ZulipEmulator } from '../emulators/zulip';
import { ListenerHarness, pause, until } from './listener-harness';

const zulip = new ZulipEmulator();
const settings: ReceiveSettings = { policy: { dmPolicy: 'open', groupActivation: 'mentions', includeBots: false, allowedSenderIds: [], allowedChatIds: [] }, sessionScope: 'chat' };

beforeAll(async () => {
	zulip.heartbeatMs = 2_000;
	await zulip.start();
});
afterAll(() => zulip.stop());

async function listen(cursor?: string, hold = false) {
	const harness = new ListenerHarness(zulipPlugin);
	harness.hold = hold;
	const source = await zulipQueueSource(zulip.credential(), settings, harness.log);
	const poller = await harness.poll(source, cursor);
	await until(() => zulip.openPolls > 0, 'the long poll');
	return { harness, poller };
}

describe('receiving through an event queue', () => {
	test('a DM becomes a DM envelope; a stream message is a group message whose thread is its topic, and only a mention starts it', async () => {
		const { harness, poller } = await listen();
		zulip.dm(zulip.people.ada, 'hello bot');
		zulip.streamMessage(zulip.people.ada, 'lunch, anyone?');
		zulip.streamMessage(zulip.people.eve, '/new', { mention: true, topic: 'ideas' });
		zulip.streamMessage(zulip.people.deploy, 'deploy finished', { mention: true });
		await until(() => harness.executed.length === 2, 'two messages');
		await pause(300);
		await poller.stop();
		const [dm, topic] = harness.executed;
		expect(dm).toMatchObject({ sessionId: 'zulip:100:dm:8', chat: { id: '8', type: 'dm', threadId: null }, sender: { id: '8', name: 'Ada Lovelace', isBot: false }, message: { text: 'hello bot', mentionsBot: false } });
		expect(topic).toMatchObject({ sessionId: 'zulip:100:group:12:ideas', chat: { id: '12', type: 'group', threadId: 'ideas', title: 'general' }, message: { text: '/new', command: 'new', mentionsBot: true } });
	});

	test("the bot's own messages are ignored; the acknowledged event ID moves only after the execution", async () => {
		const { harness, poller } = await listen(undefined, true);
		zulip.dm(zulip.people.ada, 'take your time');
		await until(() => harness.executed.length === 1, 'the execution');
		const confirmedBefore = harness.confirmed.length;
		await pause(300);
		expect(harness.confirmed).toHaveLength(confirmedBefore);
		// Not acknowledged yet: the event is still in Zulip's queue.
		const queue = [...zulip.queues.values()].at(-1)!;
		expect(queue.events.some((event) => (event.message as { content?: string }).content === 'take your time')).toBe(true);
		harness.finishAll();
		await until(() => harness.confirmed.length > confirmedBefore, 'the confirmation');
		await until(() => !queue.events.some((event) => (event.message as { content?: string }).content === 'take your time'), 'Zulip to drop the acknowledged event');
		await poller.stop();
		expect(harness.texts()).toEqual(['take your time']);
	});

	test('a queue Zulip dropped is registered anew, and the log says messages in between are not answered', async () => {
		const { harness, poller } = await listen();
		const registrations = zulip.server.matching((request) => request.path === '/api/v1/register').length;
		zulip.expireQueues();
		zulip.dm(zulip.people.ada, 'lost in the gap');
		await poller.stop();
		const resumed = await listen(harness.confirmed.at(-1) ?? JSON.stringify({ queueId: 'gone', lastEventId: 0 }));
		zulip.dm(zulip.people.ada, 'after the new queue');
		await until(() => resumed.harness.executed.length === 1, 'the message after re-registering');
		await resumed.poller.stop();
		expect(resumed.harness.texts()).toEqual(['after the new queue']);
		expect(zulip.server.matching((request) => request.path === '/api/v1/register').length).toBe(registrations + 1);
		expect(resumed.harness.log.lines.some((line) => line.startsWith('warn: Zulip dropped the trigger\'s event queue'))).toBe(true);
	});

	test('stopping ends the long poll at once; a wrong API key is fatal and never shown', async () => {
		const { poller } = await listen();
		await poller.stop();
		await until(() => zulip.openPolls === 0, 'the poll to end', 1_000);
		const failure = await zulipQueueSource({ ...zulip.credential(), apiKey: 'wrong-key-123' }, settings, new ListenerHarness(zulipPlugin).log).catch((error: Error) => error);
		expect((failure as Error).message).toMatch(/Zulip rejected the bot's email or API key.*Clawgate Zulip credential/);
		expect((failure as Error).message).not.toContain('wrong-key-123');
	});
});

describe('sending', () => {
	const client = () => createZulipClient(zulip.credential());

	test('an answer in a topic goes to the stream and topic; a DM answer to the person', async () => {
		await deliverText(zulipPlugin, client(), { chatId: '12', threadId: 'ideas', markdown: '**yes**', replyToId: null, linkPreviews: false });
		await deliverText(zulipPlugin, client(), { chatId: '8', threadId: null, markdown: 'hi Ada', replyToId: null, linkPreviews: false });
		expect(zulip.messages.slice(-2)).toMatchObject([
			{ type: 'stream', stream_id: 12, topic: 'ideas', content: '**yes**' },
			{ type: 'private', recipients: [8, 100], content: 'hi Ada' },
		]);
	});

	test('a 429 with retry-after is waited out; edits and typing reach Zulip', async () => {
		zulip.rateLimitNextSend(1);
		const started = Date.now();
		const sent = await deliverText(zulipPlugin, client(), { chatId: '9', threadId: null, markdown: 'after the wait', replyToId: null, linkPreviews: false });
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
		await zulipPlugin.outbound.editMessage!(client(), { chatId: '9', messageId: sent.messageIds[0], text: 'edited', threadId: null });
		await zulipPlugin.outbound.sendTyping!(client(), { chatId: '12', threadId: 'ideas' });
		expect(zulip.messages.find((message) => String(message.id) === sent.messageIds[0])!.content).toBe('edited');
		expect(zulip.typing.at(-1)).toMatchObject({ op: 'start', type: 'stream', stream_id: '12', topic: 'ideas' });
	});
});
