/**
 * The webhook triggers' request path inside n8n-core's WebhookContext: unsigned requests are
 * refused before the credential is read (each read costs n8n an expression sandbox), a credential
 * that verified a request is kept for the next ones, forged requests read it at most once per
 * 5 s, and a changed secret takes effect within 5 s.
 */
import type { ICredentialDataDecryptedObject, INode } from 'n8n-workflow';

import { deriveWebhookSecret } from '../../nodes/Telegram/telegram.adapter';
import { EMPTY_TWIML } from '../../nodes/Twilio/twilio.adapter';
import { SlackEmulator } from '../emulators/slack';
import { makeBotToken, TelegramEmulator } from '../emulators/telegram';
import { makeAuthToken, TwilioEmulator } from '../emulators/twilio';
import { PACKAGE, WebhookTrigger } from './harness';

let nodeCount = 0;

// The credential cache reads the clock; moving it forward stands in for waiting (the Slack
// emulator signs with the same clock, so signatures stay inside their window).
let clockOffset = 0;
const realNow = Date.now.bind(Date);
beforeAll(() => jest.spyOn(Date, 'now').mockImplementation(() => realNow() + clockOffset));
afterAll(() => jest.restoreAllMocks());
const afterSeconds = (seconds: number) => {
	clockOffset += seconds * 1000;
};

/** A trigger node of its own for each test, so no test sees a credential another one kept. */
function triggerNode(name: string, credentialType: string, parameters: INode['parameters'] = {}): INode {
	const n = ++nodeCount;
	return {
		id: `${name}-${n}`,
		name: `Trigger ${n}`,
		type: `${PACKAGE}.${name}`,
		typeVersion: name === 'telegramTrigger' ? 1.1 : 1,
		position: [0, 0],
		parameters,
		webhookId: `0c1d2e3f-0000-4000-8000-${String(n).padStart(12, '0')}`,
		credentials: { [credentialType]: { id: `credential-${n}`, name: 'Test credential' } },
	};
}

describe('Telegram Trigger', () => {
	const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
	// The same bot after its token was revoked and reissued in BotFather.
	const reissued = new TelegramEmulator({ token: makeBotToken(telegram.bot.id), username: 'ClawgateBot' });
	beforeAll(() => Promise.all([telegram.start(), reissued.start()]));
	afterAll(() => Promise.all([telegram.stop(), reissued.stop()]));

	function setUp(parameters: INode['parameters'] = { mode: 'webhook' }) {
		const credential: ICredentialDataDecryptedObject = { accessToken: telegram.token, baseUrl: telegram.apiRoot };
		const trigger = new WebhookTrigger(triggerNode('telegramTrigger', 'clawgateTelegramApi', parameters), { clawgateTelegramApi: credential });
		const secretFor = (token: string) => deriveWebhookSecret(token, { workflowId: String(trigger.workflow.id), nodeId: trigger.node.id, webhookId: trigger.node.webhookId! });
		const deliver = (text: string, secret?: string) =>
			trigger.receive({ headers: secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret }, body: telegram.textUpdate({ text }) });
		return { trigger, credential, secretFor, deliver };
	}

	test('a request without the secret token header is refused with 401 before the credential is read', async () => {
		const { trigger, deliver } = setUp();
		const answer = await deliver('hello');
		expect(answer).toMatchObject({ status: 401, body: { error: 'This request does not carry the secret token Telegram was given for this webhook.' }, result: { noWebhookResponse: true } });
		expect(trigger.credentialReads('clawgateTelegramApi')).toBe(0);
	});

	test('a request with a wrong secret token is refused with 401, without reading the credential again within 5 s of the last read', async () => {
		const { trigger, deliver, secretFor } = setUp();
		await deliver('first', secretFor(telegram.token));
		const answer = await deliver('forged', 'not-the-secret');
		expect(answer).toMatchObject({ status: 401, body: { error: 'This request does not carry the secret token Telegram was given for this webhook.' } });
		expect(trigger.credentialReads('clawgateTelegramApi')).toBe(1);
		afterSeconds(6);
		expect(await deliver('forged later', 'not-the-secret')).toMatchObject({ status: 401 });
		expect(trigger.credentialReads('clawgateTelegramApi')).toBe(2);
	});

	test('two genuine updates in a row start two executions and read the credential once', async () => {
		const { trigger, deliver, secretFor } = setUp();
		for (const text of ['hello', 'again']) {
			const answer = await deliver(text, secretFor(telegram.token));
			// Answered before the execution runs, so Telegram does not redeliver while the workflow works.
			expect(answer).toMatchObject({ status: 200, body: 'OK', contentType: 'text/plain', result: { noWebhookResponse: true } });
			expect(answer.result.workflowData?.[0]).toHaveLength(1);
			expect(answer.result.workflowData?.[0][0].json).toMatchObject({ channel: 'telegram', message: { text } });
		}
		expect(trigger.credentialReads('clawgateTelegramApi')).toBe(1);
	});

	test('after the bot token changed in the credential, an update with the new secret token is accepted once the kept credential is 5 s old', async () => {
		const { trigger, credential, deliver, secretFor } = setUp();
		await deliver('before', secretFor(telegram.token));
		Object.assign(credential, { accessToken: reissued.token, baseUrl: reissued.apiRoot });
		afterSeconds(6);

		const answer = await deliver('after', secretFor(reissued.token));
		expect(answer.result.workflowData?.[0][0].json).toMatchObject({ message: { text: 'after' } });
		expect(await deliver('old secret', secretFor(telegram.token))).toMatchObject({ status: 401 });
		expect((await deliver('next', secretFor(reissued.token))).result.workflowData).toBeDefined();
		// before; after (mismatch, the kept one is 6 s old: read again); the old secret and next: none.
		expect(trigger.credentialReads('clawgateTelegramApi')).toBe(2);
	});

	test('in Long Polling mode a webhook request is answered 404 without reading the credential', async () => {
		const { trigger, deliver, secretFor } = setUp({ mode: 'polling' });
		expect(await deliver('hello', secretFor(telegram.token))).toMatchObject({ status: 404 });
		expect(trigger.credentialReads('clawgateTelegramApi')).toBe(0);
	});
});

