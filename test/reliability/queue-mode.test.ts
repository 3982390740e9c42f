/**
 * Queue mode: the multi-channel gateway example in n8n scaled out (one main, two workers, Postgres
 * database, Redis queue), once with the AI Session, the triggers' journal and Reply's receipts on
 * the Redis store and once on the Postgres store. People write on Telegram (webhook), Slack, SMS,
 * WhatsApp and Discord; in the middle of the run a worker and then the main are killed with
 * SIGKILL. Every message n8n acknowledged must be answered exactly once and stored in the order its
 * session sent it, also when people write faster than the bot answers.
 *
 * One deployment serves every test (both workflows are active side by side, each with its own
 * emulated platforms), since starting three n8n processes costs minutes on a loaded machine.
 */
import { OpenAiEmulator } from '../emulators/openai';
import { recordFigure } from './figures';
import { allExecutions, findSecretLeaks } from './n8n-checks';
import { QueueDeployment, type WorkerProcess } from './queue-deployment';
import { MODEL_CREDENTIAL, QueueGateway, storeCredentials, type QueueStore, type TrafficResult } from './queue-traffic';

const AREA = 'Queue mode';
const SESSIONS = 100;
const MESSAGES_PER_SESSION = 10;
/**
 * Ack-paced runs: a few people typing fast, so that a session's next message is queued right behind
 * its previous one and two workers can take both at once (the case where order could break).
 */
const ACK_PACED_SESSIONS = 20;
/** A fast model: long enough that executions overlap the way real ones do. */
const MODEL_LATENCY_MS = 100;

jest.setTimeout(15 * 60_000);

const count = (value: number) => value.toLocaleString('en-US');

/**
 * An answer a platform accepted this little before its worker was SIGKILLed may have had no time
 * for its delivery receipt (Reply writes it once the platform's reply is read): run again, it is
 * sent again. No platform API here says whether a message went out, so at-least-once delivery
 * has this one window (as in restarts.test.ts); every other duplicate counts against the bar.
 */
const RECEIPT_WINDOW_MS = 2_000;

/** The error messages in an execution's saved data (n8n stores it "flatted": strings are referenced by their index). */
function errorMessagesIn(data: string): string[] {
	const table = JSON.parse(data) as unknown[];
	const resolve = (value: unknown) => (typeof value === 'string' && /^\d+$/.test(value) ? table[Number(value)] : value);
	return table
		.filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null && 'message' in entry && ('name' in entry || 'stack' in entry || 'node' in entry))
		.map((entry) => `${String(resolve(entry.name) ?? '')}: ${String(resolve(entry.message))}${entry.description ? ` (${String(resolve(entry.description))})` : ''}`.slice(0, 400));
}

/**
 * For each lost message: whether its turns were stored, where the journal left it, which executions
 * held it, and how n8n answered each delivery of it (timed against `moments`, the kills); then every
 * execution of the gateway that did not succeed, with its error. So a failure says what happened
 * instead of only that it did (this is how n8n's start-up answer was found).
 */
async function whyLost(deployment: QueueDeployment, gateway: QueueGateway, lost: string[], stored: Set<string>, moments: Record<string, number>): Promise<string[]> {
	if (lost.length === 0) return [];
	const executions = (await allExecutions(deployment.main)).filter((execution) => execution.workflowId === gateway.workflow.id);
	const failures: string[] = [];
	const holding = new Map<string, string[]>();
	for (const execution of executions) {
		const { data } = await deployment.main.execution(execution.id);
		const markers = lost.filter((marker) => data.includes(marker));
		for (const marker of markers) holding.set(marker, [...(holding.get(marker) ?? []), `${execution.id} ${execution.status}`]);
		if (execution.status === 'success') continue;
		const error = errorMessagesIn(data).join(' / ') || 'no error message';
		failures.push(`execution ${execution.id} ${execution.status}${markers.length > 0 ? ` (holds ${markers.join(', ')})` : ''}: ${error}`);
	}
	const journal = await gateway.journalStates(lost, deployment.database);
	const at = (time: number) => Object.entries(moments).map(([name, moment]) => `${((time - moment) / 1000).toFixed(1)} s after ${name}`).join(', ');
	const delivered = (marker: string) => gateway.deliveryAttempts(marker).map((attempt) => `${attempt.status} ${JSON.stringify(attempt.body)} (${at(attempt.sentAt)}, answered in ${attempt.answeredAt - attempt.sentAt} ms)`).join('; ');
	return [
		...lost.map(
			(marker) =>
				`${marker} lost (${stored.has(marker) ? 'its turns were stored' : 'not stored'}; ${journal.get(marker) ?? 'not in the journal'}; executions holding it: ${holding.get(marker)?.join(', ') ?? 'none'}; deliveries: ${delivered(marker) || 'none'})`,
		),
		...failures,
	];
}

