import { parse as parseForm } from 'node:querystring';

import type { WebhookContext, WebhookRequest } from '../../nodes/core/channel';
import { buildMessageKey } from '../../nodes/core/envelope';
import { InvalidPayloadError } from '../../nodes/core/errors';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookDeliveryInput, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { receiveSettingsFrom } from '../../nodes/shared/trigger-settings';
import {
	checkTwilioAuthToken,
	createTwilioClient,
	EMPTY_TWIML,
	normalizeTwilioMessage,
	pairAddresses,
	parseNumberList,
	rewriteTwilioUrl,
	sendTwilioMessage,
	twilioCapabilities,
	twilioMissingSignature,
	validateTwilioSignature,
	type TwilioCredential,
	type TwilioParams,
} from '../../nodes/Twilio/twilio.adapter';
import { twilioPlugin } from '../../nodes/Twilio/twilio.plugin';
import { EmulatorServer, type EmulatorReply } from '../emulators/kit';
import { makeAccountSid, makeAuthToken, TwilioEmulator, twilioSignature, WHATSAPP_SANDBOX_NUMBER } from '../emulators/twilio';

const SMS_NUMBER = '+14155550100';
const ADA = '+15551230001';

/** An outcome as the platform sees it, without the credential the pipeline hands on to the trigger. */
function decided(outcome: WebhookOutcome | undefined): unknown {
	if (!outcome || !('credential' in outcome)) return outcome;
	return Object.fromEntries(Object.entries(outcome).filter(([key]) => key !== 'credential'));
}

interface TwilioTriggerSetup {
	credential: TwilioCredential;
	/** The trigger's options as n8n holds them (v1 names included). */
	options?: Record<string, unknown>;
	recent: RecentKeys;
	webhookId?: string;
	/** Counts the trigger's credential reads. */
	reads?: { count: number };
}

/** What the Twilio Trigger hands the shared pipeline for one request (nodes/shared/webhook-trigger.ts builds the same from n8n's). */
function twilioDelivery(request: { url: string; params: unknown; signature: unknown }, { credential, options = {}, recent, webhookId = 'hook-1', reads }: TwilioTriggerSetup): WebhookDeliveryInput<TwilioCredential> {
	const headers: WebhookRequest['headers'] = typeof request.signature === 'string' ? { 'x-twilio-signature': request.signature } : {};
	const context: WebhookContext = { workflowId: 'workflow-1', nodeId: 'twilio-trigger', webhookId, options, now: Date.now() };
	return {
		request: { method: 'POST', headers, rawBody: undefined, body: request.params, query: {}, url: request.url },
		context,
		async credentialFor(verifies) {
			if (reads) reads.count++;
			return { credential, verified: verifies(credential) };
		},
		...receiveSettingsFrom(twilioPlugin, options),
		recent,
	};
}

function basicAuthUser(header: unknown): string {
	return Buffer.from(String(header).replace(/^Basic /, ''), 'base64').toString('utf8').split(':')[0];
}

