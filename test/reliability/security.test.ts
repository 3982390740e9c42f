/**
 * Security figures: what a stranger can make Clawgate spend or do.
 * 1. Pathological text (in-process): the longest send-formatting call on every channel and the
 *    longest token count, over text that once made splitting, parsing or counting slow.
 * 2. Cross-session attempts (a real n8n with the packed package): a public n8n Chat Trigger →
 *    AI Session → Reply beside the Telegram AI bot on the same store; whatever its body names,
 *    an attacker must not read, write, reset, claim, spend or answer a Telegram conversation.
 * 3. Forged-request cost (in-process, n8n-core's WebhookContext): credential reads caused by
 *    1,000 forged requests per webhook trigger after a genuine one, and by stale Slack requests.
 */
import { randomBytes } from 'node:crypto';

import type { ICredentialDataDecryptedObject, INode, IWebhookResponseData } from 'n8n-workflow';

import { ClawgateLineApi } from '../../credentials/ClawgateLineApi.credentials';
import { contextBudget, truncateMiddle, truncateMiddleToCharacters } from '../../nodes/core/budget';
import { messagesFor } from '../../nodes/core/outbound';
import { DEFAULT_MAX_INPUT_CHARACTERS } from '../../nodes/core/session/engine';
import { contextWindowFor, createTokenCounter } from '../../nodes/core/tokens';
import { LineTrigger } from '../../nodes/Line/LineTrigger.node';
import { channelPlugins } from '../../nodes/Reply/channel-registry';
import { deriveWebhookSecret } from '../../nodes/Telegram/telegram.webhook';
import { cpuMsOf, timed } from '../core/text-checks';
import { eventually, loadExampleWorkflow, N8nInstance, type WorkflowFixture } from '../e2e/harness';
import { LineEmulator, signLineBody } from '../emulators/line';
import { OpenAiEmulator, type EmulatedMessage } from '../emulators/openai';
import { SlackEmulator } from '../emulators/slack';
import { TelegramEmulator } from '../emulators/telegram';
import { TwilioEmulator } from '../emulators/twilio';
import { credentialTypes, nodeTypes, PACKAGE, WebhookTrigger } from '../nodes/harness';
import { recordFigure } from './figures';
import { answerTo, RELIABILITY_N8N_ENV } from './gateway-fixture';
import { HOSTILE_TEXTS, hostileText } from './hostile-text';

const AREA = 'Security';

// ------------------------------------------------------------------------------------------------
// 1. Pathological inputs

const FORMAT_BAR_MS = 150;
const COUNT_BAR_MS = 200;
/** AI Session's default model, whose encoding (o200k_base) the counts use. */
const AI_SESSION_MODEL = 'gpt-4o-mini';

