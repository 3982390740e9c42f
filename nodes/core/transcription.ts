/**
 * Voice notes as text: the limits a voice note must keep before anything is downloaded, and one
 * call to an OpenAI-compatible `POST /audio/transcriptions` (OpenAI, Groq, a local Whisper server)
 * with plain `fetch` and multipart form data, as OpenAI's API takes it. Failures become
 * `ModelCallError`s, so AI Session's Error Reply answers them as it answers a failed model.
 */
import { megabytes } from './file-download';
import { retryAfterMsFrom } from './retry-after';
import { ModelCallError, type ModelErrorKind } from './session/model';

/** OpenAI takes audio files up to 25 MB; larger ones are refused before the upload. */
export const OPENAI_TRANSCRIPTION_MAX_BYTES = 25 * 1024 * 1024;

/** What the stored user turn of a voice note starts with, so the model and anyone reading the history know it was spoken. */
export const VOICE_NOTE_PREFIX = '(voice note)';

export interface VoiceLimits {
	maxBytes: number;
	maxSeconds: number;
}

function minutesAndSeconds(seconds: number): string {
	const whole = Math.ceil(seconds);
	return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/**
 * Why a voice note is over the limits, as the answer the sender gets, or null when it is within
 * them (or its length and size are not known yet: the download stops at `maxBytes` anyway).
 */
export function voiceNoteOverLimits(note: { size?: number | null; durationSeconds?: number | null }, { maxBytes, maxSeconds }: VoiceLimits): string | null {
	if (typeof note.durationSeconds === 'number' && note.durationSeconds > maxSeconds) {
		return `Your voice note is ${minutesAndSeconds(note.durationSeconds)} long; I can listen to voice notes of up to ${minutesAndSeconds(maxSeconds)}. Please send a shorter one, or type your message.`;
	}
	if (typeof note.size === 'number' && note.size > maxBytes) return voiceNoteTooLarge(note.size, maxBytes);
	return null;
}

/** The answer to a voice note whose file is over the size limit (`size` null: it passed the limit while downloading). */
export function voiceNoteTooLarge(size: number | null, maxBytes: number): string {
	const actual = size === null ? `more than ${megabytes(maxBytes)}` : megabytes(size);
	return `Your voice note is too large for me (${actual}; the limit is ${megabytes(maxBytes)}). Please send a shorter one, or type your message.`;
}

/** File extensions OpenAI's transcription accepts; it judges the format by the file name. */
const EXTENSION_BY_MIME: Record<string, string> = {
	'audio/ogg': 'ogg',
	'audio/opus': 'ogg',
	'audio/mpeg': 'mp3',
	'audio/mp3': 'mp3',
	'audio/mp4': 'm4a',
	'audio/m4a': 'm4a',
	'audio/x-m4a': 'm4a',
	'audio/aac': 'm4a',
	'audio/wav': 'wav',
	'audio/x-wav': 'wav',
	'audio/wave': 'wav',
	'audio/webm': 'webm',
	'audio/flac': 'flac',
	'audio/x-flac': 'flac',
	'video/mp4': 'mp4',
	'video/webm': 'webm',
};
const ACCEPTED_EXTENSIONS = new Set(['flac', 'mp3', 'mp4', 'mpeg', 'mpga', 'm4a', 'ogg', 'wav', 'webm']);

/**
 * A file name the transcription API accepts: the file's own when its extension is one, else one
 * from its type. Telegram names voice notes `file_0.oga`, an extension OpenAI's documentation does
 * not list and OpenAI-compatible servers (Groq, local Whisper servers) refuse; the same Ogg Opus
 * bytes pass everywhere as `.ogg`.
 */
export function transcriptionFileName(fileName: string | null, mimeType: string | null): string {
	const extension = /\.([a-z0-9]+)$/i.exec(fileName ?? '')?.[1]?.toLowerCase();
	if (fileName && extension && ACCEPTED_EXTENSIONS.has(extension)) return fileName;
	if (extension === 'oga' || extension === 'opus') return `${fileName!.slice(0, -extension.length)}ogg`;
	const type = (mimeType ?? '').split(';')[0].trim().toLowerCase();
	return `voice-note.${EXTENSION_BY_MIME[type] ?? 'ogg'}`;
}

export interface TranscriptionRequest {
	/** The API root, as the OpenAI credential's base URL ("https://api.openai.com/v1"). */
	baseUrl: string;
	apiKey: string;
	model: string;
	/** ISO-639-1 code; empty lets the model detect the language. */
	language?: string;
	audio: { bytes: Buffer; fileName: string | null; mimeType: string | null };
	timeoutMs: number;
	signal?: AbortSignal;
}

/** The transcript of one audio file, trimmed; throws a `ModelCallError` that never holds the API key. */
export async function transcribeAudio({ baseUrl, apiKey, model, language, audio, timeoutMs, signal }: TranscriptionRequest): Promise<string> {
	const root = baseUrl.replace(/\/+$/, '');
	const host = hostOf(root);
	const fail = (kind: ModelErrorKind, message: string, extra: { status?: number; retryAfterMs?: number | null } = {}) =>
		new ModelCallError(message.split(apiKey.trim() || '\u0000').join('***'), kind, { model, ...extra });
	const form = new FormData();
	const fileName = transcriptionFileName(audio.fileName, audio.mimeType);
	form.append('file', new Blob([new Uint8Array(audio.bytes)], { type: audio.mimeType?.split(';')[0] || 'application/octet-stream' }), fileName);
	form.append('model', model);
	form.append('response_format', 'json');
	if (language?.trim()) form.append('language', language.trim());
	const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
	let response: Response;
	try {
		response = await fetch(`${root}/audio/transcriptions`, {
			method: 'POST',
			headers: { authorization: `Bearer ${apiKey.trim()}`, accept: 'application/json' },
			body: form,
			signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
		});
	} catch {
		if (timeout.aborted || signal?.aborted) return Promise.reject(fail('timeout', `The transcription model "${model}" at ${host} did not answer within ${Math.round(timeoutMs / 100) / 10} s.`));
		throw fail('network', `Could not reach the transcription API at ${host}. Check the base URL (the OpenAI credential's, or Transcription Base URL) and that the server is running.`);
	}
	const text = await response.text().catch(() => '');
	let body: { text?: unknown; error?: { message?: unknown } } = {};
	try {
		body = text ? JSON.parse(text) : {};
	} catch {
		body = {};
	}
	if (response.ok) {
		if (typeof body.text !== 'string') throw fail('bad_response', `The transcription API at ${host} did not answer with a transcript ({ text }). Check that it is OpenAI-compatible.`);
		return body.text.trim();
	}
	const status = response.status;
	const reason = typeof body.error?.message === 'string' ? `: ${body.error.message.slice(0, 300)}` : '';
	if (status === 401 || status === 403) throw fail('auth', `The transcription API at ${host} rejected the API key (${status}). Check the OpenAI credential's API key.`, { status });
	if (status === 404) throw fail('not_found', `The transcription model "${model}" or its endpoint does not exist at ${host} (404)${reason}. Check Transcription Model and the base URL.`, { status });
	if (status === 429) throw fail('rate_limit', `The transcription API at ${host} is rate limited (429)${reason}.`, { status, retryAfterMs: retryAfterMsFrom(response.headers) });
	if (status >= 500) throw fail('server', `The transcription API at ${host} had a server error (${status})${reason}.`, { status });
	throw fail('bad_request', `The transcription API at ${host} refused the voice note (${status})${reason}.`, { status });
}

function hostOf(url: string): string {
	try {
		return new URL(url).host;
	} catch {
		return 'the configured address';
	}
}
