/**
 * A real Prometheus (Debian's `prometheus` package) for e2e tests: started on a free loopback
 * port with a temporary config and data folder, scraping one target every second; stopped by its
 * process ID. A missing binary fails the test with what to install, never skips it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { eventually } from './harness';

const runtime = require('../../scripts/n8n-runtime.js');

export const PROMETHEUS = process.env.PROMETHEUS_PATH || '/usr/bin/prometheus';
export const PROMTOOL = process.env.PROMTOOL_PATH || '/usr/bin/promtool';

export function requireBinary(path: string, aptPackage: string): void {
	if (!existsSync(path)) throw new Error(`${path} is missing: install it with "apt-get install -y ${aptPackage}" (the e2e tests need it; CI's .ci/run installs it).`);
}

/** `promtool check metrics`: Prometheus's own parser and linter over an exposition text. */
export function checkMetricsWithPromtool(text: string): string {
	requireBinary(PROMTOOL, 'prometheus');
	try {
		return execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
	} catch (error) {
		const failed = error as { stdout?: string; stderr?: string };
		throw new Error(`promtool check metrics refused the exposition:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
	}
}

export interface ScrapeTarget {
	/** host:port */
	address: string;
	metricsPath: string;
	bearerToken: string;
}

export class PrometheusServer {
	private child: ChildProcess | null = null;
	private output = '';

	private constructor(
		readonly folder: string,
		readonly port: number,
	) {}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	static async start(target: ScrapeTarget): Promise<PrometheusServer> {
		requireBinary(PROMETHEUS, 'prometheus');
		const folder = mkdtempSync(join(tmpdir(), 'clawgate-prometheus-'));
		const server = new PrometheusServer(folder, await runtime.freePort());
		writeFileSync(
			join(folder, 'prometheus.yml'),
			[
				'global:',
				'  scrape_interval: 1s',
				'  scrape_timeout: 1s',
				'  evaluation_interval: 1s',
				'scrape_configs:',
				'  - job_name: clawgate',
				`    metrics_path: ${JSON.stringify(target.metricsPath)}`,
				'    authorization:',
				'      type: Bearer',
				`      credentials: ${JSON.stringify(target.bearerToken)}`,
				'    static_configs:',
				`      - targets: [${JSON.stringify(target.address)}]`,
				'',
			].join('\n'),
			{ mode: 0o600 },
		);
		server.child = spawn(
			PROMETHEUS,
			[
				`--config.file=${join(folder, 'prometheus.yml')}`,
				`--storage.tsdb.path=${join(folder, 'data')}`,
				`--web.listen-address=127.0.0.1:${server.port}`,
				'--storage.tsdb.retention.time=1h',
			],
			{ stdio: ['ignore', 'pipe', 'pipe'] },
		);
		server.child.stdout?.on('data', (chunk: Buffer) => (server.output += chunk.toString()));
		server.child.stderr?.on('data', (chunk: Buffer) => (server.output += chunk.toString()));
		try {
			await eventually(
				async () => {
					if (server.child?.exitCode !== null) throw new Error(`Prometheus exited with code ${server.child?.exitCode}`);
					return (await fetch(`${server.url}/-/ready`).catch(() => null))?.ok ? true : undefined;
				},
				'Prometheus to be ready',
				30_000,
			);
		} catch (error) {
			await server.stop();
			throw new Error(`${(error as Error).message}\n--- Prometheus output ---\n${server.output.slice(-3000)}`);
		}
		return server;
	}

	get log(): string {
		return this.output;
	}

	/** An instant query through the HTTP API: each result's labels and value. */
	async query(expression: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
		const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expression)}`);
		const body = (await response.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
		if (body.status !== 'success') throw new Error(`Prometheus refused ${expression}: ${body.error}`);
		return body.data.result.map((result) => ({ metric: result.metric, value: Number(result.value[1]) }));
	}

	/** The scrape targets' health as Prometheus reports it. */
	async targets(): Promise<Array<{ health: string; lastError: string; scrapeUrl: string }>> {
		const body = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string; lastError: string; scrapeUrl: string }> } };
		return body.data.activeTargets;
	}

	async stop(): Promise<void> {
		const child = this.child;
		this.child = null;
		if (child && child.exitCode === null && child.signalCode === null) {
			const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
			await exited;
			clearTimeout(timer);
		}
		rmSync(this.folder, { recursive: true, force: true });
	}
}
