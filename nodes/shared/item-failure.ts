import { NodeApiError, type IExecuteFunctions, type INodeExecutionData, type JsonObject } from 'n8n-workflow';

/**
 * The one error path of every Clawgate node that works per item: without Continue On Fail the
 * error stops the execution; with it the item goes on carrying `error`, and keeps the envelope so
 * the next node can still answer the user (e.g. send an apology to `chat.id`).
 *
 * n8n replaces the json of an item that carries `item.error` with `{ error }` (WorkflowExecute's
 * normalizeNodeErrors), which would drop the envelope. So the item never carries `item.error`:
 * for "Continue (using error output)" its json holds only `error`, which n8n routes to the error
 * output and merges into the input item's json (envelope + error); for "Continue" the envelope
 * stays beside `error` on the regular output.
 */
export function itemFailure(context: IExecuteFunctions, item: INodeExecutionData, itemIndex: number, error: unknown): INodeExecutionData {
	const message = (error as Error).message;
	if (!context.continueOnFail()) throw new NodeApiError(context.getNode(), { message } as JsonObject, { message, itemIndex });
	if (context.getNode().onError === 'continueErrorOutput') return { json: { error: message }, pairedItem: { item: itemIndex } };
	return { json: { ...item.json, error: message }, pairedItem: { item: itemIndex } };
}
