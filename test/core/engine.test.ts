import { ModelCallError, type ChatCompletion, type ChatModel, type ChatRequest } from '../../nodes/core/session/model';
import { SessionEngine, type InboundMessage, type SessionEngineConfig } from '../../nodes/core/session/engine';
import { MemorySessionStore } from '../../nodes/core/stores/memory.store';
import { createTokenCounter } from '../../nodes/core/tokens';
import { testEngineConfig } from './engine-config';

/** A model that answers "reply N to: <text>" and records every request it got. */
class ScriptedModel implements ChatModel {
	requests: ChatRequest[] = [];
	failures: Array<ModelCallError | null> = [];
	answer: (request: ChatRequest) => string = (request) => `reply ${this.requests.length} to: ${request.messages.at(-1)!.content}`;

	async complete(request: ChatRequest): Promise<ChatCompletion> {
		this.requests.push(request);
		const failure = this.failures.shift();
		if (failure) throw failure;
		await new Promise((resolve) => setTimeout(resolve, 1));
		return { text: this.answer(request), model: request.model, finishReason: 'stop', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 } };
	}
}

const baseConfig = testEngineConfig;

let messageId = 0;
function inbound(text: string, extra: Partial<InboundMessage> = {}): InboundMessage {
	messageId += 1;
	return { sessionId: 'telegram:1:dm:42', text, messageKey: `telegram:1:${messageId}`, senderKey: 'telegram:1:42', command: null, ...extra };
}

function setup(config: Partial<SessionEngineConfig> = {}) {
	const store = new MemorySessionStore();
	const model = new ScriptedModel();
	const engine = new SessionEngine(store, model, { ...baseConfig, ...config });
	return { store, model, engine };
}

function replyText(outcome: Awaited<ReturnType<SessionEngine['handle']>>): string {
	if (outcome.kind !== 'reply') throw new Error(`expected a reply, got ${outcome.kind}`);
	return outcome.reply.text;
}

describe('conversation context', () => {
	test('the third prompt holds the system prompt and the first two turns, in order', async () => {
		const { engine, model } = setup();
		await engine.handle(inbound('My name is Ada.'));
		await engine.handle(inbound('I like tea.'));
		await engine.handle(inbound('What do you know about me?'));
		expect(model.requests[2].messages).toEqual([
			{ role: 'system', content: 'You are terse.' },
			{ role: 'user', content: 'My name is Ada.' },
			{ role: 'assistant', content: 'reply 1 to: My name is Ada.' },
			{ role: 'user', content: 'I like tea.' },
			{ role: 'assistant', content: 'reply 2 to: I like tea.' },
			{ role: 'user', content: 'What do you know about me?' },
		]);
	});

	test('the reply carries the model, usage and session totals', async () => {
		const { engine } = setup();
		await engine.handle(inbound('one'));
		const outcome = await engine.handle(inbound('two'));
		expect(outcome).toEqual({
			kind: 'reply',
			reply: {
				text: 'reply 2 to: two',
				model: 'gpt-4o-mini',
				finishReason: 'stop',
				usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
				session: { id: 'telegram:1:dm:42', turns: 4, historyTokens: expect.any(Number), compacted: false },
			},
		});
	});

	test('old turns fall out of a small context window; the newest turns stay, the prompt fits the budget', async () => {
		const { engine, model } = setup({ contextWindow: 600, maxOutputTokens: 100, safetyMargin: 20 });
		for (let index = 0; index < 30; index++) await engine.handle(inbound(`message number ${index} ${'word '.repeat(20)}`));
		const last = model.requests.at(-1)!;
		const counter = createTokenCounter('gpt-4o-mini');
		const promptTokens = last.messages.reduce((sum, message) => sum + counter.countMessage(message), 0) + counter.replyPriming;
		expect(promptTokens).toBeLessThanOrEqual(600 - 100 - 20);
		expect(last.messages.length).toBeLessThan(30);
		expect(last.messages[1].role).toBe('user');
		expect(last.messages.at(-1)!.content).toContain('message number 29');
		expect(last.messages.at(-3)!.content).toContain('message number 28');
	});

	test('a message larger than the whole budget is cut, keeping its head and tail', async () => {
		const { engine, model } = setup({ contextWindow: 1000, maxOutputTokens: 100, safetyMargin: 20 });
		const huge = `START ${'lorem ipsum dolor '.repeat(2000)} END`;
		await engine.handle(inbound(huge));
		const sent = model.requests[0].messages.at(-1)!.content;
		expect(sent.startsWith('START')).toBe(true);
		expect(sent.endsWith('END')).toBe(true);
		expect(sent.length).toBeLessThan(huge.length);
	});
});

