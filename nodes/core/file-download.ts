/**
 * One file fetched over HTTP within a size limit: the limit is checked against the declared
 * Content-Length before the body is read and again while the bytes arrive, since a length can be
 * missing or wrong, so a huge or endless file never fills memory. Errors never carry the URL: a
 * platform's file address can hold the bot token (Telegram) or a signature.
 */

const MEGABYTE = 1024 * 1024;

/** "5 MB", "0.25 MB": how sizes read in errors and answers. */
export function megabytes(bytes: number): string {
	return `${Number((bytes / MEGABYTE).toFixed(bytes < MEGABYTE ? 2 : 1))} MB`;
}

/** A download that failed, in words a user can act on; `status` when the server answered. */
export class FileDownloadError extends Error {
	constructor(
		message: string,
		readonly status: number | null = null,
	) {
		super(message);
		this.name = 'FileDownloadError';
	}
}

/** What a file over the limit is called in errors: "too large (25 MB; the limit is 20 MB)". */
export function tooLargeMessage(sizeBytes: number | null, maxBytes: number): string {
	return `too large (${sizeBytes === null ? `more than ${megabytes(maxBytes)}` : megabytes(sizeBytes)}; the limit is ${megabytes(maxBytes)})`;
}

export class FileTooLargeError extends FileDownloadError {
	constructor(
		readonly sizeBytes: number | null,
		readonly maxBytes: number,
	) {
		super(tooLargeMessage(sizeBytes, maxBytes));
		this.name = 'FileTooLargeError';
	}
}

/** Whether a download failed because the file is over the limit: a `FileTooLargeError`, or a platform's own error marked `fileTooLarge`. */
export function isFileTooLarge(error: unknown): boolean {
	return error instanceof FileTooLargeError || (typeof error === 'object' && error !== null && (error as { fileTooLarge?: unknown }).fileTooLarge === true);
}

/** Reads a response body, counting bytes, and stops reading (closing the connection) once it passes `maxBytes`. */
export async function readAtMost(response: Response, maxBytes: number, tooLarge: (sizeBytes: number | null) => Error = (size) => new FileTooLargeError(size, maxBytes)): Promise<Buffer> {
	const declared = Number(response.headers.get('content-length') ?? NaN);
	if (Number.isFinite(declared) && declared > maxBytes) {
		await response.body?.cancel().catch(() => undefined);
		throw tooLarge(declared);
	}
	if (!response.body) return Buffer.alloc(0);
	const reader = response.body.getReader();
	const chunks: Uint8Array[] = [];
	let received = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		received += value.byteLength;
		if (received > maxBytes) {
			await reader.cancel().catch(() => undefined);
			throw tooLarge(null);
		}
		chunks.push(value);
	}
	return Buffer.concat(chunks, received);
}

export interface FileFetchOptions {
	maxBytes: number;
	/** The whole download (answer and body) must end within this. */
	timeoutMs?: number;
	/** Ends the download early (the caller stopping). */
	signal?: AbortSignal;
	/** Who serves the file, as errors name it: "the Telegram Bot API", "Discord's file server". */
	server: string;
	/**
	 * Whether a redirect is followed. Not by default: a file address taken from a message (Discord's
	 * CDN) must not lead n8n elsewhere; a Bot API server the credential names may hand files on.
	 */
	followRedirects?: boolean;
}

/** GETs `url` and reads at most `maxBytes` of it. */
export async function fetchFileAtMost(url: string, { maxBytes, timeoutMs, signal, server, followRedirects = false }: FileFetchOptions): Promise<{ bytes: Buffer; contentType: string | null }> {
	const timeout = timeoutMs === undefined ? null : AbortSignal.timeout(timeoutMs);
	const stop = AbortSignal.any([signal, timeout].filter((candidate): candidate is AbortSignal => candidate !== null && candidate !== undefined));
	const stopped = () => {
		if (timeout?.aborted) return new FileDownloadError(`The download took longer than ${timeoutMs! / 1000} s and was stopped.`);
		return signal?.aborted ? new FileDownloadError('The download was stopped.') : null;
	};
	// The URL can hold a token, so a failure is reported without it.
	const response = await fetch(url, { signal: stop, redirect: followRedirects ? 'follow' : 'manual' }).catch(() => null);
	if (!response) throw stopped() ?? new FileDownloadError(`Could not reach ${server} to download a file. Check the network and the credential's base URL.`);
	if (!response.ok) {
		await response.body?.cancel().catch(() => undefined);
		throw new FileDownloadError(`${capitalised(server)} refused to send a file (${response.status}).`, response.status);
	}
	const bytes = await readAtMost(response, maxBytes).catch((error: unknown) => {
		if (error instanceof FileDownloadError) throw error;
		throw stopped() ?? new FileDownloadError(`The connection broke off while downloading a file from ${server}.`);
	});
	return { bytes, contentType: response.headers.get('content-type') };
}

function capitalised(text: string): string {
	return text.charAt(0).toUpperCase() + text.slice(1);
}
