/**
 * The workflows `npm run bench` compares, as a user would build them on the canvas: the floor
 * (no AI, no memory), Clawgate's example workflow unchanged, and n8n's own Telegram + AI Agent
 * wiring. Node types and versions are the ones n8n 2.40.7 puts on a new canvas.
 */
import type { CredentialFixture, WorkflowFixture } from '../../test/e2e/harness';
import type { OpenAiEmulator } from '../../test/emulators/openai';
import type { TelegramEmulator } from '../../test/emulators/telegram';

export const MODEL = 'gpt-4o-mini';
/** The example's system prompt, given to n8n's AI Agent too, so both send the model the same instructions. */
export const SYSTEM_PROMPT = 'You are a friendly assistant chatting on telegram. Answer briefly.';
/** What the floor "answers": the model emulator's fixed output, so every flow sends the same text. */
export const REPLY_TEXT = 'Sure, here is a short answer.';

export type FlowName = 'floor' | 'clawgate' | 'builtin';

type Credentials = Record<string, { id: string; name: string }>;

export interface FlowFixtures {
	credentials: CredentialFixture[];
	workflows: WorkflowFixture[];
}

const uuid = (prefix: string, n: number) => `${prefix}-0000-4000-8000-${String(n).padStart(12, '0')}`;

export function openAiCredential(model: OpenAiEmulator, { id, name }: { id: string; name: string }): CredentialFixture {
	return { id, name, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } };
}