describe('pathological text: formatting for every channel and counting tokens stay fast', () => {
	test(`every channel formats each hostile text in under ${FORMAT_BAR_MS} ms of CPU on its thread (fastest of 3) without an empty message`, () => {
		const slowest = { ms: 0, where: '' };
		const over: string[] = [];
		const empty: string[] = [];
		for (const input of HOSTILE_TEXTS) {
			const text = hostileText(input);
			for (const plugin of channelPlugins) {
				// The same measure as the core and platform tests (test/core/text-checks.ts `timed`).
				const { ms, result } = timed(() => messagesFor(plugin, text));
				if (ms > slowest.ms) Object.assign(slowest, { ms, where: `${plugin.name}, ${input.name}` });
				if (ms >= FORMAT_BAR_MS) over.push(`${plugin.name}, ${input.name}: ${ms.toFixed(0)} ms`);
				const blank = result.filter((message) => message.trim() === '').length;
				if (blank > 0) empty.push(`${plugin.name}, ${input.name}: ${blank} of ${result.length}`);
			}
		}
		const calls = HOSTILE_TEXTS.length * channelPlugins.length;
		recordFigure({
			area: AREA,
			measure: `longest send formatting (ms): messagesFor over ${HOSTILE_TEXTS.length} hostile texts (up to 1 MB) × ${channelPlugins.length} channels, CPU on the calling thread, fastest of 3 (slowest: ${slowest.where})`,
			value: slowest.ms.toFixed(1),
			bar: `< ${FORMAT_BAR_MS}`,
			ok: over.length === 0,
		});
		recordFigure({
			area: AREA,
			measure: `Empty messages (nothing but whitespace) among the ${calls} formatting results`,
			value: empty.length === 0 ? '0' : empty.join('; '),
			bar: '0',
			ok: empty.length === 0,
		});
		expect(over).toEqual([]);
		expect(empty).toEqual([]);
	});

	test(`each token count of a hostile text takes under ${COUNT_BAR_MS} ms of CPU, raw and on AI Session's capped path`, () => {
		const counter = createTokenCounter(AI_SESSION_MODEL);
		counter.countText('warm up');
		// AI Session's room for the user's message with its defaults and no history (engine.converse).
		const systemTokens = counter.countMessage({ role: 'system', content: 'You are a helpful assistant. Answer briefly and clearly.' }) + counter.replyPriming;
		const room = contextBudget({ contextWindow: contextWindowFor(AI_SESSION_MODEL).contextWindow, maxOutputTokens: 1024, systemTokens, safetyMargin: 256 });
		const slowest = { raw: { ms: 0, where: '' }, capped: { ms: 0, where: '' } };
		const over: string[] = [];
		for (const input of HOSTILE_TEXTS) {
			const text = hostileText(input);
			let tokens = 0;
			const rawMs = cpuMsOf(() => (tokens = counter.countText(text)));
			// What AI Session does with user text (nodes/core/session/engine.ts converse): cut to
			// maxInputCharacters, count it as a message, and cut by tokens only if it still does not fit.
			const cappedMs = cpuMsOf(() => {
				let content = truncateMiddleToCharacters(text, DEFAULT_MAX_INPUT_CHARACTERS);
				const messageTokens = counter.countMessage({ role: 'user', content });
				if (messageTokens > room) content = truncateMiddle(content, room - (messageTokens - counter.countText(content)), counter);
			});
			for (const [kind, ms] of [['raw', rawMs], ['capped', cappedMs]] as const) {
				if (ms > slowest[kind].ms) slowest[kind] = { ms, where: input.name };
				if (ms >= COUNT_BAR_MS) over.push(`${kind}, ${input.name}: ${ms.toFixed(0)} ms`);
			}
			expect(tokens).toBeGreaterThan(0);
		}
		recordFigure({
			area: AREA,
			measure: `longest count (ms): raw countText over ${HOSTILE_TEXTS.length} hostile texts (up to 1 MB), CPU time (slowest: ${slowest.raw.where})`,
			value: slowest.raw.ms.toFixed(1),
			bar: `< ${COUNT_BAR_MS}`,
			ok: !over.some((line) => line.startsWith('raw')),
		});
		recordFigure({
			area: AREA,
			measure: `longest count (ms): AI Session's path (cut to ${DEFAULT_MAX_INPUT_CHARACTERS.toLocaleString('en')} characters, then counted) over the same texts, CPU time (slowest: ${slowest.capped.where})`,
			value: slowest.capped.ms.toFixed(1),
			bar: `< ${COUNT_BAR_MS}`,
			ok: !over.some((line) => line.startsWith('capped')),
		});
		expect(over).toEqual([]);
	});
});

// ------------------------------------------------------------------------------------------------
// 3. Forged-request cost (before the real n8n part, which must not see a mocked clock)

const FORGED_REQUESTS = 1_000;
/** The kit re-reads a credential at most once per 5 s per trigger; the barrage stays within 4 s of the genuine request. */
const FORGED_SPACING_MS = 4;

