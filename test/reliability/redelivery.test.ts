/**
 * Redelivery against a real n8n: 1,000 deliveries to the multi-channel gateway (Telegram webhook,
 * Slack Events, Twilio), 30 % of them repeats of an earlier one, the way each platform repeats:
 * Telegram POSTs the same update (same update_id) again when it saw no 2xx in time, Slack resends
 * the event (same event_id) with X-Slack-Retry-Num, Twilio the same MessageSid. Repeats come at
 * the same moment as the original, within half a second, or seconds later. Every message must be
 * answered exactly once: replies (counted at the emulators) = unique messages.
 */
import { eventually } from '../e2e/harness';
import { recordFigure } from './figures';
import { seededRandom } from '../fixtures/seeded-random';
import { answerTo, GatewayFixture, gatewayExample, withConcurrency } from './gateway-fixture';
import { allExecutions, findSecretLeaks } from './n8n-checks';

const DELIVERIES = 1_000;
const DUPLICATE_SHARE = 0.3;
const CONCURRENCY = 20;
const CHATS_PER_CHANNEL = 25;

type Channel = 'telegram' | 'slack' | 'twilio';
type Timing = 'concurrently' | 'within 0.5 s' | '1–8 s later';
const TIMINGS: Timing[] = ['concurrently', 'within 0.5 s', '1–8 s later'];

