/**
 * Crashes against a real n8n: the Telegram AI bot example (long polling) and the same bot in
 * Webhook mode each get 500 messages from 50 people at a steady pace; halfway through, n8n is
 * killed with SIGKILL and started again on the same user folder while people keep writing.
 * Then every message's answers are counted at the emulators: duplicates must be 0; losses are
 * reported with their cause.
 *
 * What each mode promises (telegram.polling.ts, AI Session's idempotency ledger):
 * - long polling confirms an update only after its execution ended, so Telegram sends the
 *   unfinished ones again after the crash and AI Session drops those it already answered;
 * - a webhook update is acknowledged (200) as soon as n8n has taken it, before the execution
 *   runs, so Telegram never sends again what n8n took and the crash interrupted.
 */
import { eventually, loadExampleWorkflow, N8nInstance, type WorkflowFixture } from '../e2e/harness';
import { OpenAiEmulator } from '../emulators/openai';
import { TelegramEmulator } from '../emulators/telegram';
import { recordFigure } from './figures';
import { answerTo, RELIABILITY_N8N_ENV } from './gateway-fixture';
import { allExecutions, findSecretLeaks } from './n8n-checks';

const MESSAGES = 500;
const KILL_AFTER = 250;
const PEOPLE = 50;
const PACE_MS = 40;

const example = loadExampleWorkflow('telegram-ai-bot.json');
type Credentials = Record<string, { id: string; name: string }>;
const pollingCredential = (example.nodes[0].credentials as Credentials).clawgateTelegramApi;
const openAiCredential = (example.nodes[1].credentials as Credentials).openAiApi;
const WEBHOOK_CREDENTIAL = { id: 'ClawgateTgHookR1', name: 'Webhook bot' };

