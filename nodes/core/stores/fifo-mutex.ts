import { LockTimeoutError, type SessionLock } from '../session/store';

interface Waiter {
	grant: () => void;
}

/**
 * Per-key mutex that admits waiters strictly in arrival order, within one process. Every store
 * puts it in front of its own lock, so concurrent executions of one n8n answer a session's
 * messages in the order they arrived, and cross-process locks see one waiter per process.
 */
export class FifoMutex {
	private queues = new Map<string, { held: boolean; waiters: Waiter[] }>();

	async acquire(key: string, waitMs: number): Promise<SessionLock> {
		let queue = this.queues.get(key);
		if (!queue) {
			queue = { held: false, waiters: [] };
			this.queues.set(key, queue);
		}
		if (queue.held) await this.wait(key, queue, waitMs);
		queue.held = true;
		let released = false;
		return {
			release: async () => {
				if (released) return;
				released = true;
				this.handOver(key);
			},
		};
	}

	private wait(key: string, queue: { waiters: Waiter[] }, waitMs: number): Promise<void> {
		return new Promise((resolve, reject) => {
			const waiter: Waiter = {
				grant: () => {
					clearTimeout(timer);
					resolve();
				},
			};
			const timer = setTimeout(() => {
				queue.waiters.splice(queue.waiters.indexOf(waiter), 1);
				reject(new LockTimeoutError(key, waitMs));
			}, waitMs);
			queue.waiters.push(waiter);
		});
	}

	private handOver(key: string): void {
		const queue = this.queues.get(key);
		if (!queue) return;
		const next = queue.waiters.shift();
		if (next) {
			// The lock passes straight to the next waiter: no one can overtake it.
			next.grant();
			return;
		}
		this.queues.delete(key);
	}
}
