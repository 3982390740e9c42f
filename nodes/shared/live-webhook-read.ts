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
const LIVE_WEBHOOKS_FILE = /[\\/]webhooks[\\/]live-webhooks\.js$/;

/** How many frames to look at: the description getter, n8n's getNodeWebhooks, then its caller. */
const FRAMES = 4;

/**
 * The callers' files from V8's own call sites. Not from `stack` text: n8n installs
 * source-map-support, which would map each frame to n8n's TypeScript sources, at a cost per read.
 */
export function isReadForLiveWebhookRequest(): boolean {
	const prepare = Error.prepareStackTrace;
	const limit = Error.stackTraceLimit;
	Error.prepareStackTrace = (_error, callSites) => callSites;
	Error.stackTraceLimit = FRAMES;
	try {
		const holder: { stack?: NodeJS.CallSite[] } = {};
		Error.captureStackTrace(holder, isReadForLiveWebhookRequest);
		return (holder.stack ?? []).some((site) => LIVE_WEBHOOKS_FILE.test(site.getFileName() ?? ''));
	} finally {
		Error.prepareStackTrace = prepare;
		Error.stackTraceLimit = limit;
	}
}
