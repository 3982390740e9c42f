/**
 * The session engine: one inbound message in, one answer (or "ignored") out. Plain TypeScript,
 * so every rule here (idempotency, commands, limits, context, compaction, ordering) is tested
 * without n8n; the AI Session node only maps parameters and items onto it.
 */
import { contextBudget, fitTurnsToBudget, truncateMiddle, truncateMiddleToCharacters } from '../budget';
import { budgetScale, calibrate } from '../token-calibration';
import { contextWindowFor, createTokenCounter, encodingForModel, type TokenCounter } from '../tokens';
import { callModelWithFallback } from './model-call';
import { ModelCallError, type AnswerPreview, type AnswerStream, type ChatImage, type ChatMessage, type ChatModel, type ChatUsage } from './model';
import type { NewTurn, SessionState, SessionStore, SessionSummary, SessionWindow, StoredTurn } from './store';

export type CommandName = 'new' | 'reset' | 'usage' | 'help' | 'forget';

/** Longest user message (UTF-16 units) before it is cut, when the configuration does not say. */
export const DEFAULT_MAX_INPUT_CHARACTERS = 16_000;

export interface SessionEngineConfig {
	/** The primary model first, then the fallbacks in order. */
	models: string[];
	systemPrompt: string;
	/** Overrides the built-in context window table for the primary model. */
	contextWindow?: number;
	maxOutputTokens: number;
	safetyMargin: number;
	temperature?: number;
	/**
	 * User text longer than this many characters is cut in the middle before anything else reads
	 * it: counting tokens costs far more per character than cutting, and an item from a Webhook or
	 * Chat Trigger can be megabytes. Default DEFAULT_MAX_INPUT_CHARACTERS.
	 */
	maxInputCharacters?: number;
	/** The commands answered without the model; a command missing here goes to the model as text. */
	commands: Partial<Record<CommandName, boolean>>;
	limits: {
		/** Per sender; 0 switches the limit off. */
		messagesPerMinute: number;
		tokensPerDay: number;
		limitReply: string;
	};
	compaction: {
		enabled: boolean;
		/** Compact once the history in context passes this many tokens. */
		thresholdTokens: number;
		/** The newest turns that stay verbatim. */
		keepRecentTokens: number;
	};
	retries: number;
	timeoutMs: number;
	lock: { waitMs: number; leaseMs: number };
	/**
	 * The answer when every model failed (after retries and fallbacks); empty or absent: the
	 * failure is thrown. Either way nothing is stored, so a redelivery tries the model again.
	 */
	errorReply?: string;
}

export interface InboundMessage {
	sessionId: string;
	text: string;
	/** `channel:accountId:message.id`; null when the source cannot redeliver (n8n Chat Trigger). */
	messageKey: string | null;
	/** Whose limits apply; null switches limits off for this message. */
	senderKey: string | null;
	/** The command word the trigger recognised ("new"), if any. */
	command: string | null;
	/**
	 * The message's voice notes and images, read only once the message goes to the model (not a
	 * duplicate, a command or over a limit): downloads and transcription cost time and money.
	 */
	media?: () => Promise<MessageMedia>;
}

/** What a message's attachments make of it, for the model and the store. */
export interface MessageMedia {
	/** The user's turn as stored: the text, a voice note's transcript ("(voice note) …"), a note in words per image. */
	text: string;
	/**
	 * Sent with this message only, each with its tokens by the provider's rule. The stored turn keeps
	 * the notes in `text`, never the image: history replays and budgets stay text.
	 */
	images: Array<ChatImage & { tokens: number }>;
	/** Answered instead of the model (a voice note over the limits); nothing is sent or stored but the answer. */
	refusal?: string;
}

export interface SessionReply {
	text: string;
	model: string | null;
	finishReason: string;
	usage: ChatUsage;
	/** Set when a command answered instead of the model. */
	command?: CommandName;
	/** Set when a limit answered instead of the model (`media`: a voice note over the size or length limit). */
	limited?: 'rate' | 'quota' | 'media';
	/** The models tried before the answer, when a fallback was needed. */
	attempts?: Array<{ model: string; error?: string }>;
	/** Set when the configured error reply answered because every model failed: why they failed. */
	error?: string;
	session: { id: string; turns: number; historyTokens: number; compacted: boolean; compactionError?: string };
	/** Set when the answer is the one stored before (a journaled message run again), not a new model call. */
	replayed?: boolean;
	/** The draft message the chat shows (Stream Preview), which the send node turns into the answer. */
	preview?: AnswerPreview;
}

