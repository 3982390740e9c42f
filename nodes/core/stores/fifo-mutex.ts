import { LockTimeoutError, type SessionLock } from '../session/store';

interface Waiter {
	grant: () => void;
}

/**
 * Per-key mutex that admits waiters strictly in arrival order, within one process. Every store
 * puts it in front of its own lock, so concurrent executions of one n8n answer a session's
 * messages in the order they arrived, and only one waiter per process polls a cross-process lock.
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

/**
 * Runs the tasks of one key one after another, in call order. Shared stores take their place in
 * the cross-process queue through it the moment a message arrives, so the places of one
 * process's messages are in their arrival order even when the calls go over several connections.
 */
export class ArrivalQueue {
	private tails = new Map<string, Promise<unknown>>();

	run<T>(key: string, task: () => Promise<T>): Promise<T> {
		const previous = this.tails.get(key) ?? Promise.resolve();
		const result = previous.then(task, task);
		const tail = result.catch(() => undefined);
		this.tails.set(key, tail);
		void tail.then(() => {
			if (this.tails.get(key) === tail) this.tails.delete(key);
		});
		return result;
	}
}
