/**
 * Clawgate Chat Memory inside n8n's own AI code: the SDK n8n ships (`@n8n/ai-node-sdk`, from the
 * pinned n8n that `npm run n8n:install` caches), the LangChain memory adapter n8n wraps every SDK
 * memory in, and the AI Agent's own load and save functions, over a SQLite store in a temporary file.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadAiNodeSdk, tokenWindowMemory, turnsOfMessages, type AiNodeSdk } from '../../nodes/ChatMemory/ai-node-sdk';
import { TokenWindowHistory } from '../../nodes/core/session/chat-memory';
import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';
import { createTokenCounter } from '../../nodes/core/tokens';

const installer = require('../../scripts/n8n-install.js');

const n8nModules = join(installer.n8nCacheDir(), 'node_modules');
const fromN8n = (request: string, from = n8nModules) => require(require.resolve(request, { paths: [from] }));
const describeWithN8n = existsSync(join(n8nModules, '@n8n', 'ai-node-sdk')) ? describe : describe.skip;

interface LcMessage {
	content: unknown;
	/** The text of the content blocks (LangChain 1.x). */
	readonly text: string;
	_getType(): string;
}
interface LangchainMemory {
	chatHistory: { addMessages(messages: LcMessage[]): Promise<void> };
	loadMemoryVariables(values: object): Promise<{ chat_history: LcMessage[] }>;
	saveContext(input: object, output: object): Promise<void>;
}

describeWithN8n("Clawgate Chat Memory in n8n's AI Agent code (n8n's SDK and LangChain adapter)", () => {
	let sdk: AiNodeSdk;
	let Adapter: new (memory: unknown) => LangchainMemory;
	let agentMemory: { loadMemory(memory: LangchainMemory): Promise<LcMessage[]>; saveToMemory(input: string, output: string, memory: LangchainMemory, steps?: unknown[]): Promise<void> };
	let messages: { AIMessage: new (fields: object | string) => LcMessage };
	let dir: string;
	let store: SqliteSessionStore;

	beforeAll(() => {
		sdk = fromN8n('@n8n/ai-node-sdk');
		const utilities = join(n8nModules, '@n8n', 'ai-utilities');
		Adapter = fromN8n('./dist/cjs/adapters/langchain-memory', utilities).LangchainMemoryAdapter;
		agentMemory = fromN8n('./dist/utils/agent-execution/memoryManagement', join(n8nModules, '@n8n', 'n8n-nodes-langchain'));
		messages = fromN8n('@langchain/core/messages', utilities);
		dir = mkdtempSync(join(tmpdir(), 'clawgate-memory-node-'));
		store = new SqliteSessionStore({ filename: join(dir, 'sessions.sqlite') });
	});

	afterAll(async () => {
		await store.close();
		rmSync(dir, { recursive: true, force: true });
	});

	function memoryFor(sessionId: string, windowTokens = 4000): LangchainMemory {
		const window = new TokenWindowHistory(store, sessionId, { windowTokens, counter: createTokenCounter('gpt-4o-mini') });
		return new Adapter(tokenWindowMemory(sdk, window));
	}

	const asLines = (history: LcMessage[]) => history.map((message) => `${message._getType()}: ${message.text}`);

	test('where n8n provides no AI node SDK (before 2.40), the memory says what to do instead of failing obscurely', () => {
		// This repository does not install the SDK (it is n8n's, a peer dependency); n8n puts it on the module path at run time.
		expect(() => loadAiNodeSdk({ name: 'Clawgate Chat Memory' } as never)).toThrow(/needs n8n 2\.40 or later/);
	});

	test("an agent's answer without tools is saved and handed back as LangChain human and AI messages", async () => {
		const memory = memoryFor('telegram:1:dm:plain');
		await agentMemory.saveToMemory('My name is Ada.', 'Hello Ada.', memory);
		expect(asLines(await agentMemory.loadMemory(memory))).toEqual(['human: My name is Ada.', 'ai: Hello Ada.']);
	});

	test("an agent's exchange with a tool call is stored as the question and the final answer, without the tool steps", async () => {
		const memory = memoryFor('telegram:1:dm:tools');
		const toolCall = new messages.AIMessage({ content: '', tool_calls: [{ id: 'call_1', name: 'Calculator', args: { input: '6*7' }, type: 'tool_call' }] });
		const steps = [{ action: { tool: 'Calculator', toolInput: { input: '6*7' }, toolCallId: 'call_1', log: '', messageLog: [toolCall] }, observation: '42' }];
		await agentMemory.saveToMemory('What is 6*7?', 'It is 42.', memory, steps);

		expect(asLines(await agentMemory.loadMemory(memory))).toEqual(['human: What is 6*7?', 'ai: It is 42.']);
		const { turns } = await store.readWindow('telegram:1:dm:tools', 4000);
		expect(turns.map((turn) => turn.role)).toEqual(['user', 'assistant']);
	});

	test('what the agent loads is the token window, not the whole history', async () => {
		const memory = memoryFor('telegram:1:dm:long', 60);
		for (let turn = 1; turn <= 10; turn++) await memory.saveContext({ input: `Question ${turn}` }, { output: `Answer ${turn}` });
		const { chat_history: history } = await memory.loadMemoryVariables({});
		expect(history.length).toBeLessThan(20);
		expect(asLines(history).slice(-2)).toEqual(['human: Question 10', 'ai: Answer 10']);
		expect(history[0]._getType()).toBe('human');
	});

	test('tool calls and tool results are recognised in the SDK message shape', () => {
		expect(
			turnsOfMessages([
				{ role: 'user', content: [{ type: 'text', text: 'Hi' }] },
				{ role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool-call' }] },
				{ role: 'tool', content: [{ type: 'tool-result' }] },
				{ role: 'assistant', content: [{ type: 'text', text: 'Done.' }] },
			]),
		).toEqual([
			{ role: 'user', text: 'Hi' },
			{ role: 'assistant', text: 'Done.' },
		]);
	});
});

test('Chat Memory offers the same durable stores as AI Session, so one conversation can be found by both', () => {
	const { ChatMemory } = require('../../nodes/ChatMemory/ChatMemory.node') as typeof import('../../nodes/ChatMemory/ChatMemory.node');
	const { aiSessionProperties } = require('../../nodes/AiSession/AiSession.properties') as typeof import('../../nodes/AiSession/AiSession.properties');
	type Option = { name: string; value: string; description?: string };
	const storesOf = (properties: Array<{ name: string; options?: unknown[] }>) => (properties.find((property) => property.name === 'store')?.options ?? []) as Option[];
	const memoryStores = storesOf(new ChatMemory().description.properties);
	const sessionStores = storesOf(aiSessionProperties).filter((option) => option.value !== 'memory');
	expect(memoryStores.map((option) => option.value)).toEqual(['sqlite', 'redis', 'postgres']);
	expect(memoryStores).toEqual(sessionStores);
});
