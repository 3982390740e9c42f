/**
 * Reading a `text/event-stream` body (server-sent events, as model providers stream answers):
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * Only `data` is read; `event`, `id`, `retry` and comments are skipped.
 */

/** A line this long is no event any API of ours sends; reading stops rather than buffer on. */
const DEFAULT_MAX_LINE_CHARS = 1024 * 1024;

export class ServerSentEventsError extends Error {}

/**
 * The `data` of each server-sent event of a response (its `data:` lines joined by newlines), as
 * they arrive. Lines end in LF, CRLF or CR. Each chunk is searched once and an unfinished line is
 * kept in pieces, so the work stays linear in the body however it is cut; a line over
 * `maxLineChars` ends the stream with a `ServerSentEventsError`.
 */
export async function* serverSentData(response: Response, maxLineChars = DEFAULT_MAX_LINE_CHARS): AsyncGenerator<string> {
	if (!response.body) return;
	const decoder = new TextDecoder();
	const lineEnd = /\r\n|\r|\n/g;
	let unfinished: string[] = [];
	let unfinishedChars = 0;
	// A chunk that ended in CR: an LF starting the next one belongs to it (CRLF cut in two).
	let afterCr = false;
	let data: string[] = [];
	for await (const chunk of response.body) {
		const text = decoder.decode(chunk as Uint8Array, { stream: true });
		let start = afterCr && text.startsWith('\n') ? 1 : 0;
		if (text.length > 0) afterCr = false;
		lineEnd.lastIndex = start;
		for (let match = lineEnd.exec(text); match; match = lineEnd.exec(text)) {
			const line = unfinished.length > 0 ? unfinished.join('') + text.slice(start, match.index) : text.slice(start, match.index);
			unfinished = [];
			unfinishedChars = 0;
			start = match.index + match[0].length;
			if (match[0] === '\r' && start === text.length) afterCr = true;
			if (line === '') {
				if (data.length > 0) yield data.join('\n');
				data = [];
			} else if (line.startsWith('data:')) {
				data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
			}
		}
		if (start < text.length) {
			unfinished.push(text.slice(start));
			unfinishedChars += text.length - start;
			if (unfinishedChars > maxLineChars) {
				await response.body.cancel().catch(() => undefined);
				throw new ServerSentEventsError(`a server-sent line is longer than ${maxLineChars} characters`);
			}
		}
	}
	// An event the body ended in the middle of is not dispatched (as the EventSource rules say).
}
