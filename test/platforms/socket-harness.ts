/**
 * The listener pipeline's handlers as a test holds them: the shared admission (access policy),
 * emitted envelopes collected, executions that end when the test says, and the cursor kept in a
 * plain object the way n8n keeps a node's static data across restarts.
 */
import type { AccessPolicy } from '../../nodes/core/access-policy';
import { DEFAULT_ACCESS_POLICY } from '../../nodes/core/access-policy';
import { admitMessage } from '../../nodes/core/admission';
import type { AnyChannelPlugin } from '../../nodes/core/channel';
import { stampVia, type Envelope } from '../../nodes/core/envelope';
import type { ListenerHandlers } from '../../nodes/shared/listener-trigger';

export interface CollectingHandlers extends Pick<ListenerHandlers, 'admit' | 'emitAndWait' | 'onFatalError' | 'cursor'> {
	envelopes: Envelope[];
	fatal: Error[];
	/** Resolves with the envelopes once there are `count` of them. */
	waitFor(count: number, timeoutMs?: number): Promise<Envelope[]>;
}

/** `staticData` outlives one listener, as a node's static data outlives an n8n restart. */
export function collectingHandlers(plugin: AnyChannelPlugin, { policy = DEFAULT_ACCESS_POLICY, staticData = {} as Record<string, unknown> }: { policy?: AccessPolicy; staticData?: Record<string, unknown> } = {}): CollectingHandlers {
	const envelopes: Envelope[] = [];
	const fatal: Error[] = [];
	return {
		envelopes,
		fatal,
		admit: async (envelope, facts) => admitMessage(plugin, stampVia(envelope, plugin.id), facts, policy).kind === 'emit',
		emitAndWait: async (envelope) => void envelopes.push(stampVia(envelope, plugin.id)),
		onFatalError: (error) => void fatal.push(error),
		cursor: { read: () => (staticData.cursor as never) ?? null, write: (value) => void (staticData.cursor = value) },
		async waitFor(count, timeoutMs = 10_000) {
			const deadline = Date.now() + timeoutMs;
			while (envelopes.length < count) {
				if (Date.now() > deadline) throw new Error(`Expected ${count} envelope(s) within ${timeoutMs} ms, got ${envelopes.length}: ${JSON.stringify(envelopes.map((envelope) => envelope.message.text))}`);
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			return envelopes;
		},
	};
}

export const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

export const quietLog = { debug: () => undefined, info: () => undefined, warn: () => undefined };
