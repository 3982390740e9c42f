/**
 * Issue 21 end to end, in a real n8n 2.40.7 with the package installed the community way: traffic
 * on three channels (Telegram, Slack, Viber through their emulators) through the multi-channel
 * gateway example; then the dashboard example, imported unchanged, serves its page behind Basic
 * Auth to headless Chromium, which must show the totals of that traffic, and its /metrics behind
 * a bearer token to a real Prometheus, whose HTTP API must return the same counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { usd } from '../../nodes/core/insights/dashboard';
import { countPromptTokens, countTokens, OpenAiEmulator, type ChatCompletionBody } from '../emulators/openai';
import { SlackEmulator } from '../emulators/slack';
import { TelegramEmulator } from '../emulators/telegram';
import { ViberEmulator } from '../emulators/viber';
import { eventually, keepOnlyTriggers, loadExampleWorkflow, N8nInstance } from './harness';
import { checkMetricsWithPromtool, PrometheusServer } from './prometheus';

const { launchChromium } = require('../../scripts/playwright.js');

const gateway = keepOnlyTriggers(loadExampleWorkflow('multi-channel-gateway.json'), ['n8n-nodes-clawgate.telegramTrigger', 'n8n-nodes-clawgate.slackTrigger', 'n8n-nodes-clawgate.viberTrigger']);
const dashboard = loadExampleWorkflow('clawgate-dashboard.json');
type Credentials = Record<string, { id: string; name: string }>;
const credentialOf = (workflow: typeof gateway, type: string) =>
	workflow.nodes.map((node) => (node.credentials as Credentials | undefined)?.[type]).find(Boolean) as { id: string; name: string };
const webhookOf = (workflow: typeof gateway, name: string) => workflow.nodes.find((node) => node.name === name)!.webhookId as string;

/** What the model "is" according to the provider: a dated name (priced as gpt-4o-mini) carrying markup that must stay text. */
const HOSTILE_MODEL = 'gpt-4o-mini-2024-07-18<img src=x onerror=alert("model")>';
/** A Viber user ID is whatever Viber sends: this one is markup, and it becomes part of a session ID. */
const HOSTILE_VIBER_ID = 'vb<img src=x onerror=alert("session")>==';

const integer = (value: number) => value.toLocaleString('en-US');

