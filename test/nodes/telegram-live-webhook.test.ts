/**
 * The Telegram Trigger's webhook method is an expression on `$workflow.active`, which n8n would
 * evaluate in its expression engine for every message. Answering a production request (n8n's
 * LiveWebhooks, dist/webhooks/live-webhooks.js) the node hands n8n the plain POST instead; every
 * other reader (activation, "Listen for test event", the editor's copy) gets the expression.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { INodeTypeDescription } from 'n8n-workflow';

import { TelegramTrigger } from '../../nodes/Telegram/TelegramTrigger.node';

const EXPRESSION = '={{ $parameter["mode"] !== "polling" && $workflow.active ? "POST" : "" }}';

/** n8n's files as they lie in its dist/ folder: each reads the description the way n8n's webhook service does. */
function n8nFiles(): { folder: string; read: (file: string, description: INodeTypeDescription) => string } {
	const folder = mkdtempSync(path.join(os.tmpdir(), 'clawgate-live-webhook-'));
	const webhooks = path.join(folder, 'n8n', 'dist', 'webhooks');
	mkdirSync(webhooks, { recursive: true });
	// getNodeWebhooks reads `description.webhooks` (webhook.service.js); its callers are live-webhooks.js and test-webhooks.js.
	writeFileSync(path.join(webhooks, 'webhook.service.js'), 'exports.getNodeWebhooks = (description) => description.webhooks.map((webhook) => webhook.httpMethod);\n');
	for (const caller of ['live-webhooks.js', 'test-webhooks.js']) {
		writeFileSync(path.join(webhooks, caller), "const service = require('./webhook.service.js');\nexports.executeWebhook = (description) => service.getNodeWebhooks(description)[0];\n");
	}
	return {
		folder,
		read: (file, description) => (require(path.join(webhooks, file)) as { executeWebhook: (description: INodeTypeDescription) => string }).executeWebhook(description),
	};
}

describe('Telegram Trigger: the webhook method n8n reads', () => {
	const files = n8nFiles();
	afterAll(() => rmSync(files.folder, { recursive: true, force: true }));

	test('answering a production webhook request (LiveWebhooks), n8n reads the plain POST: no expression to evaluate', () => {
		expect(files.read('live-webhooks.js', new TelegramTrigger().description)).toBe('POST');
	});

	test('also with source-map-support installed, as n8n installs it: stack text naming n8n\'s TypeScript sources does not hide the caller', () => {
		const original = Error.prepareStackTrace;
		Error.prepareStackTrace = (error, sites) => [String(error), ...sites.map((site) => `    at ${site.getFunctionName()} (${(site.getFileName() ?? '').replace(/\.js$/, '.ts')}:1:1)`)].join('\n');
		try {
			expect(files.read('live-webhooks.js', new TelegramTrigger().description)).toBe('POST');
		} finally {
			Error.prepareStackTrace = original;
		}
	});

	test('listening for a test event (TestWebhooks), activating and in the editor, n8n reads the expression that keeps Long Polling and test runs off the webhook', () => {
		const { description } = new TelegramTrigger();
		expect(files.read('test-webhooks.js', description)).toBe(EXPRESSION);
		expect(description.webhooks?.[0].httpMethod).toBe(EXPRESSION);
		// The editor gets the description as JSON.
		expect((JSON.parse(JSON.stringify(description)) as INodeTypeDescription).webhooks?.[0]).toEqual({
			name: 'default',
			httpMethod: EXPRESSION,
			responseMode: 'onReceived',
			path: 'webhook',
			ndvHideUrl: true,
			ndvHideMethod: true,
		});
	});
});
