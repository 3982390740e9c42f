/**
 * A Zulip event queue as a cursor source: `POST /register` (message events, raw Markdown), then
 * `GET /events` long polls whose `last_event_id` acknowledges what came before; the cursor is the
 * queue and the last event confirmed after its execution. Zulip drops a queue that nobody polled
 * for about ten minutes (BAD_EVENT_QUEUE_ID): the trigger registers a new one and says in n8n's
 * log that messages of the gap are not answered. https://zulip.com/api/real-time-events
 */
import type { InboundEvent, ReceiveSettings } from '../core/channel';
import { HttpJsonError } from '../core/http-json';
import { finiteNumberOrNull, isRecord, listOf, nonEmptyStringOrNull } from '../core/payload';
import type { PollLog, PollSource } from '../shared/cursor-poller';
import { callZulip, createZulipClient, describeZulipError, zulipBotOf, zulipEventToInbound, type ZulipClient, type ZulipCredential } from './zulip.plugin';

interface QueueCursor {
	queueId: string;
	lastEventId: number;
}

function readCursor(cursor: string): QueueCursor | null {
	try {
		const parsed = JSON.parse(cursor) as QueueCursor;
		return typeof parsed.queueId === 'string' && Number.isInteger(parsed.lastEventId) ? parsed : null;
	} catch {
		return null;
	}
}

async function registerQueue(client: ZulipClient, signal: AbortSignal): Promise<string> {
	// apply_markdown false: message content as the person wrote it (Markdown), not rendered HTML.
	const queue = await callZulip(client, 'POST', '/register', { event_types: ['message'], apply_markdown: false, all_public_streams: false }, { signal });
	const queueId = nonEmptyStringOrNull(queue.queue_id);
	if (!queueId) throw new HttpJsonError('Zulip answered the queue registration without a queue_id.', null);
	return JSON.stringify({ queueId, lastEventId: finiteNumberOrNull(queue.last_event_id) ?? -1 });
}

const isFatal = (error: unknown) => error instanceof HttpJsonError && error.status === 401;

export async function zulipQueueSource(credential: ZulipCredential, options: ReceiveSettings & { longPollMs?: number }, log: PollLog): Promise<PollSource<Record<string, unknown>>> {
	const client = createZulipClient(credential);
	const bot = await zulipBotOf(client).catch((error: unknown) => {
		throw describeZulipError(error, 'find out who the bot is (/users/me)');
	});
	return {
		begin: (signal) => registerQueue(client, signal),
		async fetch(cursor, signal) {
			const queue = readCursor(cursor);
			if (!queue) return { events: [], cursor: await registerQueue(client, signal) };
			// Zulip answers a waiting poll with a heartbeat event about every minute.
			const poll = { queue_id: queue.queueId, last_event_id: String(queue.lastEventId) };
			const answer = await callZulip(client, 'GET', '/events', poll, { signal, timeoutMs: (options.longPollMs ?? 90_000) + 30_000 }).catch((error: unknown) => {
				if (error instanceof HttpJsonError && error.body?.code === 'BAD_EVENT_QUEUE_ID') return null;
				return Promise.reject(error);
			});
			if (answer === null) {
				log.warn('Zulip dropped the trigger\'s event queue (nobody polled it for about ten minutes, e.g. while n8n was down); a new one is registered. Messages sent in between are not answered.');
				return { events: [], cursor: await registerQueue(client, signal) };
			}
			const events = listOf(answer.events).filter(isRecord);
			const lastEventId = Math.max(queue.lastEventId, ...events.map((event) => finiteNumberOrNull(event.id) ?? -1));
			return { events, cursor: JSON.stringify({ queueId: queue.queueId, lastEventId }) };
		},
		async inbound(event): Promise<InboundEvent | null> {
			const inbound = zulipEventToInbound(event, { bot, sessionScope: options.sessionScope });
			if (inbound && !inbound.envelope) log.debug(`Zulip event ${String(event.id)} starts no execution: ${inbound.skipped ?? ''}`);
			return inbound;
		},
		isFatal,
		describe: describeZulipError,
	};
}