/** What is kept with a message key: the reply without its session figures, which change. */
type StoredAnswer = Omit<SessionReply, 'session' | 'replayed'>;

function storedAnswer(answer: StoredAnswer): string {
	return JSON.stringify(answer);
}

export type SessionOutcome = { kind: 'reply'; reply: SessionReply } | { kind: 'ignored'; reason: 'duplicate' | 'empty' };

const ZERO_USAGE: ChatUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const SUMMARY_INSTRUCTIONS =
	'Summarise the conversation below for your own later reference. Keep names, facts, numbers, decisions, preferences and open questions; drop pleasantries. Write plain prose, at most 250 words.';

const HELP_LINES: Record<CommandName, string> = {
	new: '/new: start a new conversation',
	reset: '/reset: forget the conversation so far',
	usage: '/usage: tokens used in this conversation',
	help: '/help: this list',
	forget: '/forget: erase this conversation from storage',
};

export class SessionEngine {
	private readonly counter: TokenCounter;
	private readonly contextWindow: number;

	constructor(
		private readonly store: SessionStore,
		private readonly model: ChatModel,
		private readonly config: SessionEngineConfig,
		private readonly now: () => number = Date.now,
	) {
		if (config.models.length === 0) throw new Error('Choose a model in the AI Session node.');
		this.counter = createTokenCounter(config.models[0]);
		this.contextWindow = config.contextWindow || contextWindowFor(config.models[0]).contextWindow;
	}

	/** Whether the counter's tokenizer is the model's own: its counts need no calibration. */
	private readonly countsExactly = (model: string): boolean => {
		const { encoding, exact } = encodingForModel(model);
		return exact && encoding === this.counter.encoding;
	};

	/**
	 * With `stream`, the model's answer to the message is written to it as it arrives; the outcome,
	 * the stored turns and the budget are the same as without.
	 */
	async handle(message: InboundMessage, { stream }: { stream?: AnswerStream } = {}): Promise<SessionOutcome> {
		if (message.text.trim() === '' && !message.media) return { kind: 'ignored', reason: 'empty' };
		const lock = await this.store.lock(message.sessionId, this.config.lock);
		try {
			if (message.messageKey && (await this.store.hasMessageKey(message.messageKey))) return { kind: 'ignored', reason: 'duplicate' };
			const command = this.enabledCommand(message.command);
			if (command) return await this.answerCommand(message, command);
			const limited = await this.checkLimits(message);
			if (limited) return await this.answerWithoutModel(message, this.config.limits.limitReply, { limited });
			return message.media ? await this.converseWithMedia(message, stream) : await this.converse(message, stream);
		} finally {
			await lock.release();
		}
	}

	/**
	 * The answer stored with a message answered before (a journaled message run again after a crash
	 * lost its delivery): the same reply, marked `replayed`, without asking the model again; null
	 * when none was stored.
	 */
	async replay(message: InboundMessage): Promise<SessionReply | null> {
		if (!message.messageKey) return null;
		const stored = await this.store.readAnswer(message.messageKey);
		if (!stored) return null;
		const answer = JSON.parse(stored) as StoredAnswer;
		const { state } = await this.store.readWindow(message.sessionId, 0);
		return {
			...answer,
			replayed: true,
			session: { id: message.sessionId, turns: state.turnCount, historyTokens: 0, compacted: liveSummary(state) !== null },
		};
	}

	private enabledCommand(command: string | null): CommandName | null {
		return enabledCommand(this.config.commands, command);
	}

	/** Commands and limit answers record the message key too, so a redelivery is not answered twice. */
	private async answerWithoutModel(
		message: InboundMessage,
		text: string,
		extra: Pick<SessionReply, 'command' | 'limited'>,
	): Promise<SessionOutcome> {
		const answer = storedAnswer({ text, model: null, finishReason: extra.command ? 'command' : 'limited', usage: ZERO_USAGE, ...extra });
		if ((await this.store.appendTurns(message.sessionId, [], { messageKey: message.messageKey, answer })) === 'duplicate') {
			return { kind: 'ignored', reason: 'duplicate' };
		}
		const { state } = await this.store.readWindow(message.sessionId, 0);
		return {
			kind: 'reply',
			reply: {
				text,
				model: null,
				finishReason: extra.command ? 'command' : 'limited',
				usage: ZERO_USAGE,
				...extra,
				session: { id: message.sessionId, turns: state.turnCount, historyTokens: 0, compacted: liveSummary(state) !== null },
			},
		};
	}

