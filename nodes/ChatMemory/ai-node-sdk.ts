/**
 * Clawgate's token window as the memory of n8n's AI Agent, through `@n8n/ai-node-sdk` (SDK
 * version 1, n8n 2.40+). The SDK is n8n's own: a peer dependency that n8n's module path resolves
 * at run time (n8n drops peer dependencies when it installs a community package), so nothing of it
 * is bundled. It is loaded when the sub-node first supplies a memory, so an older n8n still loads
 * every other Clawgate node. The types below are the parts of the SDK this file uses.
 */
import { NodeOperationError, type INode, type ISupplyDataFunctions, type SupplyData } from 'n8n-workflow';

import type { MemoryMessage, TokenWindowHistory } from '../core/session/chat-memory';

/** `Message` of the SDK: a role and typed content parts (text, tool calls, tool results, ...). */
export interface SdkMessage {
	role: 'system' | 'user' | 'assistant' | 'tool';
	content: Array<{ type: string; text?: string }>;
}

interface SdkChatHistory {
	getMessages(): Promise<SdkMessage[]>;
	addMessage(message: SdkMessage): Promise<void>;
	addMessages(messages: SdkMessage[]): Promise<void>;
	clear(): Promise<void>;
}

export interface SdkChatMemory {
	readonly chatHistory: SdkChatHistory;
	loadMessages(): Promise<SdkMessage[]>;
	saveTurn(input: string, output: string): Promise<void>;
	clear(): Promise<void>;
}

export interface AiNodeSdk {
	BaseChatHistory: abstract new () => SdkChatHistory;
	BaseChatMemory: abstract new () => SdkChatMemory;
	supplyMemory(context: ISupplyDataFunctions, memory: SdkChatMemory): SupplyData;
}

export function loadAiNodeSdk(node: INode): AiNodeSdk {
	try {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		return require('@n8n/ai-node-sdk') as AiNodeSdk;
	} catch (error) {
		throw new NodeOperationError(node, `Clawgate Chat Memory needs n8n 2.40 or later, which includes n8n's AI node SDK (@n8n/ai-node-sdk). Update n8n, or use AI Session instead of an AI Agent.`, {
			description: (error as Error).message,
		});
	}
}

function textOf(message: SdkMessage): string {
	return message.content
		.filter((part) => part.type === 'text' && typeof part.text === 'string')
		.map((part) => part.text)
		.join('');
}

/**
 * The person's messages and the agent's answers, as AI Session stores them. The agent's tool calls
 * and their results are left out: the store holds plain user and assistant turns, which AI Session
 * and any model can read, and the final answer already says what the tools found.
 */
export function turnsOfMessages(messages: SdkMessage[]): Array<{ role: 'user' | 'assistant'; text: string }> {
	const turns: Array<{ role: 'user' | 'assistant'; text: string }> = [];
	for (const message of messages) {
		const callsTools = message.content.some((part) => part.type === 'tool-call' || part.type === 'invalid-tool-call');
		if (message.role === 'user' || (message.role === 'assistant' && !callsTools)) turns.push({ role: message.role, text: textOf(message) });
	}
	return turns;
}

function asSdkMessage({ role, text }: MemoryMessage): SdkMessage {
	return { role, content: [{ type: 'text', text }] };
}

/**
 * The SDK memory over a token window: `BaseChatHistory` reads the window and appends turns;
 * `BaseChatMemory` hands the window to the agent and saves each exchange. The SDK's
 * `WindowedChatMemory` counts messages, not tokens, so it is not used.
 */
export function tokenWindowMemory(sdk: AiNodeSdk, window: TokenWindowHistory): SdkChatMemory {
	class ClawgateChatHistory extends sdk.BaseChatHistory {
		async getMessages(): Promise<SdkMessage[]> {
			return (await window.readWindow()).map(asSdkMessage);
		}

		async addMessage(message: SdkMessage): Promise<void> {
			await this.addMessages([message]);
		}

		/** One write for the whole exchange (the agent's question, tool steps and answer), never half of it. */
		async addMessages(messages: SdkMessage[]): Promise<void> {
			await window.append(turnsOfMessages(messages));
		}

		async clear(): Promise<void> {
			await window.resetContext();
		}
	}

	class ClawgateTokenWindowMemory extends sdk.BaseChatMemory {
		readonly chatHistory = new ClawgateChatHistory();

		async loadMessages(): Promise<SdkMessage[]> {
			return await this.chatHistory.getMessages();
		}

		async saveTurn(input: string, output: string): Promise<void> {
			await window.append([
				{ role: 'user', text: input },
				{ role: 'assistant', text: output },
			]);
		}

		async clear(): Promise<void> {
			await window.resetContext();
		}
	}

	return new ClawgateTokenWindowMemory();
}