describe('oversized input', () => {
	test('a 1 MB message without spaces is cut to Max Message Length before counting: answered at once, the cut visible to the model', async () => {
		const { engine, model } = setup();
		const huge = `START${'a'.repeat(1_000_000)}END`;
		const started = process.cpuUsage();
		await engine.handle(inbound(huge));
		const { user, system } = process.cpuUsage(started);
		expect((user + system) / 1000).toBeLessThan(2_000);
		const sent = model.requests[0].messages.at(-1)!.content;
		expect(sent.length).toBeLessThanOrEqual(16_000);
		expect(sent.startsWith('STARTaaa')).toBe(true);
		expect(sent.endsWith('aaaEND')).toBe(true);
		expect(sent).toMatch(/\[… \d+ characters cut …\]/);
	});

	test('Max Message Length is configurable', async () => {
		const { engine, model } = setup({ maxInputCharacters: 500 });
		await engine.handle(inbound(`START ${'lorem ipsum '.repeat(200)} END`));
		const sent = model.requests[0].messages.at(-1)!.content;
		expect(sent.length).toBeLessThanOrEqual(500);
		expect(sent).toMatch(/^START[\s\S]*characters cut[\s\S]*END$/);
	});
});

describe('idempotency', () => {
	test('a redelivered message is ignored as a duplicate, without a model call or a new turn', async () => {
		const { engine, model, store } = setup();
		const message = inbound('hello');
		await engine.handle(message);
		expect(await engine.handle({ ...message })).toEqual({ kind: 'ignored', reason: 'duplicate' });
		expect(model.requests).toHaveLength(1);
		expect((await store.readWindow(message.sessionId, 10_000)).state.turnCount).toBe(2);
	});

	test('the same message delivered twice at once is answered once', async () => {
		const { engine, model } = setup();
		const message = inbound('hello');
		const outcomes = await Promise.all([engine.handle(message), engine.handle({ ...message })]);
		expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['ignored', 'reply']);
		expect(model.requests).toHaveLength(1);
	});

	test('a failed model call stores nothing, so a redelivery is answered normally', async () => {
		const { engine, model, store } = setup();
		model.failures.push(new ModelCallError('The model provider rejected the API key (401).', 'auth', { status: 401 }));
		const message = inbound('hello');
		await expect(engine.handle(message)).rejects.toThrow(/rejected the API key/);
		expect((await store.readWindow(message.sessionId, 10_000)).state.turnCount).toBe(0);
		expect(replyText(await engine.handle({ ...message }))).toBe('reply 2 to: hello');
	});

	test('with an error reply set, a failed model call answers it, stores nothing, and a redelivery reaches the model', async () => {
		const { engine, model, store } = setup({ models: ['gpt-4o-mini', 'gpt-4o'], errorReply: 'Sorry, try again soon.' });
		model.failures.push(new ModelCallError('The model "gpt-4o-mini" is overloaded (503).', 'server', { status: 503 }));
		model.failures.push(new ModelCallError('The model "gpt-4o" is overloaded (503).', 'server', { status: 503 }));
		const message = inbound('hello');
		const outcome = await engine.handle(message);
		expect(outcome).toMatchObject({ kind: 'reply', reply: { text: 'Sorry, try again soon.', model: null, finishReason: 'error', error: expect.stringMatching(/overloaded/) } });
		expect(model.requests.map((request) => request.model)).toEqual(['gpt-4o-mini', 'gpt-4o']);
		expect((await store.readWindow(message.sessionId, 10_000)).state.turnCount).toBe(0);
		expect(replyText(await engine.handle({ ...message }))).toBe('reply 3 to: hello');
	});

	test('an error reply does not hide a failure that is not the model\'s', async () => {
		const { engine, store } = setup({ errorReply: 'Sorry.' });
		jest.spyOn(store, 'appendTurns').mockRejectedValueOnce(new Error('disk full'));
		await expect(engine.handle(inbound('hello'))).rejects.toThrow('disk full');
	});

	test('messages without a key (n8n Chat Trigger) are all answered', async () => {
		const { engine, model } = setup();
		await engine.handle(inbound('a', { messageKey: null }));
		await engine.handle(inbound('a', { messageKey: null }));
		expect(model.requests).toHaveLength(2);
	});
});