interface Message {
	channel: Channel;
	text: string;
	/** Sends the original delivery; `redeliver(n)` sends the n-th repeat of exactly the same one. */
	deliver(): Promise<number>;
	redeliver(attempt: number): Promise<number>;
	repeats: Timing[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// About a minute alone; the room is for a loaded machine (beside another n8n it took over ten).
jest.setTimeout(15 * 60_000);

describe('redelivery against a real n8n: 1,000 deliveries with 30 % repeats are answered once per message', () => {
	const gateway = new GatewayFixture();
	const random = seededRandom(8);

	beforeAll(async () => {
		await gateway.start();
	});

	afterAll(async () => {
		await gateway.stop();
	});

	function message(channel: Channel, index: number): Message {
		const { telegram, slack, twilio, urls } = gateway;
		const chat = index % CHATS_PER_CHANNEL;
		const text = `${channel} message ${index}`;
		switch (channel) {
			case 'telegram': {
				const update = telegram.textUpdate({ text, chatId: 5_000 + chat, from: { id: 5_000 + chat, is_bot: false, first_name: `Person ${chat}` } });
				const send = () => telegram.deliver(update).then((result) => result.status);
				return { channel, text, deliver: send, redeliver: send, repeats: [] };
			}
			case 'slack': {
				const payload = slack.dmMessage({ text, user: `U0PERSON${chat}`, channel: `D0CHAT${chat}` });
				return {
					channel,
					text,
					deliver: () => slack.deliver(urls.slack, payload).then((result) => result.status),
					// Slack signs every attempt afresh (new timestamp) and numbers its retries.
					redeliver: (attempt) => slack.deliver(urls.slack, payload, { retryNum: attempt, retryReason: 'http_timeout' }).then((result) => result.status),
					repeats: [],
				};
			}
			case 'twilio': {
				const from = `+1555010${String(chat).padStart(4, '0')}`;
				const params = index % 2 === 0 ? twilio.inboundSms({ from, body: text }) : twilio.inboundWhatsApp({ from, body: text });
				const send = () => twilio.deliver(urls.twilio, params).then((result) => result.status);
				return { channel, text, deliver: send, redeliver: send, repeats: [] };
			}
		}
	}

	test('replies sent = unique messages: none unanswered, none answered twice', async () => {
		const channels: Channel[] = ['telegram', 'slack', 'twilio'];
		const unique = Math.round(DELIVERIES * (1 - DUPLICATE_SHARE));
		const messages = Array.from({ length: unique }, (_, index) => message(channels[index % channels.length], index));
		for (let i = 0; i < DELIVERIES - unique; i++) {
			messages[Math.floor(random() * messages.length)].repeats.push(TIMINGS[Math.floor(random() * TIMINGS.length)]);
		}

		const statuses: number[] = [];
		const late: Array<Promise<void>> = [];
		const started = Date.now();
		await withConcurrency(
			CONCURRENCY,
			messages.map((one) => async () => {
				const attempts = one.repeats.map((timing, index) => ({ timing, attempt: index + 1 }));
				const now = attempts.filter(({ timing }) => timing === 'concurrently').map(({ attempt }) => one.redeliver(attempt));
				statuses.push(...(await Promise.all([one.deliver(), ...now])));
				for (const { timing, attempt } of attempts.filter(({ timing }) => timing !== 'concurrently')) {
					const delay = timing === 'within 0.5 s' ? random() * 500 : 1_000 + random() * 7_000;
					late.push(sleep(delay).then(async () => void statuses.push(await one.redeliver(attempt))));
				}
			}),
		);
		await Promise.all(late);
		const sendSeconds = (Date.now() - started) / 1000;

		// Wait until every message is answered, or the answers stop coming.
		const expected = new Map(messages.map((one) => [answerTo(one.text), one]));
		const answers = () => {
			const sent = gateway.repliesSent();
			return [...sent.telegram, ...sent.slack, ...sent.twilio].filter((text) => expected.has(text));
		};
		let last = -1;
		let stableSince = Date.now();
		await eventually(
			async () => {
				const count = answers().length;
				if (count !== last) [last, stableSince] = [count, Date.now()];
				if (count < unique && Date.now() - stableSince < 20_000) return undefined;
				const running = (await allExecutions(gateway.n8n)).filter((run) => ['new', 'running', 'waiting'].includes(run.status));
				return running.length === 0 ? true : undefined;
			},
			'every message to be answered, or the answers to stop coming',
			10 * 60_000,
		);
		// Time for a late second answer to show up.
		await sleep(3_000);
		const totalSeconds = (Date.now() - started) / 1000;

		const counts = new Map<string, number>();
		for (const text of answers()) counts.set(text, (counts.get(text) ?? 0) + 1);
		const unanswered = messages.filter((one) => !counts.has(answerTo(one.text)));
		const twice = messages.filter((one) => (counts.get(answerTo(one.text)) ?? 0) > 1);
		const replies = answers().length;
		const repeats = messages.flatMap((one) => one.repeats);
		const byTiming = TIMINGS.map((timing) => `${repeats.filter((one) => one === timing).length} ${timing}`).join(', ');
		const perChannel = channels
			.map((channel) => {
				const ofChannel = messages.filter((one) => one.channel === channel);
				const answered = ofChannel.reduce((sum, one) => sum + (counts.get(answerTo(one.text)) ?? 0), 0);
				return `${channel} ${answered}/${ofChannel.length}`;
			})
			.join(', ');
		const modelCalls = gateway.model.requests().length;
		const executions = (await allExecutions(gateway.n8n)).filter((run) => run.workflowId === gatewayExample.id).length;
		const refused = statuses.filter((status) => status !== 200).length;
		// Every repeat is dropped by the trigger's redelivery check (Slack event_id, Twilio MessageSid,
		// Telegram update_id); AI Session's message keys stay the backstop across n8n processes.

		recordFigure({
			area: 'Redelivery',
			measure: `${statuses.length} deliveries (${unique} unique messages + ${repeats.length} repeats: ${byTiming}) over Telegram webhook, Slack and Twilio → replies sent`,
			value: `${replies} (${perChannel})`,
			bar: `${unique} (= unique messages)`,
			ok: replies === unique,
		});
		recordFigure({
			area: 'Redelivery',
			measure: 'Messages unanswered / answered more than once',
			value: `${unanswered.length} / ${twice.length}`,
			bar: '0 / 0',
			ok: unanswered.length === 0 && twice.length === 0,
		});
		recordFigure({
			area: 'Redelivery',
			measure: 'Model calls / executions started (every repeat stops at the trigger) / deliveries not answered 200',
			value: `${modelCalls} / ${executions} / ${refused}`,
			bar: `${unique} / ${unique} (= unique messages) / 0`,
			ok: modelCalls === unique && executions === unique && refused === 0,
		});
		recordFigure({
			area: 'Redelivery',
			measure: `Time: deliveries sent (${CONCURRENCY} in flight) / all answered`,
			value: `${sendSeconds.toFixed(0)} s / ${totalSeconds.toFixed(0)} s`,
			bar: 'reported',
			ok: true,
		});
		expect({ unanswered: unanswered.map((one) => one.text), twice: twice.map((one) => one.text) }).toEqual({ unanswered: [], twice: [] });
		expect(replies).toBe(unique);
		expect({ modelCalls, executions, refused }).toEqual({ modelCalls: unique, executions: unique, refused: 0 });
	});

	test('no secret in any saved execution or in the log', async () => {
		const { leaks, executionsScanned } = await findSecretLeaks(gateway.n8n, gateway.secrets());
		recordFigure({
			area: 'Secrets',
			measure: `Redelivery run: ${Object.keys(gateway.secrets()).length} secrets searched in every saved execution and n8n's log`,
			value: `${leaks.length} leaks in ${executionsScanned} executions and the log`,
			bar: '0 leaks',
			ok: leaks.length === 0,
		});
		expect(leaks).toEqual([]);
	});
});