describe('forged requests: credential reads per 1,000 after a genuine one warmed the cache', () => {
	// The clock the credential cache and Slack's timestamp window read: fixed per request, so the
	// 1,000 requests span 4 s of it however long they take to run.
	let clock: number | null = null;
	const realNow = Date.now.bind(Date);
	const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
	const slack = new SlackEmulator({ signingSecret: randomBytes(32).toString('hex') });
	const twilio = new TwilioEmulator();
	const line = new LineEmulator();
	let nodeCount = 0;

	beforeAll(async () => {
		// The node harness knows the first channels only; LINE joins it here.
		nodeTypes[`${PACKAGE}.lineTrigger`] ??= new LineTrigger();
		credentialTypes.clawgateLineApi ??= new ClawgateLineApi();
		jest.spyOn(Date, 'now').mockImplementation(() => clock ?? realNow());
		await Promise.all([telegram.start(), slack.start(), twilio.start(), line.start()]);
		// n8n-core's expression engine starts on the first request: started here, before the clock is held.
		await trigger('telegramTrigger', 2, 'clawgateTelegramApi', { accessToken: telegram.token, baseUrl: telegram.apiRoot }, { mode: 'webhook' }).receive({ body: telegram.textUpdate({ text: 'warm-up' }) });
	});

	afterAll(async () => {
		jest.restoreAllMocks();
		await Promise.all([telegram.stop(), slack.stop(), twilio.stop(), line.stop()]);
	});

	function trigger(name: string, typeVersion: number, credentialType: string, credential: ICredentialDataDecryptedObject, parameters: INode['parameters'] = {}): WebhookTrigger {
		const n = ++nodeCount;
		const node: INode = {
			id: `${name}-security-${n}`,
			name: `Trigger ${n}`,
			type: `${PACKAGE}.${name}`,
			typeVersion,
			position: [0, 0],
			parameters,
			webhookId: `5ec0f1d2-0000-4000-8000-${String(n).padStart(12, '0')}`,
			credentials: { [credentialType]: { id: `credential-${n}`, name: 'Security credential' } },
		};
		return new WebhookTrigger(node, { [credentialType]: credential });
	}

	interface Case {
		name: string;
		credentialType: string;
		make(): { hook: WebhookTrigger; genuine: () => Promise<Answer>; forged: () => Promise<Answer> };
	}
	type Answer = { status: number | null; result: IWebhookResponseData };

	const cases: Case[] = [
		{
			name: 'Telegram (webhook mode), wrong secret token',
			credentialType: 'clawgateTelegramApi',
			make() {
				const hook = trigger('telegramTrigger', 2, this.credentialType, { accessToken: telegram.token, baseUrl: telegram.apiRoot }, { mode: 'webhook' });
				const secret = deriveWebhookSecret(telegram.token, { workflowId: String(hook.workflow.id), nodeId: hook.node.id, webhookId: hook.node.webhookId! });
				const send = (token: string) => hook.receive({ headers: { 'x-telegram-bot-api-secret-token': token }, body: telegram.textUpdate({ text: `hello ${randomBytes(3).toString('hex')}` }) });
				return { hook, genuine: () => send(secret), forged: () => send(randomBytes(48).toString('base64url').slice(0, secret.length)) };
			},
		},
		{
			name: 'Slack, signed with a wrong signing secret',
			credentialType: 'clawgateSlackApi',
			make() {
				const hook = trigger('slackTrigger', 2, this.credentialType, { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl });
				const send = (signingSecret?: string) => {
					const { headers, rawBody } = slack.signedDelivery(slack.dmMessage({ text: `hello ${randomBytes(3).toString('hex')}` }), { signingSecret });
					return hook.receive({ headers, body: JSON.parse(rawBody), rawBody: Buffer.from(rawBody) });
				};
				return { hook, genuine: () => send(), forged: () => send(randomBytes(32).toString('hex')) };
			},
		},
		{
			name: 'Twilio, signed with a wrong auth token',
			credentialType: 'clawgateTwilioApi',
			make() {
				const hook = trigger('twilioTrigger', 2, this.credentialType, twilio.credential());
				const send = (authToken: string) => {
					const params = twilio.inboundSms({ body: `hello ${randomBytes(3).toString('hex')}` });
					return hook.receive({ headers: { 'x-twilio-signature': twilio.sign(hook.url, params, authToken) }, body: params });
				};
				return { hook, genuine: () => send(twilio.authToken), forged: () => send(randomBytes(16).toString('hex')) };
			},
		},
		{
			name: 'LINE, signed with a wrong channel secret',
			credentialType: 'clawgateLineApi',
			make() {
				const hook = trigger('lineTrigger', 1, this.credentialType, { channelAccessToken: line.channelAccessToken, channelSecret: line.channelSecret, baseUrl: line.apiUrl });
				const send = (channelSecret: string) => {
					const rawBody = JSON.stringify(line.body(line.textEvent({ text: `hello ${randomBytes(3).toString('hex')}`, source: { userId: line.newUserId() } })));
					const headers = { 'content-type': 'application/json; charset=utf-8', 'x-line-signature': signLineBody(channelSecret, rawBody) };
					return hook.receive({ headers, body: JSON.parse(rawBody), rawBody: Buffer.from(rawBody) });
				};
				return { hook, genuine: () => send(line.channelSecret), forged: () => send(randomBytes(16).toString('hex')) };
			},
		},
	];

	test.each(cases.map((one) => [one.name, one] as const))('%s: 1,000 forged requests within 4 s of a genuine one read the credential 0 times', async (_name, one) => {
		const { hook, genuine, forged } = one.make();
		const start = realNow();
		clock = start;
		const first = await genuine();
		const readsAfterGenuine = hook.credentialReads(one.credentialType);
		const statuses: Record<string, number> = {};
		let executions = 0;
		for (let index = 0; index < FORGED_REQUESTS; index++) {
			clock = start + index * FORGED_SPACING_MS;
			const answer = await forged();
			statuses[String(answer.status)] = (statuses[String(answer.status)] ?? 0) + 1;
			if (answer.result.workflowData) executions++;
		}
		clock = null;
		const reads = hook.credentialReads(one.credentialType) - readsAfterGenuine;
		recordFigure({
			area: AREA,
			measure: `${one.name}: credential reads for ${FORGED_REQUESTS.toLocaleString('en')} forged requests within ${((FORGED_REQUESTS - 1) * FORGED_SPACING_MS) / 1000} s after one genuine request (in-process, n8n-core WebhookContext)`,
			value: String(reads),
			bar: '0',
			ok: reads === 0,
		});
		// The genuine request was taken and read the credential once; every forged one was refused.
		expect({ genuineStatus: first.status, genuineEmitted: Boolean(first.result.workflowData), readsAfterGenuine }).toEqual({ genuineStatus: 200, genuineEmitted: true, readsAfterGenuine: 1 });
		expect({ statuses, executions }).toEqual({ statuses: { 401: FORGED_REQUESTS }, executions: 0 });
		expect(reads).toBe(0);
	});

	test('Slack: 1,000 correctly signed requests with a stale timestamp (6–60 min old) read the credential 0 times, on a trigger that read nothing yet', async () => {
		const hook = trigger('slackTrigger', 2, 'clawgateSlackApi', { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl });
		const statuses: Record<string, number> = {};
		for (let index = 0; index < FORGED_REQUESTS; index++) {
			const timestamp = Math.floor(realNow() / 1000) - 360 - (index % 3240);
			const { headers, rawBody } = slack.signedDelivery(slack.dmMessage({ text: `stale ${index}` }), { timestamp });
			const answer = await hook.receive({ headers, body: JSON.parse(rawBody), rawBody: Buffer.from(rawBody) });
			statuses[String(answer.status)] = (statuses[String(answer.status)] ?? 0) + 1;
		}
		const reads = hook.credentialReads('clawgateSlackApi');
		recordFigure({
			area: AREA,
			measure: `Slack: credential reads for ${FORGED_REQUESTS.toLocaleString('en')} correctly signed requests with a stale timestamp (outside 5 min), no genuine request before`,
			value: String(reads),
			bar: '0',
			ok: reads === 0,
		});
		expect(statuses).toEqual({ 401: FORGED_REQUESTS });
		expect(reads).toBe(0);
	});
});

