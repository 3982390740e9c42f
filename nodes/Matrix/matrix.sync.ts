/**
 * Matrix `/sync` long polling as a cursor source: the `since` token is the cursor (confirmed
 * after the executions of the events it covers, see nodes/shared/cursor-poller.ts), DMs are known
 * from the bot's `m.direct` account data or a room of two, invites are joined when asked, and
 * encrypted rooms are reported once in n8n's log, never answered.
 * https://spec.matrix.org/latest/client-server-api/#get_matrixclientv3sync
 */
import type { InboundEvent, ReceiveSettings } from '../core/channel';
import { HttpJsonError } from '../core/http-json';
import { finiteNumberOrNull, isRecord, listOf, nonEmptyStringOrNull, recordOrNull, stringOr } from '../core/payload';
import type { PollLog, PollSource } from '../shared/cursor-poller';
import { callMatrix, createMatrixClient, describeMatrixError, matrixEventToInbound, matrixUserIdOf, type MatrixClient, type MatrixCredential } from './matrix.plugin';

export interface MatrixSyncOptions extends ReceiveSettings {
	autoJoin: boolean;
	/** How long the homeserver holds one /sync open (ms). */
	longPollMs?: number;
}

export interface MatrixSyncEvent {
	roomId: string;
	event: Record<string, unknown>;
}

// Only what the trigger reads: room messages (and encrypted ones, to warn), member counts, m.direct.
const FILTER = JSON.stringify({
	presence: { types: [] },
	account_data: { types: ['m.direct'] },
	room: { timeline: { limit: 50, types: ['m.room.message', 'm.room.encrypted'] }, state: { lazy_load_members: true, types: ['m.room.member'] }, ephemeral: { types: [] }, account_data: { types: [] } },
});

const isFatal = (error: unknown) => error instanceof HttpJsonError && (error.status === 401 || error.body?.errcode === 'M_UNKNOWN_TOKEN');

export async function matrixSyncSource(credential: MatrixCredential, options: MatrixSyncOptions, log: PollLog): Promise<PollSource<MatrixSyncEvent>> {
	const client = createMatrixClient(credential);
	const botUserId = await matrixUserIdOf(client).catch((error: unknown) => {
		throw describeMatrixError(error, 'find out who the bot is (whoami)');
	});
	const profile = await callMatrix(client, 'GET', `/profile/${encodeURIComponent(botUserId)}/displayname`).catch(() => null);
	const botDisplayName = nonEmptyStringOrNull(profile?.displayname);
	const directRooms = new Set<string>();
	const memberCounts = new Map<string, number>();
	const warnedEncrypted = new Set<string>();

	const readDirect = (content: unknown) => {
		directRooms.clear();
		for (const rooms of Object.values(recordOrNull(content) ?? {})) for (const roomId of listOf(rooms)) if (typeof roomId === 'string') directRooms.add(roomId);
	};
	// After a restart the sync resumes from a token, so m.direct is read once on its own; a bot that never had a DM has none (404).
	readDirect(await callMatrix(client, 'GET', `/user/${encodeURIComponent(botUserId)}/account_data/m.direct`).catch(() => null));

	const sync = (since: string | null, timeoutMs: number, signal: AbortSignal) => {
		const query = new URLSearchParams({ filter: FILTER, timeout: String(timeoutMs), ...(since ? { since } : {}) });
		return callMatrix(client, 'GET', `/sync?${query}`, { signal, timeoutMs: timeoutMs + 30_000 });
	};

	return {
		async begin(signal) {
			// The first sync only finds where "now" is: the history it returns is not answered.
			const first = await sync(null, 0, signal);
			return stringOr(first.next_batch, '');
		},
		async fetch(cursor, signal) {
			const answer = await sync(cursor, options.longPollMs ?? 25_000, signal);
			const nextBatch = nonEmptyStringOrNull(answer.next_batch);
			if (!nextBatch) throw new HttpJsonError('The homeserver answered /sync without next_batch.', null);
			for (const event of listOf(recordOrNull(answer.account_data)?.events)) if (isRecord(event) && event.type === 'm.direct') readDirect(event.content);
			const rooms = recordOrNull(answer.rooms);
			await joinInvites(client, Object.keys(recordOrNull(rooms?.invite) ?? {}), options.autoJoin, log);
			const events: MatrixSyncEvent[] = [];
			for (const [roomId, joined] of Object.entries(recordOrNull(rooms?.join) ?? {})) {
				const count = finiteNumberOrNull(recordOrNull(recordOrNull(joined)?.summary)?.['m.joined_member_count']);
				if (count !== null) memberCounts.set(roomId, count);
				const timeline = recordOrNull(recordOrNull(joined)?.timeline);
				if (timeline?.limited === true) log.warn(`Matrix: more messages arrived in room ${roomId} than one sync holds; the older ones are not answered.`);
				for (const event of listOf(timeline?.events)) if (isRecord(event)) events.push({ roomId, event });
			}
			return { events, cursor: nextBatch };
		},
		async inbound({ roomId, event }): Promise<InboundEvent | null> {
			if (event.type === 'm.room.encrypted') {
				if (!warnedEncrypted.has(roomId)) {
					warnedEncrypted.add(roomId);
					log.warn(`Matrix room ${roomId} is end-to-end encrypted: Clawgate cannot read its messages and does not answer them. Use an unencrypted room (encryption cannot be turned off once on).`);
				}
				return null;
			}
			const inbound = matrixEventToInbound(event, roomId, { botUserId, botDisplayName, isDirect: await isDirect(client, roomId), sessionScope: options.sessionScope });
			if (!inbound.envelope) log.debug(`Matrix event ${stringOr(event.event_id, '')} starts no execution: ${inbound.skipped ?? ''}`);
			return inbound;
		},
		isFatal,
		describe: describeMatrixError,
	};

	/** m.direct, else a room whose only members are the bot and one person. */
	async function isDirect(matrix: MatrixClient, roomId: string): Promise<boolean> {
		if (directRooms.has(roomId)) return true;
		if (!memberCounts.has(roomId)) {
			const members = await callMatrix(matrix, 'GET', `/rooms/${encodeURIComponent(roomId)}/joined_members`).catch(() => null);
			memberCounts.set(roomId, Object.keys(recordOrNull(members?.joined) ?? {}).length);
		}
		return memberCounts.get(roomId) === 2;
	}
}

async function joinInvites(client: MatrixClient, roomIds: string[], autoJoin: boolean, log: PollLog): Promise<void> {
	for (const roomId of roomIds) {
		if (!autoJoin) {
			log.debug(`Matrix: the bot is invited to ${roomId}; "Join Invited Rooms" is off, so it stays out`);
			continue;
		}
		await callMatrix(client, 'POST', `/join/${encodeURIComponent(roomId)}`, { body: {} }).then(
			() => log.info(`Matrix: joined ${roomId} after an invite`),
			(error: unknown) => log.warn(describeMatrixError(error, `join the room ${roomId}`).message),
		);
	}
}