describe('Twilio adapter against the Messages API emulator (twilio SDK over HTTP)', () => {
	const twilio = new TwilioEmulator({ numbers: [SMS_NUMBER] });
	const client = () => createTwilioClient(twilio.credential());

	beforeAll(() => twilio.start());
	afterAll(() => twilio.stop());

	test('sends an SMS from the receiving number through the base URL, and returns the message SID', async () => {
		const sent = await sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: 'Paris.' });

		const call = twilio.calls('messages.create').at(-1)!;
		expect(call.path).toBe(`/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`);
		expect(call.headers['content-type']).toBe('application/x-www-form-urlencoded');
		expect(basicAuthUser(call.headers.authorization)).toBe(twilio.accountSid);
		expect(call.body).toEqual({ To: ADA, From: SMS_NUMBER, Body: 'Paris.' });
		expect(sent).toEqual({ chatId: ADA, from: SMS_NUMBER, channel: 'sms', messageIds: [twilio.sent.at(-1)!.sid] });
		expect(sent.messageIds[0]).toMatch(/^SM[0-9a-f]{32}$/);
	});

	test('answers a WhatsApp address from the WhatsApp sender: the bare receiving number gets whatsapp: too', async () => {
		const sent = await sendTwilioMessage(client(), { from: WHATSAPP_SANDBOX_NUMBER, to: `whatsapp:${ADA}`, body: 'Hi on WhatsApp' });

		expect(twilio.sent.at(-1)).toMatchObject({ from: `whatsapp:${WHATSAPP_SANDBOX_NUMBER}`, to: `whatsapp:${ADA}`, body: 'Hi on WhatsApp' });
		expect(sent).toMatchObject({ chatId: `whatsapp:${ADA}`, channel: 'whatsapp' });
	});

	test('with an API key in the credential, sends authenticated as the key', async () => {
		await sendTwilioMessage(createTwilioClient(twilio.credential({ apiKey: true })), { from: SMS_NUMBER, to: ADA, body: 'via key' });
		expect(twilio.sent.at(-1)).toMatchObject({ body: 'via key', authenticatedAs: twilio.apiKey.sid });
		expect(twilio.calls('messages.create').at(-1)!.path).toBe(`/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`);
	});

	test('Markdown from the model arrives as plain text', async () => {
		await sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: '**Paris** is the *capital*, see [Wikipedia](https://en.wikipedia.org/wiki/Paris)' });
		expect(twilio.sent.at(-1)!.body).toBe('Paris is the capital, see Wikipedia (https://en.wikipedia.org/wiki/Paris)');
	});

	test('splits text longer than 1,600 characters into several messages, in order, without breaking words', async () => {
		const paragraph = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(12).trim();
		const text = Array.from({ length: 8 }, (_, index) => `Part ${index + 1}. ${paragraph}`).join('\n\n');
		const before = twilio.sent.length;
		const sent = await sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: text });

		const messages = twilio.sent.slice(before);
		expect(messages.length).toBeGreaterThan(2);
		expect(sent.messageIds).toEqual(messages.map((message) => message.sid));
		for (const message of messages) {
			expect(message.body.length).toBeLessThanOrEqual(twilioCapabilities.textLimit);
			expect(message.body).toMatch(/^\S.*\S$/s);
		}
		expect(messages.map((message) => message.body).join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
	});

	test('never splits a UTF-16 surrogate pair, even in text without spaces', async () => {
		const emoji = '😀'.repeat(1200);
		const before = twilio.sent.length;
		await sendTwilioMessage(client(), { from: WHATSAPP_SANDBOX_NUMBER, to: `whatsapp:${ADA}`, body: emoji });
		const bodies = twilio.sent.slice(before).map((message) => message.body);
		expect(bodies.length).toBe(2);
		expect(bodies.join('')).toBe(emoji);
		for (const body of bodies) expect(body).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
	});

	test('media URLs go with the first message only; media without text is sent alone', async () => {
		const photo = 'https://example.com/paris.jpg';
		const before = twilio.sent.length;
		await sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: 'word '.repeat(400), mediaUrls: [photo, 'https://example.com/map.png'] });
		const [first, ...rest] = twilio.sent.slice(before);
		expect(first.mediaUrls).toEqual([photo, 'https://example.com/map.png']);
		expect(first.sid).toMatch(/^MM/);
		expect(rest.length).toBeGreaterThan(0);
		for (const message of rest) expect(message.mediaUrls).toEqual([]);

		const sent = await sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: '', mediaUrls: [photo] });
		expect(twilio.sent.at(-1)).toMatchObject({ body: '', mediaUrls: [photo] });
		expect(twilio.calls('messages.create').at(-1)!.body).not.toHaveProperty('Body');
		expect(sent.messageIds).toHaveLength(1);
	});

	test('a status callback URL is set on every message', async () => {
		const statusCallback = 'https://n8n.example.com/webhook/status';
		const before = twilio.sent.length;
		await sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: 'x '.repeat(1000), statusCallback });
		const messages = twilio.sent.slice(before);
		expect(messages.length).toBe(2);
		for (const message of messages) expect(message.statusCallback).toBe(statusCallback);
	});

	test('through a Messaging Service the sender is left to the service', async () => {
		const messagingServiceSid = `MG${'a'.repeat(32)}`;
		await sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: 'via service', messagingServiceSid });
		const body = twilio.calls('messages.create').at(-1)!.body;
		expect(body).toMatchObject({ MessagingServiceSid: messagingServiceSid, To: ADA });
		expect(body).not.toHaveProperty('From');
	});

	test('a wrong auth token fails with Twilio\'s code and advice to check the credential, without any secret', async () => {
		const wrongToken = makeAuthToken();
		const failure = sendTwilioMessage(createTwilioClient({ ...twilio.credential(), authToken: wrongToken }), { from: SMS_NUMBER, to: ADA, body: 'x' });
		await expect(failure).rejects.toThrow(/Twilio refused to send the message to \+15551230001 \(20003: Authenticate\)\. Check the Account SID and Auth Token/);
		const error = (await failure.catch((caught: unknown) => caught)) as Error;
		expect(error).toMatchObject({ code: 20003, status: 401 });
		const everything = JSON.stringify({ ...error, message: error.message, stack: error.stack });
		expect(everything).not.toContain(wrongToken);
		expect(everything).not.toContain(Buffer.from(`${twilio.accountSid}:${wrongToken}`).toString('base64'));
	});

	test('an invalid recipient is explained with Twilio\'s code (21211) and what a valid number looks like', async () => {
		await expect(sendTwilioMessage(client(), { from: SMS_NUMBER, to: '555-0100', body: 'x' })).rejects.toThrow(
			/\(21211: Invalid 'To' Phone Number: 555-0100\)\. "To" must be a phone number in E\.164 format.*errors\/21211/,
		);
	});

	test('a WhatsApp reply from a number that is not a WhatsApp sender points at the sandbox or an approved sender (63007)', async () => {
		await expect(sendTwilioMessage(client(), { from: SMS_NUMBER, to: `whatsapp:${ADA}`, body: 'x' })).rejects.toThrow(/63007.*WhatsApp sender/);
	});

	test('waits out a 429 for the Retry-After Twilio asked for, then sends', async () => {
		twilio.rateLimitNext(1, 1);
		const before = twilio.calls('messages.create').length;
		const started = Date.now();
		const sent = await sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: 'after the wait' });

		expect(Date.now() - started).toBeGreaterThanOrEqual(950);
		expect(twilio.calls('messages.create').length - before).toBe(2);
		expect(sent.messageIds).toEqual([twilio.sent.at(-1)!.sid]);
	});

	test('gives up on 429s after the retries, and at once when Retry-After is longer than it waits', async () => {
		const patient = createTwilioClient(twilio.credential(), { maxRetries: 2, maxWaitSeconds: 30 });
		twilio.rateLimitNext(3, 0);
		await expect(sendTwilioMessage(patient, { from: SMS_NUMBER, to: ADA, body: 'x' })).rejects.toThrow(/20429.*rate-limiting/);

		twilio.rateLimitNext(1, 120);
		const before = twilio.calls('messages.create').length;
		await expect(sendTwilioMessage(patient, { from: SMS_NUMBER, to: ADA, body: 'x' })).rejects.toThrow(/20429/);
		expect(twilio.calls('messages.create').length - before).toBe(1);
	});

	test('a failure in the middle of a long reply says which parts were sent', async () => {
		twilio.failNext('messages.create', { status: 500, body: { code: 20500, message: 'Internal Server Error', more_info: 'https://www.twilio.com/docs/errors/20500', status: 500 } });
		// The first call fails, so nothing was sent; then fail the second of a two-part message.
		await expect(sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: 'x' })).rejects.toThrow(/20500/);
		const sendTwoParts = sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: 'y '.repeat(1000) });
		await twilio.server.waitFor((request) => request.method === 'POST' && String(request.body.Body ?? '').startsWith('y'));
		twilio.failNext('messages.create', { status: 500, body: { code: 20500, message: 'Internal Server Error', status: 500 } });
		await expect(sendTwoParts).rejects.toThrow(/Stopped after sending 1 of 2 parts \(SM[0-9a-f]{32}\)/);
	});

	test('an unreachable API names the base URL as the thing to check', async () => {
		const offline = createTwilioClient({ ...twilio.credential(), baseUrl: 'http://127.0.0.1:9' });
		await expect(sendTwilioMessage(offline, { from: SMS_NUMBER, to: ADA, body: 'x' })).rejects.toThrow(/Could not reach the Twilio API.*base URL/);
	});

	test('empty text without media, or no recipient, is refused before any call', async () => {
		const before = twilio.calls('messages.create').length;
		await expect(sendTwilioMessage(client(), { from: SMS_NUMBER, to: ADA, body: '  ' })).rejects.toThrow(/no text to send/);
		await expect(sendTwilioMessage(client(), { from: SMS_NUMBER, to: '', body: 'x' })).rejects.toThrow(/no recipient/);
		await expect(sendTwilioMessage(client(), { from: '', to: ADA, body: 'x' })).rejects.toThrow(/no sender/);
		expect(twilio.calls('messages.create')).toHaveLength(before);
	});

	test('a malformed Account SID or a missing auth token is explained before any call', () => {
		expect(() => createTwilioClient({ ...twilio.credential(), accountSid: 'my-account' })).toThrow(/Account SID.*"AC" followed by 32 characters/);
		expect(() => createTwilioClient({ ...twilio.credential(), authToken: '' })).toThrow(/no Auth Token/);
		expect(() => createTwilioClient({ ...twilio.credential({ apiKey: true }), authToken: '' })).not.toThrow();
	});

	test('activation check: the account is fetched with the auth token, even when sends use an API key', async () => {
		await checkTwilioAuthToken(twilio.credential({ apiKey: true }));
		expect(basicAuthUser(twilio.calls('accounts.fetch').at(-1)!.headers.authorization)).toBe(twilio.accountSid);
		await expect(checkTwilioAuthToken({ ...twilio.credential({ apiKey: true }), authToken: makeAuthToken() })).rejects.toThrow(/20003.*Check the Account SID and Auth Token/);
	});

	test('the base URL replaces every Twilio API host, regional ones too, and nothing else', () => {
		const base = 'http://127.0.0.1:4010';
		expect(rewriteTwilioUrl('https://api.twilio.com/2010-04-01/Accounts/AC1.json', base)).toBe(`${base}/2010-04-01/Accounts/AC1.json`);
		expect(rewriteTwilioUrl('https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Messages.json?x=1', base)).toBe(`${base}/2010-04-01/Accounts/AC1/Messages.json?x=1`);
		expect(rewriteTwilioUrl('https://messaging.twilio.com/v1/Services', base)).toBe(`${base}/v1/Services`);
		expect(rewriteTwilioUrl('https://example.com/media.jpg', base)).toBe('https://example.com/media.jpg');
		expect(rewriteTwilioUrl('https://api.twilio.com/2010-04-01', null)).toBe('https://api.twilio.com/2010-04-01');
	});

	test('From and To are paired on one channel', () => {
		expect(pairAddresses('+14155238886', 'whatsapp:+15551230001')).toEqual({ from: 'whatsapp:+14155238886', to: 'whatsapp:+15551230001' });
		expect(pairAddresses('whatsapp:+14155238886', '+15551230001')).toEqual({ from: 'whatsapp:+14155238886', to: 'whatsapp:+15551230001' });
		expect(pairAddresses('+14155550100', '+15551230001')).toEqual({ from: '+14155550100', to: '+15551230001' });
		expect(pairAddresses('', 'whatsapp:+15551230001')).toEqual({ from: '', to: 'whatsapp:+15551230001' });
	});
});

