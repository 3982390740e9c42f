/**
 * Matrix, Zulip and Signal in one real n8n: each trigger → AI Session → its send node, against
 * the platforms' emulators and the OpenAI emulator. Signal twice: a version-1 trigger on the
 * WebSocket of signal-cli-rest-api in json-rpc mode, and a version-2 trigger (polling, its
 * default) on a second signal-cli-rest-api in native mode.
 */
import { MatrixEmulator } from '../emulators/matrix';
import { OpenAiEmulator } from '../emulators/openai';
import { SignalEmulator } from '../emulators/signal';
import { ZulipEmulator } from '../emulators/zulip';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

const OPENAI = { id: 'ClawgateOpenAi01', name: 'OpenAI' };
const CHANNELS = {
	matrix: { name: 'Matrix', integration: 'matrix', triggerVersion: 1, workflowId: 'ClawgateE2EMatri', credential: { id: 'ClawgateMatrixC1', name: 'Matrix bot' } },
	zulip: { name: 'Zulip', integration: 'zulip', triggerVersion: 1, workflowId: 'ClawgateE2EZulip', credential: { id: 'ClawgateZulipC01', name: 'Zulip bot' } },
	// Version 1: the WebSocket of json-rpc mode, as workflows made before polling keep it.
	signal: { name: 'Signal', integration: 'signal', triggerVersion: 1, workflowId: 'ClawgateE2ESigna', credential: { id: 'ClawgateSignalC1', name: 'Signal bot' } },
	// Version 2: polling, its default.
	signalPolling: { name: 'Signal', integration: 'signal', triggerVersion: 2, workflowId: 'ClawgateE2ESigPl', credential: { id: 'ClawgateSignalP1', name: 'Signal bot (native mode)' } },
} as const;

type ChannelId = keyof typeof CHANNELS;

