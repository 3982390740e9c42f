/**
 * The shared listener handlers as the n8n glue (nodes/shared/listener-trigger.ts) gives them,
 * without n8n: the real admission step (access policy, pairing), emitted envelopes collected,
 * and `emitAndWait` resolving when the test says the execution ended.
 */
import { admitMessage } from '../../nodes/core/admission';
import type { AnyChannelPlugin } from '../../nodes/core/channel';
import { stampVia, type Envelope } from '../../nodes/core/envelope';
import type { ChannelListenerInput } from '../../nodes/shared/listener-trigger';
import { receiveSettingsFrom } from '../../nodes/shared/trigger-settings';

export interface ListenerProbe<Credential> {
	input: ChannelListenerInput<Credential>;
	emitted: Envelope[];
	fatal: Error[];
	warnings: string[];
	waitForEmitted(count: number, timeoutMs?: number): Promise<Envelope[]>;
}

export function listenerProbe<Credential>(plugin: AnyChannelPlugin, credential: Credential, options: Record<string, unknown> = {}, staticData: Record<string, unknown> = {}): ListenerProbe<Credential> {
	const emitted: Envelope[] = [];
	const fatal: Error[] = [];
	const warnings: string[] = [];
	const { policy, sessionScope } = receiveSettingsFrom(plugin, options);
	const logger = { debug: () => undefined, info: () => undefined, warn: (line: string) => void warnings.push(line), error: (line: string) => void warnings.push(line) };
	const input = {
		credential,
		options,
		sessionScope,
		staticData,
		logger,
		onEnvelope: (envelope: Envelope) => void emitted.push(stampVia(envelope, plugin.id)),
		emitAndWait: async (envelope: Envelope) => void emitted.push(stampVia(envelope, plugin.id)),
		admit: async (envelope: Envelope, facts: Parameters<typeof admitMessage>[2]) => admitMessage(plugin, stampVia(envelope, plugin.id), facts, policy).kind === 'emit',
		onFatalError: (error: Error) => void fatal.push(error),
	} as unknown as ChannelListenerInput<Credential>;
	return {
		input,
		emitted,
		fatal,
		warnings,
		async waitForEmitted(count, timeoutMs = 5_000) {
			const deadline = Date.now() + timeoutMs;
			while (emitted.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
			if (emitted.length < count) throw new Error(`expected ${count} envelope(s), got ${emitted.length}`);
			return emitted;
		},
	};
}

export async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

export const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));
