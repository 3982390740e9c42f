import { NodeApiError, type IExecuteFunctions, type INodeExecutionData, type JsonObject } from 'n8n-workflow';

/**
 * The one error path of every Clawgate node that works per item: without Continue On Fail the
 * error stops the execution; with it the item goes on carrying `error`, and `item.error` routes
 * it to the error output when "Continue (using error output)" is chosen.
 */
export function itemFailure(context: IExecuteFunctions, item: INodeExecutionData, itemIndex: number, error: unknown): INodeExecutionData {
	const message = (error as Error).message;
	const nodeError = new NodeApiError(context.getNode(), { message } as JsonObject, { message, itemIndex });
	if (!context.continueOnFail()) throw nodeError;
	return { json: { ...item.json, error: message }, error: nodeError, pairedItem: { item: itemIndex } };
}
