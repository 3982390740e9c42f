/**
 * The WebSocket of signal-cli-rest-api in json-rpc mode (`ws://…/v1/receive/<number>`): every
 * received envelope arrives as one text frame. Reconnects with backoff; closes on deactivation.
 * signal-cli has already taken a message from Signal's servers when the frame arrives and the API
 * keeps nothing for a client that is not connected: messages sent while n8n is down are not
 * delivered to it (docs/channels/signal.md says so).
 *
 * Node 22+ has a global WebSocket; on Node 20 the `ws` package (pure JavaScript) stands in.
 */
import type { ReceiveSettings } from '../core/channel';
import { RecentKeys } from '../core/recent-keys';
import type { ListenerHandlers, RunningListener } from '../shared/listener-trigger';
import type { PollLog } from '../shared/cursor-poller';
import { createSignalClient, signalEnvelopeToInbound, type SignalCredential } from './signal.plugin';

interface SocketLike {
	addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (event: { data?: unknown; code?: number }) => void): void;
	close(): void;
}

type SocketConstructor = new (url: string) => SocketLike;

function webSocketClass(): SocketConstructor {
	const global = (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	return global ?? (require('ws') as SocketConstructor);
}

/** The receive socket's URL: the API's base URL with ws(s) for http(s). */
export function signalReceiveUrl(credential: SignalCredential): string {
	const client = createSignalClient(credential);
	return `${client.base.replace(/^http/i, 'ws')}/v1/receive/${encodeURIComponent(client.account)}`;
}

export interface SignalListenerSetup extends Pick<ListenerHandlers, 'admit' | 'execute'> {
	credential: SignalCredential;
	settings: ReceiveSettings;
	log: PollLog;
	backoffMs?: { initial: number; max: number };
}

export async function startSignalListener({ credential, settings, log, admit, execute, backoffMs = { initial: 1_000, max: 60_000 } }: SignalListenerSetup): Promise<RunningListener> {
	const url = signalReceiveUrl(credential);
	const { account } = createSignalClient(credential);
	const Socket = webSocketClass();
	const recent = new RecentKeys();
	let socket: SocketLike | null = null;
	let closed = false;
	let failures = 0;
	let retryTimer: NodeJS.Timeout | undefined;
	// Messages reach n8n in the order they came; their executions run side by side.
	let queue = Promise.resolve();

	const take = async (data: unknown) => {
		let frame: unknown;
		try {
			frame = JSON.parse(String(data));
		} catch {
			return log.debug('Signal: a frame that is not JSON was ignored');
		}
		const inbound = signalEnvelopeToInbound(frame, { account, sessionScope: settings.sessionScope });
		if (!inbound?.envelope) return log.debug(`Signal envelope starts no execution: ${inbound?.skipped ?? 'not an envelope'}`);
		if (!recent.remember(inbound.dedupeKey)) return log.debug(`Signal message ${inbound.dedupeKey} came again; it was handed over already`);
		if (await admit(inbound.envelope, inbound.facts)) void execute(inbound.envelope);
	};

	const connect = (onFirst?: (error: Error | null) => void) => {
		const current = new Socket(url);
		socket = current;
		let opened = false;
		current.addEventListener('open', () => {
			opened = true;
			if (failures > 0) log.info('Signal: connected to signal-cli-rest-api again');
			failures = 0;
			onFirst?.(null);
		});
		current.addEventListener('message', (event) => {
			queue = queue.then(() => take(event.data)).catch((error: unknown) => log.warn(`Signal: skipped a message: ${(error as Error).message}`));
		});
		current.addEventListener('error', () => undefined);
		current.addEventListener('close', () => {
			if (socket !== current || closed) return;
			if (!opened && onFirst) {
				return onFirst(new Error(`Could not open the receive WebSocket ${url.replace(/\/v1\/receive\/.*/, '/v1/receive/…')}. Check the Base URL in the Clawgate Signal credential, and that signal-cli-rest-api runs with MODE=json-rpc (only that mode offers the WebSocket).`));
			}
			failures++;
			const delay = Math.min(backoffMs.initial * 2 ** (failures - 1), backoffMs.max);
			if (failures === 1 || failures % 10 === 0) log.warn(`Signal: the connection to signal-cli-rest-api closed; reconnecting in ${Math.round(delay / 1000)} s (attempt ${failures}).`);
			retryTimer = setTimeout(() => connect(), delay);
		});
	};

	// The first connection is part of activation: a wrong URL or mode shows at once.
	await new Promise<void>((resolve, reject) => connect((error) => (error ? reject(error) : resolve())));
	return {
		async close() {
			closed = true;
			clearTimeout(retryTimer);
			socket?.close();
			await queue;
		},
	};
}
