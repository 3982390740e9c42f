/**
 * AI Session's Model and Fallback Model inputs (version 2): which Chat Model sub-nodes are
 * connected, as n8n hands them over, turned into the engine's `ChatModel`.
 */
import { NodeConnectionTypes, NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import {
	isLangChainChatModel,
	LangChainChatModel,
	nameConnectedChatModels,
	outputLimitOf,
	type LangChainChatModelLike,
} from '../core/session/langchain.model';

export type ModelSource = 'openAiCredential' | 'chatModel';

/** The inputs of a version-2 node: a Model and a Fallback Model input when the model comes from a sub-node. */
export const aiSessionInputs: `={{${string}}}` = `={{ $parameter.modelSource === 'chatModel' ? [
	'${NodeConnectionTypes.Main}',
	{ type: '${NodeConnectionTypes.AiLanguageModel}', displayName: 'Model', required: true, maxConnections: 1 },
	{ type: '${NodeConnectionTypes.AiLanguageModel}', displayName: 'Fallback Model', required: false, maxConnections: 1 },
] : ['${NodeConnectionTypes.Main}'] }}`;

/** Version 1 knows only the credential; from version 2 the Model Source parameter says. */
export function modelSourceOf(context: IExecuteFunctions): ModelSource {
	if (context.getNode().typeVersion < 2) return 'openAiCredential';
	return context.getNodeParameter('modelSource', 0, 'openAiCredential') as ModelSource;
}

export interface ConnectedModels {
	model: LangChainChatModel;
	/** The largest answer length a connected sub-node asks for, if any sets one. */
	outputLimit: number | undefined;
}

/** The connected Chat Models, the Model input's first and the Fallback Model's second. */
export async function connectedChatModels(context: IExecuteFunctions): Promise<ConnectedModels> {
	const supplied = (await context.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, 0)) as unknown;
	// n8n lists the sub-nodes of one connection type last input first.
	const models = (Array.isArray(supplied) ? [...supplied].reverse() : [supplied]).filter((value) => value !== undefined && value !== null);
	if (models.length === 0) {
		throw new NodeOperationError(context.getNode(), 'No Chat Model is connected to AI Session.', {
			description: 'Connect a Chat Model sub-node (Anthropic, Gemini, Ollama, OpenAI…) to the Model input, or set Model Source to OpenAI Credential.',
		});
	}
	const notChat = models.find((value) => !isLangChainChatModel(value));
	if (notChat !== undefined) {
		throw new NodeOperationError(context.getNode(), 'The node connected to AI Session\'s Model input is not a chat model.', {
			description: 'Connect a Chat Model sub-node, such as Anthropic Chat Model or OpenAI Chat Model.',
		});
	}
	const chatModels = models as LangChainChatModelLike[];
	const limits = chatModels.map(outputLimitOf).filter((limit): limit is number => limit !== undefined);
	return {
		model: new LangChainChatModel(nameConnectedChatModels(chatModels)),
		outputLimit: limits.length > 0 ? Math.max(...limits) : undefined,
	};
}