describe('n8n queue mode (main + 2 workers, Postgres database, Redis queue) running the multi-channel gateway example', () => {
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	const gateways: Record<QueueStore, QueueGateway> = { redis: new QueueGateway('redis'), postgres: new QueueGateway('postgres') };
	let deployment: QueueDeployment;
	let runs = 0;
	const fileStarted = Date.now();

	beforeAll(async () => {
		await Promise.all([model.start(), gateways.redis.start(), gateways.postgres.start()]);
		model.latencyMs = MODEL_LATENCY_MS;
		const started = Date.now();
		deployment = await QueueDeployment.start({
			credentials: (database) => [
				...gateways.redis.credentials(),
				...gateways.postgres.credentials(),
				{ ...MODEL_CREDENTIAL, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
				...storeCredentials(database),
			],
			workflows: [gateways.redis.workflow, gateways.postgres.workflow],
			// The platforms reach n8n as in production, through a front that forwards only to a ready n8n.
			readinessGate: true,
		});
		await Promise.all([gateways.redis.waitUntilLive(deployment), gateways.postgres.waitUntilLive(deployment)]);
		process.stderr.write(`queue mode: deployment ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
	});

	afterAll(async () => {
		await deployment?.stop();
		await Promise.all([gateways.redis.cleanRedis(), gateways.redis.stop(), gateways.postgres.stop(), model.stop()]);
		process.stderr.write(`queue mode: whole file took ${Math.round((Date.now() - fileStarted) / 1000)} s\n`);
	});

	/** Executions each worker started so far (from its log). */
	const startedPerWorker = () => deployment.workers.map((worker) => worker.executions('started').size);

	/**
	 * Losses and duplicates held to 0; with `workerKilledAt`, a message answered twice whose first
	 * answer reached the platform within the receipt window before a worker's SIGKILL is reported
	 * apart and not held.
	 */
	function recordTraffic(label: string, result: TrafficResult, { workerKilledAt = [] as number[] } = {}): number {
		const refused = Object.values(result.refused).reduce((sum, times) => sum + times, 0);
		recordFigure({ area: AREA, measure: `${label}: deliveries n8n refused (not 2xx) and never took`, value: String(refused), bar: '0', ok: refused === 0 });
		process.stderr.write(`queue mode: ${label}: ${result.seconds.toFixed(0)} s${refused > 0 ? `, refused: ${JSON.stringify(result.refused)}` : ''}\n`);
		recordFigure({ area: AREA, measure: `${label}: deliveries made again after n8n did not take them (as the platforms do)`, value: String(result.redeliveries), bar: 'reported', ok: true });
		recordFigure({ area: AREA, measure: `${label}: replies lost`, value: `${result.lost.length}/${count(result.sent)}`, bar: '0', ok: result.lost.length === 0 });
		const atKill = ({ firstReplyAt }: { firstReplyAt: number }) => workerKilledAt.some((kill) => kill >= firstReplyAt - 50 && kill - firstReplyAt <= RECEIPT_WINDOW_MS);
		const beyondWindow = result.answeredTwice.filter((twice) => !atKill(twice));
		recordFigure({
			area: AREA,
			measure: `${label}: messages answered twice${workerKilledAt.length > 0 ? ' (beyond the receipt window below)' : ''}`,
			value: String(beyondWindow.length),
			bar: '0',
			ok: beyondWindow.length === 0,
		});
		if (workerKilledAt.length > 0) {
			recordFigure({
				area: AREA,
				measure: `${label}: answered twice, the first answer taken by the platform less than ${RECEIPT_WINDOW_MS / 1000} s before the worker's SIGKILL (its delivery receipt may not have been written; at-least-once delivery)`,
				value: String(result.answeredTwice.length - beyondWindow.length),
				bar: 'reported',
				ok: true,
			});
		}
		return beyondWindow.length;
	}

	describe.each(['redis', 'postgres'] as const)('AI Session on the %s store', (store) => {
		const label = store === 'redis' ? 'Redis store' : 'Postgres store';

		test(`${SESSIONS} sessions × ${MESSAGES_PER_SESSION} messages, a worker and then the main SIGKILLed mid-run: none lost or duplicated, every session stored in send order`, async () => {
			const gateway = gateways[store];
			const run = ++runs;
			const before = startedPerWorker();
			const total = SESSIONS * MESSAGES_PER_SESSION;
			const kills: Array<Promise<void>> = [];
			const workerKilledAt: number[] = [];
			const moments: Record<string, number> = { 'the traffic began': Date.now() };
			const heldBackBefore = deployment.gate?.heldBack ?? 0;
			const busy = (worker: WorkerProcess) => worker.executions('started').size - worker.executions('finished').size;
			const result = await gateway.traffic({
				run,
				sessions: SESSIONS,
				messagesPerSession: MESSAGES_PER_SESSION,
				pacing: 'answer',
				// A person who gets no answer writes the next message after a while; the missing answer must still come.
				// (A minute: with 30 s, on 2 slower cores, people wrote on while the answers they waited for
				// sat in a queue a minute long, and a session's next message could run before the one it
				// followed had been run again after the worker's SIGKILL; see docs/scaling.md.)
				replyTimeoutMs: 60_000,
				settleMs: 150_000,
				// As the platforms do while n8n is down: deliver again until n8n takes the message.
				retryUntilTaken: true,
				onReply: (replies) => {
					if (kills.length === 0 && replies >= total / 4) {
						// The worker with more executions running right now: a crash with work in its hands. It comes back afterwards.
						const worker = [...deployment.workers].sort((a, b) => busy(b) - busy(a))[0];
						workerKilledAt.push(Date.now());
						moments['the worker SIGKILL'] = Date.now();
						kills.push(worker.stop('SIGKILL').then(() => worker.start()));
					} else if (kills.length === 1 && replies >= (total * 3) / 5) {
						moments['the main SIGKILL'] = Date.now();
						kills.push(deployment.main.restart('SIGKILL').then(() => void (moments['the main was ready again'] = Date.now())));
					}
				},
			});
			await Promise.all(kills);
			const stored = await gateway.checkStore(run, deployment.database);
			const perWorker = startedPerWorker().map((count, index) => count - before[index]);

			const measure = `${label}, ${count(result.sent)} messages over ${SESSIONS} sessions, each sent after the previous answer; SIGKILL of a worker after a quarter and of the main after three fifths`;
			const answeredTwice = recordTraffic(measure, result, { workerKilledAt });
			recordFigure({ area: AREA, measure: `${measure}: kills that happened`, value: String(kills.length), bar: '2', ok: kills.length === 2 });
			recordFigure({
				area: AREA,
				measure: `${measure}: deliveries the front held back (503) while the main was not ready (delivered again; without the front, those during n8n's migrations would have been answered 200 "n8n is starting up" and lost)`,
				value: String((deployment.gate?.heldBack ?? 0) - heldBackBefore),
				bar: 'reported',
				ok: true,
			});
			recordFigure({ area: AREA, measure: `${measure}: sessions whose stored turns are out of send order`, value: `${stored.outOfOrder}/${stored.sessions}`, bar: '0', ok: stored.outOfOrder === 0 });
			recordFigure({ area: AREA, measure: `${measure}: sessions with stored turns`, value: `${stored.sessions}/${SESSIONS}`, bar: String(SESSIONS), ok: stored.sessions === SESSIONS });
			recordFigure({ area: AREA, measure: `${measure}: messages stored twice`, value: String(stored.storedTwice), bar: '0', ok: stored.storedTwice === 0 });
			recordFigure({ area: AREA, measure: `${measure}: executions started by worker 1 / worker 2`, value: perWorker.join(' / '), bar: 'both > 0', ok: perWorker.every((runsOnWorker) => runsOnWorker > 0) });
			recordFigure({ area: AREA, measure: `${measure}: throughput (messages answered per second, kills included)`, value: (result.sent / result.seconds).toFixed(1), bar: 'reported', ok: true });

			expect(kills).toHaveLength(2);
			expect(await whyLost(deployment, gateway, result.lost, stored.stored, moments)).toEqual([]);
			expect({ sessions: stored.sessions, storedTwice: stored.storedTwice, stored: stored.stored.size, outOfOrder: stored.outOfOrder, answeredTwice, outOfOrderExamples: stored.outOfOrderExamples }).toEqual({
				sessions: SESSIONS,
				storedTwice: 0,
				stored: result.sent,
				outOfOrder: 0,
				answeredTwice: 0,
				outOfOrderExamples: [],
			});
			expect(perWorker.every((runsOnWorker) => runsOnWorker > 0)).toBe(true);
		});

		test(`${ACK_PACED_SESSIONS} sessions × ${MESSAGES_PER_SESSION} messages, each sent as soon as n8n acknowledged the previous one: none lost or duplicated, none out of order`, async () => {
			const gateway = gateways[store];
			const run = ++runs;
			// The run before killed the main: its Discord listener connects again on its own, and Discord
			// hands a message only to a connected bot, so people write once every trigger is live again.
			await gateway.waitUntilLive(deployment);
			const moments = { 'the traffic began': Date.now() };
			const result = await gateway.traffic({ run, sessions: ACK_PACED_SESSIONS, messagesPerSession: MESSAGES_PER_SESSION, pacing: 'ack', replyTimeoutMs: 60_000 });
			const stored = await gateway.checkStore(run, deployment.database);

			const measure = `${label}, ${count(result.sent)} messages over ${ACK_PACED_SESSIONS} sessions, each sent once the previous was acknowledged`;
			recordTraffic(measure, result);
			recordFigure({ area: AREA, measure: `${measure}: sessions whose stored turns are out of send order`, value: `${stored.outOfOrder}/${stored.sessions}`, bar: '0', ok: stored.outOfOrder === 0 });
			recordFigure({ area: AREA, measure: `${measure}: messages stored twice`, value: String(stored.storedTwice), bar: '0', ok: stored.storedTwice === 0 });

			expect(result.refused).toEqual({});
			expect(await whyLost(deployment, gateway, result.lost, stored.stored, moments)).toEqual([]);
			expect(result.duplicated).toBe(0);
			expect(stored.storedTwice).toBe(0);
			expect(stored.outOfOrder).toBe(0);
			expect(stored.stored.size).toBe(result.sent);
		});
	});

	test('no secret in any saved execution or in the logs of the main and the workers', async () => {
		const secrets = { ...gateways.redis.secrets(), ...gateways.postgres.secrets(), 'OpenAI API key': model.apiKey };
		const { leaks, executionsScanned } = await findSecretLeaks(deployment.main, secrets);
		for (const [name, value] of Object.entries(secrets)) if (deployment.workerLogs.includes(value)) leaks.push({ where: 'worker log', secret: name });
		recordFigure({
			area: 'Secrets',
			measure: `Queue mode: secrets found in ${count(executionsScanned)} saved executions and the logs of the main and 2 workers`,
			value: String(leaks.length),
			bar: '0',
			ok: leaks.length === 0,
		});
		expect(leaks).toEqual([]);
	});
});
