/**
 * AI Session's answers streamed through n8n's streaming API (`isStreaming`, `sendChunk`), which
 * n8n's Chat Trigger in Response Mode *Streaming* (and a Webhook in Streaming mode) writes to the
 * HTTP response as newline-delimited JSON. Framed as n8n's AI Agent frames its answers: per item
 * one `begin`, the answer's pieces as `item`s, one `end`; n8n's chat shows them as one message.
 */
import type { IExecuteFunctions } from 'n8n-workflow';

import type { AnswerStream } from '../core/session/model';

/** Whether this execution streams to a chat (n8n decides: a streaming response, a mode that has one) and the node lets it. */
export function streamsAnswers(context: IExecuteFunctions): boolean {
	if (typeof context.isStreaming !== 'function' || typeof context.sendChunk !== 'function') return false;
	// As an agent's tool, the answer is the agent's to read, not the chat's.
	if (typeof context.isToolExecution === 'function' && context.isToolExecution()) return false;
	return context.isStreaming() && context.getNodeParameter('options.enableStreaming', 0, true) !== false;
}

/** One item's answer, as it streams to the chat. */
export class ChatAnswerStream implements AnswerStream {
	/** Whether the answer written so far (since the last restart) is the one the user will keep. */
	private wrote = false;
	private separatePending = false;

	constructor(
		private readonly context: IExecuteFunctions,
		private readonly itemIndex: number,
	) {
		this.send('begin');
	}

	write(delta: string): void {
		if (delta === '') return;
		// A retry's answer cannot replace what the chat already shows: it starts on a new paragraph.
		if (this.separatePending) this.send('item', '\n\n');
		this.separatePending = false;
		this.wrote = true;
		this.send('item', delta);
	}

	restart(): void {
		if (this.wrote) this.separatePending = true;
		this.wrote = false;
	}

	/**
	 * Ends the item's message. An answer that did not stream (a command, a limit reply, the error
	 * reply, a stored answer sent again) goes out whole, so the chat shows every answer.
	 */
	finish(answer: string | null): void {
		if (answer !== null && !this.wrote) this.write(answer);
		this.send('end');
	}

	/** Ends the item's message with the error n8n's chat shows ("Error: …"), when the execution goes on (Continue On Fail). */
	fail(message: string): void {
		this.send('error', message);
	}

	private send(type: 'begin' | 'item' | 'end' | 'error', content?: string): void {
		// n8n writes each chunk to the response as the call is made; a client that went away is n8n's to notice.
		void Promise.resolve(this.context.sendChunk(type, this.itemIndex, content)).catch(() => undefined);
	}
}
