/**
 * Matrix against the homeserver emulator: /sync long polling with the since token confirmed only
 * after the executions it covered, DMs and rooms, mention gating, threads, encrypted rooms,
 * invites, and sending (HTML, quotes, threads, idempotent transaction IDs, edits, typing).
 */
import type { Envelope } from '../../nodes/core/envelope';
import { deliverText, replyTo } from '../../nodes/core/outbound';
import { markdownToMatrixHtml, matrixHtmlToPlain } from '../../nodes/Matrix/matrix.format';
import { createMatrixClient, matrixPlugin } from '../../nodes/Matrix/matrix.plugin';
import { matrixSyncSource, type MatrixSyncOptions } from '../../nodes/Matrix/matrix.sync';
import { MatrixEmulator } from '../emulators/matrix';
import { ListenerHarness, pause, until } from './listener-harness';

const matrix = new MatrixEmulator();
const ada = '@ada:localhost';
const eve = '@eve:localhost';
const options = (extra: Partial<MatrixSyncOptions> = {}): MatrixSyncOptions => ({
	policy: { dmPolicy: 'open', groupActivation: 'mentions', includeBots: false, allowedSenderIds: [], allowedChatIds: [] },
	sessionScope: 'chat',
	autoJoin: false,
	longPollMs: 2_000,
	...extra,
});

beforeAll(() => matrix.start());
afterAll(() => matrix.stop());

async function listen(extra?: Partial<MatrixSyncOptions>, cursor?: string) {
	const harness = new ListenerHarness(matrixPlugin);
	const source = await matrixSyncSource(matrix.credential(), options(extra), harness.log);
	const poller = await harness.poll(source, cursor);
	return { harness, poller };
}