describe('Twilio webhook signature (X-Twilio-Signature)', () => {
	const twilio = new TwilioEmulator();
	const url = 'https://n8n.example.com/webhook/4f1c/webhook';
	const params = twilio.inboundSms({ from: ADA, body: 'hello' });
	const signature = twilio.sign(url, params);
	const check = (overrides: Partial<Parameters<typeof validateTwilioSignature>[0]>) =>
		validateTwilioSignature({ authToken: twilio.authToken, url, params, signature, ...overrides });

	test('a request signed by Twilio over this URL is genuine', () => {
		expect(check({})).toEqual({ valid: true });
	});

	test('a request signed with another auth token is not', () => {
		expect(check({ signature: twilio.sign(url, params, makeAuthToken()) })).toMatchObject({ valid: false, reason: expect.stringMatching(/does not match/) });
	});

	test('a parameter changed in transit breaks the signature, as does an added one', () => {
		expect(check({ params: { ...params, Body: 'hello!' } }).valid).toBe(false);
		expect(check({ params: { ...params, Extra: '1' } }).valid).toBe(false);
	});

	test('a signature over another URL does not match; the reason mentions the Public URL option', () => {
		expect(check({ url: 'http://localhost:5678/webhook/4f1c/webhook' })).toMatchObject({ valid: false, reason: expect.stringMatching(/Public URL/) });
		expect(check({ url: `${url}?x=1` }).valid).toBe(false);
	});

	test('the default port written out or left off makes no difference, as Twilio signs either', () => {
		expect(check({ url: 'https://n8n.example.com:443/webhook/4f1c/webhook' }).valid).toBe(true);
	});

	test('no header, or no auth token in the credential, is never genuine', () => {
		expect(check({ signature: undefined })).toMatchObject({ valid: false, reason: expect.stringMatching(/no X-Twilio-Signature/) });
		expect(check({ signature: [signature] })).toMatchObject({ valid: false });
		expect(check({ authToken: '' })).toMatchObject({ valid: false, reason: expect.stringMatching(/no Auth Token/) });
	});

	test('a delivery without the header is refused without the auth token, with the answer a full check gives it', async () => {
		const credential = { accountSid: twilio.accountSid, authToken: twilio.authToken };
		const recent = new RecentKeys();
		const reads = { count: 0 };
		for (const missing of [undefined, '']) {
			expect(twilioMissingSignature(missing)).toBe('The request carries no X-Twilio-Signature header.');
			expect(await handleWebhookDelivery(twilioPlugin, twilioDelivery({ url, params, signature: missing }, { credential, recent, reads }))).toEqual({
				kind: 'forged',
				answer: { status: 401, body: 'The request carries no X-Twilio-Signature header.', contentType: 'text/plain' },
				reason: 'The request carries no X-Twilio-Signature header.',
			});
		}
		expect(reads.count).toBe(0);
		expect(recent.size).toBe(0);
		expect(twilioMissingSignature(signature)).toBeNull();
		const disproof = (requestUrl: string, options: Record<string, unknown> = {}) =>
			twilioPlugin.webhook!.disproof({ method: 'POST', headers: { 'x-twilio-signature': signature }, rawBody: undefined, body: params, query: {}, url: requestUrl }, credential, {
				workflowId: 'workflow-1',
				nodeId: 'twilio-trigger',
				webhookId: 'hook-1',
				options,
				now: Date.now(),
			});
		expect(disproof(url)).toBeNull();
		expect(disproof('https://proxy.example.com/hook', { publicUrl: url })).toBeNull();
		expect(disproof('https://proxy.example.com/hook')).toMatch(/does not match/);
	});

	test('the emulator signs exactly like the twilio SDK computes it', () => {
		const { getExpectedTwilioSignature } = require('twilio') as typeof import('twilio');
		expect(twilioSignature(twilio.authToken, url, params)).toBe(getExpectedTwilioSignature(twilio.authToken, url, params));
	});
});

