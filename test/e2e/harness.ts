/**
 * A real n8n for end-to-end tests (the pinned 2.40.7, or N8N_VERSION=<version>, installed beside it): fresh user folder, free loopback ports, the freshly
 * packed tarball installed the community way, owner created, credentials and workflows
 * imported and published. `stop()` always cleans up, so a failing test leaves nothing behind.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

// Shared with `npm start`, so the tests run n8n exactly the way users do.
const runtime = require('../../scripts/n8n-runtime.js');
const installer = require('../../scripts/n8n-install.js');

export interface CredentialFixture {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

export interface WorkflowFixture {
	id: string;
	name: string;
	nodes: Array<Record<string, unknown>>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface N8nOptions {
	credentials?: CredentialFixture[];
	workflows?: WorkflowFixture[];
	/** Workflows to publish (activate) once n8n is up, as the editor's Publish button does; by default all of them. */
	activate?: string[];
	env?: Record<string, string>;
	/** False: an n8n without this package (a baseline to measure the package against). */
	installPackage?: boolean;
}

export const OWNER = { email: 'owner@clawgate.test', firstName: 'Clawgate', lastName: 'Tester', password: 'Clawgate-e2e-1' };

export function loadExampleWorkflow(name: string): WorkflowFixture {
	return JSON.parse(readFileSync(join(runtime.REPO_ROOT, 'examples', name), 'utf8'));
}

/**
 * The workflow with only the triggers of these node types: the others go, with their connections
 * and, on the nodes that stay (Reply), their platforms' credentials. A test that drives some
 * channels of a multi-channel example then needs no emulator and no credential for the rest.
 */
export function keepOnlyTriggers(workflow: WorkflowFixture, triggerTypes: string[]): WorkflowFixture {
	const isDropped = (node: Record<string, unknown>) => String(node.type).endsWith('Trigger') && !triggerTypes.includes(String(node.type));
	const credentialTypes = (nodes: Array<Record<string, unknown>>) => new Set(nodes.flatMap((node) => Object.keys((node.credentials as object | undefined) ?? {})));
	const kept = workflow.nodes.filter((node) => !isDropped(node));
	const keptTriggerCredentials = credentialTypes(kept.filter((node) => String(node.type).endsWith('Trigger')));
	const unused = [...credentialTypes(workflow.nodes.filter(isDropped))].filter((type) => !keptTriggerCredentials.has(type));
	const dropped = new Set(workflow.nodes.filter(isDropped).map((node) => String(node.name)));
	return {
		...workflow,
		nodes: kept.map((node) =>
			node.credentials ? { ...node, credentials: Object.fromEntries(Object.entries(node.credentials as object).filter(([type]) => !unused.includes(type))) } : node,
		),
		connections: Object.fromEntries(Object.entries(workflow.connections).filter(([source]) => !dropped.has(source))),
	};
}

export class N8nInstance {
	private child: ChildProcess | null = null;
	private output: string[] = [];
	cookie: string | null = null;

	private constructor(
		readonly userFolder: string,
		readonly port: number,
		private readonly env: NodeJS.ProcessEnv,
	) {}

