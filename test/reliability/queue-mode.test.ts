/**
 * Queue mode: the multi-channel gateway example in n8n scaled out (one main, two workers, Postgres
 * database, Redis queue), once with the AI Session on the Redis store and once on the Postgres
 * store. People write on Telegram (webhook), Slack, SMS, WhatsApp and Discord; every message must
 * be answered exactly once and stored in the order its session sent it, and the work must run on
 * both workers. Then a worker is killed mid-run, and what that costs is reported.
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

/** The error messages in an execution's saved data (n8n stores it "flatted": strings are referenced by their index). */
function errorMessagesIn(data: string): string[] {
	const table = JSON.parse(data) as unknown[];
	const resolve = (value: unknown) => (typeof value === 'string' && /^\d+$/.test(value) ? table[Number(value)] : value);
	return table
		.filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null && 'message' in entry && ('name' in entry || 'stack' in entry || 'node' in entry))
		.map((entry) => `${String(resolve(entry.name) ?? '')}: ${String(resolve(entry.message))}${entry.description ? ` (${String(resolve(entry.description))})` : ''}`.slice(0, 400));
}

/**
 * For each lost message: whether its turns were stored, and every execution of the gateway that did
 * not succeed, with its error, so a failure says what happened instead of only that it did.
 */
async function whyLost(deployment: QueueDeployment, gateway: QueueGateway, lost: string[], stored: Set<string>): Promise<string[]> {
	if (lost.length === 0) return [];
	const executions = (await allExecutions(deployment.main)).filter((execution) => execution.workflowId === gateway.workflow.id && execution.status !== 'success');
	const failures: string[] = [];
	for (const execution of executions) {
		const { data } = await deployment.main.execution(execution.id);
		const error = errorMessagesIn(data).join(' / ') || 'no error message';
		const markers = lost.filter((marker) => data.includes(marker));
		failures.push(`execution ${execution.id} ${execution.status}${markers.length > 0 ? ` (holds ${markers.join(', ')})` : ''}: ${error}`);
	}
	return [...lost.map((marker) => `${marker} lost (${stored.has(marker) ? 'its turns were stored' : 'not stored'})`), ...failures];
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
		});
		await Promise.all([gateways.redis.waitUntilLive(deployment.main), gateways.postgres.waitUntilLive(deployment.main)]);
		process.stderr.write(`queue mode: deployment ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
	});

	afterAll(async () => {
		await deployment?.stop();
		await Promise.all([gateways.redis.cleanRedis(), gateways.redis.stop(), gateways.postgres.stop(), model.stop()]);
		process.stderr.write(`queue mode: whole file took ${Math.round((Date.now() - fileStarted) / 1000)} s\n`);
	});

	/** Executions each worker started so far (from its log). */
	const startedPerWorker = () => deployment.workers.map((worker) => worker.executions('started').size);

	function recordTraffic(label: string, result: TrafficResult, bars: { lost: boolean; duplicated: boolean }): void {
		const refused = Object.values(result.refused).reduce((sum, times) => sum + times, 0);
		recordFigure({ area: AREA, measure: `${label}: deliveries n8n refused (not 2xx)`, value: String(refused), bar: '0', ok: refused === 0 });
		process.stderr.write(`queue mode: ${label}: ${result.seconds.toFixed(0)} s${refused > 0 ? `, refused: ${JSON.stringify(result.refused)}` : ''}\n`);
		recordFigure({ area: AREA, measure: `${label}: Telegram updates pushed again after a 5xx, as Telegram does`, value: String(result.telegramRedeliveries), bar: 'reported', ok: true });
		recordFigure({ area: AREA, measure: `${label}: replies lost`, value: `${result.lost.length}/${count(result.sent)}`, bar: bars.lost ? '0' : 'reported', ok: !bars.lost || result.lost.length === 0 });
		recordFigure({ area: AREA, measure: `${label}: replies duplicated`, value: String(result.duplicated), bar: bars.duplicated ? '0' : 'reported', ok: !bars.duplicated || result.duplicated === 0 });
	}

	describe.each(['redis', 'postgres'] as const)('AI Session on the %s store', (store) => {
		const label = store === 'redis' ? 'Redis store' : 'Postgres store';

		test(`${SESSIONS} sessions × ${MESSAGES_PER_SESSION} messages, each sent once the previous was answered: none lost or duplicated, every session stored in send order, work on both workers`, async () => {
			const gateway = gateways[store];
			const run = ++runs;
			const before = startedPerWorker();
			const result = await gateway.traffic({ run, sessions: SESSIONS, messagesPerSession: MESSAGES_PER_SESSION, pacing: 'answer', replyTimeoutMs: 60_000 });
			const stored = await gateway.checkStore(run, deployment.database);
			const perWorker = startedPerWorker().map((total, index) => total - before[index]);

			const measure = `${label}, ${count(result.sent)} messages over ${SESSIONS} sessions, each sent after the previous answer`;
			recordTraffic(measure, result, { lost: true, duplicated: true });
			recordFigure({ area: AREA, measure: `${measure}: sessions whose stored turns are out of send order`, value: `${stored.outOfOrder}/${stored.sessions}`, bar: '0', ok: stored.outOfOrder === 0 && stored.sessions === SESSIONS });
			recordFigure({ area: AREA, measure: `${measure}: messages stored twice`, value: String(stored.storedTwice), bar: '0', ok: stored.storedTwice === 0 });
			recordFigure({ area: AREA, measure: `${measure}: executions run by worker 1 / worker 2`, value: perWorker.join(' / '), bar: 'both > 0', ok: perWorker.every((runsOnWorker) => runsOnWorker > 0) });
			recordFigure({ area: AREA, measure: `${measure}: throughput (messages answered per second)`, value: (result.sent / result.seconds).toFixed(1), bar: 'reported', ok: true });

			expect(result.refused).toEqual({});
			expect(result.lost).toEqual([]);
			expect(result.duplicated).toBe(0);
			expect({ sessions: stored.sessions, outOfOrder: stored.outOfOrder, storedTwice: stored.storedTwice, stored: stored.stored.size }).toEqual({
				sessions: SESSIONS,
				outOfOrder: 0,
				storedTwice: 0,
				stored: result.sent,
			});
			expect(perWorker.every((runsOnWorker) => runsOnWorker > 0)).toBe(true);
			expect(perWorker.reduce((sum, runsOnWorker) => sum + runsOnWorker, 0)).toBe(result.sent);
		});

		test(`${ACK_PACED_SESSIONS} sessions × ${MESSAGES_PER_SESSION} messages, each sent as soon as n8n acknowledged the previous one: none lost or duplicated; order reported`, async () => {
			const gateway = gateways[store];
			const run = ++runs;
			const result = await gateway.traffic({ run, sessions: ACK_PACED_SESSIONS, messagesPerSession: MESSAGES_PER_SESSION, pacing: 'ack', replyTimeoutMs: 60_000 });
			const stored = await gateway.checkStore(run, deployment.database);

			const measure = `${label}, ${count(result.sent)} messages over ${ACK_PACED_SESSIONS} sessions, each sent once the previous was acknowledged`;
			recordTraffic(measure, result, { lost: true, duplicated: true });
			recordFigure({ area: AREA, measure: `${measure}: sessions whose stored turns are out of send order`, value: `${stored.outOfOrder}/${stored.sessions}`, bar: 'reported', ok: true });
			recordFigure({ area: AREA, measure: `${measure}: messages stored twice`, value: String(stored.storedTwice), bar: '0', ok: stored.storedTwice === 0 });

			expect(result.refused).toEqual({});
			expect(await whyLost(deployment, gateway, result.lost, stored.stored)).toEqual([]);
			expect(result.duplicated).toBe(0);
			expect(stored.storedTwice).toBe(0);
			expect(stored.stored.size).toBe(result.sent);
		});
	});

	test('a worker killed with SIGKILL mid-run: lost and duplicated replies reported, and explained by the executions it had taken', async () => {
		const gateway = gateways.redis;
		const run = ++runs;
		const sessions = 20;
		// Only this run's executions count below.
		const lastIdBefore = Math.max(0, ...(await allExecutions(deployment.main)).map((execution) => Number(execution.id)));
		let victim: WorkerProcess | null = null;
		let killing: Promise<void> | null = null;
		const result = await gateway.traffic({
			run,
			sessions,
			messagesPerSession: MESSAGES_PER_SESSION,
			pacing: 'answer',
			// A person who gets no answer writes again after a while. A message queued behind a lock the dead
			// worker held waits out its 30 s lease: late, not lost, so the run waits longer than that at the end.
			replyTimeoutMs: 20_000,
			settleMs: 45_000,
			onReply: (replies) => {
				if (killing || replies < (sessions * MESSAGES_PER_SESSION) / 3) return;
				// The worker with more executions running right now.
				const busy = (worker: WorkerProcess) => worker.executions('started').size - worker.executions('finished').size;
				victim = [...deployment.workers].sort((a, b) => busy(b) - busy(a))[0];
				killing = victim.stop('SIGKILL');
			},
		});
		await killing;
		expect(victim).not.toBeNull();
		const stored = await gateway.checkStore(run, deployment.database);
		const lostButStored = result.lost.filter((lost) => stored.stored.has(lost)).length;
		// The jobs the dead worker had taken: n8n never re-runs them (Bull maxStalledCount 0). Their executions stay
		// "new" (not yet loaded) or "running" until the main's queue recovery marks them crashed, or, once Bull's
		// stalled check (every 30 s) has found the job's lock expired, the main fails them with MaxStalledCountError.
		const failedAsStalled = new Set(
			[...deployment.main.log.matchAll(/Problem with execution (\d+): This execution failed to be processed too many times/g)].map((match) => match[1]),
		);
		const executions = (await allExecutions(deployment.main)).filter((execution) => execution.workflowId === gateway.workflow.id && Number(execution.id) > lastIdBefore);
		const taken = executions.filter((execution) => ['running', 'new'].includes(execution.status) || (execution.status === 'error' && failedAsStalled.has(execution.id)));
		const stuck = taken.length;
		const failed = executions
			.filter((execution) => execution.status !== 'success' && !taken.includes(execution))
			.map((execution) => `${execution.id} ${execution.status}`);

		const measure = `SIGKILL of one worker after a third of ${count(result.sent)} messages (${sessions} sessions, Redis store)`;
		recordTraffic(measure, result, { lost: false, duplicated: true });
		recordFigure({ area: AREA, measure: `${measure}: executions the killed worker had taken, never re-run (Bull maxStalledCount 0): left "running", or failed as stalled`, value: String(stuck), bar: 'reported', ok: true });
		recordFigure({ area: AREA, measure: `${measure}: lost replies whose turns were stored (answered, but the reply never sent)`, value: `${lostButStored}/${result.lost.length}`, bar: 'reported', ok: true });
		recordFigure({ area: AREA, measure: `${measure}: messages stored twice / sessions out of send order`, value: `${stored.storedTwice} / ${stored.outOfOrder}`, bar: '0 / 0', ok: stored.storedTwice === 0 && stored.outOfOrder === 0 });

		// Only the executions the dead worker had taken can be lost; nothing else fails, and nothing runs twice.
		expect(failed).toEqual([]);
		expect(result.duplicated).toBe(0);
		expect(result.lost.length).toBeLessThanOrEqual(stuck);
		expect(stored.storedTwice).toBe(0);
		expect(stored.outOfOrder).toBe(0);
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