describe('Slack Trigger', () => {
	const slack = new SlackEmulator();
	beforeAll(() => slack.start());
	afterAll(() => slack.stop());

	function setUp() {
		const credential: ICredentialDataDecryptedObject = { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl };
		const trigger = new WebhookTrigger(triggerNode('slackTrigger', 'clawgateSlackApi'), { clawgateSlackApi: credential });
		const deliver = (payload: Record<string, unknown>, options: Parameters<SlackEmulator['signedDelivery']>[1] = {}) => {
			const { headers, rawBody } = slack.signedDelivery(payload, options);
			return trigger.receive({ headers, body: JSON.parse(rawBody), rawBody: Buffer.from(rawBody) });
		};
		return { trigger, credential, deliver };
	}

	test('a request without the signature headers is refused with 401 before the credential is read', async () => {
		const { trigger, deliver } = setUp();
		const answer = await deliver(slack.dmMessage({ text: 'hello' }), { unsigned: true });
		expect(answer).toMatchObject({ status: 401, body: { error: 'The request carries no Slack signature.' }, result: { noWebhookResponse: true } });
		expect(trigger.credentialReads('clawgateSlackApi')).toBe(0);
	});

	test('two genuine events in a row start two executions and read the credential once', async () => {
		const { trigger, deliver } = setUp();
		for (const text of ['hello', 'again']) {
			const answer = await deliver(slack.dmMessage({ text }));
			// Slack wants a 2xx within 3 s, so the trigger answers before the execution runs.
			expect(answer).toMatchObject({ status: 200, body: { ok: true }, contentType: 'application/json', result: { noWebhookResponse: true } });
			expect(answer.result.workflowData?.[0]).toHaveLength(1);
			expect(answer.result.workflowData?.[0][0].json).toMatchObject({ channel: 'slack', message: { text } });
		}
		expect(trigger.credentialReads('clawgateSlackApi')).toBe(1);
	});

	test('Slack\'s retry of an event already received is acknowledged and starts no second execution', async () => {
		const { deliver } = setUp();
		const payload = slack.dmMessage({ text: 'hello once' });
		expect((await deliver(payload)).result.workflowData).toBeDefined();
		const retry = await deliver(payload, { retryNum: 1, retryReason: 'http_timeout' });
		expect(retry).toMatchObject({ status: 200, body: { ok: true } });
		expect(retry.result).toEqual({ noWebhookResponse: true });
	});

	test('after the signing secret changed in the credential, a request signed with the new one is accepted once the kept credential is 5 s old', async () => {
		const { trigger, credential, deliver } = setUp();
		expect(await deliver(slack.urlVerification('before'))).toMatchObject({ status: 200, body: { challenge: 'before' } });
		credential.signingSecret = 'the-regenerated-signing-secret';
		afterSeconds(6);

		expect(await deliver(slack.urlVerification('after'), { signingSecret: 'the-regenerated-signing-secret' })).toMatchObject({ status: 200, body: { challenge: 'after' } });
		expect(await deliver(slack.urlVerification('old'))).toMatchObject({
			status: 401,
			body: { error: 'The request is not signed with the signing secret in the Clawgate Slack credential.' },
		});
		expect(await deliver(slack.urlVerification('next'), { signingSecret: 'the-regenerated-signing-secret' })).toMatchObject({ status: 200 });
		// before; after (mismatch, the kept one is 6 s old: read again); the old secret and next: none.
		expect(trigger.credentialReads('clawgateSlackApi')).toBe(2);
	});
});

