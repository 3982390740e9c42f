/**
 * signal-cli-rest-api in normal or native mode: `GET /v1/receive/<number>` runs `signal-cli
 * receive`, which takes the envelopes off Signal's servers and answers them as one JSON array
 * ({ envelope, account } each). Until then Signal's servers keep them, so messages sent while n8n
 * is down are fetched once it is back. Nothing can be confirmed later: the batch is journaled as it
 * is handed over, before the next GET (the `takes` source of nodes/shared/cursor-poller.ts).
 *
 * signal-cli's `timeout` ends a receive after that many seconds *without* a new envelope, and
 * `max_messages` after that many envelopes. So the trigger waits with max_messages=1 (answered as
 * soon as one arrives), then drains what queued meanwhile in batches, until a drain comes back
 * empty. The API kills a receive after 120 s (SIGNAL_CLI_CMD_TIMEOUT) and its envelopes are lost
 * then: every receive here ends well before that.
 * https://bbernhard.github.io/signal-cli-rest-api/ (GET /v1/receive/{number})
 */
import type { InboundEvent, ReceiveSettings } from '../core/channel';
import { HttpJsonError } from '../core/http-json';
import { isRecord, listOf, stringOr } from '../core/payload';
import { RecentKeys } from '../core/recent-keys';
import type { PollLog, PollSource } from '../shared/cursor-poller';
import { callSignal, createSignalClient, describeSignalError, signalEnvelopeToInbound, type SignalCredential } from './signal.plugin';

export interface SignalPollOptions extends ReceiveSettings {
	/** Seconds a waiting receive lasts without an envelope (whole seconds: the API reads an integer). */
	waitSeconds?: number;
	/** "Listen for test event": one envelope per receive, so the test takes no more than it shows. */
	oneAtATime?: boolean;
}

/** Envelopes one drain takes at most: with its 1 s timeout, a receive that ends far inside the API's 120 s. */
const DRAIN_BATCH = 20;

/** The API's answer when it runs in json-rpc mode: /v1/receive is a WebSocket there. */
const isJsonRpcAnswer = (error: unknown) => error instanceof HttpJsonError && error.status === 400 && /websocket/i.test(stringOr(error.body?.error, ''));

export function describeSignalReceiveError(error: unknown, action: string): Error {
	if (isJsonRpcAnswer(error)) return jsonRpcModeError();
	return describeSignalError(error, action);
}

const jsonRpcModeError = () =>
	new HttpJsonError(
		'signal-cli-rest-api runs in json-rpc mode, where messages arrive only over the WebSocket. Set "Receive Through" to WebSocket, or run the container with MODE=native (or MODE=normal) to poll.',
		null,
	);

export function signalPollSource(credential: SignalCredential, options: SignalPollOptions, log: PollLog): PollSource<Record<string, unknown>> {
	const client = createSignalClient(credential);
	const waitSeconds = Math.max(1, Math.round(options.waitSeconds ?? 5));
	const recent = new RecentKeys();
	let draining = false;

	const receive = async (query: Record<string, string>, signal: AbortSignal) => {
		const path = `/v1/receive/${encodeURIComponent(client.account)}?${new URLSearchParams({ ...query, ignore_stories: 'true' })}`;
		// Past the API's own 120 s limit a receive cannot answer.
		return await callSignal(client, 'GET', path, undefined, { signal, timeoutMs: 150_000 });
	};

	return {
		// A receive that a stop aborted would still take envelopes and answer nobody; it ends within
		// its timeout (plus signal-cli's start), so a stop waits for it.
		takes: { finishFetchMs: (waitSeconds + 10) * 1000 },
		async begin(signal) {
			const about = await callSignal(client, 'GET', '/v1/about', undefined, { signal }).catch((error: unknown) => {
				if (error instanceof HttpJsonError && error.status === 404) return null;
				throw error;
			});
			if (about?.mode === 'json-rpc') throw jsonRpcModeError();
			return '';
		},
		async fetch(cursor, signal) {
			const query = draining && !options.oneAtATime ? { timeout: '1', max_messages: String(DRAIN_BATCH) } : { timeout: String(waitSeconds), max_messages: '1' };
			const answer = await receive(query, signal);
			const events = listOf(answer.items).filter(isRecord);
			// Envelopes came: more may have queued meanwhile.
			draining = events.length > 0;
			return { events, cursor };
		},
		async inbound(event): Promise<InboundEvent | null> {
			const inbound = signalEnvelopeToInbound(event, { account: client.account, sessionScope: options.sessionScope });
			if (!inbound?.envelope) {
				log.debug(`Signal envelope starts no execution: ${inbound?.skipped ?? 'not an envelope'}`);
				return null;
			}
			// Signal's servers give an envelope again when signal-cli's acknowledgement was lost.
			if (!recent.remember(inbound.dedupeKey)) {
				log.debug(`Signal message ${inbound.dedupeKey} came again; it was handed over already`);
				return null;
			}
			return inbound;
		},
		isFatal: (error) => isJsonRpcAnswer(error) || (error instanceof HttpJsonError && /not registered/i.test(stringOr(error.body?.error, ''))),
		describe: describeSignalReceiveError,
	};
}