	private async answerCommand(message: InboundMessage, command: CommandName): Promise<SessionOutcome> {
		switch (command) {
			case 'new':
			case 'reset':
				await this.store.resetContext(message.sessionId);
				return this.answerWithoutModel(
					message,
					command === 'new' ? 'Started a new conversation.' : 'Done: the conversation so far is forgotten.',
					{ command },
				);
			case 'forget':
				await this.store.forgetSession(message.sessionId);
				return this.answerWithoutModel(message, 'Done: this conversation was erased from storage.', { command });
			case 'usage': {
				const { state } = await this.store.readWindow(message.sessionId, 0);
				const { promptTokens, completionTokens, totalTokens } = state.usage;
				return this.answerWithoutModel(
					message,
					`This conversation: ${state.turnCount} turns, ${totalTokens} tokens (${promptTokens} prompt, ${completionTokens} completion).`,
					{ command },
				);
			}
			case 'help': {
				const lines = (Object.keys(HELP_LINES) as CommandName[]).filter((name) => this.config.commands[name]).map((name) => HELP_LINES[name]);
				return this.answerWithoutModel(message, ['Commands:', ...lines].join('\n'), { command });
			}
		}
	}

	private async checkLimits(message: InboundMessage): Promise<SessionReply['limited'] | null> {
		const { messagesPerMinute, tokensPerDay } = this.config.limits;
		if (!message.senderKey) return null;
		const now = this.now();
		if (tokensPerDay > 0 && (await this.store.readCounter(quotaKey(message.senderKey, now))) >= tokensPerDay) return 'quota';
		if (messagesPerMinute > 0) {
			const count = await this.store.incrementCounter(`rate:${message.senderKey}:${Math.floor(now / MINUTE_MS)}`, 1, 2 * MINUTE_MS);
			if (count > messagesPerMinute) return 'rate';
		}
		return null;
	}

	/** The message's attachments read (inside the session lock, in order), then the conversation as for text. */
	private async converseWithMedia(message: InboundMessage, stream: AnswerStream | undefined): Promise<SessionOutcome> {
		let media: MessageMedia;
		try {
			media = await message.media!();
		} catch (error) {
			if (!this.config.errorReply || !(error instanceof ModelCallError)) throw error;
			return this.errorReplyOutcome(message, (await this.store.readWindow(message.sessionId, 0)).state, error);
		}
		if (media.refusal) return this.answerWithoutModel(message, media.refusal, { limited: 'media' });
		if (media.text.trim() === '' && media.images.length === 0) return { kind: 'ignored', reason: 'empty' };
		return this.converse({ ...message, text: media.text }, stream, media.images);
	}

	/**
	 * The configured Error Reply for a failed model (or transcription), over the draft the failed
	 * model left, if any; nothing is stored, so a redelivery tries again.
	 */
	private errorReplyOutcome(message: InboundMessage, state: SessionState, error: ModelCallError, preview?: AnswerPreview | null): SessionOutcome {
		return {
			kind: 'reply',
			reply: {
				text: this.config.errorReply!,
				model: null,
				finishReason: 'error',
				usage: ZERO_USAGE,
				error: error.message,
				...(preview ? { preview } : {}),
				session: { id: message.sessionId, turns: state.turnCount, historyTokens: 0, compacted: liveSummary(state) !== null },
			},
		};
	}

