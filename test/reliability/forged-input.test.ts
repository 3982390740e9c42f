/**
 * Forged input against a real n8n: every webhook trigger of the multi-channel gateway gets 1,000
 * requests a stranger (or a broken proxy) could send. Status codes, decided per class:
 * - 401: no, wrong or stale proof of origin (Telegram secret token, Slack v0 signature with its
 *   5-minute window, Twilio signature). Checked first, so a forger learns nothing else.
 * - 400: genuine (correctly signed) but not something the platform sends: non-JSON bodies, JSON
 *   that is not an update/event/message webhook. The platform shows the error to the owner (Slack
 *   and Twilio debuggers, Telegram getWebhookInfo), which is what they need to see.
 * - 422: a body sent as application/json that does not parse. n8n's own body parser answers it
 *   before any trigger code runs (so before the signature check too); nothing starts either way.
 * - 200: genuine and well-formed, but of a type the trigger does not emit (edits, reactions,
 *   status callbacks, bots' messages, unmentioned group messages): acknowledged so the platform
 *   does not redeliver it, and no execution starts (DESIGN.md "Triggers and send nodes").
 * Discord's trigger opens its own gateway connection and has no inbound HTTP surface; its
 * payloads are covered by the fuzzing tests.
 */
import { randomBytes } from 'node:crypto';

import { DiscordTrigger } from '../../nodes/Discord/DiscordTrigger.node';
import { deriveWebhookSecret } from '../../nodes/Telegram/telegram.webhook';
import { eventually } from '../e2e/harness';
import { signSlackRequest } from '../emulators/slack';
import { recordFigure } from './figures';
import { seededRandom } from '../fixtures/seeded-random';
import { answerTo, GatewayFixture, withConcurrency } from './gateway-fixture';
import { findSecretLeaks, stackTraceLines } from './n8n-checks';

const REQUESTS_PER_TRIGGER = 1_000;
const CONCURRENCY = 20;
const OVERSIZE_BYTES = 2 * 1024 * 1024;

// No time bar here: a full run of the reliability suite runs this file beside another n8n
// (scripts/reliability.js), where one trigger's barrage can take minutes.
jest.setTimeout(15 * 60_000);

type Trigger = 'Telegram' | 'Slack' | 'Twilio';
type Status = 401 | 400 | 422 | 200;

/** One request of the barrage: which class it belongs to, the status it must get, and how to send it. */
interface Probe {
	kind: string;
	expected: Status;
	send(): Promise<number>;
}

interface ProbeClass {
	kind: string;
	expected: Status;
	/** Relative share of the 1,000 requests. */
	weight: number;
	make(): () => Promise<number>;
}

/** Spreads `total` requests over the classes by weight, shuffled with a fixed seed. */
function barrage(classes: ProbeClass[], total: number, seed: number): Probe[] {
	const weights = classes.reduce((sum, probe) => sum + probe.weight, 0);
	const probes: Probe[] = [];
	classes.forEach((probe, index) => {
		const count = index === classes.length - 1 ? total - probes.length : Math.round((probe.weight / weights) * total);
		for (let i = 0; i < count; i++) probes.push({ kind: probe.kind, expected: probe.expected, send: probe.make() });
	});
	const random = seededRandom(seed);
	for (let i = probes.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[probes[i], probes[j]] = [probes[j], probes[i]];
	}
	return probes;
}

async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<number> {
	const response = await fetch(url, { method: 'POST', headers, body });
	await response.arrayBuffer();
	return response.status;
}

const truncate = (text: string) => text.slice(0, 1 + Math.floor(Math.random() * (text.length - 2)));
const junk = (bytes: number) => randomBytes(Math.ceil(bytes / 2)).toString('hex').slice(0, bytes);
const nonJson = () => ['hello', '<xml>update</xml>', 'update_id=1&message=hi', '\u0000\u0001\u0002', ' ', `{"update_id": 1, "message": {`][Math.floor(Math.random() * 6)];

interface Outcome {
	trigger: Trigger;
	total: number;
	matched: number;
	byStatus: Record<number, number>;
	mismatches: Array<{ kind: string; expected: number; got: number }>;
}