describe('commands', () => {
	test('/new starts a fresh context: the next prompt has no earlier turns, but the turns stay stored', async () => {
		const { engine, model, store } = setup();
		await engine.handle(inbound('remember 7'));
		const answer = await engine.handle(inbound('/new', { command: 'new' }));
		expect(answer).toMatchObject({ kind: 'reply', reply: { text: 'Started a new conversation.', command: 'new', model: null } });
		await engine.handle(inbound('what number?'));
		expect(model.requests).toHaveLength(2);
		expect(model.requests[1].messages.map((message) => message.content)).toEqual(['You are terse.', 'what number?']);
		expect((await store.readWindow('telegram:1:dm:42', 10_000)).state.turnCount).toBe(4);
	});

	test.each(['reset', 'new'])('after /%s neither the summary nor any earlier turn reaches the model again', async (command) => {
		const { engine, model, store } = setup({ compaction: { enabled: true, thresholdTokens: 300, keepRecentTokens: 120 } });
		model.answer = (request) => (request.messages[0].content.startsWith('Summarise') ? 'SUMMARY: the secret is 7' : `ok ${'blah '.repeat(20)}`);
		for (let index = 0; index < 6; index++) await engine.handle(inbound(`fact ${index} ${'detail '.repeat(20)}`));
		expect((await store.readWindow('telegram:1:dm:42', 0)).state.summary).not.toBeNull();

		await engine.handle(inbound(`/${command}`, { command }));
		await engine.handle(inbound('what is the secret?'));
		await engine.handle(inbound('and again?'));
		const prompts = model.requests.filter((request) => !request.messages[0].content.startsWith('Summarise')).slice(-2);
		expect(prompts[0].messages).toEqual([
			{ role: 'system', content: 'You are terse.' },
			{ role: 'user', content: 'what is the secret?' },
		]);
		expect(prompts[1].messages.map((message) => message.content)).toEqual(['You are terse.', 'what is the secret?', expect.stringMatching(/^ok/), 'and again?']);
		expect((await store.readWindow('telegram:1:dm:42', 0)).state.turnCount).toBeGreaterThanOrEqual(16);
	});

	test('a summary made before a reset never reaches the model, even when the store still holds it (data of older versions)', async () => {
		const { engine, model, store } = setup();
		await engine.handle(inbound('remember 7'));
		await store.resetContext('telegram:1:dm:42');
		// What an older version left behind: the reset kept the summary of the turns before it.
		await store.saveSummary('telegram:1:dm:42', { content: 'the number is 7', tokens: 10, throughSeq: 2 });
		const outcome = await engine.handle(inbound('what number?'));
		expect(model.requests[1].messages).toEqual([
			{ role: 'system', content: 'You are terse.' },
			{ role: 'user', content: 'what number?' },
		]);
		expect(outcome).toMatchObject({ reply: { session: { compacted: false } } });
	});

	test('/forget is off by default: it goes to the model as text and erases nothing', async () => {
		const { engine, model, store } = setup();
		await engine.handle(inbound('remember 7'));
		await engine.handle(inbound('/forget', { command: 'forget' }));
		expect(model.requests).toHaveLength(2);
		expect((await store.readWindow('telegram:1:dm:42', 0)).state.turnCount).toBe(4);
		expect(replyText(await engine.handle(inbound('/help', { command: 'help' })))).not.toContain('/forget');
	});

	test('/forget, when allowed, erases the stored turns and summary; the next prompt starts from nothing', async () => {
		const { engine, model, store } = setup({ commands: { ...baseConfig.commands, forget: true } });
		await engine.handle(inbound('remember 7'));
		await store.saveSummary('telegram:1:dm:42', { content: 'the number is 7', tokens: 10, throughSeq: 1 });
		const answer = await engine.handle(inbound('/forget', { command: 'forget' }));
		expect(answer).toMatchObject({ kind: 'reply', reply: { command: 'forget', model: null, session: { turns: 0, compacted: false } } });
		const { state, turns } = await store.readWindow('telegram:1:dm:42', 100_000);
		expect({ turnCount: state.turnCount, summary: state.summary, turns }).toEqual({ turnCount: 0, summary: null, turns: [] });
		await engine.handle(inbound('what number?'));
		expect(model.requests.at(-1)!.messages.map((message) => message.content)).toEqual(['You are terse.', 'what number?']);
		expect(replyText(await engine.handle(inbound('/help', { command: 'help' })))).toContain('/forget');
	});

	test('a command word that names an object property ("/constructor") goes to the model as text', async () => {
		const { engine, model } = setup();
		expect(replyText(await engine.handle(inbound('/constructor', { command: 'constructor' })))).toBe('reply 1 to: /constructor');
		expect(replyText(await engine.handle(inbound('/__proto__', { command: '__proto__' })))).toBe('reply 2 to: /__proto__');
		expect(model.requests).toHaveLength(2);
	});

	test('/usage answers the session token totals without a model call', async () => {
		const { engine, model } = setup();
		await engine.handle(inbound('a'));
		await engine.handle(inbound('b'));
		const text = replyText(await engine.handle(inbound('/usage', { command: 'usage' })));
		expect(text).toBe('This conversation: 4 turns, 30 tokens (20 prompt, 10 completion).');
		expect(model.requests).toHaveLength(2);
	});

	test('/help lists only the enabled commands; a disabled command goes to the model as text', async () => {
		const { engine, model } = setup({ commands: { new: true, reset: false, usage: true, help: true } });
		const help = replyText(await engine.handle(inbound('/help', { command: 'help' })));
		expect(help).toContain('/new');
		expect(help).not.toContain('/reset');
		await engine.handle(inbound('/reset', { command: 'reset' }));
		expect(model.requests).toHaveLength(1);
	});

	test('a redelivered command is ignored', async () => {
		const { engine } = setup();
		const command = inbound('/usage', { command: 'usage' });
		await engine.handle(command);
		expect(await engine.handle({ ...command })).toEqual({ kind: 'ignored', reason: 'duplicate' });
	});
});