	private async converse(message: InboundMessage, stream: AnswerStream | undefined, images: MessageMedia['images'] = []): Promise<SessionOutcome> {
		const { config, counter } = this;
		const systemTokens = counter.countMessage({ role: 'system', content: config.systemPrompt }) + counter.replyPriming;
		const peek = await this.store.readWindow(message.sessionId, 0);
		const budget = contextBudget({
			model: config.models[0],
			contextWindow: this.contextWindow,
			maxOutputTokens: config.maxOutputTokens,
			systemTokens,
			safetyMargin: config.safetyMargin,
			tokenScale: budgetScale(config.models, peek.state.calibration, this.countsExactly),
		});

		// The summary comes first, then the user's new message; history gets what is left.
		const summary = liveSummary(peek.state);
		const summaryMessage = summary ? summaryAsMessage(summary.content) : null;
		const summaryTokens = summaryMessage ? counter.countMessage(summaryMessage) : 0;
		const roomForMessage = Math.max(budget - summaryTokens, 1);
		let userContent = truncateMiddleToCharacters(message.text, config.maxInputCharacters ?? DEFAULT_MAX_INPUT_CHARACTERS);
		let userTokens = counter.countMessage({ role: 'user', content: userContent });
		// Images count with the message they come with; ones that do not fit go as their notes in the text only.
		const sentImages = userTokens + sumOf(images) <= roomForMessage ? images : [];
		const imageTokens = sumOf(sentImages);
		if (userTokens > roomForMessage) {
			userContent = truncateMiddle(userContent, roomForMessage - (userTokens - counter.countText(userContent)), counter);
			userTokens = counter.countMessage({ role: 'user', content: userContent });
		}
		const historyBudget = Math.max(budget - summaryTokens - userTokens - imageTokens, 0);
		const window = await this.store.readWindow(message.sessionId, historyBudget);
		const history = fitTurnsToBudget(window.turns, historyBudget);

		const messages: ChatMessage[] = [
			{ role: 'system', content: config.systemPrompt },
			...(summaryMessage ? [summaryMessage] : []),
			...history.map((turn) => ({ role: turn.role, content: turn.content })),
			{ role: 'user', content: userContent, ...(sentImages.length > 0 ? { images: sentImages.map(({ url, detail }): ChatImage => ({ url, detail })) } : {}) },
		];
		let called: Awaited<ReturnType<typeof callModelWithFallback>>;
		try {
			called = await callModelWithFallback({
				model: this.model,
				models: config.models,
				messages,
				maxOutputTokens: config.maxOutputTokens,
				temperature: config.temperature,
				retries: config.retries,
				timeoutMs: config.timeoutMs,
				...(stream ? { stream } : {}),
			});
		} catch (error) {
			if (!config.errorReply || !(error instanceof ModelCallError)) throw error;
			// A draft the failed model left becomes the error reply.
			return this.errorReplyOutcome(message, window.state, error, await stream?.settle?.());
		}
		const { completion, attempts } = called;
		const preview = await stream?.settle?.();
		const historyTokens = history.reduce((sum, turn) => sum + turn.tokens, 0);
		// Image tokens are the provider's rule, not a count: a call with images teaches the calibration nothing.
		const calibration =
			sentImages.length > 0
				? null
				: calibrate(window.state.calibration, attempts[attempts.length - 1].model, completion.usage.promptTokens, systemTokens + summaryTokens + historyTokens + userTokens, this.countsExactly);

		const newTurns: NewTurn[] = [
			{ role: 'user', content: userContent, tokens: userTokens },
			{ role: 'assistant', content: completion.text, tokens: counter.countMessage({ role: 'assistant', content: completion.text }) },
		];
		const answer = storedAnswer({
			text: completion.text,
			model: completion.model,
			finishReason: completion.finishReason,
			usage: completion.usage,
			...(attempts.length > 1 ? { attempts } : {}),
			...(preview ? { preview } : {}),
		});
		const outcome = await this.store.appendTurns(message.sessionId, newTurns, {
			messageKey: message.messageKey,
			usage: completion.usage,
			answer,
			...(calibration ? { calibration } : {}),
		});
		if (outcome === 'duplicate') return { kind: 'ignored', reason: 'duplicate' };
		if (message.senderKey && config.limits.tokensPerDay > 0) {
			await this.store.incrementCounter(quotaKey(message.senderKey, this.now()), completion.usage.totalTokens, 2 * DAY_MS);
		}

		const compaction = await this.compactIfNeeded(message.sessionId, window, history, newTurns, budget);
		return {
			kind: 'reply',
			reply: {
				text: completion.text,
				model: completion.model,
				finishReason: completion.finishReason,
				usage: completion.usage,
				...(attempts.length > 1 ? { attempts } : {}),
				...(preview ? { preview } : {}),
				session: {
					id: message.sessionId,
					turns: window.state.turnCount + newTurns.length,
					historyTokens,
					compacted: compaction.compacted || liveSummary(window.state) !== null,
					...(compaction.error ? { compactionError: compaction.error } : {}),
				},
			},
		};
	}