describe('receiving by /sync', () => {
	test('history from before activation is not answered; a new DM is, as a DM envelope', async () => {
		const room = matrix.createRoom({ members: [ada], direct: true });
		matrix.say(room, ada, 'old news');
		const { harness, poller } = await listen();
		matrix.say(room, ada, 'hello bot');
		await until(() => harness.executed.length === 1, 'the DM');
		await poller.stop();
		const [envelope] = harness.executed;
		expect(harness.texts()).toEqual(['hello bot']);
		expect(envelope).toMatchObject({
			sessionId: `matrix:${matrix.botUserId}:dm:${room}`,
			channel: 'matrix',
			accountId: matrix.botUserId,
			chat: { id: room, type: 'dm', threadId: null },
			sender: { id: ada, isBot: false },
			message: { text: 'hello bot', mentionsBot: false, command: null },
		});
	});

	test('the since token is confirmed only after the execution of the events it covered', async () => {
		const room = matrix.createRoom({ members: [ada], direct: true });
		const harness = new ListenerHarness(matrixPlugin);
		harness.hold = true;
		const source = await matrixSyncSource(matrix.credential(), options(), harness.log);
		const poller = await harness.poll(source);
		await until(() => matrix.openPolls > 0, 'the long poll');
		matrix.say(room, ada, 'take your time');
		await until(() => harness.executed.length === 1, 'the execution');
		await pause(300);
		expect(harness.confirmed).toEqual([]);
		harness.finishAll();
		await until(() => harness.confirmed.length === 1, 'the confirmation');
		await poller.stop();

		// Resuming from the confirmed token gives nothing again; from the one before, the message once more.
		const again = await listen(undefined, harness.confirmed[0]);
		await pause(300);
		await again.poller.stop();
		expect(again.harness.executed).toEqual([]);
	});

	test('a room of two without m.direct is a DM; in a room of three only mentions (m.mentions or the name) start the workflow', async () => {
		const pair = matrix.createRoom({ members: [ada] });
		const group = matrix.createRoom({ members: [ada, eve] });
		const { harness, poller } = await listen();
		matrix.say(pair, ada, 'just us');
		matrix.say(group, ada, 'lunch, anyone?');
		matrix.say(group, ada, 'Clawbot: what is new?', { 'm.mentions': { user_ids: [matrix.botUserId] } });
		matrix.say(group, eve, 'clawbot, /new');
		matrix.say(group, ada, 'mentions someone else', { 'm.mentions': { user_ids: [eve] } });
		await until(() => harness.executed.length === 3, 'three messages');
		await pause(200);
		await poller.stop();
		expect(harness.executed.map((envelope) => [envelope.chat.type, envelope.message.text, envelope.message.command])).toEqual([
			['dm', 'just us', null],
			['group', 'what is new?', null],
			['group', '/new', 'new'],
		]);
	});

	test('a thread reply keeps its thread: chat.threadId is the thread root, and the session follows it', async () => {
		const group = matrix.createRoom({ members: [ada, eve] });
		const { harness, poller } = await listen();
		const root = matrix.say(group, ada, 'a topic');
		matrix.say(group, ada, 'Clawbot: in the thread', { 'm.relates_to': { rel_type: 'm.thread', event_id: root.event_id, is_falling_back: true, 'm.in_reply_to': { event_id: root.event_id } } });
		await until(() => harness.executed.length === 1, 'the thread message');
		await poller.stop();
		const [envelope] = harness.executed;
		expect(envelope.chat).toMatchObject({ id: group, type: 'group', threadId: root.event_id });
		expect(envelope.sessionId).toBe(`matrix:${matrix.botUserId}:group:${group}:${String(root.event_id)}`);
	});

	test("an encrypted room is reported once in the log and never executed; the bot's own messages are ignored", async () => {
		const secret = matrix.createRoom({ members: [ada], direct: true, encrypted: true });
		const room = matrix.createRoom({ members: [ada], direct: true });
		const { harness, poller } = await listen();
		matrix.say(secret, ada, 'psst');
		matrix.say(secret, ada, 'psst again');
		matrix.say(room, matrix.botUserId, 'my own answer');
		matrix.say(room, ada, 'after all that');
		await until(() => harness.executed.length === 1, 'the plain message');
		await poller.stop();
		expect(harness.texts()).toEqual(['after all that']);
		expect(harness.log.lines.filter((line) => line.includes(`Matrix room ${secret} is end-to-end encrypted`))).toHaveLength(1);
		expect(harness.log.lines.find((line) => line.includes('end-to-end encrypted'))).toMatch(/^warn: /);
	});

	test('invites are joined only with "Join Invited Rooms" on', async () => {
		const stay = matrix.createRoom({ members: [ada] });
		matrix.rooms.get(stay)!.members.delete(matrix.botUserId);
		const off = await listen();
		matrix.invite(stay);
		await pause(300);
		await off.poller.stop();
		expect(matrix.rooms.get(stay)!.members.has(matrix.botUserId)).toBe(false);

		const join = matrix.createRoom({ members: [ada] });
		matrix.rooms.get(join)!.members.delete(matrix.botUserId);
		const on = await listen({ autoJoin: true });
		matrix.invite(join);
		await until(() => matrix.rooms.get(join)!.members.has(matrix.botUserId), 'the join');
		await on.poller.stop();
	});

	test('a failing homeserver is retried with growing waits; the message waiting meanwhile arrives once it answers again', async () => {
		const room = matrix.createRoom({ members: [ada], direct: true });
		const harness = new ListenerHarness(matrixPlugin);
		const source = await matrixSyncSource(matrix.credential(), options(), harness.log);
		const cursor = await source.begin(new AbortController().signal);
		matrix.failNextSyncs(3);
		matrix.say(room, ada, 'are you back?');
		const poller = await harness.poll(source, cursor);
		await until(() => harness.executed.length === 1, 'the message after the failures');
		await poller.stop();
		expect(harness.texts()).toEqual(['are you back?']);
		const warnings = harness.log.lines.filter((line) => line.startsWith('warn:'));
		expect(warnings).toEqual([expect.stringMatching(/^warn: The Matrix homeserver failed to fetch new messages \(502.*Retrying in \d+ s \(attempt 1\)/)]);
		expect(harness.log.lines).toContain('info: Matrix: polling works again');
	});

	test('stopping ends the long poll at once', async () => {
		const { poller } = await listen();
		await until(() => matrix.openPolls > 0, 'the long poll');
		const started = Date.now();
		await poller.stop();
		await until(() => matrix.openPolls === 0, 'the poll to end', 1_000);
		expect(Date.now() - started).toBeLessThan(1_000);
	});

	test('a revoked token is fatal: n8n is told in words that point at the credential, and polling stops', async () => {
		const harness = new ListenerHarness(matrixPlugin);
		const dead = await matrixSyncSource({ ...matrix.credential(), accessToken: 'syt_revoked', userId: matrix.botUserId }, options(), harness.log);
		const poller = await harness.poll(dead, 's0');
		await until(() => harness.fatal.length === 1, 'the fatal error');
		await poller.stop();
		expect(harness.fatal[0].message).toMatch(/Matrix rejected the access token.*Clawgate Matrix credential/);
		expect(harness.fatal[0].message).not.toContain('syt_revoked');
	});
});

describe('sending', () => {
	const client = () => createMatrixClient(matrix.credential());
	const envelopeIn = (room: string, type: 'dm' | 'group', threadId: string | null = null): Envelope => ({
		sessionId: 'x',
		channel: 'matrix',
		accountId: matrix.botUserId,
		chat: { id: room, type, threadId, title: null },
		sender: { id: ada, name: null, username: ada, isBot: false },
		message: { id: '$question', text: 'q', replyToId: null, mentionsBot: true, command: null, attachments: [], timestamp: new Date().toISOString() },
		raw: {},
	});

	test('Markdown becomes org.matrix.custom.html with a plain body; an answer pings nobody', async () => {
		const room = matrix.createRoom({ members: [ada], direct: true });
		await deliverText(matrixPlugin, client(), { chatId: room, markdown: '**Bold** and `code` & <tags>\n\n- one\n- two', replyToId: null, threadId: null, linkPreviews: false });
		const [sent] = matrix.sent.filter((message) => message.roomId === room);
		expect(sent.content).toEqual({
			msgtype: 'm.text',
			format: 'org.matrix.custom.html',
			formatted_body: '<strong>Bold</strong> and <code>code</code> &amp; &lt;tags&gt;<br><br>• one<br>• two',
			body: 'Bold and code & <tags>\n\n• one\n• two',
			'm.mentions': {},
		});
	});

	test('in a room the answer quotes the question; in a thread it stays in the thread', async () => {
		const group = matrix.createRoom({ members: [ada, eve] });
		await replyTo(matrixPlugin, client(), { envelope: envelopeIn(group, 'group'), text: 'quoted', quote: true, inThread: true, linkPreviews: false });
		await replyTo(matrixPlugin, client(), { envelope: envelopeIn(group, 'group', '$root'), text: 'threaded', quote: true, inThread: true, linkPreviews: false });
		const [quoted, threaded] = matrix.sent.filter((message) => message.roomId === group).map((message) => message.content['m.relates_to']);
		expect(quoted).toEqual({ 'm.in_reply_to': { event_id: '$question' } });
		expect(threaded).toEqual({ rel_type: 'm.thread', event_id: '$root', is_falling_back: false, 'm.in_reply_to': { event_id: '$question' } });
	});

	test('a send whose answer was lost is retried with the same transaction ID: one message in the room', async () => {
		const room = matrix.createRoom({ members: [ada], direct: true });
		matrix.loseNextAnswer();
		const sent = await deliverText(matrixPlugin, client(), { chatId: room, markdown: 'exactly once', replyToId: null, threadId: null, linkPreviews: false });
		expect(matrix.textsIn(room)).toEqual(['exactly once']);
		const puts = matrix.server.matching((request) => request.method === 'PUT' && request.path.includes(encodeURIComponent(room)) && request.path.includes('/send/'));
		expect(puts).toHaveLength(2);
		expect(puts[0].path).toBe(puts[1].path);
		expect(sent.messageIds).toEqual([matrix.sent.find((message) => message.roomId === room)!.eventId]);
	});

	test('the same text sent twice on purpose is two messages', async () => {
		const room = matrix.createRoom({ members: [ada], direct: true });
		const matrixClient = client();
		for (let i = 0; i < 2; i++) await deliverText(matrixPlugin, matrixClient, { chatId: room, markdown: 'OK', replyToId: null, threadId: null, linkPreviews: false });
		expect(matrix.textsIn(room)).toEqual(['OK', 'OK']);
	});

	test('a 429 with retry_after_ms is waited out, and the message arrives once', async () => {
		const room = matrix.createRoom({ members: [ada], direct: true });
		matrix.rateLimitNextSend(1);
		const started = Date.now();
		await deliverText(matrixPlugin, client(), { chatId: room, markdown: 'after the wait', replyToId: null, threadId: null, linkPreviews: false });
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
		expect(matrix.textsIn(room)).toEqual(['after the wait']);
	});

	test('edits replace with m.new_content; typing is PUT for the bot user', async () => {
		const room = matrix.createRoom({ members: [ada], direct: true });
		await matrixPlugin.outbound.editMessage!(client(), { chatId: room, messageId: '$mine', text: 'better <em>now</em>', threadId: null });
		await matrixPlugin.outbound.sendTyping!(client(), { chatId: room, threadId: null });
		const edit = matrix.sent.find((message) => message.roomId === room)!.content;
		expect(edit).toMatchObject({ body: '* better now', 'm.new_content': { body: 'better now', formatted_body: 'better <em>now</em>' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$mine' } });
		expect(matrix.typing.at(-1)).toEqual({ roomId: room, userId: matrix.botUserId, typing: true });
	});

	test('a room the bot is not in fails in words a user can act on', async () => {
		const failure = await deliverText(matrixPlugin, client(), { chatId: '!nowhere:localhost', markdown: 'hi', replyToId: null, threadId: null, linkPreviews: false }).catch((error: Error) => error);
		expect((failure as Error).message).toMatch(/Matrix does not allow the bot to send a message \(403 M_FORBIDDEN.*Invite the bot/);
	});

	test('the HTML renderer escapes, keeps code blocks whole and shows unsafe links as text', () => {
		expect(markdownToMatrixHtml('```js\nif (a < b) {}\n```')).toBe('<pre><code class="language-js">if (a &lt; b) {}</code></pre>');
		expect(markdownToMatrixHtml('[click](javascript:alert(1)) [ok](https://example.org)')).toBe('click (javascript:alert(1)) <a href="https://example.org">ok</a>');
		expect(matrixHtmlToPlain('a<br>b &amp;lt;')).toBe('a\nb &lt;');
	});
});