describe('limits', () => {
	test('over the per-sender rate the configured answer comes back and the model is not called', async () => {
		const { engine, model } = setup({ limits: { messagesPerMinute: 2, tokensPerDay: 0, limitReply: 'Slow down.' } });
		await engine.handle(inbound('1'));
		await engine.handle(inbound('2'));
		const third = await engine.handle(inbound('3'));
		expect(third).toMatchObject({ kind: 'reply', reply: { text: 'Slow down.', limited: 'rate', finishReason: 'limited' } });
		expect(model.requests).toHaveLength(2);
		// Another sender is not affected.
		expect(replyText(await engine.handle(inbound('4', { senderKey: 'telegram:1:99' })))).toContain('reply 3');
	});

	test('over the daily token quota the configured answer comes back', async () => {
		const { engine, model } = setup({ limits: { messagesPerMinute: 0, tokensPerDay: 30, limitReply: 'Quota used up.' } });
		await engine.handle(inbound('1'));
		await engine.handle(inbound('2'));
		expect(await engine.handle(inbound('3'))).toMatchObject({ reply: { text: 'Quota used up.', limited: 'quota' } });
		expect(model.requests).toHaveLength(2);
	});
});

describe('ordering', () => {
	test('concurrent messages of one session are answered one at a time in arrival order, each seeing the previous reply', async () => {
		const { engine, model, store } = setup();
		const messages = Array.from({ length: 10 }, (_, index) => inbound(`m${index}`));
		await Promise.all(messages.map((message) => engine.handle(message)));
		expect(model.requests.map((request) => request.messages.at(-1)!.content)).toEqual(messages.map((message) => message.text));
		model.requests.forEach((request, index) => {
			if (index > 0) expect(request.messages.at(-2)).toEqual({ role: 'assistant', content: `reply ${index} to: m${index - 1}` });
		});
		const { turns } = await store.readWindow('telegram:1:dm:42', 100_000);
		expect(turns.map((turn) => turn.content)).toEqual(messages.flatMap((message, index) => [message.text, `reply ${index + 1} to: ${message.text}`]));
	});
});