/** The example in Webhook mode with another bot: same wiring, its own IDs. */
function webhookVariant(): WorkflowFixture {
	const copy = JSON.parse(JSON.stringify(example)) as WorkflowFixture;
	const suffix = 'Hook';
	copy.id = `${example.id.slice(0, 12)}${suffix}`;
	copy.name = `${example.name} (webhook)`;
	for (const node of copy.nodes) {
		node.id = `${suffix}${String(node.id).slice(suffix.length)}`;
		if (node.webhookId) node.webhookId = `${suffix}${String(node.webhookId).slice(suffix.length)}`;
		const credentials = node.credentials as Credentials;
		if (credentials.clawgateTelegramApi) credentials.clawgateTelegramApi = WEBHOOK_CREDENTIAL;
		if (node.type === 'n8n-nodes-clawgate.telegramTrigger') node.parameters = { mode: 'webhook' };
	}
	return copy;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Tally {
	lost: string[];
	duplicated: string[];
	/** Lost messages the model never saw: n8n took them, the crash ended them before the model call. */
	lostBeforeModel: number;
	/** Lost messages the model answered: the crash came between the answer and sending it. */
	lostAfterModel: number;
}

describe('SIGKILL in the middle of 500 messages: no message answered twice, losses reported', () => {
	const pollingBot = new TelegramEmulator({ username: 'polling_bot' });
	const webhookBot = new TelegramEmulator({ username: 'webhook_bot' });
	const model = new OpenAiEmulator({ responder: (request) => answerTo(String(request.messages.at(-1)?.content)) });
	const webhookWorkflow = webhookVariant();
	let n8n: N8nInstance;

	beforeAll(async () => {
		// Telegram keeps retrying a webhook delivery that failed; the emulator does so every second.
		webhookBot.redeliverAfterMs = 1_000;
		await Promise.all([pollingBot.start(), webhookBot.start(), model.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...pollingCredential, type: 'clawgateTelegramApi', data: { accessToken: pollingBot.token, baseUrl: pollingBot.apiRoot } },
				{ ...WEBHOOK_CREDENTIAL, type: 'clawgateTelegramApi', data: { accessToken: webhookBot.token, baseUrl: webhookBot.apiRoot } },
				{ ...openAiCredential, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [example, webhookWorkflow],
			env: RELIABILITY_N8N_ENV,
		});
		await Promise.all([
			eventually(() => (pollingBot.calls('getUpdates').length > 0 ? true : undefined), 'the first getUpdates', 60_000),
			webhookBot.waitForCall('setWebhook', undefined, 60_000),
		]);
		await n8n.waitForWebhooks([webhookWorkflow.nodes[0].webhookId as string]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([pollingBot.stop(), webhookBot.stop(), model.stop()]);
	});

	function say(bot: TelegramEmulator, text: string, person: number): void {
		const id = 7_000 + person;
		bot.queueUpdate(bot.textUpdate({ text, chatId: id, from: { id, is_bot: false, first_name: `Person ${person}` } }));
	}

	function tally(bot: TelegramEmulator, texts: string[]): Tally {
		const counts = new Map<string, number>();
		for (const text of bot.sentTexts()) counts.set(text, (counts.get(text) ?? 0) + 1);
		const prompted = new Set(model.prompts().map((prompt) => String(prompt.at(-1)?.content)));
		const lost = texts.filter((text) => !counts.has(answerTo(text)));
		return {
			lost,
			duplicated: texts.filter((text) => (counts.get(answerTo(text)) ?? 0) > 1),
			lostBeforeModel: lost.filter((text) => !prompted.has(text)).length,
			lostAfterModel: lost.filter((text) => prompted.has(text)).length,
		};
	}

	test('long polling and webhook: SIGKILL after 250 of 500 messages, restart → 0 duplicates, losses counted', async () => {
		const pollingTexts = Array.from({ length: MESSAGES }, (_, i) => `polling message ${i}`);
		const webhookTexts = Array.from({ length: MESSAGES }, (_, i) => `webhook message ${i}`);
		const started = Date.now();
		let restarted: Promise<void> | null = null;
		let downSeconds = 0;
		for (let i = 0; i < MESSAGES; i++) {
			say(pollingBot, pollingTexts[i], i % PEOPLE);
			say(webhookBot, webhookTexts[i], i % PEOPLE);
			if (i === KILL_AFTER) {
				const killedAt = Date.now();
				restarted = n8n.restart('SIGKILL').then(() => void (downSeconds = (Date.now() - killedAt) / 1000));
			}
			await sleep(PACE_MS);
		}
		await restarted;
		const answeredAtRestart = pollingBot.sentTexts().length + webhookBot.sentTexts().length;

		// Telegram holds what was not taken; wait for both bots to get everything, then for the answers to settle.
		await Promise.all([pollingBot.drained(180_000), webhookBot.drained(180_000)]);
		let last = -1;
		let stableSince = Date.now();
		await eventually(
			async () => {
				const count = pollingBot.sentTexts().length + webhookBot.sentTexts().length;
				if (count !== last) [last, stableSince] = [count, Date.now()];
				if (count < 2 * MESSAGES && Date.now() - stableSince < 15_000) return undefined;
				const running = (await allExecutions(n8n)).filter((run) => ['new', 'running', 'waiting'].includes(run.status));
				return running.length === 0 ? true : undefined;
			},
			'the answers to settle',
			240_000,
		);
		await sleep(3_000);
		const seconds = (Date.now() - started) / 1000;

		// n8n marks the executions the kill interrupted as crashed when it starts again.
		const crashedRuns = (await allExecutions(n8n)).filter((run) => run.status === 'crashed');
		const crashed = `${crashedRuns.filter((run) => run.workflowId === example.id).length} polling, ${crashedRuns.filter((run) => run.workflowId === webhookWorkflow.id).length} webhook`;
		const polling = tally(pollingBot, pollingTexts);
		const webhook = tally(webhookBot, webhookTexts);
		const cause = (result: Tally) =>
			result.lost.length === 0 ? '' : ` (${result.lostBeforeModel} taken by n8n but never reached the model, ${result.lostAfterModel} answered by the model but not sent before the kill)`;
		for (const [mode, result] of [
			['Long polling', polling],
			['Webhook', webhook],
		] as const) {
			recordFigure({
				area: 'Restarts',
				measure: `Telegram ${mode.toLowerCase()}: ${MESSAGES} messages, n8n SIGKILLed after ${KILL_AFTER} and restarted → messages answered twice`,
				value: String(result.duplicated.length),
				bar: '0',
				ok: result.duplicated.length === 0,
			});
			recordFigure({
				area: 'Restarts',
				measure: `Telegram ${mode.toLowerCase()}: same run → messages never answered`,
				value: `${result.lost.length}/${MESSAGES}${cause(result)}`,
				bar: 'reported',
				ok: true,
			});
		}
		recordFigure({
			area: 'Restarts',
			measure: 'Restart run: n8n down (SIGKILL → ready again) / answers sent before it was back / executions the kill interrupted (crashed) / whole run',
			value: `${downSeconds.toFixed(0)} s / ${answeredAtRestart} of ${2 * MESSAGES} / ${crashed} / ${seconds.toFixed(0)} s`,
			bar: 'reported',
			ok: true,
		});
		expect({ polling: polling.duplicated, webhook: webhook.duplicated }).toEqual({ polling: [], webhook: [] });
	});

	test('no secret in any saved execution or in the log', async () => {
		const secrets = {
			'Telegram bot token (polling)': pollingBot.token,
			'Telegram bot token (webhook)': webhookBot.token,
			'Telegram webhook secret token': webhookBot.webhook?.secretToken ?? 'no webhook secret was registered',
			'OpenAI API key': model.apiKey,
		};
		const { leaks, executionsScanned } = await findSecretLeaks(n8n, secrets);
		recordFigure({
			area: 'Secrets',
			measure: `Restart run: ${Object.keys(secrets).length} secrets searched in every saved execution and n8n's log (both runs of n8n)`,
			value: `${leaks.length} leaks in ${executionsScanned} executions and the log`,
			bar: '0 leaks',
			ok: leaks.length === 0,
		});
		expect(leaks).toEqual([]);
	});
});