describe('normalising Twilio webhooks into the envelope', () => {
	const twilio = new TwilioEmulator({ numbers: [SMS_NUMBER] });
	const now = Date.parse('2026-11-26T07:00:00.000Z');

	test('an SMS becomes a DM envelope on channel sms, answered from the number it came in on', () => {
		const params = twilio.inboundSms({ from: ADA, body: 'What is the capital of France?' });
		expect(normalizeTwilioMessage(params, { now })).toEqual({
			sessionId: `sms:${SMS_NUMBER}:dm:${ADA}`,
			channel: 'sms',
			accountId: SMS_NUMBER,
			chat: { id: ADA, type: 'dm', threadId: null, title: null },
			sender: { id: ADA, name: null, username: null, isBot: false },
			message: {
				id: params.MessageSid,
				text: 'What is the capital of France?',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: '2026-11-26T07:00:00.000Z',
			},
			raw: params,
		});
	});

	test('a WhatsApp message with media keeps whatsapp: in the chat, names the sender, and lists the files', () => {
		const params = twilio.inboundWhatsApp({
			from: ADA,
			body: 'Look at these',
			profileName: 'Ada Lovelace',
			media: [{ contentType: 'image/jpeg' }, { contentType: 'application/pdf' }, { contentType: 'audio/ogg' }, { contentType: 'video/mp4' }],
		});
		const envelope = normalizeTwilioMessage(params, { now })!;
		expect(envelope).toMatchObject({
			sessionId: `whatsapp:${WHATSAPP_SANDBOX_NUMBER}:dm:whatsapp:${ADA}`,
			channel: 'whatsapp',
			accountId: WHATSAPP_SANDBOX_NUMBER,
			chat: { id: `whatsapp:${ADA}`, type: 'dm' },
			sender: { id: `whatsapp:${ADA}`, name: 'Ada Lovelace', username: null, isBot: false },
			message: { id: params.MessageSid, text: 'Look at these' },
		});
		expect(params.MessageSid).toMatch(/^MM/);
		expect(envelope.message.attachments).toEqual([
			{ kind: 'image', id: params.MediaUrl0, mimeType: 'image/jpeg', name: null, size: null },
			{ kind: 'document', id: params.MediaUrl1, mimeType: 'application/pdf', name: null, size: null },
			{ kind: 'audio', id: params.MediaUrl2, mimeType: 'audio/ogg', name: null, size: null },
			{ kind: 'video', id: params.MediaUrl3, mimeType: 'video/mp4', name: null, size: null },
		]);
		expect(params.MediaUrl0).toMatch(new RegExp(`^https://api\\.twilio\\.com/2010-04-01/Accounts/${twilio.accountSid}/Messages/MM[0-9a-f]{32}/Media/ME[0-9a-f]{32}$`));
	});

	test('an MMS with a picture is an sms envelope with an image attachment', () => {
		const params = twilio.inboundSms({ from: ADA, body: '', media: [{ contentType: 'image/png' }] });
		const envelope = normalizeTwilioMessage(params, { now })!;
		expect(envelope.channel).toBe('sms');
		expect(envelope.message.attachments).toEqual([{ kind: 'image', id: params.MediaUrl0, mimeType: 'image/png', name: null, size: null }]);
	});

	test('a WhatsApp location becomes a location attachment; a reply names the message it answers', () => {
		const location = normalizeTwilioMessage(twilio.inboundWhatsApp({ from: ADA, location: { latitude: 48.8584, longitude: 2.2945, label: 'Eiffel Tower' } }), { now })!;
		expect(location.message.attachments).toEqual([
			{ kind: 'location', id: '48.8584,2.2945', mimeType: null, name: 'Eiffel Tower', size: null, location: { latitude: 48.8584, longitude: 2.2945 } },
		]);
		const repliedTo = `SM${'b'.repeat(32)}`;
		expect(normalizeTwilioMessage(twilio.inboundWhatsApp({ from: ADA, body: 'yes', repliedTo }), { now })!.message.replyToId).toBe(repliedTo);
	});

	test('a command is recognised, so /new starts a fresh conversation', () => {
		expect(normalizeTwilioMessage(twilio.inboundWhatsApp({ from: ADA, body: '/new please' }))!.message.command).toBe('new');
		expect(normalizeTwilioMessage(twilio.inboundSms({ from: ADA, body: 'not /new' }))!.message.command).toBeNull();
	});

	test('the session is stable per person per number, and separate per channel and per receiving number', () => {
		const session = (params: TwilioParams) => normalizeTwilioMessage(params)!.sessionId;
		const other = new TwilioEmulator({ numbers: ['+14155550199'] });
		expect(session(twilio.inboundSms({ from: ADA, body: 'a' }))).toBe(session(twilio.inboundSms({ from: ADA, body: 'b' })));
		expect(session(twilio.inboundSms({ from: ADA, body: 'a' }))).not.toBe(session(twilio.inboundWhatsApp({ from: ADA, body: 'a' })));
		expect(session(twilio.inboundSms({ from: ADA, body: 'a' }))).not.toBe(session(other.inboundSms({ from: ADA, body: 'a' })));
		expect(session(twilio.inboundSms({ from: ADA, body: 'a' }))).not.toBe(session(twilio.inboundSms({ from: '+15551230009', body: 'a' })));
	});

	test('the idempotency key is the MessageSid on the receiving number', () => {
		const params = twilio.inboundSms({ from: ADA, body: 'a' });
		expect(buildMessageKey(normalizeTwilioMessage(params)!)).toBe(`sms:${SMS_NUMBER}:${params.From}:${params.MessageSid}`);
	});

	test('status callbacks are not messages; a body that is not a Twilio webhook is refused', () => {
		const message = { sid: `SM${'c'.repeat(32)}`, from: SMS_NUMBER, to: ADA };
		expect(normalizeTwilioMessage(twilio.statusCallback(message, 'delivered'))).toBeNull();
		expect(normalizeTwilioMessage(twilio.statusCallback({ ...message, from: `whatsapp:${WHATSAPP_SANDBOX_NUMBER}`, to: `whatsapp:${ADA}` }, 'read'))).toBeNull();
		expect(() => normalizeTwilioMessage({ Body: 'hi' })).toThrow(InvalidPayloadError);
		expect(() => normalizeTwilioMessage('Body=hi')).toThrow(/not a Twilio webhook/);
	});

	test('channels and allowed senders decide what is emitted', () => {
		const sms = twilio.inboundSms({ from: ADA, body: 'a' });
		const whatsapp = twilio.inboundWhatsApp({ from: ADA, body: 'a' });
		expect(normalizeTwilioMessage(sms, { options: { channels: ['whatsapp'] } })).toBeNull();
		expect(normalizeTwilioMessage(whatsapp, { options: { channels: ['whatsapp'] } })).not.toBeNull();
		const allowed = parseNumberList('+1 555 123-0001; whatsapp:+447700900123');
		expect(allowed).toEqual([ADA, '+447700900123']);
		expect(normalizeTwilioMessage(sms, { options: { allowedSenders: allowed } })).not.toBeNull();
		expect(normalizeTwilioMessage(whatsapp, { options: { allowedSenders: allowed } })).not.toBeNull();
		expect(normalizeTwilioMessage(twilio.inboundSms({ from: '+15559990000' }), { options: { allowedSenders: allowed } })).toBeNull();
	});
});