describe('Twilio Trigger', () => {
	const twilio = new TwilioEmulator();
	beforeAll(() => twilio.start());
	afterAll(() => twilio.stop());

	function setUp() {
		const credential: ICredentialDataDecryptedObject = twilio.credential();
		const trigger = new WebhookTrigger(triggerNode('twilioTrigger', 'clawgateTwilioApi'), { clawgateTwilioApi: credential });
		const deliverParams = (params: Record<string, string>, { authToken = twilio.authToken, unsigned = false } = {}) =>
			trigger.receive({ headers: unsigned ? {} : { 'x-twilio-signature': twilio.sign(trigger.url, params, authToken) }, body: params });
		const deliver = (text: string, options: { authToken?: string; unsigned?: boolean } = {}) => deliverParams(twilio.inboundSms({ body: text }), options);
		return { trigger, credential, deliver, deliverParams };
	}

	test('a request without X-Twilio-Signature is refused with 401 before the credential is read', async () => {
		const { trigger, deliver } = setUp();
		const answer = await deliver('hello', { unsigned: true });
		expect(answer).toMatchObject({ status: 401, contentType: 'text/plain', body: 'The request carries no X-Twilio-Signature header.', result: { noWebhookResponse: true } });
		expect(trigger.credentialReads('clawgateTwilioApi')).toBe(0);
	});

	test('two genuine messages in a row start two executions and read the credential once', async () => {
		const { trigger, deliver } = setUp();
		for (const text of ['hello', 'again']) {
			const answer = await deliver(text);
			expect(answer).toMatchObject({ status: 200, contentType: 'text/xml', body: EMPTY_TWIML, result: { noWebhookResponse: true } });
			expect(answer.result.workflowData?.[0]).toHaveLength(1);
			expect(answer.result.workflowData?.[0][0].json).toMatchObject({ channel: 'sms', message: { text } });
		}
		expect(trigger.credentialReads('clawgateTwilioApi')).toBe(1);
	});

	test('a redelivered MessageSid is answered with empty TwiML and starts no second execution', async () => {
		const { deliverParams } = setUp();
		const params = twilio.inboundSms({ body: 'once' });
		expect((await deliverParams(params)).result.workflowData).toBeDefined();
		const again = await deliverParams(params);
		expect(again).toMatchObject({ status: 200, contentType: 'text/xml', body: EMPTY_TWIML });
		expect(again.result).toEqual({ noWebhookResponse: true });
	});

	test('after the auth token changed in the credential, a request signed with the new one is accepted once the kept credential is 5 s old', async () => {
		const { trigger, credential, deliver } = setUp();
		await deliver('before');
		const newToken = makeAuthToken();
		credential.authToken = newToken;
		afterSeconds(6);

		expect((await deliver('after', { authToken: newToken })).result.workflowData?.[0][0].json).toMatchObject({ message: { text: 'after' } });
		expect(await deliver('old token')).toMatchObject({ status: 401, body: expect.stringContaining('The X-Twilio-Signature does not match') });
		expect((await deliver('next', { authToken: newToken })).result.workflowData).toBeDefined();
		// before; after (mismatch, the kept one is 6 s old: read again); the old token and next: none.
		expect(trigger.credentialReads('clawgateTwilioApi')).toBe(2);
	});
});

