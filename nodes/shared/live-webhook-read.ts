/**
 * Whether n8n is reading a node's description to answer a request to a production webhook.
 *
 * n8n (2.40) evaluates a webhook description's `httpMethod` for every request, and an expression
 * there costs a trip to its expression engine per message (and, with
 * N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true, an isolate that nothing else in a default Clawgate
 * workflow would take). A trigger whose method depends on whether its workflow is published
 * (`$workflow.active`) knows the answer on that path: n8n serves production webhooks only for
 * published workflows. n8n tells a description nothing of why it is read, so the caller is read
 * off the stack: `LiveWebhooks.executeWebhook` (dist/webhooks/live-webhooks.js). Anywhere else
 * (activation, "Listen for test event", the editor), and in an n8n whose files are named
 * otherwise, the answer is false and n8n evaluates the expression as before.
 */
const LIVE_WEBHOOKS_FILE = /[\\/]webhooks[\\/]live-webhooks\.js:\d/;

/** How many frames to look at: the description getter, n8n's getNodeWebhooks, then its caller. */
const FRAMES = 4;

export function isReadForLiveWebhookRequest(): boolean {
	const holder: { stack?: string } = {};
	const limit = Error.stackTraceLimit;
	Error.stackTraceLimit = FRAMES;
	try {
		Error.captureStackTrace(holder, isReadForLiveWebhookRequest);
	} finally {
		Error.stackTraceLimit = limit;
	}
	return LIVE_WEBHOOKS_FILE.test(holder.stack ?? '');
}