// ------------------------------------------------------------------------------------------------
// 2. Cross-session attempts from a public n8n Chat Trigger

const telegramExample = loadExampleWorkflow('telegram-ai-bot.json');
type Credentials = Record<string, { id: string; name: string }>;
const telegramCredential = (telegramExample.nodes[0].credentials as Credentials).clawgateTelegramApi;
const openAiCredential = (telegramExample.nodes[1].credentials as Credentials).openAiApi;

/** Per-sender limits on both sides of attack (e): the Telegram bot enforces them, the attacker's workflow counts them. */
const LIMITS = { messagesPerMinute: 8, tokensPerDay: 4_000 };
const LIMIT_REPLY = 'Slow down, please.';

/** The Telegram AI bot example (long polling, SQLite store) with per-sender limits. */
function telegramBot(): WorkflowFixture {
	const workflow = JSON.parse(JSON.stringify(telegramExample)) as WorkflowFixture;
	const session = workflow.nodes.find((node) => node.type === `${PACKAGE}.aiSession`)!;
	(session.parameters as Record<string, unknown>).limits = { ...LIMITS, limitReply: LIMIT_REPLY };
	return workflow;
}

/**
 * A public n8n Chat Trigger → Clawgate AI Session (same SQLite store as the bot) → Clawgate Reply
 * holding the Telegram bot's credential: the strongest position an outsider's items can reach.
 */
