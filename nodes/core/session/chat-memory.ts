/**
 * The conversation an n8n AI Agent reads and writes through Clawgate Chat Memory: the same store,
 * sessions, turns and token counts as AI Session, so a conversation can move between the two.
 * Nothing is kept in the process: every read and write goes to the store, so queue-mode workers
 * sharing a Redis or Postgres store see one conversation.
 */
import { fitTurnsToBudget, truncateMiddleToCharacters } from '../budget';
import type { TokenCounter } from '../tokens';
import { DEFAULT_MAX_INPUT_CHARACTERS, liveSummary, summaryAsMessage } from './engine';
import type { NewTurn, SessionStore } from './store';

export interface MemoryMessage {
	/** 'system' only for the summary AI Session's compaction wrote; turns are 'user' or 'assistant'. */
	role: 'system' | 'user' | 'assistant';
	text: string;
}

export interface TokenWindowOptions {
	/** The most tokens of history handed to the agent: the summary, if any, and the newest turns. */
	windowTokens: number;
	/** Counts new turns as AI Session counts its own (`createTokenCounter`), so stored counts mean the same. */
	counter: TokenCounter;
}

export class TokenWindowHistory {
	constructor(
		private readonly store: SessionStore,
		readonly sessionId: string,
		private readonly options: TokenWindowOptions,
	) {
		if (!Number.isFinite(options.windowTokens) || options.windowTokens <= 0) {
			throw new Error(`The memory's token window must be a number of tokens above 0 (got ${options.windowTokens}).`);
		}
	}

	/**
	 * The summary (when AI Session compacted the session) and the newest turns since the last /new
	 * or /reset whose stored token counts fit the window, oldest first and starting with a user
	 * turn. One store read of O(window), however long the history.
	 */
	async readWindow(): Promise<MemoryMessage[]> {
		const { windowTokens } = this.options;
		const { state, turns } = await this.store.readWindow(this.sessionId, windowTokens);
		const summary = liveSummary(state);
		// A summary too large for the window is left out rather than crowding out every turn.
		const summaryFits = summary !== null && summary.tokens < windowTokens;
		const history = fitTurnsToBudget(turns, windowTokens - (summaryFits ? summary.tokens : 0));
		return [
			...(summaryFits ? [{ role: 'system' as const, text: summaryAsMessage(summary.content).content }] : []),
			...history.map((turn) => ({ role: turn.role, text: turn.content })),
		];
	}

	/**
	 * Appends the user and assistant messages, in one atomic write, counted once as they are stored.
	 * User text is cut in the middle at AI Session's default length first, as AI Session cuts it.
	 */
	async append(messages: Array<{ role: 'user' | 'assistant'; text: string }>): Promise<void> {
		const { counter } = this.options;
		const turns: NewTurn[] = messages
			.filter((message) => message.text.trim() !== '')
			.map(({ role, text }) => {
				const content = role === 'user' ? truncateMiddleToCharacters(text, DEFAULT_MAX_INPUT_CHARACTERS) : text;
				return { role, content, tokens: counter.countMessage({ role, content }) };
			});
		if (turns.length > 0) await this.store.appendTurns(this.sessionId, turns);
	}

	/** A fresh context, as /reset in AI Session: earlier turns stay stored but are not read again. */
	async resetContext(): Promise<void> {
		await this.store.resetContext(this.sessionId);
	}
}