async function fire(trigger: Trigger, probes: Probe[]): Promise<Outcome> {
	const statuses = await withConcurrency(
		CONCURRENCY,
		probes.map((probe) => () => probe.send().catch(() => -1)),
	);
	const byStatus: Record<number, number> = {};
	const mismatches: Outcome['mismatches'] = [];
	statuses.forEach((status, index) => {
		byStatus[status] = (byStatus[status] ?? 0) + 1;
		if (status !== probes[index].expected) mismatches.push({ kind: probes[index].kind, expected: probes[index].expected, got: status });
	});
	return { trigger, total: probes.length, matched: probes.length - mismatches.length, byStatus, mismatches };
}

describe('forged input against a real n8n: 1,000 requests per webhook trigger start nothing and get the right status', () => {
	const gateway = new GatewayFixture();
	const outcomes: Outcome[] = [];

	beforeAll(async () => {
		await gateway.start();
	});

	afterAll(async () => {
		await gateway.stop();
	});

	function telegramClasses(): ProbeClass[] {
		const { telegram } = gateway;
		const url = gateway.urls.telegram;
		const secret = gateway.telegramSecret;
		const json = (update: unknown, token?: string) => () =>
			post(url, JSON.stringify(update), { 'content-type': 'application/json', ...(token === undefined ? {} : { 'x-telegram-bot-api-secret-token': token }) });
		const raw = (body: string, contentType: string) => () => post(url, body, { 'content-type': contentType, 'x-telegram-bot-api-secret-token': secret });
		const text = () => telegram.textUpdate({ text: `forged ${randomBytes(4).toString('hex')}` });
		const ignoredUpdates: Array<() => unknown> = [
			() => telegram.editedUpdate(text(), 'edited'),
			() => ({ update_id: 900_000 + Math.floor(Math.random() * 1e6), channel_post: { message_id: 5, chat: { id: -1001, type: 'channel', title: 'News' }, date: 1, text: 'post' } }),
			() => ({ update_id: 900_000 + Math.floor(Math.random() * 1e6), my_chat_member: { chat: { id: 42, type: 'private' }, from: { id: 42, is_bot: false, first_name: 'Ada' }, date: 1 } }),
			() => ({ update_id: 900_000 + Math.floor(Math.random() * 1e6), poll: { id: '1', question: 'tea?', options: [], is_closed: false } }),
			() => ({ update_id: 900_000 + Math.floor(Math.random() * 1e6), some_future_update_type: { anything: true } }),
			() => telegram.textUpdate({ text: 'from another bot', from: { id: 99, is_bot: true, first_name: 'Other bot' } }),
			() => telegram.groupUpdate({ text: 'people talking without mentioning the bot' }),
			() => telegram.messageUpdate({ new_chat_members: [{ id: 77, is_bot: false, first_name: 'Bob' }] }, { chat: { id: -100_123, type: 'supergroup', title: 'Makers' } }),
			// Service messages Telegram sends in a direct chat, where no mention gate applies.
			() => telegram.messageUpdate({ message_auto_delete_timer_changed: { message_auto_delete_time: 86_400 } }),
			() => telegram.messageUpdate({ pinned_message: { message_id: 1, chat: { id: 42, type: 'private' }, date: 1, text: 'pinned' } }),
		];
		return [
			{ kind: 'no secret token', expected: 401, weight: 12, make: () => json(text()) },
			{ kind: 'wrong secret token', expected: 401, weight: 12, make: () => json(text(), randomBytes(32).toString('base64url').slice(0, secret.length)) },
			{ kind: 'secret token off by one character', expected: 401, weight: 6, make: () => json(text(), `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`) },
			{
				kind: 'secret of another webhook of this bot',
				expected: 401,
				weight: 6,
				make: () => json(text(), deriveWebhookSecret(telegram.token, { workflowId: 'other', nodeId: 'other', webhookId: randomBytes(8).toString('hex') })),
			},
			{ kind: 'empty secret token', expected: 401, weight: 4, make: () => json(text(), '') },
			{ kind: 'oversize (2 MB) without secret', expected: 401, weight: 1, make: () => json({ ...text(), padding: junk(OVERSIZE_BYTES) }) },
			{ kind: 'genuine, truncated JSON', expected: 422, weight: 12, make: () => raw(truncate(JSON.stringify(text())), 'application/json') },
			{ kind: 'genuine, not JSON', expected: 400, weight: 8, make: () => raw(nonJson(), ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream'][Math.floor(Math.random() * 3)]) },
			{
				kind: 'genuine, JSON but not an update',
				expected: 400,
				weight: 8,
				make: () => raw(JSON.stringify([[], 42, '"text"', {}, { update_id: '7' }, { message: { text: 'no id' } }, null][Math.floor(Math.random() * 7)]), 'application/json'),
			},
			{ kind: 'genuine, oversize (2 MB) JSON junk', expected: 422, weight: 1, make: () => raw(junk(OVERSIZE_BYTES), 'application/json') },
			{ kind: 'genuine, oversize (2 MB) text junk', expected: 400, weight: 1, make: () => raw(junk(OVERSIZE_BYTES), 'text/plain') },
			{
				kind: 'genuine update of a type the trigger does not emit',
				expected: 200,
				weight: 30,
				make: () => json(ignoredUpdates[Math.floor(Math.random() * ignoredUpdates.length)](), secret),
			},
		];
	}

	function slackClasses(): ProbeClass[] {
		const { slack } = gateway;
		const url = gateway.urls.slack;
		const now = () => Math.floor(Date.now() / 1000);
		const dm = () => slack.dmMessage({ text: `forged ${randomBytes(4).toString('hex')}` });
		const signed = (body: string, { timestamp = now(), secret = slack.signingSecret, contentType = 'application/json' } = {}) => () =>
			post(url, body, { 'content-type': contentType, 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signSlackRequest(secret, timestamp, body) });
		const withHeaders = (body: string, headers: Record<string, string>) => () => post(url, body, { 'content-type': 'application/json', ...headers });
		const ignoredEvents: Array<() => unknown> = [
			() => slack.eventCallback({ type: 'reaction_added', user: 'U0ADA', reaction: 'tea', item: { type: 'message', channel: 'C0GENERAL', ts: slack.nextTs() }, event_ts: slack.nextTs() }),
			() => slack.eventCallback({ type: 'channel_created', channel: { id: 'C0NEW', name: 'new' }, event_ts: slack.nextTs() }),
			() => slack.eventCallback({ type: 'app_home_opened', user: 'U0ADA', channel: 'D0ADA', tab: 'home', event_ts: slack.nextTs() }),
			() => slack.messageChanged({ ts: slack.nextTs(), text: 'edited' }),
			() => slack.eventCallback({ type: 'message', subtype: 'message_deleted', channel: 'D0ADA', channel_type: 'im', deleted_ts: slack.nextTs(), ts: slack.nextTs(), hidden: true }),
			() => slack.botMessage({ text: 'deploy finished' }),
			() => slack.botMessage({ text: 'my own answer', own: true, channel: 'D0ADA', channelType: 'im' }),
			() => slack.channelMessage({ text: 'people talking without mentioning the bot' }),
			() => ({ token: 'x', team_id: slack.teamId, api_app_id: slack.appId, type: 'app_rate_limited', minute_rate_limited: 1 }),
			() => ({ type: 'some_future_payload_type' }),
			() => slack.urlVerification(),
		];
		return [
			{ kind: 'unsigned', expected: 401, weight: 8, make: () => withHeaders(JSON.stringify(dm()), {}) },
			{ kind: 'signed with a wrong secret', expected: 401, weight: 8, make: () => signed(JSON.stringify(dm()), { secret: randomBytes(32).toString('hex') }) },
			{ kind: 'stale timestamp (6–60 min old), correctly signed', expected: 401, weight: 8, make: () => signed(JSON.stringify(dm()), { timestamp: now() - 360 - Math.floor(Math.random() * 3240) }) },
			{ kind: 'timestamp 10 min in the future, correctly signed', expected: 401, weight: 4, make: () => signed(JSON.stringify(dm()), { timestamp: now() + 600 }) },
			{
				kind: 'body changed after signing',
				expected: 401,
				weight: 6,
				make: () => {
					const timestamp = now();
					const body = JSON.stringify(dm());
					return withHeaders(body.replace('forged', 'tampered'), { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signSlackRequest(slack.signingSecret, timestamp, body) });
				},
			},
			{
				kind: 'malformed signature or timestamp header',
				expected: 401,
				weight: 6,
				make: () => {
					const timestamp = now();
					const body = JSON.stringify(dm());
					const good = signSlackRequest(slack.signingSecret, timestamp, body);
					const variants: Array<Record<string, string>> = [
						{ 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': good.replace('v0=', 'v1=') },
						{ 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': good.slice(0, -2) },
						{ 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': 'v0=not-hex' },
						{ 'x-slack-request-timestamp': 'yesterday', 'x-slack-signature': good },
						{ 'x-slack-signature': good },
					];
					return withHeaders(body, variants[Math.floor(Math.random() * variants.length)]);
				},
			},
			{ kind: 'oversize (2 MB), unsigned', expected: 401, weight: 1, make: () => withHeaders(JSON.stringify({ ...dm(), padding: junk(OVERSIZE_BYTES) }), {}) },
			{ kind: 'genuine, truncated JSON', expected: 422, weight: 10, make: () => signed(truncate(JSON.stringify(dm()))) },
			{ kind: 'genuine, not JSON', expected: 400, weight: 6, make: () => signed(nonJson(), { contentType: ['text/plain', 'application/x-www-form-urlencoded'][Math.floor(Math.random() * 2)] }) },
			{
				kind: 'genuine, JSON but not an Events API payload',
				expected: 400,
				weight: 8,
				make: () => signed(JSON.stringify([[], 42, 'text', {}, { type: 7 }, { type: 'event_callback' }, { type: 'event_callback', event_id: 'Ev1', event: 'x' }][Math.floor(Math.random() * 7)])),
			},
			{ kind: 'genuine, oversize (2 MB) JSON junk', expected: 422, weight: 1, make: () => signed(junk(OVERSIZE_BYTES)) },
			{ kind: 'genuine, oversize (2 MB) text junk', expected: 400, weight: 1, make: () => signed(junk(OVERSIZE_BYTES), { contentType: 'text/plain' }) },
			{ kind: 'genuine event of a type the trigger does not emit', expected: 200, weight: 34, make: () => signed(JSON.stringify(ignoredEvents[Math.floor(Math.random() * ignoredEvents.length)]())) },
		];
	}

	function twilioClasses(): ProbeClass[] {
		const { twilio } = gateway;
		const url = gateway.urls.twilio;
		const message = () =>
			Math.random() < 0.5 ? twilio.inboundSms({ body: `forged ${randomBytes(4).toString('hex')}` }) : twilio.inboundWhatsApp({ body: `forged ${randomBytes(4).toString('hex')}` });
		const form = (params: Record<string, string>, signature: string | null, body = new URLSearchParams(params).toString(), contentType = 'application/x-www-form-urlencoded') => () =>
			post(url, body, { 'content-type': contentType, ...(signature === null ? {} : { 'x-twilio-signature': signature }) });
		const signedBy = (params: Record<string, string>, { authToken = twilio.authToken, signatureUrl = url } = {}) => form(params, twilio.sign(signatureUrl, params, authToken));
		const genuine = (params: Record<string, string>) => signedBy(params);
		const sent = () => ({ sid: `SM${randomBytes(16).toString('hex')}`, from: twilio.numbers[0], to: '+15551230001' });
		const statuses = ['queued', 'sent', 'delivered', 'undelivered', 'failed', 'read'] as const;
		return [
			{ kind: 'unsigned', expected: 401, weight: 10, make: () => form(message(), null) },
			{ kind: 'signed with a wrong auth token', expected: 401, weight: 10, make: () => signedBy(message(), { authToken: randomBytes(16).toString('hex') }) },
			{ kind: 'signed for another URL', expected: 401, weight: 6, make: () => signedBy(message(), { signatureUrl: `${url}?other=1` }) },
			{
				kind: 'parameters changed after signing',
				expected: 401,
				weight: 6,
				make: () => {
					const params = message();
					return form({ ...params, Body: 'tampered' }, twilio.sign(url, params));
				},
			},
			{ kind: 'malformed signature header', expected: 401, weight: 6, make: () => form(message(), ['', 'abc', '====', randomBytes(40).toString('base64')][Math.floor(Math.random() * 4)]) },
			{ kind: 'oversize (2 MB), unsigned', expected: 401, weight: 1, make: () => form({ ...message(), Padding: junk(OVERSIZE_BYTES) }, null) },
			{
				kind: 'genuine, truncated form body',
				expected: 400,
				weight: 10,
				make: () => {
					// Cut before the fields that make it a message webhook; Twilio signs what arrives.
					const body = new URLSearchParams(message()).toString();
					const cut = body.slice(0, Math.max(1, body.indexOf('MessageSid=') - 1 - Math.floor(Math.random() * 40)));
					const params = Object.fromEntries(new URLSearchParams(cut));
					return form(params, twilio.sign(url, params), cut);
				},
			},
			// Twilio signs form parameters; a body that is not a form carries none, so no signature can match.
			{ kind: 'not a form body', expected: 401, weight: 8, make: () => form({}, twilio.sign(url, {}), nonJson(), ['text/plain', 'application/octet-stream'][Math.floor(Math.random() * 2)]) },
			{
				kind: 'genuine, not a message webhook (no MessageSid/From/To)',
				expected: 400,
				weight: 8,
				make: () => {
					const rest = Object.fromEntries(Object.entries(message()).filter(([name]) => !['MessageSid', 'SmsMessageSid', 'SmsSid'].includes(name)));
					const variants = [rest, { Body: 'hi' }, { CallSid: `CA${randomBytes(16).toString('hex')}`, CallStatus: 'ringing', From: '+15551230001', To: twilio.numbers[0] }];
					return genuine(variants[Math.floor(Math.random() * variants.length)]);
				},
			},
			{ kind: 'genuine, oversize (2 MB) junk', expected: 400, weight: 1, make: () => genuine({ Padding: junk(OVERSIZE_BYTES) }) },
			{
				kind: 'genuine status callback (not an incoming message)',
				expected: 200,
				weight: 34,
				make: () => genuine(twilio.statusCallback(sent(), statuses[Math.floor(Math.random() * statuses.length)])),
			},
		];
	}

	test.each([
		['Telegram' as const, 1],
		['Slack' as const, 2],
		['Twilio' as const, 3],
	])('%s: 1,000 forged, malformed and ignored requests start no execution and each gets its status', async (trigger, seed) => {
		const classes = trigger === 'Telegram' ? telegramClasses() : trigger === 'Slack' ? slackClasses() : twilioClasses();
		const executionsBefore = await gateway.executions();
		const started = Date.now();
		const outcome = await fire(trigger, barrage(classes, REQUESTS_PER_TRIGGER, seed));
		outcomes.push(outcome);
		const seconds = ((Date.now() - started) / 1000).toFixed(1);
		// Time for any execution a request might have started to be saved.
		await new Promise((resolve) => setTimeout(resolve, 2_000));
		const executionsStarted = (await gateway.executions()) - executionsBefore;
		const breakdown = [401, 400, 422, 200].map((status) => `${status}: ${outcome.byStatus[status] ?? 0}`).join(', ');

		recordFigure({
			area: 'Forged input',
			measure: `${trigger}: ${outcome.total} forged/malformed/ignored requests (${CONCURRENCY} in flight, ${seconds} s) → executions started`,
			value: String(executionsStarted),
			bar: '0',
			ok: executionsStarted === 0,
		});
		recordFigure({
			area: 'Forged input',
			measure: `${trigger}: requests answered with their class's status (401 forged, 400 malformed, 422 unparsable JSON, 200 ignored type)`,
			value: `${outcome.matched}/${outcome.total} (${breakdown})`,
			bar: `${outcome.total}/${outcome.total}`,
			ok: outcome.matched === outcome.total,
		});
		const wrong = Object.entries(
			outcome.mismatches.reduce<Record<string, number>>((counts, miss) => {
				const key = `${miss.kind}: expected ${miss.expected}, got ${miss.got}`;
				counts[key] = (counts[key] ?? 0) + 1;
				return counts;
			}, {}),
		);
		expect(wrong).toEqual([]);
		expect(executionsStarted).toBe(0);
	});

	test('nothing reached the platforms or the model, n8n still answers and logged no stack trace', async () => {
		const sent = gateway.repliesSent();
		const replies = sent.telegram.length + sent.slack.length + sent.twilio.length + sent.discord.length;
		const modelCalls = gateway.model.requests().length;
		recordFigure({
			area: 'Forged input',
			measure: `Replies reaching the emulators (messages sent on any channel, model calls) after ${outcomes.length * REQUESTS_PER_TRIGGER} requests`,
			value: `${replies} replies, ${modelCalls} model calls`,
			bar: '0, 0',
			ok: replies === 0 && modelCalls === 0,
		});
		const health = await fetch(`${gateway.n8n.baseUrl}/healthz`).then((response) => response.status, () => -1);
		recordFigure({ area: 'Forged input', measure: 'n8n still answers after the barrage (GET /healthz)', value: String(health), bar: '200', ok: health === 200 });
		const traces = stackTraceLines(gateway.n8n.log);
		recordFigure({ area: 'Forged input', measure: "Stack-trace lines in n8n's log after the barrage", value: String(traces.length), bar: '0', ok: traces.length === 0 });
		expect({ replies, modelCalls, health }).toEqual({ replies: 0, modelCalls: 0, health: 200 });
		expect(traces).toEqual([]);
	});

	test('a genuine message on each trigger is still answered after the barrage', async () => {
		const { telegram, slack, twilio, urls } = gateway;
		const results = await Promise.all([
			telegram.deliver(telegram.textUpdate({ text: 'still there, telegram?' })),
			slack.deliver(urls.slack, slack.dmMessage({ text: 'still there, slack?' })),
			twilio.deliver(urls.twilio, twilio.inboundSms({ body: 'still there, sms?' })),
		]);
		const answered = await Promise.all(
			[
				() => telegram.sentTexts().includes(answerTo('still there, telegram?')),
				() => slack.posted.some((message) => message.text === answerTo('still there, slack?')),
				() => twilio.sent.some((message) => message.body === answerTo('still there, sms?')),
			].map((check) => eventually(() => (check() ? true : undefined), 'the answer', 60_000).catch(() => false)),
		);
		const count = answered.filter(Boolean).length;
		recordFigure({ area: 'Forged input', measure: 'A genuine message per webhook trigger answered after the barrage', value: `${count}/3`, bar: '3/3', ok: count === 3 });
		expect(results.map((result) => result.status)).toEqual([200, 200, 200]);
		expect(count).toBe(3);
	});

	test('the Discord trigger has no inbound endpoint to forge requests to', () => {
		const description = new DiscordTrigger().description;
		const endpoints = description.webhooks?.length ?? 0;
		recordFigure({
			area: 'Forged input',
			measure: 'Discord trigger: inbound HTTP endpoints (it receives over a gateway connection it opens; payloads are covered by fuzzing)',
			value: endpoints === 0 ? 'none' : `${endpoints} webhook(s)`,
			bar: 'no inbound endpoint',
			ok: endpoints === 0,
		});
		expect(endpoints).toBe(0);
	});

	test('no secret in any saved execution or in the log', async () => {
		const { leaks, executionsScanned } = await findSecretLeaks(gateway.n8n, gateway.secrets());
		recordFigure({
			area: 'Secrets',
			measure: `Forged-input run: ${Object.keys(gateway.secrets()).length} secrets searched in every saved execution and n8n's log`,
			value: `${leaks.length} leaks in ${executionsScanned} executions and the log`,
			bar: '0 leaks',
			ok: leaks.length === 0,
		});
		expect(leaks).toEqual([]);
	});
});