	/**
	 * Summarises the oldest turns of the context into one summary once the history passes the
	 * threshold; the newest `keepRecentTokens` stay verbatim. Works on the window already read
	 * (O(window)). A failed summary changes nothing: the history stays as it was.
	 */
	private async compactIfNeeded(
		sessionId: string,
		window: SessionWindow,
		history: StoredTurn[],
		newTurns: NewTurn[],
		budget: number,
	): Promise<{ compacted: boolean; error?: string }> {
		const { enabled, thresholdTokens, keepRecentTokens } = this.config.compaction;
		if (!enabled) return { compacted: false };
		const firstSeq = window.state.lastSeq + 1;
		const turns = [
			...history.map((turn) => ({ seq: turn.seq, role: turn.role, content: turn.content, tokens: turn.tokens })),
			...newTurns.map((turn, index) => ({ ...turn, seq: firstSeq + index })),
		];
		const inContext = turns.reduce((sum, turn) => sum + turn.tokens, 0);
		if (inContext <= Math.min(thresholdTokens, budget)) return { compacted: false };

		let kept = 0;
		let splitIndex = turns.length;
		while (splitIndex > 0 && kept + turns[splitIndex - 1].tokens <= keepRecentTokens) kept += turns[--splitIndex].tokens;
		const older = turns.slice(0, splitIndex);
		if (older.length === 0) return { compacted: false };

		const previous = liveSummary(window.state)?.content;
		const transcript = older.map((turn) => `${turn.role === 'user' ? 'User' : 'Assistant'}: ${turn.content}`).join('\n\n');
		try {
			const { completion } = await callModelWithFallback({
				model: this.model,
				models: this.config.models,
				messages: [
					{ role: 'system', content: SUMMARY_INSTRUCTIONS },
					{ role: 'user', content: previous ? `Earlier summary:\n${previous}\n\nConversation since:\n${transcript}` : transcript },
				],
				maxOutputTokens: Math.min(1024, Math.max(Math.floor(budget / 4), 64)),
				retries: this.config.retries,
				timeoutMs: this.config.timeoutMs,
			});
			if (completion.text.trim() === '') throw new Error('the model returned an empty summary');
			const content = completion.text.trim();
			await this.store.saveSummary(sessionId, {
				content,
				tokens: this.counter.countMessage(summaryAsMessage(content)),
				throughSeq: older[older.length - 1].seq,
			});
			return { compacted: true };
		} catch (error) {
			return { compacted: false, error: `Compaction skipped, history kept as it was: ${(error as Error).message}` };
		}
	}
}

/**
 * The summary that belongs to the current context, or null. A summary that ends at or before the
 * context start was made before /new or /reset and must never reach the model again (stores kept
 * such summaries before they cleared them on reset, so old data can still hold one).
 */
export function liveSummary(state: SessionState): SessionSummary | null {
	return state.summary && state.summary.throughSeq > state.contextStartSeq ? state.summary : null;
}

/** How a summary reaches a model: a system message after the system prompt (Clawgate Chat Memory hands it to an agent the same way). */
export function summaryAsMessage(content: string): ChatMessage {
	return { role: 'system', content: `Summary of the earlier conversation:\n${content}` };
}

function sumOf(images: MessageMedia['images']): number {
	return images.reduce((sum, image) => sum + image.tokens, 0);
}

function quotaKey(senderKey: string, now: number): string {
	return `tokens:${senderKey}:${new Date(now).toISOString().slice(0, 10)}`;
}

/** The command answered without the model that `command` names, or null when it goes to the model as text. */
export function enabledCommand(commands: SessionEngineConfig['commands'], command: string | null): CommandName | null {
	// Own keys only: "/constructor" or "/__proto__" must not find Object.prototype's members.
	if (!command || !Object.hasOwn(commands, command)) return null;
	return commands[command as CommandName] === true ? (command as CommandName) : null;
}