/** Trigger → AI Session → Send with every parameter at its default. */
function aiWorkflow(id: ChannelId, index: number): WorkflowFixture {
	const { name, integration, triggerVersion, workflowId, credential } = CHANNELS[id];
	const credentials = { [`clawgate${name}Api`]: credential };
	const nodeId = (n: number) => `5d1e2f3a-00${index}${n}-4b5c-8d9e-0f1a2b3c4d5e`;
	return {
		id: workflowId,
		name: `Clawgate: ${credential.name} AI (e2e)`,
		nodes: [
			{ id: nodeId(1), name: `${name} Trigger`, type: `n8n-nodes-clawgate.${integration}Trigger`, typeVersion: triggerVersion, position: [0, 0], parameters: {}, credentials },
			{ id: nodeId(2), name: 'AI Session', type: 'n8n-nodes-clawgate.aiSession', typeVersion: 1, position: [260, 0], parameters: { store: 'sqlite' }, credentials: { openAiApi: OPENAI } },
			{ id: nodeId(3), name: `${name} Send`, type: `n8n-nodes-clawgate.${integration}Send`, typeVersion: 1, position: [520, 0], parameters: {}, credentials },
		],
		connections: {
			[`${name} Trigger`]: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: `${name} Send`, type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

const workflows = { matrix: aiWorkflow('matrix', 1), zulip: aiWorkflow('zulip', 2), signal: aiWorkflow('signal', 3), signalPolling: aiWorkflow('signalPolling', 4) };

describe('Matrix, Zulip and Signal in a real n8n: trigger → AI Session → send', () => {
	const matrix = new MatrixEmulator();
	const zulip = new ZulipEmulator();
	const signal = new SignalEmulator('json-rpc');
	// A second Signal number: one number on two servers would be one account, whose messages are the
	// same messages (author and timestamp name them), answered once.
	const signalNative = new SignalEmulator('native', { account: '+4915100000002' });
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	let n8n: N8nInstance;
	const ada = '@ada:localhost';
	let matrixDm: string;

	const executionsOf = async (id: ChannelId) => (await n8n.executions()).filter((run) => run.workflowId === workflows[id].id);
	const settle = (ms = 2_000) => new Promise((resolve) => setTimeout(resolve, ms));
	const until = (check: () => boolean, what: string, timeoutMs = 45_000) => eventually(() => (check() ? true : undefined), what, timeoutMs);
	const listening = () =>
		until(() => matrix.openPolls > 0, 'the Matrix long poll')
			.then(() => until(() => zulip.openPolls > 0, 'the Zulip long poll'))
			.then(() => until(() => signal.openSockets > 0, 'the Signal WebSocket'))
			.then(() => until(() => signalNative.openPolls > 0, 'the Signal receive (native mode)'));

	beforeAll(async () => {
		await Promise.all([matrix.start(), zulip.start(), signal.start(), signalNative.start(), model.start()]);
		matrixDm = matrix.createRoom({ members: [ada], direct: true });
		n8n = await N8nInstance.start({
			credentials: [
				{ ...CHANNELS.matrix.credential, type: 'clawgateMatrixApi', data: matrix.credential() },
				{ ...CHANNELS.zulip.credential, type: 'clawgateZulipApi', data: zulip.credential() },
				{ ...CHANNELS.signal.credential, type: 'clawgateSignalApi', data: signal.credential() },
				{ ...CHANNELS.signalPolling.credential, type: 'clawgateSignalApi', data: signalNative.credential() },
				{ ...OPENAI, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: Object.values(workflows),
		});
		await listening();
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([matrix.stop(), zulip.stop(), signal.stop(), signalNative.stop(), model.stop()]);
	});

	test('a Matrix DM gets an AI answer in the room, as HTML with a plain body', async () => {
		matrix.say(matrixDm, ada, 'hello from **Matrix**');
		await until(() => matrix.textsIn(matrixDm).includes('answer to: hello from Matrix'), 'the Matrix answer');
		const sent = matrix.sent.find((message) => message.roomId === matrixDm)!;
		expect(sent.content).toMatchObject({ msgtype: 'm.text', format: 'org.matrix.custom.html', formatted_body: 'answer to: hello from <strong>Matrix</strong>' });
	});

	test('a Zulip DM gets an AI answer as a direct message', async () => {
		zulip.dm(zulip.people.ada, 'hello from Zulip');
		await until(() => zulip.textsTo('8').includes('answer to: hello from Zulip'), 'the Zulip answer');
	});

	test('a Signal DM gets an AI answer to the sender, over the WebSocket (json-rpc mode) and by polling (native mode), also when one person writes to both numbers in the same millisecond', async () => {
		// Signal names a message by its author and timestamp: only the receiving number tells these two apart.
		const sentAt = Date.now();
		signal.receive(signal.envelope(signal.people.ada, 'hello from Signal', { sentAt }));
		signalNative.receive(signalNative.envelope(signalNative.people.ada, 'hello from Signal', { sentAt }));
		await until(() => signal.textsTo(signal.people.ada.number).includes('answer to: hello from Signal'), 'the Signal answer');
		await until(() => signalNative.textsTo(signalNative.people.ada.number).includes('answer to: hello from Signal'), 'the Signal answer (polling)');
	});

	test('group messages without a mention start no execution; a mention is answered in the group (and its topic)', async () => {
		const matrixGroup = matrix.createRoom({ members: [ada, '@eve:localhost'] });
		const before = { matrix: (await executionsOf('matrix')).length, zulip: (await executionsOf('zulip')).length, signal: (await executionsOf('signal')).length };
		matrix.say(matrixGroup, ada, 'lunch, anyone?');
		zulip.streamMessage(zulip.people.ada, 'lunch, anyone?');
		signal.receive(signal.envelope(signal.people.ada, 'lunch, anyone?', { group: true }));
		await settle(3_000);
		expect({ matrix: (await executionsOf('matrix')).length, zulip: (await executionsOf('zulip')).length, signal: (await executionsOf('signal')).length }).toEqual(before);

		matrix.say(matrixGroup, ada, 'Clawbot: what is new?', { 'm.mentions': { user_ids: [matrix.botUserId] } });
		zulip.streamMessage(zulip.people.ada, 'what is new?', { mention: true, topic: 'news' });
		signal.receive(signal.envelope(signal.people.ada, 'what is new?', { group: true, mention: true }));
		await until(() => matrix.textsIn(matrixGroup).includes('answer to: what is new?'), 'the Matrix group answer');
		await until(() => zulip.textsTo('12').includes('answer to: what is new?'), 'the Zulip stream answer');
		await until(() => signal.textsTo(signal.groupRecipient).includes('answer to: what is new?'), 'the Signal group answer');
		expect(zulip.messages.at(-1)).toMatchObject({ type: 'stream', stream_id: 12, topic: 'news' });
		expect(signal.sent.at(-1)).toMatchObject({ quoteAuthor: signal.people.ada.number, quoteTimestamp: expect.any(Number) });
	});

	test('a message in an end-to-end encrypted Matrix room starts nothing and n8n\'s log says why', async () => {
		const secret = matrix.createRoom({ members: [ada], direct: true, encrypted: true });
		const before = (await executionsOf('matrix')).length;
		matrix.say(secret, ada, 'psst');
		await until(() => n8n.log.includes(`Matrix room ${secret} is end-to-end encrypted`), 'the warning in the log');
		expect(await executionsOf('matrix')).toHaveLength(before);
	});

	test('an n8n restart loses and repeats nothing: messages sent while n8n is down run once after it is back (Signal over the WebSocket: see below)', async () => {
		const zulipAda = zulip.people.ada;
		const polledAda = signalNative.people.ada.number;
		matrix.say(matrixDm, ada, 'before the restart');
		zulip.dm(zulipAda, 'before the restart');
		signal.receive(signal.envelope(signal.people.ada, 'before the restart'));
		signalNative.receive(signalNative.envelope(signalNative.people.ada, 'before the restart'));
		await until(() => matrix.textsIn(matrixDm).includes('answer to: before the restart'), 'the Matrix answer before the restart');
		await until(() => zulip.textsTo('8').includes('answer to: before the restart'), 'the Zulip answer before the restart');
		await until(() => signal.textsTo(signal.people.ada.number).includes('answer to: before the restart'), 'the Signal answer before the restart');
		await until(() => signalNative.textsTo(polledAda).includes('answer to: before the restart'), 'the Signal answer before the restart (polling)');

		await n8n.halt();
		// Stopping let the running receive end: no receive is left to take what is sent now.
		expect(signalNative.openPolls).toBe(0);
		matrix.say(matrixDm, ada, 'while n8n is down');
		zulip.dm(zulipAda, 'while n8n is down');
		const droppedBefore = signal.dropped;
		signal.receive(signal.envelope(signal.people.ada, 'while n8n is down'));
		signalNative.receive(signalNative.envelope(signalNative.people.ada, 'while n8n is down'));
		await n8n.restart();
		await listening();
		matrix.say(matrixDm, ada, 'after the restart');
		zulip.dm(zulipAda, 'after the restart');
		signal.receive(signal.envelope(signal.people.ada, 'after the restart'));
		signalNative.receive(signalNative.envelope(signalNative.people.ada, 'after the restart'));

		for (const text of ['while n8n is down', 'after the restart']) {
			await until(() => matrix.textsIn(matrixDm).includes(`answer to: ${text}`), `the Matrix answer to "${text}"`);
			await until(() => zulip.textsTo('8').includes(`answer to: ${text}`), `the Zulip answer to "${text}"`);
			await until(() => signalNative.textsTo(polledAda).includes(`answer to: ${text}`), `the Signal answer to "${text}" (polling)`);
		}
		await until(() => signal.textsTo(signal.people.ada.number).includes('answer to: after the restart'), 'the Signal answer after the restart');
		await settle(4_000);
		for (const text of ['before the restart', 'while n8n is down', 'after the restart']) {
			expect(matrix.textsIn(matrixDm).filter((sent) => sent === `answer to: ${text}`)).toHaveLength(1);
			expect(zulip.textsTo('8').filter((sent) => sent === `answer to: ${text}`)).toHaveLength(1);
		}
		// Polling: Signal's servers kept the message while n8n was down; each is answered exactly once.
		expect(signalNative.dropped).toBe(0);
		expect(signalNative.textsTo(polledAda).filter((sent) => sent.startsWith('answer to: ')).sort()).toEqual(
			['answer to: after the restart', 'answer to: before the restart', 'answer to: hello from Signal', 'answer to: while n8n is down'].sort(),
		);
		// One execution per message that passed the gate: a message fetched again after the restart is not run twice.
		expect((await executionsOf('matrix')).length).toBe(5);
		expect((await executionsOf('zulip')).length).toBe(5);
		expect((await executionsOf('signalPolling')).length).toBe(4);
		expect((await executionsOf('signal')).length).toBe(4);
		// signal-cli-rest-api in json-rpc mode keeps nothing for a client that is not connected (docs/channels/signal.md).
		expect(signal.dropped).toBe(droppedBefore + 1);
		expect(signal.textsTo(signal.people.ada.number).filter((sent) => sent.startsWith('answer to: ')).sort()).toEqual(
			['answer to: after the restart', 'answer to: before the restart', 'answer to: hello from Signal'].sort(),
		);
	});

	test('Signal polling across a crash (SIGKILL): a message the receive running at the kill takes is lost with it; one sent after that receive ended is answered once n8n is back', async () => {
		const polledAda = signalNative.people.ada.number;
		const receives = () => signalNative.server.requests.filter((request) => request.path.startsWith('/v1/receive/')).length;
		const receivesBefore = receives();
		// Killed just after a receive began, so that receive has most of its 5 s left.
		await until(() => receives() > receivesBefore && signalNative.openPolls > 0, 'a receive that has just begun');
		const droppedBefore = signalNative.dropped;
		await n8n.halt('SIGKILL');
		// signal-cli-rest-api does not stop a receive whose caller went away: it runs until it takes a
		// message or its 5 s without one pass, and what it took reaches nobody. The message comes half a
		// second after the crash, once the emulator has seen the connection close.
		await settle(500);
		expect(signalNative.openPolls).toBe(1);
		signalNative.receive(signalNative.envelope(signalNative.people.ada, 'while the receive of the killed n8n runs'));
		await until(() => signalNative.openPolls === 0, 'the receive of the killed n8n to end', 30_000);
		signalNative.receive(signalNative.envelope(signalNative.people.ada, 'after the crash'));
		await n8n.restart();
		await listening();
		await until(() => signalNative.textsTo(polledAda).includes('answer to: after the crash'), 'the Signal answer after the crash (polling)');
		await settle(4_000);
		expect(signalNative.dropped).toBe(droppedBefore + 1);
		expect(signalNative.textsTo(polledAda).filter((sent) => sent === 'answer to: while the receive of the killed n8n runs')).toHaveLength(0);
		expect(signalNative.textsTo(polledAda).filter((sent) => sent === 'answer to: after the crash')).toHaveLength(1);
		expect((await executionsOf('signalPolling')).length).toBe(5);
	});

	test('deactivating each workflow ends its long poll or WebSocket', async () => {
		for (const id of Object.keys(workflows) as ChannelId[]) {
			await n8n.api(`/rest/workflows/${workflows[id].id}/deactivate`, { method: 'POST', body: '{}' });
		}
		await until(() => matrix.openPolls === 0, 'the Matrix long poll to end', 30_000);
		await until(() => zulip.openPolls === 0, 'the Zulip long poll to end', 30_000);
		await until(() => signal.openSockets === 0, 'the Signal WebSocket to close', 30_000);
		await until(() => signalNative.openPolls === 0, 'the Signal receive to end', 30_000);
		const polls = matrix.server.requests.length + zulip.server.requests.length + signalNative.server.requests.length;
		await settle(3_000);
		expect(matrix.server.requests.length + zulip.server.requests.length + signalNative.server.requests.length).toBe(polls);
	});
});