	get baseUrl(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/** Production webhook URL of a trigger node, as n8n registers it. */
	webhookUrl(webhookId: string, path = 'webhook'): string {
		return `${this.baseUrl}/webhook/${webhookId}/${path}`;
	}

	/** Everything n8n printed so far. */
	get log(): string {
		return this.output.join('');
	}

	static async start(options: N8nOptions = {}): Promise<N8nInstance> {
		await installer.ensureN8n({ log: (line: string) => process.stderr.write(`${line}\n`) });
		const userFolder = mkdtempSync(join(tmpdir(), 'clawgate-n8n-'));
		const [port, brokerPort] = [await runtime.freePort(), await runtime.freePort()];
		const env = runtime.n8nEnvironment({
			userFolder,
			port,
			brokerPort,
			encryptionKey: runtime.newEncryptionKey(),
			extra: { N8N_LOG_LEVEL: 'info', ...options.env },
		});
		const instance = new N8nInstance(userFolder, port, env);
		try {
			// Built and packed from the current sources as npm would publish it, and installed as n8n's
			// Community nodes screen installs it: once per version of the sources, copied for each instance.
			if (options.installPackage !== false) runtime.installBuiltPackage(userFolder);
			instance.importFixtures(options);
			await instance.boot();
			instance.cookie = await runtime.setupOwner(instance.baseUrl, OWNER);
			// Through n8n's REST API rather than `n8n publish:workflow` before the start: one n8n CLI
			// start (about 6 s) less per workflow, and a workflow that cannot be activated fails here.
			await instance.publish(options.activate ?? (options.workflows ?? []).map((workflow) => workflow.id));
		} catch (error) {
			await instance.stop();
			throw error;
		}
		return instance;
	}

	private importFixtures({ credentials = [], workflows = [] }: N8nOptions): void {
		if (credentials.length > 0) {
			const file = join(this.userFolder, 'credentials.json');
			writeFileSync(file, JSON.stringify(credentials));
			runtime.n8nCli(['import:credentials', `--input=${file}`], this.env);
			rmSync(file);
		}
		if (workflows.length > 0) {
			const file = join(this.userFolder, 'workflows.json');
			writeFileSync(file, JSON.stringify(workflows));
			runtime.n8nCli(['import:workflow', `--input=${file}`], this.env);
			rmSync(file);
		}
	}

	private async boot(): Promise<void> {
		const from = this.output.length;
		this.child = runtime.startN8nProcess(this.env, { onOutput: (text: string) => this.output.push(text) });
		const crashed = () => this.output.slice(from).some((text) => text.includes('Exiting due to an error'));
		try {
			await runtime.waitForReadiness(this.baseUrl, this.child, { crashed });
		} catch (error) {
			throw new Error(`${(error as Error).message}\n--- n8n output (last lines) ---\n${this.log.split('\n').slice(-40).join('\n')}`);
		}
	}

	/** Stops n8n gracefully (SIGTERM, then SIGKILL after a grace period). */
	async halt(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
		const child = this.child;
		this.child = null;
		// Already gone (an exit code, or a signal such as an earlier SIGKILL): there is no 'exit' left to wait for.
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill(signal);
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		await exited;
		clearTimeout(timer);
	}

	/**
	 * Restarts n8n on the same user folder (same database, same webhooks), as a process supervisor
	 * does: n8n 2.40.7 can exit on the first start after a SIGKILL (its recovery of executions from
	 * the event log throws on an execution that never started: "Cannot read properties of null
	 * (reading 'getTime')"; sometimes it then hangs instead of exiting, and is killed), and the next
	 * start skips that recovery, so one more start is made.
	 */
	async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
		await this.halt(signal);
		try {
			await this.boot();
		} catch (error) {
			if (!/exited .*before it was ready/.test((error as Error).message)) throw error;
			this.restartsAfterFailedStart += 1;
			await this.boot();
		}
		this.cookie = await runtime.login(this.baseUrl, OWNER);
	}

	/** Starts n8n needed again because the first start after a kill exited (see restart()). */
	restartsAfterFailedStart = 0;

	async stop(): Promise<void> {
		await this.halt();
		// CLAWGATE_E2E_LOG_DIR keeps n8n's output for a look after the run.
		if (process.env.CLAWGATE_E2E_LOG_DIR) {
			mkdirSync(process.env.CLAWGATE_E2E_LOG_DIR, { recursive: true });
			writeFileSync(join(process.env.CLAWGATE_E2E_LOG_DIR, `${basename(this.userFolder)}.log`), this.log);
		}
		rmSync(this.userFolder, { recursive: true, force: true });
	}

	/**
	 * Waits until n8n serves these production webhooks: readiness comes before workflows finish
	 * activating. Probes with an empty, unsigned POST, which our triggers refuse without an execution.
	 */
	async waitForWebhooks(webhookIds: string[], timeoutMs = 60_000): Promise<void> {
		for (const id of webhookIds) {
			await eventually(
				async () => ((await fetch(this.webhookUrl(id), { method: 'POST', body: '' })).status !== 404 ? true : undefined),
				`the webhook ${id} to be registered`,
				timeoutMs,
			);
		}
	}

	/** Publishes imported workflows the way the editor's Publish button does (one REST call each, no restart). */
	async publish(workflowIds: string[]): Promise<void> {
		for (const id of workflowIds) {
			const { data } = await this.api<{ data: { versionId: string } }>(`/rest/workflows/${id}`);
			await this.api(`/rest/workflows/${id}/activate`, { method: 'POST', body: JSON.stringify({ versionId: data.versionId }) });
		}
	}