describe('compaction', () => {
	const compaction = { enabled: true, thresholdTokens: 300, keepRecentTokens: 120 };

	test('past the threshold the oldest turns become one summary and the newest stay verbatim', async () => {
		const { engine, model, store } = setup({ compaction });
		model.answer = (request) =>
			request.messages[0].content.startsWith('Summarise') ? 'SUMMARY: user is Ada, likes tea' : `ok ${'blah '.repeat(20)}`;
		for (let index = 0; index < 6; index++) await engine.handle(inbound(`fact ${index} ${'detail '.repeat(20)}`));
		const { state } = await store.readWindow('telegram:1:dm:42', 100_000);
		expect(state.summary?.content).toBe('SUMMARY: user is Ada, likes tea');

		await engine.handle(inbound('and now?'));
		const prompt = model.requests.at(-1)!.messages;
		expect(prompt[1]).toEqual({ role: 'system', content: 'Summary of the earlier conversation:\nSUMMARY: user is Ada, likes tea' });
		expect(prompt.some((message) => message.content.includes('fact 0 '))).toBe(false);
		expect(prompt.at(-1)!.content).toBe('and now?');
	});

	test('a failed summary leaves the history untouched and the reply still goes out', async () => {
		const { engine, model, store } = setup();
		model.answer = () => `ok ${'blah '.repeat(20)}`;
		for (let index = 0; index < 3; index++) await engine.handle(inbound(`fact ${index} ${'detail '.repeat(20)}`));
		const compacting = new SessionEngine(store, model, { ...baseConfig, compaction: { enabled: true, thresholdTokens: 150, keepRecentTokens: 60 } });
		model.failures = [null, new ModelCallError('The model provider had a server error (500).', 'server', { status: 500 })];

		const outcome = await compacting.handle(inbound(`fact 3 ${'detail '.repeat(20)}`));
		expect(outcome).toMatchObject({ kind: 'reply', reply: { session: { compacted: false, compactionError: expect.stringContaining('server error') } } });
		expect(model.requests.at(-1)!.messages[0].content).toMatch(/^Summarise/);
		const { state, turns } = await store.readWindow('telegram:1:dm:42', 100_000);
		expect(state.summary).toBeNull();
		expect(turns).toHaveLength(8);
	});
});

test('an empty message is ignored without a model call', async () => {
	const { engine, model } = setup();
	expect(await engine.handle(inbound('   '))).toEqual({ kind: 'ignored', reason: 'empty' });
	expect(model.requests).toHaveLength(0);
});

describe('a journaled message run again after a crash lost its delivery', () => {
	test('gets the stored answer back, marked replayed, without a second model call', async () => {
		const { engine, model } = setup();
		const message = inbound('What is the capital of Peru?');
		const first = await engine.handle(message);
		expect(await engine.handle(message)).toEqual({ kind: 'ignored', reason: 'duplicate' });
		const replayed = await engine.replay(message);
		expect(model.requests).toHaveLength(1);
		expect(replayed).toMatchObject({ text: replyText(first), model: 'gpt-4o-mini', finishReason: 'stop', replayed: true, session: { id: message.sessionId, turns: 2 } });
	});

	test('command answers are stored and replayed too', async () => {
		const { engine } = setup();
		const message = inbound('/new', { command: 'new' });
		await engine.handle(message);
		expect(await engine.replay(message)).toMatchObject({ text: 'Started a new conversation.', command: 'new', replayed: true });
	});

	test('nothing to replay for a message never answered, or one the error reply answered (nothing stored: the model is tried again)', async () => {
		const { engine, model } = setup({ errorReply: 'Sorry, try later.' });
		expect(await engine.replay(inbound('never seen'))).toBeNull();
		model.failures.push(new ModelCallError('The model provider rejected the API key (401).', 'auth', { status: 401 }));
		const failed = inbound('hello');
		expect(replyText(await engine.handle(failed))).toBe('Sorry, try later.');
		expect(await engine.replay(failed)).toBeNull();
	});
});