describe('DM Policy Pairing inside n8n (Telegram Trigger v2, webhook mode)', () => {
	const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
	const ada = { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' };
	const eve = { id: 4711, is_bot: false, first_name: 'Eve', username: 'eve' };
	beforeAll(() => telegram.start());
	afterAll(() => telegram.stop());

	function setUp() {
		const credential: ICredentialDataDecryptedObject = { accessToken: telegram.token, baseUrl: telegram.apiRoot };
		const node = { ...triggerNode('telegramTrigger', 'clawgateTelegramApi', { mode: 'webhook', options: { dmPolicy: 'pairing', allowedSenderIds: '42' } }), typeVersion: 2 };
		const trigger = new WebhookTrigger(node, { clawgateTelegramApi: credential });
		const secret = deriveWebhookSecret(telegram.token, { workflowId: String(trigger.workflow.id), nodeId: node.id, webhookId: node.webhookId! });
		const deliver = (text: string, from: typeof ada) => trigger.receive({ headers: { 'x-telegram-bot-api-secret-token': secret }, body: telegram.textUpdate({ text, chatId: from.id, from }) });
		return { trigger, deliver };
	}

	test("a stranger's DM is acknowledged and starts no execution; the stranger gets a code, kept in the node's static data for n8n to save", async () => {
		const { trigger, deliver } = setUp();
		const answer = await deliver('hello, who are you?', eve);
		expect(answer).toMatchObject({ status: 200, body: 'OK', result: { noWebhookResponse: true } });
		expect(answer.result.workflowData).toBeUndefined();
		const code = /\b([A-HJ-NP-Z2-9]{8})\b/.exec(telegram.sentTexts(eve.id).at(-1) ?? '')?.[1];
		expect(code).toEqual(expect.any(String));
		// n8n saves a webhook's static data after the webhook when it is marked changed.
		expect(trigger.workflow.staticData.__dataChanged).toBe(true);
		expect(JSON.stringify(trigger.workflow.staticData)).toContain(code);

		const sentBefore = telegram.sentTexts(eve.id).length;
		expect((await deliver('hello???', eve)).result.workflowData).toBeUndefined();
		expect(telegram.sentTexts(eve.id)).toHaveLength(sentBefore);
	});

	test("the owner's /pair CODE starts no execution and approves: the stranger's next DM starts one", async () => {
		const { deliver } = setUp();
		await deliver('hello, who are you?', eve);
		const code = /\b([A-HJ-NP-Z2-9]{8})\b/.exec(telegram.sentTexts(eve.id).at(-1) ?? '')![1];

		const command = await deliver(`/pair ${code}`, ada);
		expect(command).toMatchObject({ status: 200, result: { noWebhookResponse: true } });
		expect(command.result.workflowData).toBeUndefined();
		expect(telegram.sentTexts(ada.id).at(-1)).toBe('Approved Eve (4711).');
		expect(telegram.sentTexts(eve.id).at(-1)).toBe('You are approved: you can now talk to the bot.');

		const next = await deliver('what can you do?', eve);
		expect(next.result.workflowData?.[0][0].json).toMatchObject({ sender: { id: '4711' }, message: { text: 'what can you do?' } });
	});

	test('a failing send of the code does not change the answer to Telegram', async () => {
		const { deliver } = setUp();
		telegram.rateLimitNext('sendMessage', 120);
		const answer = await deliver('anyone there?', { ...eve, id: 4712 });
		expect(answer).toMatchObject({ status: 200, body: 'OK', result: { noWebhookResponse: true } });
		expect(answer.result.workflowData).toBeUndefined();
	});
});
