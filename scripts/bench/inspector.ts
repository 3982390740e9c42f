/**
 * Talks to a Node process started with `--inspect=127.0.0.1:<port>` over the Chrome DevTools
 * Protocol: force a full garbage collection (HeapProfiler.collectGarbage) and read the V8 heap
 * (Runtime.getHeapUsage) and process.memoryUsage() inside it, without changing its code. Used by
 * `npm run bench:memory` on n8n, which offers no way to call gc() from outside.
 */
import WebSocket from 'ws';

import { eventually } from '../../test/e2e/harness';

/** process.memoryUsage() inside the inspected process, in bytes. */
export interface ProcessMemoryUsage {
	rss: number;
	heapTotal: number;
	heapUsed: number;
	external: number;
	arrayBuffers: number;
}

export class InspectorSession {
	private nextId = 1;
	private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
	/** Handlers of protocol events (messages without an id), by method. */
	private readonly events = new Map<string, (params: Record<string, unknown>) => void>();

	private constructor(private readonly socket: WebSocket) {
		socket.on('message', (data) => {
			const message = JSON.parse(String(data)) as { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { message: string } };
			if (message.method) this.events.get(message.method)?.(message.params ?? {});
			const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
			if (!waiter) return;
			this.pending.delete(message.id!);
			if (message.error) waiter.reject(new Error(`DevTools protocol: ${message.error.message}`));
			else waiter.resolve(message.result);
		});
		socket.on('close', () => {
			for (const waiter of this.pending.values()) waiter.reject(new Error('The inspector connection closed.'));
			this.pending.clear();
		});
	}

	/** Connects to the first target the inspector at this port lists (a Node process has one). */
	static async connect(port: number, timeoutMs = 30_000): Promise<InspectorSession> {
		const url = await eventually(
			async () => {
				const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl?: string }>;
				return targets[0]?.webSocketDebuggerUrl;
			},
			`the inspector at 127.0.0.1:${port}`,
			timeoutMs,
		);
		// A heap snapshot or a large evaluation result can exceed ws's default 100 MiB message limit.
		const socket = new WebSocket(url, { maxPayload: 1024 ** 3 });
		await new Promise<void>((resolve, reject) => {
			socket.once('open', () => resolve());
			socket.once('error', reject);
		});
		return new InspectorSession(socket);
	}

	send<T = unknown>(method: string, params: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
		const id = this.nextId++;
		return new Promise<T>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new Error(`DevTools protocol: no answer to ${method} within ${timeoutMs / 1000} s.`));
			}, timeoutMs);
			this.pending.set(id, {
				resolve: (value) => {
					clearTimeout(timer);
					resolve(value as T);
				},
				reject: (error) => {
					clearTimeout(timer);
					reject(error);
				},
			});
			this.socket.send(JSON.stringify({ id, method, params }));
		});
	}

	/**
	 * Evaluates an expression in the process's main context and returns its value as JSON.
	 * `includeCommandLineAPI` gives the expression Node's console helpers, among them `require`.
	 */
	async evaluate<T>(expression: string): Promise<T> {
		const { result, exceptionDetails } = await this.send<{ result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } } }>('Runtime.evaluate', {
			expression,
			returnByValue: true,
			awaitPromise: true,
			includeCommandLineAPI: true,
		});
		if (exceptionDetails) throw new Error(`Evaluating in the inspected process failed: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
		return result.value as T;
	}

	/**
	 * Full, compacting garbage collections (what DevTools' "Collect garbage" button does), twice:
	 * objects with finalizers or weak references are freed by the second one.
	 */
	async collectGarbage(): Promise<void> {
		await this.send('HeapProfiler.collectGarbage');
		await this.send('HeapProfiler.collectGarbage');
	}

	/** Takes a heap snapshot, handing over its JSON text piece by piece as V8 writes it. */
	async takeHeapSnapshot(onChunk: (chunk: string) => void): Promise<void> {
		this.events.set('HeapProfiler.addHeapSnapshotChunk', (params) => onChunk(String(params.chunk)));
		try {
			await this.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 600_000);
		} finally {
			this.events.delete('HeapProfiler.addHeapSnapshotChunk');
		}
	}

	async memoryUsage(): Promise<ProcessMemoryUsage> {
		return await this.evaluate<ProcessMemoryUsage>('process.memoryUsage()');
	}

	async pid(): Promise<number> {
		return await this.evaluate<number>('process.pid');
	}

	close(): void {
		this.socket.close();
	}
}