describe('streaming the answer (n8n Chat in Streaming mode)', () => {
	/** The scripted model, streaming its answer word by word when the request asks for it. */
	function streamingSetup(config: Partial<SessionEngineConfig> = {}) {
		const context = setup(config);
		const complete = context.model.complete.bind(context.model);
		context.model.complete = async (request) => {
			const completion = await complete(request);
			for (const piece of completion.text.match(/\S+\s*/g) ?? []) request.onText?.(piece);
			return completion;
		};
		return context;
	}
	const recorder = () => {
		const written: string[] = [];
		return { written, stream: { write: (delta: string) => written.push(delta), restart: () => written.push('<restart>') } };
	};

	test('the answer is written piece by piece; the outcome and the stored turns are those of the same message without streaming', async () => {
		const plain = setup();
		const streamed = streamingSetup();
		const { written, stream } = recorder();
		const withoutStream = await plain.engine.handle(inbound('hello there', { messageKey: 'k:1' }));
		const withStream = await streamed.engine.handle(inbound('hello there', { messageKey: 'k:1' }), { stream });

		expect(written.length).toBeGreaterThan(1);
		expect(written.join('')).toBe(replyText(withStream));
		expect(withStream).toEqual(withoutStream);
		const stored = async (store: MemorySessionStore) => (await store.readWindow('telegram:1:dm:42', 10_000)).turns.map(({ role, content, tokens }) => ({ role, content, tokens }));
		expect(await stored(streamed.store)).toEqual(await stored(plain.store));
		expect(streamed.model.requests[0].onText).toBeInstanceOf(Function);
	});

	test('commands, limit replies and compaction summaries do not stream', async () => {
		const { engine, model } = streamingSetup({ compaction: { enabled: true, thresholdTokens: 1, keepRecentTokens: 0 } });
		const { written, stream } = recorder();
		await engine.handle(inbound('/usage', { command: 'usage' }), { stream });
		expect(written).toEqual([]);
		await engine.handle(inbound('remember this'), { stream });
		expect(model.requests).toHaveLength(2);
		expect(model.requests[0].onText).toBeInstanceOf(Function);
		// The second request made the summary: nothing of it reached the stream.
		expect(model.requests[1].onText).toBeUndefined();
		expect(written.join('')).toBe('reply 1 to: remember this');
	});
});

describe('Stream Preview: the draft the stream left in the chat', () => {
	const preview = { via: 'telegram', chatId: '42', threadId: null, messageIds: ['7'] };
	const drafting = () => {
		const events: string[] = [];
		return { events, stream: { write: () => undefined, restart: () => undefined, settle: async () => (events.push('settled'), preview) } };
	};

	test('is settled before the answer is stored, and kept with it: an answer sent again after a crash turns the same draft into the answer', async () => {
		const { engine, store } = setup();
		const { events, stream } = drafting();
		const message = inbound('hello');
		const outcome = await engine.handle(message, { stream });
		expect(outcome).toMatchObject({ kind: 'reply', reply: { preview } });
		expect(events).toEqual(['settled']);
		expect(JSON.parse((await store.readAnswer(message.messageKey!))!)).toMatchObject({ preview });
		expect(await engine.replay(message)).toMatchObject({ replayed: true, preview });
	});

	test('a model that fails with an Error Reply set leaves its draft to become the Error Reply', async () => {
		const { engine, model } = setup({ errorReply: 'Sorry, try again later.' });
		model.failures.push(new ModelCallError('The model is down.', 'auth'));
		const { stream } = drafting();
		expect(await engine.handle(inbound('hello'), { stream })).toMatchObject({ kind: 'reply', reply: { text: 'Sorry, try again later.', finishReason: 'error', preview } });
	});
});