describe('Clawgate Insights in a real n8n: dashboard page in Chromium, /metrics scraped by Prometheus', () => {
	const telegram = new TelegramEmulator();
	const slack = new SlackEmulator();
	const viber = new ViberEmulator();
	const model = new OpenAiEmulator({ snapshots: { 'gpt-4o-mini': HOSTILE_MODEL }, responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	const login = { user: 'ops', password: `dash-${Math.random().toString(36).slice(2)}` };
	const metricsToken = `metrics-${Math.random().toString(36).slice(2)}`;
	const screenshotFolder = mkdtempSync(join(tmpdir(), 'clawgate-dashboard-'));
	let n8n: N8nInstance;
	let prometheus: PrometheusServer | null = null;

	const dashboardUrl = () => `${n8n.baseUrl}/webhook/clawgate-dashboard`;
	const metricsUrl = () => `${n8n.baseUrl}/webhook/metrics`;
	const basic = () => `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}`;

	/** What the traffic below sends, per channel: messages, and how many of them a model answers. */
	const sent = { telegram: { messages: 3, answered: 2 }, slack: { messages: 2, answered: 2 }, viber: { messages: 4, answered: 4 } };
	type Channel = keyof typeof sent;

	/** Tokens the model emulator reported, per channel (read from the system prompt the example sets: "answering on <channel>"). */
	function tokensSent(): Record<Channel, { prompt: number; completion: number }> {
		const tokens = { telegram: { prompt: 0, completion: 0 }, slack: { prompt: 0, completion: 0 }, viber: { prompt: 0, completion: 0 } };
		for (const body of model.bodies() as ChatCompletionBody[]) {
			const channel = /answering on (\w+)/.exec(String(body.messages[0]?.content))?.[1] as Channel;
			tokens[channel].prompt += countPromptTokens(body.messages);
			tokens[channel].completion += countTokens(model.responder(body) as string);
		}
		return tokens;
	}

	beforeAll(async () => {
		await Promise.all([telegram.start(), slack.start(), viber.start(), model.start()]);
		const credentialData: Record<string, Record<string, unknown>> = {
			clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot },
			clawgateSlackApi: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl },
			clawgateViberApi: { authToken: viber.authToken, baseUrl: viber.apiUrl },
			openAiApi: { apiKey: model.apiKey, url: model.baseUrl },
			httpBasicAuth: login,
			httpHeaderAuth: { name: 'Authorization', value: `Bearer ${metricsToken}` },
		};
		const referenced = [gateway, dashboard].flatMap((workflow) => workflow.nodes.flatMap((node) => Object.keys((node.credentials as Credentials | undefined) ?? {}).map((type) => ({ type, workflow }))));
		const unique = new Map(referenced.map(({ type, workflow }) => [type, { ...credentialOf(workflow, type), type, data: credentialData[type] }]));
		n8n = await N8nInstance.start({ credentials: [...unique.values()], workflows: [gateway, dashboard] });
		await Promise.all([
			telegram.waitForCall('setWebhook', undefined, 60_000),
			n8n.waitForWebhooks(['Slack Trigger', 'Viber Trigger'].map((name) => webhookOf(gateway, name))),
			eventually(async () => ((await fetch(metricsUrl())).status !== 404 ? true : undefined), 'the /metrics webhook', 60_000),
		]);

		// The traffic: one conversation per channel, each message answered before the next is sent.
		for (const text of ['hello from telegram', '/help', 'what is the time?']) {
			await telegram.deliver(telegram.textUpdate({ text, chatId: 42 }));
			await telegram.waitForCall('sendMessage', (body) => (text === '/help' ? String(body.text).includes('/help') : body.text === `answer to: ${text}`), 60_000);
		}
		for (const text of ['hi from slack', 'and again']) {
			expect((await slack.deliver(n8n.webhookUrl(webhookOf(gateway, 'Slack Trigger')), slack.dmMessage({ text }))).status).toBe(200);
			await eventually(() => slack.posted.find((message) => message.text === `answer to: ${text}`), 'the Slack answer', 60_000);
		}
		for (const text of ['one', 'two', 'three', 'four']) {
			expect((await viber.deliver(n8n.webhookUrl(webhookOf(gateway, 'Viber Trigger')), viber.text({ id: HOSTILE_VIBER_ID }, `viber ${text}`))).status).toBe(200);
			await eventually(() => (viber.textsTo(HOSTILE_VIBER_ID).includes(`answer to: viber ${text}`) ? true : undefined), 'the Viber answer', 60_000);
		}
	});

	afterAll(async () => {
		await prometheus?.stop();
		await n8n?.stop();
		await Promise.all([telegram.stop(), slack.stop(), viber.stop(), model.stop()]);
		rmSync(screenshotFolder, { recursive: true, force: true });
	});

	test('the dashboard and /metrics answer only with their credentials', async () => {
		for (const headers of [{}, { authorization: `Basic ${Buffer.from(`${login.user}:wrong`).toString('base64')}` }]) {
			const response = await fetch(dashboardUrl(), { headers });
			expect([401, 403]).toContain(response.status);
			expect(await response.text()).not.toContain('Clawgate Operations');
		}
		const refused = await fetch(metricsUrl(), { headers: { authorization: 'Bearer wrong' } });
		expect([401, 403]).toContain(refused.status);
		expect(await refused.text()).not.toContain('clawgate_messages_total');
	});

	test('headless Chromium shows the totals of the traffic sent, with markup from outside shown as text and nothing loaded from elsewhere', async () => {
		const tokens = tokensSent();
		const channels = Object.keys(sent) as Channel[];
		const totalMessages = channels.reduce((sum, channel) => sum + sent[channel].messages, 0);
		const prompt = channels.reduce((sum, channel) => sum + tokens[channel].prompt, 0);
		const completion = channels.reduce((sum, channel) => sum + tokens[channel].completion, 0);
		// Deliveries are recorded when Reply's execution ends, a moment after the platform got the answer.
		await eventually(
			async () => ((await (await fetch(dashboardUrl(), { headers: { authorization: basic() } })).text()).includes(`data-figure="deliveries">${totalMessages}<`) ? true : undefined),
			'every delivery to be on the dashboard',
			30_000,
		);

		const browser = await launchChromium({ log: (line: string) => process.stderr.write(`${line}\n`) });
		try {
			const context = await browser.newContext({ httpCredentials: { username: login.user, password: login.password }, viewport: { width: 1200, height: 900 } });
			const page = await context.newPage();
			const requested: string[] = [];
			const dialogs: string[] = [];
			page.on('request', (request: { url(): string }) => requested.push(request.url()));
			page.on('dialog', (dialog: { message(): string; dismiss(): Promise<void> }) => {
				dialogs.push(dialog.message());
				void dialog.dismiss();
			});
			const response = await page.goto(dashboardUrl(), { waitUntil: 'load' });
			expect(response.status()).toBe(200);
			expect(response.headers()['content-type']).toMatch(/^text\/html/);
			const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();

			expect(await text('[data-figure="messages"]')).toBe(integer(totalMessages));
			expect(await text('[data-figure="tokens"]')).toBe(integer(prompt + completion));
			expect(await text('[data-figure="errors"]')).toBe('0');
			expect(await text('[data-figure="deliveries"]')).toBe(integer(totalMessages));
			// gpt-4o-mini's list price: $0.15 per million prompt tokens, $0.60 per million completion tokens.
			expect(await text('[data-figure="cost"]')).toBe(usd((prompt * 0.15 + completion * 0.6) / 1e6));
			for (const channel of channels) {
				const row = `tr[data-channel="${channel}"]`;
				expect(await text(`${row} td[data-col="messages"]`)).toBe(integer(sent[channel].messages));
				expect(await text(`${row} td[data-col="answered"]`)).toBe(integer(sent[channel].answered));
				expect(await text(`${row} td[data-col="tokens"]`)).toBe(integer(tokens[channel].prompt + tokens[channel].completion));
				expect(await text(`${row} td[data-col="deliveries"]`)).toBe(integer(sent[channel].messages));
				expect(await text(`${row} td[data-col="turnP95"]`)).toMatch(/^\d[\d,.]* (ms|s)$/);
			}
			// The model as the provider named it, markup and all, is one row of text.
			expect(await page.locator('tr[data-model] td:first-child').allTextContents()).toEqual([HOSTILE_MODEL]);
			expect(await text('tr[data-model] td[data-col="answers"]')).toBe(integer(channels.reduce((sum, channel) => sum + sent[channel].answered, 0)));
			// Busiest session first: the Viber conversation (4 messages), its ID shown as the text it is.
			const busiest = await text('table[data-table="sessions"] tbody tr:first-child td[data-col="session"]');
			expect(busiest.startsWith('viber:') && busiest.includes(HOSTILE_VIBER_ID)).toBe(true);
			expect(await text('table[data-table="sessions"] tbody tr:first-child td[data-col="messages"]')).toBe('4');
			expect(await page.locator('svg[data-chart="throughput"] rect').count()).toBe(channels.length);

			expect(await page.locator('img, script, iframe, object').count()).toBe(0);
			expect(dialogs).toEqual([]);
			expect(requested).toEqual([dashboardUrl()]);

			const file = process.env.CLAWGATE_DASHBOARD_SCREENSHOT || join(screenshotFolder, 'dashboard.png');
			await page.screenshot({ path: file, fullPage: true });
		} finally {
			await browser.close();
		}
	});

	test('/metrics is valid exposition (promtool), and a real Prometheus scraping it returns the counts of the traffic', async () => {
		const response = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${metricsToken}` } });
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toMatch(/^text\/plain;(.*;)? ?version=0\.0\.4(;|$)/);
		checkMetricsWithPromtool(await response.text());

		prometheus = await PrometheusServer.start({ address: `127.0.0.1:${n8n.port}`, metricsPath: '/webhook/metrics', bearerToken: metricsToken });
		const server = prometheus;
		const byChannel = (results: Array<{ metric: Record<string, string>; value: number }>) => Object.fromEntries(results.map((result) => [result.metric.channel, result.value]));
		const messages = await eventually(async () => {
			const results = byChannel(await server.query('sum by (channel) (clawgate_messages_total)'));
			return Object.keys(results).length === 3 ? results : undefined;
		}, 'Prometheus to have scraped /metrics', 30_000).catch(async (error: Error) => {
			throw new Error(`${error.message}; targets: ${JSON.stringify(await server.targets())}`);
		});
		expect(messages).toEqual({ telegram: 3, slack: 2, viber: 4 });
		expect(byChannel(await server.query('sum by (channel) (clawgate_messages_total{outcome="command"})'))).toEqual({ telegram: 1 });
		const tokens = tokensSent();
		expect(byChannel(await server.query('sum by (channel) (clawgate_tokens_total{type="prompt"})'))).toEqual({ telegram: tokens.telegram.prompt, slack: tokens.slack.prompt, viber: tokens.viber.prompt });
		expect(byChannel(await server.query('sum by (channel) (clawgate_tokens_total{type="completion"})'))).toEqual({ telegram: tokens.telegram.completion, slack: tokens.slack.completion, viber: tokens.viber.completion });
		expect(byChannel(await server.query('sum by (channel) (clawgate_turn_latency_seconds_count)'))).toEqual({ telegram: 3, slack: 2, viber: 4 });
		expect(byChannel(await server.query('sum by (channel) (clawgate_model_latency_seconds_count)'))).toEqual({ telegram: 2, slack: 2, viber: 4 });
		expect(byChannel(await server.query('sum by (channel) (clawgate_deliveries_total{outcome="sent"})'))).toEqual({ telegram: 3, slack: 2, viber: 4 });
		const [p95] = await server.query('histogram_quantile(0.95, sum by (le) (clawgate_turn_latency_seconds_bucket))');
		expect(p95.value).toBeGreaterThan(0);
		expect((await server.query('clawgate_active_sessions{window="1h"}'))[0].value).toBe(3);
		expect((await server.targets()).map((target) => target.health)).toEqual(['up']);
	});

	test('the dashboard login, the metrics token and the API key appear in no log or saved execution', async () => {
		const runs = await n8n.executions();
		const saved = await Promise.all(runs.slice(0, 20).map((run) => n8n.execution(run.id)));
		const text = `${n8n.log}\n${JSON.stringify(saved)}\n${prometheus?.log ?? ''}`;
		for (const secret of [login.password, metricsToken, model.apiKey]) expect(text).not.toContain(secret);
	});
});
