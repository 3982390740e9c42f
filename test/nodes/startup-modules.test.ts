/**
 * n8n loads every node and credential file a community package lists when it starts, whether a
 * workflow uses them or not. An SDK imported at the top of one of those files would sit in the
 * memory of every n8n that installs Clawgate, so each SDK is loaded on first use instead.
 *
 * Each test file has a module registry of its own, and jest's `require.cache` lists it; this file
 * imports only what the startup files import too, so what the registry holds is what they loaded.
 */
import { createHmac } from 'node:crypto';
import { join, sep } from 'node:path';

import { createSlackClient } from '../../nodes/Slack/slack.adapter';
import { createTwilioClient, validateTwilioSignature } from '../../nodes/Twilio/twilio.adapter';

const ROOT = join(__dirname, '..', '..');
const packageJson = require(join(ROOT, 'package.json')) as { dependencies: Record<string, string>; n8n: { nodes: string[]; credentials: string[] } };
const SDKS = Object.keys(packageJson.dependencies);

/** The TypeScript source of each file n8n loads at startup: dist/nodes/X/Y.node.js is nodes/X/Y.node.ts. */
const STARTUP_FILES = [...packageJson.n8n.credentials, ...packageJson.n8n.nodes].map((file) => join(ROOT, file.replace(/^dist\//, '').replace(/\.js$/, '.ts')));

/** The SDKs (package.json dependencies) of which any module has been loaded so far. */
function loadedSdks(): string[] {
	const paths = Object.keys(require.cache);
	return SDKS.filter((sdk) => paths.some((path) => path.includes(`${sep}${join('node_modules', sdk)}${sep}`)));
}

test('loading every node and credential file, as n8n does at startup, loads no SDK', () => {
	for (const file of STARTUP_FILES) require(file);
	expect(loadedSdks()).toEqual([]);
});

test('an SDK is loaded when it is first used', () => {
	createSlackClient({ botToken: 'xoxb-1-2-abc' });
	expect(loadedSdks()).toEqual(['@slack/web-api']);
});

test('Twilio loads its REST client and signature check, not the TwiML builders and token helpers its index adds', () => {
	const twilioModules = () => Object.keys(require.cache).filter((path) => path.includes(`${sep}${join('node_modules', 'twilio')}${sep}`));
	const client = createTwilioClient({ accountSid: `AC${'0'.repeat(32)}`, authToken: 'token' });
	expect(typeof client.messages.create).toBe('function');
	const url = 'https://example.test/hook';
	const signature = createHmac('sha1', 'token').update(url).digest('base64');
	expect(validateTwilioSignature({ authToken: 'token', url, params: {}, signature }).valid).toBe(true);
	expect(validateTwilioSignature({ authToken: 'other', url, params: {}, signature }).valid).toBe(false);
	const loaded = twilioModules();
	expect(loaded.some((path) => path.endsWith(join('lib', 'rest', 'Twilio.js')))).toBe(true);
	expect(loaded.some((path) => path.endsWith(join('lib', 'webhooks', 'webhooks.js')))).toBe(true);
	expect(loaded.filter((path) => path.endsWith(join('twilio', 'lib', 'index.js')) || path.includes(join('lib', 'twiml')))).toEqual([]);
});