/** 1. Floor: n8n's Webhook → HTTP Request calling sendMessage. Production webhook URL: /webhook/<path>. */
export function floorWorkflow(bot: TelegramEmulator, path: string): WorkflowFixture {
	return {
		id: 'BenchFloorWflow1',
		name: 'Bench: floor (Webhook → HTTP Request sendMessage)',
		nodes: [
			{
				id: uuid('f10e0001', 1),
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2.1,
				position: [0, 0],
				webhookId: uuid('f10e0001', 2),
				parameters: { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
			},
			{
				id: uuid('f10e0001', 3),
				name: 'Send Message',
				type: 'n8n-nodes-base.httpRequest',
				typeVersion: 4.5,
				position: [260, 0],
				parameters: {
					method: 'POST',
					// The token sits in the URL because the floor has no credential: it stands for "n8n itself, nothing else".
					url: `${bot.apiRoot}/bot${bot.token}/sendMessage`,
					sendBody: true,
					contentType: 'json',
					specifyBody: 'keypair',
					bodyParameters: {
						parameters: [
							{ name: 'chat_id', value: '={{ $json.body.message.chat.id }}' },
							{ name: 'text', value: REPLY_TEXT },
						],
					},
					options: {},
				},
			},
		],
		connections: { Webhook: { main: [[{ node: 'Send Message', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

/**
 * 2. Clawgate: examples/telegram-ai-bot.json (Telegram Trigger → AI Session on the SQLite store →
 * Telegram Send) with the trigger in Webhook mode, optionally with another ID, bot, store or AI
 * Session options.
 */
export function clawgateWorkflow(
	example: WorkflowFixture,
	{
		suffix,
		telegramCredentialId,
		store,
		storeCredentialId,
		sessionOptions,
		journal = true,
	}: {
		suffix?: string;
		telegramCredentialId?: string;
		store?: 'sqlite' | 'redis' | 'postgres';
		storeCredentialId?: string;
		sessionOptions?: Record<string, unknown>;
		/** The trigger's Delivery Guarantee: journaled (the default) in the session store, or best effort. */
		journal?: boolean;
	} = {},
): WorkflowFixture {
	const copy = JSON.parse(JSON.stringify(example)) as WorkflowFixture;
	// The example long-polls (it runs on a laptop without a public URL); here every flow is fed by webhook.
	for (const node of copy.nodes) {
		if (node.type === 'n8n-nodes-clawgate.telegramTrigger') node.parameters = { ...(node.parameters as object), mode: 'webhook' };
	}
	if (!suffix) return copy;
	copy.id = `${example.id.slice(0, 16 - suffix.length)}${suffix}`;
	copy.name = `${example.name} (${suffix})`;
	for (const node of copy.nodes) {
		node.id = `${suffix}${String(node.id).slice(suffix.length)}`;
		if (node.webhookId) node.webhookId = `${suffix}${String(node.webhookId).slice(suffix.length)}`;
		const credentials = node.credentials as Credentials;
		if (credentials.clawgateTelegramApi && telegramCredentialId) {
			credentials.clawgateTelegramApi = { id: telegramCredentialId, name: `Bench bot ${suffix}` };
		}
		const parameters = node.parameters as Record<string, unknown>;
		const sharedStore = store && store !== 'sqlite' && storeCredentialId ? store : null;
		if (node.type === 'n8n-nodes-clawgate.aiSession') {
			if (store) parameters.store = store;
			if (sessionOptions) parameters.options = { ...(parameters.options as object), ...sessionOptions };
			if (sharedStore) credentials[sharedStore] = { id: storeCredentialId!, name: `Bench ${sharedStore}` };
		}
		// The journal and the receipts live in the session store, as README tells users to set them.
		if (node.type === 'n8n-nodes-clawgate.telegramTrigger') {
			parameters.deliveryGuarantee = journal ? 'journal' : 'bestEffort';
			if (sharedStore && journal) {
				parameters.journalStore = sharedStore;
				credentials[sharedStore] = { id: storeCredentialId!, name: `Bench ${sharedStore}` };
			}
		}
		if (node.type === 'n8n-nodes-clawgate.telegramSend' && sharedStore) {
			parameters.receiptStore = sharedStore;
			credentials[sharedStore] = { id: storeCredentialId!, name: `Bench ${sharedStore}` };
		}
	}
	return copy;
}

/** The Telegram credential a clawgate workflow names, for the fixtures to fill in. */
export function exampleCredentialIds(example: WorkflowFixture): { telegram: { id: string; name: string }; openAi: { id: string; name: string } } {
	const credentialsOf = (type: string) => example.nodes.find((node) => node.type === type)?.credentials as Credentials;
	return {
		telegram: credentialsOf('n8n-nodes-clawgate.telegramTrigger').clawgateTelegramApi,
		openAi: credentialsOf('n8n-nodes-clawgate.aiSession').openAiApi,
	};
}

/**
 * 3. n8n built-in: Telegram Trigger → AI Agent (OpenAI Chat Model + Simple Memory) → Telegram,
 * the wiring of n8n's Telegram AI chatbot templates. The Telegram credential's Base URL and the
 * OpenAI credential's Base URL point at the emulators; nothing else differs from a default canvas
 * except two settings a user must change to get a plain reply (see the method text).
 */
export function builtinWorkflow(telegramCredential: { id: string; name: string }, openAi: { id: string; name: string }): WorkflowFixture {
	const chatId = "={{ $('Telegram Trigger').item.json.message.chat.id }}";
	return {
		id: 'BenchBuiltinWfl1',
		name: 'Bench: n8n built-in (Telegram Trigger → AI Agent → Telegram)',
		nodes: [
			{
				id: uuid('b1170001', 1),
				name: 'Telegram Trigger',
				type: 'n8n-nodes-base.telegramTrigger',
				typeVersion: 1.5,
				position: [0, 0],
				webhookId: uuid('b1170001', 2),
				parameters: { updates: ['message'], additionalFields: {} },
				credentials: { telegramApi: telegramCredential },
			},
			{
				id: uuid('b1170001', 3),
				name: 'AI Agent',
				type: '@n8n/n8n-nodes-langchain.agent',
				typeVersion: 3.1,
				position: [260, 0],
				parameters: { promptType: 'define', text: '={{ $json.message.text }}', options: { systemMessage: SYSTEM_PROMPT } },
			},
			{
				id: uuid('b1170001', 4),
				name: 'OpenAI Chat Model',
				type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
				typeVersion: 1.3,
				position: [200, 220],
				// The emulator, like most OpenAI-compatible servers, speaks Chat Completions, which is also what Clawgate calls.
				parameters: { model: { __rl: true, mode: 'list', value: MODEL }, responsesApiEnabled: false, options: {} },
				credentials: { openAiApi: openAi },
			},
			{
				id: uuid('b1170001', 5),
				name: 'Simple Memory',
				type: '@n8n/n8n-nodes-langchain.memoryBufferWindow',
				typeVersion: 1.3,
				position: [340, 220],
				parameters: { sessionIdType: 'customKey', sessionKey: chatId, contextWindowLength: 5 },
			},
			{
				id: uuid('b1170001', 6),
				name: 'Telegram',
				type: 'n8n-nodes-base.telegram',
				typeVersion: 1.2,
				position: [560, 0],
				// Without this n8n appends "This message was sent automatically with n8n" to every answer.
				parameters: { chatId, text: '={{ $json.output }}', additionalFields: { appendAttribution: false } },
				credentials: { telegramApi: telegramCredential },
			},
		],
		connections: {
			'Telegram Trigger': { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
			'AI Agent': { main: [[{ node: 'Telegram', type: 'main', index: 0 }]] },
			'OpenAI Chat Model': { ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]] },
			'Simple Memory': { ai_memory: [[{ node: 'AI Agent', type: 'ai_memory', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}
