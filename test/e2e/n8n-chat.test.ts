/**
 * AI Session behind n8n's own Chat Trigger, in a real n8n: in Response Mode *Streaming* the answer
 * reaches the chat piece by piece as n8n frames it (newline-delimited JSON: begin, item…, end),
 * on the OpenAI credential path (the example, SSE from the OpenAI emulator) and through a connected
 * OpenAI Chat Model (LangChain's stream); the stored conversation is the streamed one. In *Last
 * Node* mode the answer is AI Session's `output`.
 */
import WebSocket from 'ws';

import { countPromptTokens, countTokens, OpenAiEmulator, type EmulatedMessage } from '../emulators/openai';
import { eventually, loadExampleWorkflow, N8nInstance, type WorkflowFixture } from './harness';

const example = loadExampleWorkflow('n8n-chat-ai-session.json');
const mixed = loadExampleWorkflow('n8n-chat-session-and-agent.json');
const MIXED_WEBHOOK = String(mixed.nodes.find((node) => node.name === 'When chat message received')!.webhookId);
type Credentials = Record<string, { id: string; name: string }>;
const aiSessionNode = example.nodes.find((node) => node.name === 'AI Session')!;
const openAiCredential = (aiSessionNode.credentials as Credentials).openAiApi;
const chatTriggerNode = example.nodes.find((node) => node.name === 'When chat message received')!;
const EXAMPLE_WEBHOOK = String(chatTriggerNode.webhookId);
const SUB_NODE_WEBHOOK = 'd2b8f3c5-6e7a-4b9c-8d1e-2f3a4b5c6e01';
const LAST_NODE_WEBHOOK = 'd2b8f3c5-6e7a-4b9c-8d1e-2f3a4b5c6e02';
const RESPONSE_NODES_WEBHOOK = 'd2b8f3c5-6e7a-4b9c-8d1e-2f3a4b5c6e03';
/** Each piece of a streamed answer follows the one before after this long, as a model writing. */
const PIECE_DELAY_MS = 80;

/**
 * The example with another webhook and Response Mode; optionally a connected OpenAI Chat Model
 * instead of the credential, or n8n's Respond to Chat node after AI Session.
 */
function variant(id: string, webhookId: string, responseMode: string, subNode: boolean, respondToChat = false): WorkflowFixture {
	const prefix = webhookId.slice(0, 30);
	const trigger = { ...chatTriggerNode, id: `${prefix}n01`, webhookId, parameters: { ...(chatTriggerNode.parameters as object), options: { responseMode } } };
	const session = subNode
		? { ...aiSessionNode, id: `${prefix}n02`, parameters: { ...(aiSessionNode.parameters as object), modelSource: 'chatModel' }, credentials: undefined }
		: { ...aiSessionNode, id: `${prefix}n02` };
	const model = {
		id: `${prefix}n03`,
		name: 'OpenAI Chat Model',
		type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
		typeVersion: 1.3,
		position: [240, 220],
		parameters: { model: { __rl: true, mode: 'id', value: 'gpt-4o-mini' }, responsesApiEnabled: false, options: {} },
		credentials: { openAiApi: openAiCredential },
	};
	const respond = {
		id: `${prefix}n04`,
		name: 'Respond to Chat',
		type: '@n8n/n8n-nodes-langchain.chat',
		typeVersion: 1.3,
		position: [520, 0],
		parameters: { operation: 'send', message: '={{ $json.output }}' },
	};
	return {
		...example,
		id,
		name: `${example.name} (${responseMode}${subNode ? ', Chat Model sub-node' : ''})`,
		nodes: [trigger, session, ...(subNode ? [model] : []), ...(respondToChat ? [respond] : [])],
		connections: {
			...example.connections,
			...(subNode ? { 'OpenAI Chat Model': { ai_languageModel: [[{ node: 'AI Session', type: 'ai_languageModel', index: 0 }]] } } : {}),
			...(respondToChat ? { 'AI Session': { main: [[{ node: 'Respond to Chat', type: 'main', index: 0 }], []] } } : {}),
		},
	};
}

