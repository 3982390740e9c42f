/**
 * Stream Preview's draft: while the model writes, the chat shows the answer so far as one message,
 * posted with the first visible text and edited as more arrives, at the pace the chat allows. Only
 * the newest text is ever shown (edits coalesce: a slow platform gets fewer, larger edits, never a
 * queue), and the draft is only the first message's worth: the send node formats the whole answer
 * and turns the draft into its first message.
 */
import type { ChannelCapabilities } from './channel';
import type { AnswerPreview, AnswerStream } from './session/model';
import { formatAndChunk } from './text';

/** Shown at the end of a draft: the answer is still being written (and the final edit always differs from the draft). */
export const DRAFT_CURSOR = ' ▍';

/**
 * The first message of a partial answer as the platform shows it, with the cursor; null while
 * nothing visible has been written. Reads at most twice a message's worth of the text, so a long
 * answer costs each edit the same.
 */
export function draftTextOf(capabilities: Pick<ChannelCapabilities, 'renderer' | 'textLimit' | 'maxLinesPerMessage'>, markdown: string): string | null {
	const { renderer, textLimit, maxLinesPerMessage } = capabilities;
	const [first] = formatAndChunk(markdown.slice(0, textLimit * 2), { renderer, limit: textLimit - DRAFT_CURSOR.length, maxLines: maxLinesPerMessage });
	return first === undefined ? null : first + DRAFT_CURSOR;
}

/** Where and how a draft is shown: the platform calls, already bound to the chat. */
export interface DraftChat {
	/** Names the chat in the preview the send node reads. */
	where: Omit<AnswerPreview, 'messageIds'>;
	/** The text a draft of `markdown` shows, or null for nothing yet (`draftTextOf`). */
	render(markdown: string): string | null;
	/** Posts the draft; returns its message ID. */
	post(text: string): Promise<string>;
	edit(messageId: string, text: string): Promise<void>;
	remove(messageId: string): Promise<void>;
	/** Runs one post, edit or delete in the chat's pace (an `EditPacer` lane); `signal` skips it if its turn has not come. */
	paced<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T>;
	/** The draft is in the chat (typing can stop). */
	onPosted?(): void;
	/** A failed call: the draft is decoration, so failures are reported, never thrown at the answer. */
	onError?(error: unknown, action: 'post' | 'edit' | 'delete'): void;
}

export class DraftAnswer implements AnswerStream {
	private text = '';
	/** Bumped per write, so "is there something new" costs nothing per token. */
	private version = 0;
	private shownVersion = 0;
	private shown: string | null = null;
	private messageId: string | null = null;
	private running: Promise<void> | null = null;
	private closed = false;
	/** Aborted on settle: an update still waiting for the chat's pace is not wanted any more. */
	private readonly done = new AbortController();
	/** The post failed: no draft this time, the answer goes out as usual. */
	private broken = false;

	constructor(private readonly chat: DraftChat) {}

	write(delta: string): void {
		if (this.closed || delta === '') return;
		this.text += delta;
		this.version += 1;
		this.showNewest();
	}

	/** A retry or the fallback model writes a new answer from the start: the draft shows that one instead. */
	restart(): void {
		this.text = '';
		this.version += 1;
	}

	/** Stops updating the draft once the call in flight (if any) has settled; says which message the chat shows. */
	async settle(): Promise<AnswerPreview | null> {
		this.closed = true;
		this.done.abort();
		while (this.running) await this.running;
		return this.messageId === null ? null : { ...this.chat.where, messageIds: [this.messageId] };
	}

	/** The answer failed or will not be sent: takes the draft out of the chat. */
	async discard(): Promise<void> {
		await this.settle();
		const messageId = this.messageId;
		if (messageId === null) return;
		this.messageId = null;
		await this.chat.paced(() => this.chat.remove(messageId)).catch((error: unknown) => this.report(error, 'delete'));
	}

	private showNewest(): void {
		if (this.running || this.closed || this.broken || this.version === this.shownVersion) return;
		this.running = this.chat
			.paced(() => this.show(), this.done.signal)
			.catch(() => undefined)
			.finally(() => {
				this.running = null;
				this.showNewest();
			});
	}

	private async show(): Promise<void> {
		// Settled while waiting for the chat's pace: the send node takes it from here.
		if (this.closed) return;
		this.shownVersion = this.version;
		const text = this.chat.render(this.text);
		if (text === null || text === this.shown) return;
		try {
			if (this.messageId === null) {
				this.messageId = await this.chat.post(text);
				this.chat.onPosted?.();
			} else {
				await this.chat.edit(this.messageId, text);
			}
			this.shown = text;
		} catch (error) {
			if (this.messageId === null) this.broken = true;
			this.report(error, this.messageId === null ? 'post' : 'edit');
		}
	}

	private report(error: unknown, action: 'post' | 'edit' | 'delete'): void {
		try {
			this.chat.onError?.(error, action);
		} catch {
			// A failing report must not fail the answer.
		}
	}
}
