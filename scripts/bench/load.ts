/**
 * Closed-loop load through a Telegram emulator: `concurrency` users, each posting one update to
 * the workflow's webhook and waiting for the bot's sendMessage to their chat before writing
 * again, like people in a chat do. A chat never has two messages in flight, so a reply is matched
 * to its message by chat id alone, and no flow ever waits on its own per-session ordering.
 */
import { performance } from 'node:perf_hooks';

import type { RecordedRequest } from '../../test/emulators/kit';
import type { TelegramEmulator } from '../../test/emulators/telegram';

export interface LoadTarget {
	bot: TelegramEmulator;
	/** Where updates are posted; the URL the bot registered with setWebhook when omitted. */
	webhookUrl?: string;
	/** Chat ids (one session each) used in turn, continuing from batch to batch so all grow alike. */
	chatIds: number[];
	/** Where the next batch starts in chatIds; kept up to date by runBatch. */
	nextChat?: number;
}

export interface BatchResult {
	/** Messages posted. */
	messages: number;
	concurrency: number;
	/** Answered messages per second, from the first update posted to the last sendMessage received. */
	throughput: number;
	wallMs: number;
	/** End-to-end latency of every answered message: update posted → sendMessage received. */
	latenciesMs: number[];
	errors: string[];
	/** Updates posted again because n8n answered 5xx (e.g. 503 "Database is not ready!"), as Telegram redelivers. */
	redeliveries: number;
}

export interface LoadOptions {
	/** At most this many messages. */
	messages: number;
	concurrency: number;
	/** No new message is posted after this many seconds, once `minMessages` have been. */
	maxSeconds?: number;
	minMessages?: number;
	replyTimeoutMs?: number;
	/** Checked between messages; a true value stops the batch early (Ctrl-C). */
	stopped?: () => boolean;
}

let textCounter = 0;

export async function runBatch(
	target: LoadTarget,
	{ messages, concurrency, maxSeconds = Number.POSITIVE_INFINITY, minMessages = 0, replyTimeoutMs = 60_000, stopped = () => false }: LoadOptions,
): Promise<BatchResult> {
	const { bot } = target;
	const sendPath = `/bot${bot.token}/sendMessage`;
	// A reply is taken by one message only; a late reply to a timed-out message is never reused.
	const taken = new WeakSet<RecordedRequest>();
	const firstChat = target.nextChat ?? 0;
	const freeChats = rotated(target.chatIds, firstChat);
	const latenciesMs: number[] = [];
	const errors: string[] = [];
	let next = 0;
	let lastDone = 0;
	let redeliveries = 0;

	/** Posts like Telegram: a 5xx answer or a failed connection is retried (here after 1 s, at most 5 times). */
	const post = async (update: unknown) => {
		for (let attempt = 1; ; attempt++) {
			try {
				const delivery = await bot.deliver(update, target.webhookUrl ? { url: target.webhookUrl } : {});
				if (delivery.status < 500 || attempt === 5) return delivery;
			} catch (error) {
				if (attempt === 5) throw error;
			}
			redeliveries++;
			await new Promise((resolve) => setTimeout(resolve, 1_000));
		}
	};

	const oneMessage = async (chatId: number): Promise<boolean> => {
		const chat = String(chatId);
		const update = bot.textUpdate({ text: `Message ${++textCounter}: what should I cook tonight?`, chatId, from: { id: chatId, is_bot: false, first_name: 'Bench', username: `bench${chatId}` } });
		const started = performance.now();
		// Waiting starts before the update is posted, so even an instant reply is seen.
		const replied = bot.server.waitFor(
			(request) => request.path === sendPath && !taken.has(request) && String(request.body.chat_id) === chat,
			{ timeoutMs: replyTimeoutMs, description: `the reply to chat ${chat}` },
		);
		replied.catch(() => undefined);
		try {
			const delivery = await post(update);
			if (delivery.status !== 200) throw new Error(`the webhook answered ${delivery.status}: ${delivery.body.slice(0, 200)}`);
			taken.add(await replied);
			const done = performance.now();
			latenciesMs.push(done - started);
			lastDone = Math.max(lastDone, done);
			return true;
		} catch (error) {
			errors.push((error as Error).message);
			return false;
		}
	};

	const batchStart = performance.now();
	const timeIsUp = () => next >= minMessages && performance.now() - batchStart >= maxSeconds * 1000;
	const worker = async () => {
		while (next < messages && !timeIsUp() && !stopped()) {
			next++;
			const chatId = freeChats.shift();
			if (chatId === undefined) throw new Error('More users than chats: raise the number of sessions.');
			// A chat whose reply timed out is retired, so its late reply cannot be taken for a later message.
			if (await oneMessage(chatId)) freeChats.push(chatId);
		}
	};
	await Promise.all(Array.from({ length: concurrency }, worker));
	target.nextChat = (firstChat + next) % target.chatIds.length;
	// The emulator records every request; dropping them keeps its memory and the reply search small.
	bot.server.requests.length = 0;
	bot.sent.length = 0;
	const wallMs = (lastDone || performance.now()) - batchStart;
	return { messages: next, concurrency, throughput: latenciesMs.length / (wallMs / 1000), wallMs, latenciesMs, errors, redeliveries };
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const median = (values: number[]) => percentile(values, 50);

/** Rotates a list by `by` places, so no flow always runs first in a round. */
export function rotated<T>(items: readonly T[], by: number): T[] {
	const shift = ((by % items.length) + items.length) % items.length;
	return [...items.slice(shift), ...items.slice(0, shift)];
}
