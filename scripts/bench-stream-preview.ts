/**
 * Section (d) of `npm run bench:session` (`BENCH_SECTIONS=preview` alone): how long a person waits
 * for the first visible text of an answer with Stream Preview and without, the model equally slow
 * both ways. Runs the code AI Session and the send node run: SessionEngine → OpenAiChatModel →
 * fetch → the loopback OpenAI emulator, then the Telegram plugin's draft (DraftAnswer through
 * draftChatOf, paced per chat) and the send path (deliverText, editing the draft via draftOfItem)
 * against the loopback Telegram emulator, which records when each message and edit arrived.
 */
import { OpenAiChatModel } from '../nodes/core/session/openai.model';
import { DraftAnswer } from '../nodes/core/draft-answer';
import { deliverText } from '../nodes/core/outbound';
import { SessionEngine, type SessionEngineConfig } from '../nodes/core/session/engine';
import { MemorySessionStore } from '../nodes/core/stores/memory.store';
import { draftChatOf, draftOfItem } from '../nodes/shared/stream-preview';
import { telegramPlugin } from '../nodes/Telegram/telegram.plugin';
import { OpenAiEmulator } from '../test/emulators/openai';
import { TelegramEmulator } from '../test/emulators/telegram';

const WORDS = 60;
const TOKEN_DELAY_MS = 25;
/** The model thinks this long before its first token. */
const FIRST_TOKEN_MS = 300;
const ANSWER = Array.from({ length: WORDS }, (_, index) => `word${index}`).join(' ');

export interface PreviewRow {
	mode: 'Stream Preview off' | 'Stream Preview on';
	samples: number;
	firstTextP50Ms: number;
	firstTextP95Ms: number;
	finalP50Ms: number;
	writesP50: number;
}

function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs `samples` answers each way, interleaved (order swapped every round); returns the rows and the method. */
export async function benchStreamPreview(config: SessionEngineConfig, samples: number, progress: (line: string) => void): Promise<{ rows: PreviewRow[]; method: string; speedup: number }> {
	const model = new OpenAiEmulator({ responder: () => ANSWER });
	const telegram = new TelegramEmulator();
	await Promise.all([model.start(), telegram.start()]);
	const client = await telegramPlugin.createClient({ accessToken: telegram.token, baseUrl: telegram.apiRoot });
	const engine = new SessionEngine(new MemorySessionStore(), new OpenAiChatModel({ apiKey: model.apiKey, baseUrl: model.baseUrl, timeoutMs: 30_000 }), { ...config, maxOutputTokens: 1_024 });
	const measured: Record<PreviewRow['mode'], Array<{ firstMs: number; finalMs: number; writes: number }>> = { 'Stream Preview off': [], 'Stream Preview on': [] };
	let chat = 0;

	const answerOnce = async (mode: PreviewRow['mode']) => {
		const chatId = String(++chat);
		const preview = mode === 'Stream Preview on';
		// A model writes its answer in the same time whether it streams it or not: a whole answer comes when the last token is written.
		model.latencyMs = FIRST_TOKEN_MS + (preview ? 0 : WORDS * TOKEN_DELAY_MS);
		model.streamDelayMs = TOKEN_DELAY_MS;
		const draft = preview ? new DraftAnswer(draftChatOf(telegramPlugin, async () => client, { chatId, threadId: null, replyToId: null, accountId: 'bench', chatType: 'dm' })) : undefined;
		const startedAt = Date.now();
		const outcome = await engine.handle({ sessionId: `bench-preview:${chatId}`, text: 'Count for me.', messageKey: `bench-preview:${chatId}:1`, senderKey: null, command: null }, { stream: draft });
		if (outcome.kind !== 'reply') throw new Error(`the bench answer was ${outcome.reason}`);
		const item = { reply: outcome.reply, accountId: 'bench', chat: { type: 'dm' } };
		await deliverText(telegramPlugin, client, { chatId, markdown: outcome.reply.text, replyToId: null, threadId: null, linkPreviews: false, draft: draftOfItem(telegramPlugin, item as never, chatId) });
		const messages = telegram.sent.filter((message) => message.chatId === chatId);
		if (messages.length !== 1 || messages[0].text !== ANSWER) throw new Error(`chat ${chatId} shows ${messages.length} messages, not the one answer`);
		const [message] = messages;
		measured[mode].push({ firstMs: message.sentAt - startedAt, finalMs: (message.editedAt.at(-1) ?? message.sentAt) - startedAt, writes: 1 + message.editedAt.length });
	};

	try {
		await answerOnce('Stream Preview off');
		await answerOnce('Stream Preview on');
		for (const mode of Object.keys(measured) as PreviewRow['mode'][]) measured[mode].length = 0;
		for (let round = 0; round < samples; round++) {
			const modes: PreviewRow['mode'][] = round % 2 === 0 ? ['Stream Preview off', 'Stream Preview on'] : ['Stream Preview on', 'Stream Preview off'];
			for (const mode of modes) await answerOnce(mode);
		}
		progress(`stream preview: ${samples} answers each way`);
	} finally {
		await Promise.all([model.stop(), telegram.stop()]);
	}

	const rows = (Object.keys(measured) as PreviewRow['mode'][]).map((mode) => {
		const runs = measured[mode];
		return {
			mode,
			samples: runs.length,
			firstTextP50Ms: percentile(runs.map((run) => run.firstMs), 50),
			firstTextP95Ms: percentile(runs.map((run) => run.firstMs), 95),
			finalP50Ms: percentile(runs.map((run) => run.finalMs), 50),
			writesP50: percentile(runs.map((run) => run.writes), 50),
		};
	});
	const method = `Method (d): time from the message to the first visible text in the chat, with Stream Preview and without, the model equally slow both ways: the OpenAI emulator waits ${FIRST_TOKEN_MS} ms, then writes ${WORDS} words ${TOKEN_DELAY_MS} ms apart (streamed), or answers whole once the last word would be written (${FIRST_TOKEN_MS + WORDS * TOKEN_DELAY_MS} ms). Each answer runs SessionEngine.handle (OpenAiChatModel → fetch → loopback emulator; memory store) and then the send path (deliverText; with Stream Preview it edits the draft, which DraftAnswer posted and edited at Telegram's 1 edit/s per chat) against the loopback Telegram emulator; times are when the emulator took the first message and its last edit (Date.now, one process), from the start of SessionEngine.handle. One warm-up answer each way, then ${samples} each, interleaved, order swapped every round, a new chat for every answer.`;
	const speedup = rows[0].firstTextP50Ms / rows[1].firstTextP50Ms;
	return { rows, method, speedup };
}