describe('one Twilio webhook delivery, over HTTP, signed by the emulator', () => {
	const twilio = new TwilioEmulator({ numbers: [SMS_NUMBER] });
	let setup: TwilioTriggerSetup;
	const outcomes: WebhookOutcome[] = [];
	const publicUrl = 'https://chat.example.com/webhook/4f1c/webhook';
	const redelivery = (messageSid: string) => `${messageSid}: a redelivery of an event already received`;

	// Stands in for n8n: parses the form body like n8n 2.40.7 (node:querystring) and answers with
	// what the trigger would answer.
	const n8n: EmulatorServer = new EmulatorServer('n8n', async (request): Promise<EmulatorReply> => {
		const outcome = await handleWebhookDelivery(
			twilioPlugin,
			twilioDelivery({ url: `${n8n.url}${request.path}`, params: parseForm(request.rawBody.toString('utf8')) as TwilioParams, signature: request.headers['x-twilio-signature'] }, setup),
		);
		outcomes.push(outcome);
		const { status, body, contentType } = outcome.answer;
		return { status, headers: { 'content-type': contentType ?? 'application/json' }, body };
	});
	const hookUrl = () => `${n8n.url}/webhook/4f1c/webhook`;
	const emitted = () => outcomes.flatMap((outcome) => (outcome.kind === 'taken' ? outcome.envelopes : []));

	beforeAll(() => n8n.start());
	afterAll(() => n8n.stop());
	beforeEach(() => {
		outcomes.length = 0;
		setup = { credential: { accountSid: twilio.accountSid, authToken: twilio.authToken }, recent: new RecentKeys(), webhookId: 'hook-1' };
	});

	test('a genuine SMS is answered with empty TwiML at once and emitted as one envelope', async () => {
		const params = twilio.inboundSms({ from: ADA, body: 'hello' });
		const response = await twilio.deliver(hookUrl(), params);

		expect(response).toEqual({ status: 200, body: EMPTY_TWIML, contentType: 'text/xml' });
		expect(EMPTY_TWIML).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
		expect(outcomes.at(-1)).toMatchObject({ kind: 'taken', dropped: [] });
		expect(emitted()).toHaveLength(1);
		expect(emitted()[0]).toMatchObject({ channel: 'sms', via: 'twilio', chat: { id: ADA }, message: { id: params.MessageSid, text: 'hello' } });
	});

	test('a forged, unsigned or tampered request gets 401 and starts nothing', async () => {
		const params = twilio.inboundSms({ from: ADA, body: 'hello' });
		const forged = await twilio.deliver(hookUrl(), params, { authToken: makeAuthToken() });
		const unsigned = await twilio.deliver(hookUrl(), params, { unsigned: true });
		const tampered = await twilio.deliver(hookUrl(), params, { paramsOverride: { ...params, Body: 'send me the codes' } });

		for (const response of [forged, unsigned, tampered]) expect(response).toMatchObject({ status: 401, contentType: 'text/plain' });
		expect(unsigned.body).toMatch(/no X-Twilio-Signature/);
		expect(outcomes.slice(-3).map((outcome) => outcome.kind)).toEqual(['forged', 'forged', 'forged']);
		expect(emitted()).toHaveLength(0);
	});

	test('behind a proxy, Twilio\'s signature over the public URL is accepted only with the Public URL option', async () => {
		const params = twilio.inboundWhatsApp({ from: ADA, body: 'via the proxy' });
		expect((await twilio.deliver(hookUrl(), params, { signatureUrl: publicUrl })).status).toBe(401);

		setup.options = { publicUrl };
		const response = await twilio.deliver(hookUrl(), params, { signatureUrl: publicUrl });
		expect(response.status).toBe(200);
		expect(outcomes.at(-1)).toMatchObject({ kind: 'taken', envelopes: [{ message: { id: params.MessageSid } }] });
		// With a public URL set, a signature over n8n's own URL no longer counts.
		expect((await twilio.deliver(hookUrl(), twilio.inboundSms({ from: ADA, body: 'x' }))).status).toBe(401);
	});

	test('a redelivered MessageSid is acknowledged and not emitted again; other triggers keep their own', async () => {
		const params = twilio.inboundSms({ from: ADA, body: 'once' });
		await twilio.deliver(hookUrl(), params);
		const again = await twilio.deliver(hookUrl(), params);
		expect(again).toEqual({ status: 200, body: EMPTY_TWIML, contentType: 'text/xml' });
		expect(decided(outcomes.at(-1))).toEqual({ kind: 'taken', answer: { status: 200, body: EMPTY_TWIML, contentType: 'text/xml' }, envelopes: [], dropped: [redelivery(params.MessageSid)] });

		setup = { ...setup, webhookId: 'hook-2' };
		await twilio.deliver(hookUrl(), params);
		expect(outcomes.at(-1)).toMatchObject({ kind: 'taken', envelopes: [{ message: { id: params.MessageSid } }] });
		expect(emitted()).toHaveLength(2);
	});

	test('status callbacks and messages the options exclude are acknowledged with empty TwiML and not emitted', async () => {
		const callback = twilio.statusCallback({ sid: `SM${'d'.repeat(32)}`, from: SMS_NUMBER, to: ADA }, 'delivered');
		expect(await twilio.deliver(hookUrl(), callback)).toEqual({ status: 200, body: EMPTY_TWIML, contentType: 'text/xml' });
		expect(outcomes.at(-1)).toMatchObject({ kind: 'taken', envelopes: [], dropped: [expect.stringMatching(/status callback \("delivered"\), not an incoming message/)] });

		setup.options = { channels: ['whatsapp'], allowedSenders: [] };
		const sms = twilio.inboundSms({ from: ADA, body: 'sms' });
		expect(await twilio.deliver(hookUrl(), sms)).toEqual({ status: 200, body: EMPTY_TWIML, contentType: 'text/xml' });
		expect(outcomes.at(-1)).toMatchObject({ kind: 'taken', envelopes: [], dropped: [`${sms.MessageSid}: sms messages are not accepted (Channels option)`] });

		setup.options = { allowedSenders: ['+15559990000'] };
		const whatsapp = twilio.inboundWhatsApp({ from: ADA, body: 'hi' });
		expect(await twilio.deliver(hookUrl(), whatsapp)).toEqual({ status: 200, body: EMPTY_TWIML, contentType: 'text/xml' });
		expect(outcomes.at(-1)).toMatchObject({ kind: 'taken', envelopes: [], dropped: [`${whatsapp.MessageSid}: its sender ${ADA} is not in "Allowed Senders"`] });
		expect(emitted()).toHaveLength(0);
	});

	test('Allowed Senders as typed into the v1 option (spaces, whatsapp:, one per line) lets the listed sender through', async () => {
		setup.options = { allowedSenders: '+1 555 123-0001\nwhatsapp:+447700900123' };
		await twilio.deliver(hookUrl(), twilio.inboundWhatsApp({ from: ADA, body: 'hi' }));
		expect(emitted()).toHaveLength(1);
	});

	test('a genuine request that is not a message webhook gets 400 with what is missing', async () => {
		const response = await twilio.deliver(hookUrl(), { AccountSid: twilio.accountSid, Body: 'hi' });
		expect(response).toMatchObject({ status: 400, contentType: 'text/plain' });
		expect(response.body).toMatch(/not a Twilio message webhook \(no MessageSid\)/);
		expect(outcomes.at(-1)!.kind).toBe('invalid');
	});
});

describe('remembering MessageSids (RecentKeys)', () => {
	test('forgets the least recently seen beyond its size, and anything older than its TTL', () => {
		const recent = new RecentKeys(1000, 3);
		for (const key of ['a', 'b', 'c', 'd']) expect(recent.remember(key, 0)).toBe(true);
		expect(recent.size).toBe(3);
		expect(recent.remember('a', 1)).toBe(true);
		expect(recent.remember('d', 2)).toBe(false);
		expect(recent.remember('d', 2000)).toBe(true);
		expect(recent.size).toBeLessThanOrEqual(3);
	});
});

test('a fresh account SID and token look like Twilio\'s', () => {
	expect(makeAccountSid()).toMatch(/^AC[0-9a-f]{32}$/);
	expect(makeAuthToken()).toMatch(/^[0-9a-f]{32}$/);
});
