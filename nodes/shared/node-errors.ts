/**
 * The one error mapper of Clawgate's nodes: a failure becomes the n8n error its context shows
 * best, with the message the plugin wrote for people (never a token: plugins describe errors
 * from codes, not from SDK objects that carry request headers).
 */
import { NodeApiError, NodeOperationError, WebhookPathTakenError, type INode, type JsonObject } from 'n8n-workflow';

/** A failed call, shown in n8n with its message. */
export function asNodeError(node: INode, error: unknown): NodeApiError {
	if (error instanceof NodeApiError) return error;
	const message = (error as Error).message;
	return new NodeApiError(node, { message } as JsonObject, { message });
}

/** An activation failure as n8n shows it: n8n's own errors pass, others become NodeOperationError with their message. */
export function asActivationError(node: INode, error: unknown): Error {
	if (error instanceof NodeOperationError || error instanceof NodeApiError || error instanceof WebhookPathTakenError) return error;
	return new NodeOperationError(node, (error as Error).message);
}
