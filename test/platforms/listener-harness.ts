/**
 * Runs a listener channel's receive loop as the trigger does (the shared access policy, executions
 * that end when the test says so), without n8n: what was executed, which cursors were confirmed,
 * what the log said.
 */
import { DEFAULT_ACCESS_POLICY, type AccessPolicy } from '../../nodes/core/access-policy';
import { admitMessage } from '../../nodes/core/admission';
import type { AnyChannelPlugin } from '../../nodes/core/channel';
import { stampVia, type Envelope } from '../../nodes/core/envelope';
import { CursorPoller, type PollLog, type PollSource } from '../../nodes/shared/cursor-poller';
import type { ListenerHandlers } from '../../nodes/shared/listener-trigger';

export class ListenerHarness {
	readonly executed: Envelope[] = [];
	readonly confirmed: string[] = [];
	readonly fatal: Error[] = [];
	readonly log: PollLog & { lines: string[] };
	/** While true, executions stay running until `finishAll`. */
	hold = false;
	private running: Array<() => void> = [];

	constructor(
		readonly plugin: AnyChannelPlugin,
		private readonly policy: AccessPolicy = DEFAULT_ACCESS_POLICY,
	) {
		const lines: string[] = [];
		const write = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
		this.log = { lines, debug: write('debug'), info: write('info'), warn: write('warn') };
	}

	get handlers(): Pick<ListenerHandlers, 'admit' | 'execute' | 'onFatalError'> {
		return {
			admit: async (envelope, facts) => admitMessage(this.plugin, stampVia(envelope, this.plugin.id), facts, this.policy).kind === 'emit',
			execute: (envelope) => {
				this.executed.push(envelope);
				if (!this.hold) return Promise.resolve();
				return new Promise<void>((resolve) => this.running.push(resolve));
			},
			onFatalError: (error) => void this.fatal.push(error),
		};
	}

	finishAll(): void {
		for (const finish of this.running.splice(0)) finish();
	}

	texts(): string[] {
		return this.executed.map((envelope) => envelope.message.text);
	}

	/** A cursor poller over `source` from its `begin`, started. */
	async poll<Event>(source: PollSource<Event>, cursor?: string): Promise<CursorPoller<Event>> {
		const poller = new CursorPoller<Event>({
			name: this.plugin.name,
			source,
			cursor: cursor ?? (await source.begin(new AbortController().signal)),
			confirm: (confirmed) => void this.confirmed.push(confirmed),
			handlers: this.handlers,
			log: this.log,
			backoffMs: { initial: 50, max: 200 },
			stopTimeoutMs: 2_000,
		});
		poller.start();
		return poller;
	}
}

export async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