	async api<T = unknown>(path: string, init: RequestInit = {}): Promise<T> {
		const request = () =>
			fetch(`${this.baseUrl}${path}`, {
				...init,
				headers: { 'content-type': 'application/json', 'browser-id': 'clawgate-e2e', ...(this.cookie ? { cookie: this.cookie } : {}), ...init.headers },
			});
		// A pooled keep-alive connection can be closed by n8n's server just as it is reused ("other
		// side closed"): a GET is safe to send again once, on a fresh connection.
		const response = await request().catch((error: Error) => {
			if ((init.method ?? 'GET') !== 'GET' || error.message !== 'fetch failed') throw error;
			return request();
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`n8n ${init.method ?? 'GET'} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
		return JSON.parse(text) as T;
	}

	/**
	 * All executions n8n has saved (webhook executions are saved by default), page by page: n8n
	 * serves at most 100 per request (2.40 cuts a larger limit to 100 without a word; 2.41 answers
	 * 400). Later pages: 2.41's `nextCursor`; 2.40's `lastId`, which follows ID order only when
	 * the query names statuses (test/reliability/n8n-checks.ts pages the same way).
	 */
	async executions(): Promise<Array<{ id: string; workflowId: string; status: string; mode: string }>> {
		type Execution = { id: string; workflowId: string; status: string; mode: string };
		const seen = new Map<string, Execution>();
		const everyStatus = encodeURIComponent(JSON.stringify({ status: ['canceled', 'crashed', 'error', 'new', 'running', 'success', 'unknown', 'waiting'] }));
		let query = `limit=100&filter=${everyStatus}`;
		for (;;) {
			const { data } = await this.api<{ data: { results: Execution[]; nextCursor?: string | null } }>(`/rest/executions?${query}`);
			const fresh = data.results.filter((execution) => !seen.has(execution.id));
			for (const execution of fresh) seen.set(execution.id, execution);
			if (fresh.length === 0) break;
			if (data.nextCursor) query = `limit=100&filter=${everyStatus}&cursor=${encodeURIComponent(data.nextCursor)}`;
			else if (data.nextCursor === undefined && data.results.length >= 100) {
				query = `limit=100&filter=${everyStatus}&lastId=${Math.min(...data.results.map((execution) => Number(execution.id)))}`;
			} else break;
		}
		return [...seen.values()];
	}

	async execution(id: string): Promise<{ data: string; status: string }> {
		const body = await this.api<{ data: { data: string; status: string } }>(`/rest/executions/${id}`);
		return body.data;
	}

	/** When n8n started a node in the newest execution of a workflow (its run data's startTime): where n8n's own time ends and the node's begins. */
	async nodeStartInNewestExecution(workflowId: string, nodeName: string): Promise<number> {
		const runs = (await this.executions()).filter((run) => run.workflowId === workflowId);
		const newest = runs.reduce((a, b) => (Number(a.id) > Number(b.id) ? a : b));
		const data = unflatten((await this.execution(newest.id)).data) as { resultData: { runData: Record<string, Array<{ startTime: number }>> } };
		return data.resultData.runData[nodeName][0].startTime;
	}
}

/** n8n's execution data is "flatted" JSON: objects and strings in one array, referenced by index. */
export function unflatten(text: string): unknown {
	const table = JSON.parse(text) as unknown[];
	const revived = new Map<number, unknown>();
	const revive = (index: number): unknown => {
		const value = table[index];
		if (typeof value !== 'object' || value === null) return value;
		if (revived.has(index)) return revived.get(index);
		const copy: Record<string, unknown> = Array.isArray(value) ? ([] as unknown as Record<string, unknown>) : {};
		revived.set(index, copy);
		for (const [key, item] of Object.entries(value)) copy[key] = typeof item === 'string' ? revive(Number(item)) : item;
		return copy;
	};
	return revive(0);
}

/** Polls until `check` returns a value other than undefined, or fails with the description. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, description: string, timeoutMs = 20_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown = null;
	while (Date.now() < deadline) {
		try {
			const value = await check();
			if (value !== undefined) return value;
		} catch (error) {
			lastError = error;
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}