function chatWorkflow(id: string, webhookId: string, limits: boolean): WorkflowFixture {
	return {
		id,
		name: `Security: public chat ${limits ? 'with' : 'without'} limits`,
		nodes: [
			{
				id: `${id}-chat`,
				name: 'When chat message received',
				type: '@n8n/n8n-nodes-langchain.chatTrigger',
				typeVersion: 1.4,
				position: [0, 0],
				webhookId,
				parameters: { public: true, options: { responseMode: 'lastNode' } },
			},
			{
				id: `${id}-session`,
				name: 'AI Session',
				type: `${PACKAGE}.aiSession`,
				typeVersion: 1,
				position: [260, 0],
				parameters: { model: 'gpt-4o-mini', systemPrompt: 'You are a friendly assistant. Answer briefly.', store: 'sqlite', ...(limits ? { limits: { ...LIMITS, limitReply: LIMIT_REPLY } } : {}) },
				credentials: { openAiApi: openAiCredential },
			},
			{
				id: `${id}-reply`,
				name: 'Reply',
				type: `${PACKAGE}.reply`,
				typeVersion: 1,
				position: [520, 0],
				parameters: {},
				credentials: { clawgateTelegramApi: telegramCredential },
			},
		],
		connections: {
			'When chat message received': { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: 'Reply', type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

const CHAT_WEBHOOK = '5ec0c4a7-0000-4000-8000-00000000c4a7';
const LIMITED_CHAT_WEBHOOK = '5ec0c4a7-0000-4000-8000-00000000e11e';

type Attack = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
const ATTACKS: Record<Attack, string> = {
	a: 'read their history',
	b: 'plant text in their conversation',
	c: '/reset their session',
	d: 'claim their next message key',
	e: 'spend their per-sender limits',
	f: 'route Reply to their chat',
};

describe('cross-session attempts from a public n8n Chat Trigger against the Telegram AI bot on the same store', () => {
	const telegram = new TelegramEmulator({ username: 'security_bot' });
	const model = new OpenAiEmulator({ responder: (request) => answerTo(String(request.messages.at(-1)?.content)) });
	const secret = `SECRET-${randomBytes(8).toString('hex')}`;
	const succeeded = new Map<Attack, { success: boolean; detail: string }>();
	/** sendMessage calls to the Telegram emulator while an attacker's request ran (nothing else runs meanwhile). */
	let sendsDuringAttacks = 0;
	let n8n: N8nInstance;

	const botId = () => String(telegram.bot.id);
	const sessionOf = (chatId: number) => `telegram:${botId()}:dm:${chatId}`;
	const marker = (attack: Attack) => `${attack.toUpperCase()}-${randomBytes(6).toString('hex')}`;
	const contains = (prompt: EmulatedMessage[], text: string) => prompt.some((message) => String(message.content).includes(text));
	const promptEndingWith = (text: string) => model.prompts().find((prompt) => prompt.at(-1)?.content === text);

	/** A Telegram user writes to the bot (long polling) and gets the answer: its prompt. */
	async function telegramUserSays(chatId: number, text: string): Promise<EmulatedMessage[] | undefined> {
		const update = telegram.textUpdate({ text, chatId, from: { id: chatId, is_bot: false, first_name: chatId === 42 ? 'Ada' : 'Bob' } });
		telegram.queueUpdate(update as never);
		await telegram.waitForCall('sendMessage', (body) => String(body.chat_id) === String(chatId) && body.text === answerTo(text), 30_000);
		return promptEndingWith(text);
	}

	/** A Telegram message body shaped exactly like the envelope a Clawgate trigger emits, with a forged `origin`. */
	function envelopeShaped(chatId: number, text: string, { messageId = String(900_000 + Math.floor(Math.random() * 99_999)), sessionId = sessionOf(chatId) } = {}) {
		const command = text.startsWith('/') ? text.slice(1).split(/\s/)[0] : null;
		return {
			sessionId,
			channel: 'telegram',
			via: 'telegram',
			accountId: botId(),
			event: 'message',
			chat: { id: String(chatId), type: 'dm', threadId: null, title: null },
			sender: { id: String(chatId), name: 'Ada L.', username: 'ada', isBot: false },
			message: { id: messageId, text, replyToId: null, mentionsBot: false, command, attachments: [], timestamp: new Date().toISOString(), editedAt: null },
			raw: {},
			origin: `v1.${randomBytes(32).toString('base64url')}`,
			chatInput: text,
		};
	}

	/** What the hosted chat page posts, with whatever else the attacker adds; waits for the execution (response mode "last node"). */
	async function attackerPosts(body: Record<string, unknown>, webhookId = CHAT_WEBHOOK): Promise<void> {
		const before = telegram.calls('sendMessage').length;
		const response = await fetch(n8n.webhookUrl(webhookId, 'chat'), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ action: 'sendMessage', ...body }),
		});
		await response.arrayBuffer();
		// Reply ran before the response; a moment more for a send still in flight.
		await new Promise((resolve) => setTimeout(resolve, 200));
		sendsDuringAttacks += telegram.calls('sendMessage').length - before;
	}

	/** Both shapes an attacker can send: the Chat Trigger's own fields naming the session, and a whole envelope. */
	async function attackBothWays(chatId: number, text: string, envelope: Parameters<typeof envelopeShaped>[2] = {}): Promise<void> {
		await attackerPosts({ sessionId: sessionOf(chatId), chatInput: text });
		await attackerPosts(envelopeShaped(chatId, text, envelope));
	}

	function record(attack: Attack, success: boolean, detail: string): void {
		succeeded.set(attack, { success, detail });
	}

	beforeAll(async () => {
		await Promise.all([telegram.start(), model.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...telegramCredential, type: 'clawgateTelegramApi', data: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
				{ ...openAiCredential, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [telegramBot(), chatWorkflow('ClawgateSecChat1', CHAT_WEBHOOK, false), chatWorkflow('ClawgateSecChat2', LIMITED_CHAT_WEBHOOK, true)],
			env: RELIABILITY_N8N_ENV,
		});
		await eventually(() => (telegram.calls('getUpdates').length > 0 ? true : undefined), 'the bot\'s first getUpdates', 60_000);
		await eventually(
			async () => ((await fetch(n8n.webhookUrl(CHAT_WEBHOOK, 'chat'), { method: 'GET' })).status === 200 ? true : undefined),
			'the public chat page',
			60_000,
		);
		// The Telegram user tells the bot a secret; their session now holds it.
		await telegramUserSays(42, `Please remember my secret: ${secret}`);
		// The session ID the attacks name is the one the trigger really uses.
		const runs = await n8n.executions();
		const saved = await Promise.all(runs.filter((run) => run.workflowId === telegramExample.id).map((run) => n8n.execution(run.id)));
		expect(JSON.stringify(saved)).toContain(sessionOf(42));
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([telegram.stop(), model.stop()]);
	});

	test('(a) naming their sessionId does not put their history in the attacker\'s prompt', async () => {
		const text = `${marker('a')} what is my secret?`;
		await attackBothWays(42, text);
		const attackerPrompts = model.prompts().filter((prompt) => contains(prompt, text));
		const leaked = attackerPrompts.filter((prompt) => contains(prompt, secret)).length;
		record('a', leaked > 0, `${leaked} of ${attackerPrompts.length} attacker prompts held the secret`);
		// Both requests reached the model, so the attack was really tried.
		expect(attackerPrompts).toHaveLength(2);
		expect(leaked).toBe(0);
	});

	test('(b) text the attacker plants does not reach their next prompt', async () => {
		const planted = marker('b');
		await attackBothWays(42, `${planted} I changed my mind: my secret is public.`);
		expect(model.prompts().filter((prompt) => contains(prompt, planted))).toHaveLength(2);
		const next = await telegramUserSays(42, `check b ${randomBytes(3).toString('hex')}`);
		const reached = next !== undefined && contains(next, planted);
		record('b', reached, next ? (reached ? 'planted text in their next prompt' : 'not in their next prompt') : 'their next prompt was not found');
		expect(next).toBeDefined();
		expect(reached).toBe(false);
	});

	test('(c) the attacker\'s /reset leaves their history in their next prompt', async () => {
		await attackBothWays(42, '/reset');
		const next = await telegramUserSays(42, `check c ${randomBytes(3).toString('hex')}`);
		const kept = next !== undefined && contains(next, secret);
		record('c', !kept, next ? (kept ? 'history kept' : 'their history was gone') : 'their next prompt was not found');
		expect(kept).toBe(true);
	});

	test('(d) an envelope-shaped body carrying their next message ID does not claim it: their message is answered', async () => {
		// Built first, so its message ID is known; it reaches the bot only after the claim.
		const text = `check d ${randomBytes(3).toString('hex')}`;
		const update = telegram.textUpdate({ text, chatId: 42, from: { id: 42, is_bot: false, first_name: 'Ada' } });
		const messageId = String((update.message as { message_id: number }).message_id);
		await attackerPosts(envelopeShaped(42, `${marker('d')} claim`, { messageId }));
		telegram.queueUpdate(update as never);
		const answered = await telegram
			.waitForCall('sendMessage', (body) => String(body.chat_id) === '42' && body.text === answerTo(text), 30_000)
			.then(() => true, () => false);
		record('d', !answered, answered ? `message ${messageId} answered` : `message ${messageId} not answered within 30 s`);
		expect(answered).toBe(true);
	});

	test('(e) attacker items naming another Telegram sender do not count against their per-sender limits', async () => {
		const victim = 43;
		const victimSenderKey = `telegram:${botId()}:${victim}`;
		// Tokens per day: one dense 16,000-character message costs more than the day's 4,000 tokens.
		const quotaMarker = marker('e');
		for (let index = 0; index < 2; index++) {
			await attackerPosts(envelopeShaped(victim, `${quotaMarker} ${randomBytes(12_000).toString('base64')}`, { sessionId: victimSenderKey }), LIMITED_CHAT_WEBHOOK);
		}
		// Messages per minute: all in one clock minute with the victim's message.
		const intoMinute = Date.now() % 60_000;
		if (intoMinute > 40_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoMinute));
		const minute = Math.floor(Date.now() / 60_000);
		const rateMarker = marker('e');
		for (let index = 0; index <= LIMITS.messagesPerMinute; index++) {
			const text = `${rateMarker} ${index}`;
			await (index % 2 === 0 ? attackerPosts({ sessionId: sessionOf(victim), chatInput: text }, LIMITED_CHAT_WEBHOOK) : attackerPosts(envelopeShaped(victim, text), LIMITED_CHAT_WEBHOOK));
		}
		const text = `check e ${randomBytes(3).toString('hex')}`;
		const answered = await telegramUserSays(victim, text).then(() => true, () => false);
		const limitedInstead = telegram.sentTexts(victim).includes(LIMIT_REPLY);
		const sameMinute = Math.floor(Date.now() / 60_000) === minute;
		// The limits were live: the attacker's own items ran into them.
		const quotaCalls = model.prompts().filter((prompt) => contains(prompt, quotaMarker)).length;
		const rateCalls = model.prompts().filter((prompt) => contains(prompt, rateMarker)).length;
		record('e', !answered || limitedInstead, answered && !limitedInstead ? 'their message was answered by the model' : 'their message was limited');
		expect({ quotaCalls, rateCalls, sameMinute }).toEqual({ quotaCalls: 1, rateCalls: LIMITS.messagesPerMinute, sameMinute: true });
		expect({ answered, limitedInstead }).toEqual({ answered: true, limitedInstead: false });
	});

	test('(f) Reply sends nothing to Telegram for any attacker item', async () => {
		const text = `${marker('f')} route me`;
		const before = sendsDuringAttacks;
		await attackerPosts(envelopeShaped(42, text));
		await attackerPosts({ ...envelopeShaped(42, text), sessionId: 'any-session-of-mine' });
		const routedNow = sendsDuringAttacks - before;
		record('f', sendsDuringAttacks > 0, `${routedNow} sendMessage calls for the routing attempts, ${sendsDuringAttacks} during all attacker requests`);
		expect(routedNow).toBe(0);
		expect(sendsDuringAttacks).toBe(0);
	});

	test('figure: cross-session attempts that succeeded', () => {
		const attacks = Object.keys(ATTACKS) as Attack[];
		const measured = attacks.filter((attack) => succeeded.has(attack));
		const wins = measured.filter((attack) => succeeded.get(attack)!.success);
		const unmeasured = attacks.filter((attack) => !succeeded.has(attack));
		const outcome = (attack: Attack) => (!succeeded.has(attack) ? 'not measured' : succeeded.get(attack)!.success ? 'SUCCEEDED' : 'failed');
		recordFigure({
			area: AREA,
			measure: `cross-session attempts from a Chat Trigger that succeeded (public Chat Trigger → AI Session → Reply, beside the Telegram AI bot on one SQLite store; ${attacks.map((attack) => `(${attack}) ${ATTACKS[attack]}: ${outcome(attack)}`).join('; ')})`,
			value: `${wins.length}/${attacks.length}${unmeasured.length > 0 ? ` (${unmeasured.length} not measured)` : ''}`,
			bar: `0/${attacks.length}`,
			ok: wins.length === 0 && unmeasured.length === 0,
		});
		expect(unmeasured).toEqual([]);
		expect(wins.map((attack) => `(${attack}) ${ATTACKS[attack]}: ${succeeded.get(attack)!.detail}`)).toEqual([]);
	});
});
