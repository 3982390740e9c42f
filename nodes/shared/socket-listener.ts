/**
 * A WebSocket a listener trigger holds open to a self-hosted chat server (Mattermost, Rocket.Chat),
 * written once: connect and log in, keep the connection alive, reconnect with backoff, and fetch
 * over REST what was posted while it was down, so a dropped connection or an n8n restart loses
 * no message and repeats none.
 *
 * How far the listener has read (the newest message's time, and the IDs posted at that time) is
 * written to the trigger's static data before each message is emitted; n8n saves a trigger's static
 * data as it starts the execution (n8n 2.x `emit`). After a restart the listener asks the server for
 * what came after it. A clean shutdown waits for running executions (n8n's and close()'s), so it
 * loses and repeats nothing; a crash (SIGKILL, power loss) during an execution loses that
 * message's answer, since it was confirmed when handed over (see the channel docs).
 */
import type { IDataObject, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';
import type WebSocket from 'ws';

import type { AccessFacts } from '../core/access-policy';
import type { AnyChannelPlugin, ChannelPlugin, InboundEvent } from '../core/channel';
import type { SessionScope } from '../core/envelope';
import { runListenerTrigger, type ListenerHandlers, type RunningListener } from './listener-trigger';
import { receiveSettingsFrom } from './trigger-settings';

/** What one frame of the server means to the listener. */
export interface FrameReading<Message> {
	/** Frames to send back (a login step, a pong). */
	reply?: string[];
	messages?: Message[];
	/** The session is logged in and subscribed: messages flow from now on. */
	ready?: boolean;
	/** The server refused the session for good (a revoked token). */
	fatal?: Error;
}

/** One connection's conversation with the server: its own login state, nothing shared between connections. */
export interface SocketSession<Message> {
	/** Frames to send once the socket is open. */
	opening(): string[];
	read(frame: string): FrameReading<Message>;
}

export interface SocketPlatform<Message> {
	/** For log lines: "Mattermost". */
	name: string;
	url: string;
	headers?: Record<string, string>;
	newSession(): SocketSession<Message>;
	/** Messages posted after `since` (milliseconds, the server's clock), oldest first. */
	missedSince(since: number): Promise<Message[]>;
	/** The message's ID, unique on the server. */
	keyOf(message: Message): string;
	/** When it was posted, in milliseconds of the server's clock. */
	timeOf(message: Message): number;
	/** The message as an event: its envelope (or null and why not) and facts for the access policy. */
	inbound(message: Message): InboundEvent | Promise<InboundEvent>;
}

export interface SocketListenerLog {
	debug(message: string): void;
	info(message: string): void;
	warn(message: string): void;
}

export interface SocketListenerOptions {
	/** Waits before reconnecting: doubling from `initial` up to `max`. */
	backoffMs?: { initial: number; max: number };
	/** How often the connection is checked with a ping; no pong by the next check ends it. */
	pingIntervalMs?: number;
	/** How long the first connection may take before activation fails. */
	connectTimeoutMs?: number;
	/** How long close() waits for running executions. */
	closeTimeoutMs?: number;
}

interface Cursor {
	at: number;
	ids: string[];
}

function cursorFrom(value: unknown): Cursor | null {
	const record = value as { at?: unknown; ids?: unknown } | null;
	if (!record || typeof record.at !== 'number' || !Number.isFinite(record.at)) return null;
	return { at: record.at, ids: Array.isArray(record.ids) ? record.ids.filter((id): id is string => typeof id === 'string').slice(-100) : [] };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** ws, loaded when a listener starts, not on import: a node file can be loaded without running (n8n loads them all right after an install), Mattermost and Rocket.Chat used or not. */
function loadWebSocket(): typeof WebSocket {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	return require('ws') as typeof WebSocket;
}

/**
 * Opens the socket and hands every new message to `handlers`; resolves once the first session is
 * ready, rejects when the server refuses it or cannot be reached.
 */
export async function startSocketListener<Message>(
	platform: SocketPlatform<Message>,
	handlers: Pick<ListenerHandlers, 'admit' | 'emitAndWait' | 'onFatalError' | 'cursor'>,
	log: SocketListenerLog,
	options: SocketListenerOptions = {},
): Promise<RunningListener> {
	const Socket = loadWebSocket();
	const backoff = options.backoffMs ?? { initial: 1_000, max: 60_000 };
	const startedAt = Date.now();
	const stored = cursorFrom(handlers.cursor.read());
	let cursor: Cursor | null = stored;
	const seen = new Set<string>();
	const inFlight = new Set<Promise<void>>();
	let closed = false;
	let socket: WebSocket | null = null;
	let reconnectTimer: NodeJS.Timeout | null = null;
	let failures = 0;
	/** Set when the server refused the session: no reconnect would be let in either. */
	let refusal: Error | null = null;
	// Messages are taken one at a time, in order, so the cursor only moves forward.
	let queue = Promise.resolve();

	const isNew = (key: string, time: number) => {
		if (seen.has(key)) return false;
		if (cursor === null) return true;
		return time > cursor.at || (time === cursor.at && !cursor.ids.includes(key));
	};

	const take = async (message: Message) => {
		const key = platform.keyOf(message);
		const time = platform.timeOf(message);
		if (closed || !isNew(key, time)) return;
		seen.add(key);
		if (seen.size > 5_000) seen.delete(seen.values().next().value as string);
		cursor = cursor === null || time > cursor.at ? { at: time, ids: [key] } : { at: cursor.at, ids: [...cursor.ids, key].slice(-100) };
		// Written before the emit: n8n saves the trigger's static data as it starts the execution.
		handlers.cursor.write({ at: cursor.at, ids: cursor.ids });
		const event = await platform.inbound(message);
		if (!event.envelope) return log.debug(`${platform.name} message ${key} starts no execution: ${event.skipped ?? 'not a message'}`);
		if (!(await handlers.admit(event.envelope, event.facts as AccessFacts))) return;
		const running = handlers.emitAndWait(event.envelope).catch((error: unknown) => log.warn(`${platform.name} message ${key}: ${(error as Error).message}`));
		inFlight.add(running);
		void running.finally(() => inFlight.delete(running));
	};
	const enqueue = (messages: Message[]) => {
		for (const message of messages) {
			queue = queue.then(() => take(message)).catch((error: unknown) => log.warn(`${platform.name}: skipped a message that could not be read: ${(error as Error).message}`));
		}
	};

	/** One connection: resolves when its session is ready, rejects when it fails before that. */
	const connect = () =>
		new Promise<void>((resolve, reject) => {
			const session = platform.newSession();
			const ws = new Socket(platform.url, { headers: platform.headers, handshakeTimeout: options.connectTimeoutMs ?? 30_000 });
			socket = ws;
			let ready = false;
			let alive = true;
			// While missed messages are fetched, live ones wait, so nothing older arrives after something newer.
			let held: Message[] | null = null;
			const pinger = setInterval(() => {
				if (!alive) return ws.terminate();
				alive = false;
				ws.ping();
			}, options.pingIntervalMs ?? 30_000);
			pinger.unref?.();
			ws.on('pong', () => (alive = true));
			ws.on('open', () => {
				for (const frame of session.opening()) ws.send(frame);
			});
			ws.on('message', (data) => {
				alive = true;
				const reading = session.read(data.toString());
				for (const frame of reading.reply ?? []) ws.send(frame);
				if (reading.fatal) {
					refusal = reading.fatal;
					ws.close();
					if (!ready) return reject(reading.fatal);
					return handlers.onFatalError(reading.fatal);
				}
				if (reading.messages?.length) {
					if (held) held.push(...reading.messages);
					else enqueue(reading.messages);
				}
				if (reading.ready && !ready) {
					ready = true;
					failures = 0;
					held = [];
					resolve();
					const since = cursor?.at ?? startedAt;
					void platform
						.missedSince(since)
						.then((missed) => {
							if (missed.length > 0) log.info(`${platform.name}: fetched ${missed.length} message(s) posted since ${new Date(since).toISOString()}`);
							// A message both fetched and received live is taken as the event told it (events say more: names, mentions).
							const live = new Map((held ?? []).map((message) => [platform.keyOf(message), message]));
							enqueue(missed.map((message) => live.get(platform.keyOf(message)) ?? message));
						})
						.catch((error: unknown) => log.warn(`${platform.name}: could not fetch the messages posted while disconnected: ${(error as Error).message}`))
						.finally(() => {
							enqueue(held ?? []);
							held = null;
						});
				}
			});
			ws.on('error', (error) => log.debug(`${platform.name} connection error: ${error.message}`));
			ws.on('close', () => {
				clearInterval(pinger);
				if (!ready) reject(new Error(`${platform.name} closed the connection before the session was ready.`));
				if (closed || socket !== ws || refusal) return;
				failures++;
				const delay = Math.min(backoff.initial * 2 ** (failures - 1), backoff.max);
				log.info(`${platform.name}: the connection dropped; reconnecting in ${Math.round(delay / 100) / 10} s`);
				reconnectTimer = setTimeout(() => void reconnect(), delay);
			});
		});

	const reconnect = async () => {
		reconnectTimer = null;
		if (closed) return;
		try {
			await connect();
			log.info(`${platform.name}: connected again`);
		} catch (error) {
			if (refusal) handlers.onFatalError(refusal);
			else log.warn(`${platform.name}: reconnecting failed: ${(error as Error).message}`);
		}
	};

	// A first connection that fails fails activation (runListenerTrigger shows it in n8n's terms).
	await connect().catch((error: unknown) => {
		closed = true;
		(socket as WebSocket | null)?.terminate();
		throw error;
	});

	return {
		async close() {
			if (closed) return;
			closed = true;
			if (reconnectTimer) clearTimeout(reconnectTimer);
			const ws = socket as WebSocket | null;
			if (ws && ws.readyState !== Socket.CLOSED) {
				// The server sees the connection end before close() returns (a closing handshake, at most 2 s).
				const ended = new Promise<void>((resolve) => ws.once('close', () => resolve()));
				ws.close();
				await Promise.race([ended, sleep(2_000)]);
				ws.terminate();
			}
			// The answers of messages already taken still go out, within a bound.
			if (inFlight.size > 0) await Promise.race([Promise.allSettled([...inFlight]), sleep(options.closeTimeoutMs ?? 20_000)]);
		},
	};
}

/**
 * A socket listener trigger's `trigger()`: the credential and options read once, the plugin's
 * client made, the platform's socket part built (a failure there fails activation in the
 * plugin's words), and the shared listener run through the listener pipeline.
 */
export async function runSocketTrigger<Credential, Client>(
	context: ITriggerFunctions,
	plugin: ChannelPlugin<Credential, Client>,
	socketOf: (client: Client, sessionScope: SessionScope) => Promise<SocketPlatform<unknown>>,
): Promise<ITriggerResponse> {
	const credential = (await context.getCredentials(plugin.credentialType)) as unknown as Credential;
	const { policy, sessionScope } = receiveSettingsFrom(plugin as AnyChannelPlugin, context.getNodeParameter('options', {}) as IDataObject);
	return await runListenerTrigger(context, plugin as AnyChannelPlugin, { credential, policy }, async (handlers) => {
		const platform = await Promise.resolve()
			.then(async () => await socketOf(await plugin.createClient(credential), sessionScope))
			.catch((error: unknown) => {
				throw plugin.describeError(error, 'connect');
			});
		return await startSocketListener(platform, handlers, context.logger);
	});
}