interface Frame {
	type: string;
	content?: string;
	metadata?: { nodeName?: string; itemIndex?: number };
	/** When the line arrived, ms after the request was sent. */
	at: number;
}

describe("AI Session behind n8n's Chat Trigger in a real n8n", () => {
	const openai = new OpenAiEmulator({
		responder: (request) => {
			const said = String([...request.messages].reverse().find((message) => message.role === 'user')?.content ?? '');
			return `You said "${said}", and I am answering one word at a time so that the chat can show it as it comes.`;
		},
	});
	let n8n: N8nInstance;

	/** Posts a chat message as n8n's chat widget does and reads the streamed answer line by line as it arrives. */
	async function chatStreaming(webhookId: string, sessionId: string, chatInput: string): Promise<Frame[]> {
		const response = await eventually(async () => {
			const answer = await fetch(n8n.webhookUrl(webhookId, 'chat'), {
				method: 'POST',
				headers: { 'content-type': 'application/json', accept: 'text/plain' },
				body: JSON.stringify({ action: 'sendMessage', sessionId, chatInput }),
			});
			// 404: the workflow is not active yet; nothing ran.
			return answer.status === 404 ? undefined : answer;
		}, `the chat webhook ${webhookId}`, 60_000);
		expect(response.status).toBe(200);
		const started = Date.now();
		const frames: Frame[] = [];
		const decoder = new TextDecoder();
		let buffer = '';
		for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
			buffer += decoder.decode(bytes, { stream: true });
			const lines = buffer.split('\n');
			buffer = lines.pop() ?? '';
			for (const line of lines.filter((candidate) => candidate.trim() !== '')) frames.push({ ...(JSON.parse(line) as Omit<Frame, 'at'>), at: Date.now() - started });
		}
		expect(buffer.trim()).toBe('');
		// n8n sends a keepalive line every 30 s on a long stream; it is no part of the answer.
		return frames.filter((frame) => frame.type !== 'keepalive');
	}

	const answerTo = (said: string) => `You said "${said}", and I am answering one word at a time so that the chat can show it as it comes.`;

	/** Posts a chat message in Last Node mode and returns the JSON n8n answers with. */
	async function chatLastNode(webhookId: string, sessionId: string, chatInput: string): Promise<Record<string, unknown>> {
		return eventually(async () => {
			const response = await fetch(n8n.webhookUrl(webhookId, 'chat'), {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ action: 'sendMessage', sessionId, chatInput }),
			});
			return response.status === 404 ? undefined : ((await response.json()) as Record<string, unknown>);
		}, `the chat webhook ${webhookId}`, 60_000);
	}

	const textOf = (frames: Frame[]) => frames.filter((frame) => frame.type === 'item').map((frame) => frame.content ?? '').join('');
	/** Each message as "role: text"; LangChain sends an assistant turn as content blocks, whose text parts count. */
	const show = (messages: EmulatedMessage[]) =>
		messages.map((message) => {
			const content = Array.isArray(message.content) ? message.content.map((part: { text?: unknown }) => String(part.text ?? '')).join('') : String(message.content);
			return `${message.role}: ${content}`;
		});

	beforeAll(async () => {
		openai.streamDelayMs = PIECE_DELAY_MS;
		await openai.start();
		n8n = await N8nInstance.start({
			credentials: [{ ...openAiCredential, type: 'openAiApi', data: { apiKey: openai.apiKey, url: openai.baseUrl } }],
			workflows: [
				example,
				variant('ClawgateN8nChat2', SUB_NODE_WEBHOOK, 'streaming', true),
				variant('ClawgateN8nChat3', LAST_NODE_WEBHOOK, 'lastNode', false),
				variant('ClawgateN8nChat4', RESPONSE_NODES_WEBHOOK, 'responseNodes', false, true),
				mixed,
			],
		});
		// Five workflows, each published by its own n8n CLI process: longer than one n8n start on a busy machine.
	}, 600_000);

	afterAll(async () => {
		await n8n?.stop();
		await openai.stop();
	});

	test('the example (Streaming, OpenAI credential): the answer arrives in pieces before the end, is stored as streamed, and the next turn remembers it', async () => {
		const first = await chatStreaming(EXAMPLE_WEBHOOK, 'web-stream-1', 'My name is Ada.');
		expect(first.map((frame) => frame.type)).toEqual(['begin', ...first.slice(1, -1).map(() => 'item'), 'end']);
		expect(first.every((frame) => frame.metadata?.nodeName === 'AI Session' && frame.metadata.itemIndex === 0)).toBe(true);
		const items = first.filter((frame) => frame.type === 'item');
		expect(items.length).toBeGreaterThan(5);
		// Streamed as the model wrote it: the first piece came long before the last and the end.
		expect(first.at(-1)!.at - items[0].at).toBeGreaterThanOrEqual(PIECE_DELAY_MS * (items.length - 2));
		const answer = textOf(first);
		expect(openai.bodies().at(-1)).toMatchObject({ stream: true, stream_options: { include_usage: true } });

		const second = await chatStreaming(EXAMPLE_WEBHOOK, 'web-stream-1', 'What is my name?');
		expect(second.filter((frame) => frame.type === 'item').length).toBeGreaterThan(5);
		// The stored turn is exactly what the chat showed.
		const prompt = openai.prompts().at(-1)!;
		expect(show(prompt)).toEqual([
			'system: You are a friendly assistant in a web chat. Answer briefly.',
			'user: My name is Ada.',
			`assistant: ${answer}`,
			'user: What is my name?',
		]);

		// Token totals counted from the usage the stream reported, as without streaming; a command's answer is streamed whole.
		const usage = await chatStreaming(EXAMPLE_WEBHOOK, 'web-stream-1', '/usage');
		const prompts = openai.prompts().slice(-2);
		const total = prompts.reduce((sum, messages, index) => sum + countPromptTokens(messages) + countTokens(textOf(index === 0 ? first : second)), 0);
		expect(usage.map((frame) => frame.type)).toEqual(['begin', 'item', 'end']);
		expect(textOf(usage)).toMatch(new RegExp(`^This conversation: 4 turns, ${total} tokens \\(`));
	});

	test('with a connected OpenAI Chat Model (LangChain stream): the answer arrives in pieces, and the next turn remembers it', async () => {
		const first = await chatStreaming(SUB_NODE_WEBHOOK, 'web-stream-2', 'I drink green tea.');
		const items = first.filter((frame) => frame.type === 'item');
		expect(first[0].type).toBe('begin');
		expect(first.at(-1)!.type).toBe('end');
		expect(items.length).toBeGreaterThan(5);
		expect(first.at(-1)!.at - items[0].at).toBeGreaterThanOrEqual(PIECE_DELAY_MS * (items.length - 2));
		expect(openai.bodies().at(-1)).toMatchObject({ model: 'gpt-4o-mini', stream: true });

		await chatStreaming(SUB_NODE_WEBHOOK, 'web-stream-2', 'What do I drink?');
		expect(show(openai.prompts().at(-1)!).slice(1)).toEqual(['user: I drink green tea.', `assistant: ${textOf(first)}`, 'user: What do I drink?']);
	});

	test("Last Node mode: the chat gets AI Session's answer as `output`, and the model is asked without streaming", async () => {
		const answer = await eventually(async () => {
			const response = await fetch(n8n.webhookUrl(LAST_NODE_WEBHOOK, 'chat'), {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ action: 'sendMessage', sessionId: 'web-last-1', chatInput: 'Hello there.' }),
			});
			return response.status === 404 ? undefined : ((await response.json()) as Record<string, unknown>);
		}, 'the chat webhook in Last Node mode', 60_000);
		expect(answer.output).toBe('You said "Hello there.", and I am answering one word at a time so that the chat can show it as it comes.');
		expect(openai.bodies().at(-1)).not.toHaveProperty('stream');
	});

	test("the example with AI Session and n8n's AI Agent: /agent hands the conversation to the agent through Clawgate Chat Memory, and back", async () => {
		expect((await chatLastNode(MIXED_WEBHOOK, 'web-mix-1', 'My name is Ada.')).output).toBe(answerTo('My name is Ada.'));

		expect((await chatLastNode(MIXED_WEBHOOK, 'web-mix-1', '/agent What is my name?')).output).toBe(answerTo('What is my name?'));
		// The agent (it offers its calculator) was given the turns AI Session stored.
		const agentRequest = openai.bodies().at(-1)!;
		expect(Array.isArray(agentRequest.tools) && agentRequest.tools.length).toBe(1);
		expect(show(agentRequest.messages).slice(1)).toEqual(['user: My name is Ada.', `assistant: ${answerTo('My name is Ada.')}`, 'user: What is my name?']);

		// And AI Session is given the agent's exchange, which Clawgate Chat Memory stored.
		expect((await chatLastNode(MIXED_WEBHOOK, 'web-mix-1', 'Thanks!')).output).toBe(answerTo('Thanks!'));
		expect(show(openai.prompts().at(-1)!)).toEqual([
			'system: You are a friendly assistant in a web chat. Answer briefly.',
			'user: My name is Ada.',
			`assistant: ${answerTo('My name is Ada.')}`,
			'user: What is my name?',
			`assistant: ${answerTo('What is my name?')}`,
			'user: Thanks!',
		]);
	});

	test("Using Response Nodes (hosted chat): n8n's Respond to Chat node sends AI Session's `output` over the chat's WebSocket", async () => {
		const started = await eventually(async () => {
			const response = await fetch(n8n.webhookUrl(RESPONSE_NODES_WEBHOOK, 'chat'), {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ action: 'sendMessage', sessionId: 'web-nodes-1', chatInput: 'Hi from the hosted chat.' }),
			});
			return response.status === 404 ? undefined : ((await response.json()) as { executionStarted?: boolean; executionId?: string; resumeToken?: string });
		}, 'the chat webhook in Response Nodes mode', 60_000);
		expect(started).toMatchObject({ executionStarted: true, executionId: expect.any(String) });

		// As n8n's chat widget does: connect to /chat for the execution and wait for the message (n8n polls every 3 s).
		const query = new URLSearchParams({ sessionId: 'web-nodes-1', executionId: started.executionId!, isPublic: 'true', ...(started.resumeToken ? { token: started.resumeToken } : {}) });
		const socket = new WebSocket(`${n8n.baseUrl.replace(/^http/, 'ws')}/chat?${query}`);
		const received: string[] = [];
		socket.on('message', (data) => received.push(String(data)));
		try {
			const expected = 'You said "Hi from the hosted chat.", and I am answering one word at a time so that the chat can show it as it comes.';
			await eventually(() => (received.includes(expected) ? true : undefined), 'the answer on the chat WebSocket', 30_000);
		} finally {
			socket.close();
		}
	});

	test("sessions of n8n's chat are kept apart, and no API key appears in n8n's log or saved executions", async () => {
		const prompts = openai.prompts();
		const other = prompts.filter((messages) => messages.some((message) => message.content === 'Hello there.'));
		expect(other.every((messages) => !messages.some((message) => message.content === 'My name is Ada.'))).toBe(true);
		const runs = await n8n.executions();
		const saved = await Promise.all(runs.slice(0, 8).map((run) => n8n.execution(run.id)));
		expect(`${n8n.log}\n${JSON.stringify(saved)}`).not.toContain(openai.apiKey);
	});
});
