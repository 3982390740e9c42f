/**
 * Outbound Telegram: text (Markdown → Telegram HTML, split at 4096 visible characters), photos,
 * documents, the typing indicator and edits. Formatting and splitting come from `core/text`;
 * what is Telegram's own lives here: the HTML parse mode, its limits, and the plain-text retry
 * when Telegram rejects the markup ("can't parse entities").
 */
import type { Api } from 'grammy';

import { chunkText, formatAndChunk } from '../core/text';
import { telegramHtmlRenderer } from './telegram.format';
import { describeTelegramError, loadGrammy, telegramCapabilities, TelegramApiError } from './telegram.client';

/** How the text parameter is written: Markdown (converted to Telegram HTML), Telegram HTML, or plain text. */
export type TelegramTextFormat = 'markdown' | 'html' | 'plain';

export interface DeliveryOptions {
	replyToMessageId?: string | null;
	threadId?: string | null;
	format?: TelegramTextFormat;
	/** Off by default: Telegram would fetch a link in model text (perhaps planted by a prompt) without a click. */
	linkPreviews?: boolean;
}

export interface SentMessages {
	chatId: string;
	messageIds: string[];
}

/** A message body ready for the Bot API: text and the parse mode it was written for. */
export interface Piece {
	text: string;
	parseMode: 'HTML' | null;
}

function toInteger(value: string | null | undefined): number | null {
	if (value === null || value === undefined || value === '') return null;
	const number = Number(value);
	return Number.isSafeInteger(number) ? number : null;
}

/** `text` as the messages Telegram accepts: each within `limit` visible characters. */
export function piecesOf(text: string, format: TelegramTextFormat = 'markdown', limit: number = telegramCapabilities.textLimit): Piece[] {
	if (format === 'markdown') return formatAndChunk(text, { renderer: telegramHtmlRenderer, limit }).map((html) => ({ text: html, parseMode: 'HTML' }));
	// HTML written by the user is split like text; a piece Telegram cannot parse is resent as plain text.
	return chunkText(text, { limit }).map((piece) => ({ text: piece, parseMode: format === 'html' ? 'HTML' : null }));
}

/** What a reader sees of a Telegram HTML message: tags removed, entities decoded. */
export function telegramHtmlToText(html: string): string {
	return html
		// Each "<" starts its own try, so a text full of "<" without ">" stays linear.
		.replace(/<[^<>]*>/g, '')
		.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_match, entity: string) => {
			const lower = entity.toLowerCase();
			if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
			if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)));
			return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[lower] ?? '';
		});
}

export function isEntityParseError(error: unknown): boolean {
	const { GrammyError } = loadGrammy();
	return error instanceof GrammyError && error.error_code === 400 && /can't parse entities/i.test(error.description);
}

/**
 * Sends one piece; when Telegram rejects its markup, sends what a reader would have seen as
 * plain text instead, so a formatting slip never loses the answer.
 */
export async function withPlainTextRetry<T>(piece: Piece, send: (text: string, parseMode: 'HTML' | undefined) => Promise<T>): Promise<T> {
	const formatted = await send(piece.text, piece.parseMode ?? undefined).then(
		(result) => ({ result }),
		(error: unknown) => ({ error }),
	);
	if ('result' in formatted) return formatted.result;
	if (piece.parseMode === null || !isEntityParseError(formatted.error)) return Promise.reject(formatted.error);
	return await send(telegramHtmlToText(piece.text), undefined);
}

export function placement({ replyToMessageId, threadId }: DeliveryOptions, first: boolean) {
	const replyTo = first ? toInteger(replyToMessageId) : null;
	const thread = toInteger(threadId);
	return {
		...(replyTo !== null ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
		...(thread !== null ? { message_thread_id: thread } : {}),
	};
}

async function sendPieces(api: Api, chatId: string, pieces: Piece[], options: DeliveryOptions, replyOnFirst = true): Promise<string[]> {
	const messageIds: string[] = [];
	for (const [index, piece] of pieces.entries()) {
		const sent = await withPlainTextRetry(piece, (text, parseMode) =>
			api.sendMessage(chatId, text, {
				...(parseMode ? { parse_mode: parseMode } : {}),
				...placement(options, replyOnFirst && index === 0),
				link_preview_options: { is_disabled: options.linkPreviews !== true },
			}),
		);
		messageIds.push(String(sent.message_id));
	}
	return messageIds;
}

/**
 * Sends text as one or more messages, in order. Only the first quotes `replyToMessageId`; all
 * stay in the topic. Telegram's 429 is waited out by the client (see `createTelegramApi`).
 */
export async function sendTelegramText(api: Api, chatId: string, text: string, options: DeliveryOptions = {}): Promise<SentMessages> {
	if (!text || text.trim() === '') throw new TelegramApiError('There is no text to send. Set "Text" (by default it reads the AI reply, {{ $json.reply.text }}).');
	const pieces = piecesOf(text, options.format);
	try {
		return { chatId, messageIds: await sendPieces(api, chatId, pieces, options) };
	} catch (error) {
		throw describeTelegramError(error, `send a message to chat ${chatId}`);
	}
}

/** A file to send: bytes from n8n binary data, or a URL / file_id Telegram fetches itself. */
export type MediaSource = { bytes: Buffer; fileName: string } | { reference: string };

export async function sendTelegramMedia(
	api: Api,
	chatId: string,
	kind: 'photo' | 'document',
	source: MediaSource,
	{ caption = '', ...options }: DeliveryOptions & { caption?: string } = {},
): Promise<SentMessages> {
	const { InputFile } = loadGrammy();
	const file = 'bytes' in source ? new InputFile(source.bytes, source.fileName) : source.reference.trim();
	if (file === '') throw new TelegramApiError(`There is no ${kind} to send. Choose binary data or give a URL or file ID.`);
	// A caption longer than Telegram's 1024 goes on in text messages after the file.
	const [first, ...rest] = caption.trim() === '' ? [] : piecesOf(caption, options.format, telegramCapabilities.captionLimit);
	try {
		const send = async (text: string | undefined, parseMode: 'HTML' | undefined): Promise<{ message_id: number }> => {
			const other = { ...(text ? { caption: text } : {}), ...(parseMode ? { parse_mode: parseMode } : {}), ...placement(options, true) };
			return kind === 'photo' ? await api.sendPhoto(chatId, file, other) : await api.sendDocument(chatId, file, other);
		};
		const sent = first ? await withPlainTextRetry(first, send) : await send(undefined, undefined);
		const more = await sendPieces(api, chatId, rest, options, false);
		return { chatId, messageIds: [String(sent.message_id), ...more] };
	} catch (error) {
		throw describeTelegramError(error, `send a ${kind} to chat ${chatId}`);
	}
}

/** Shows "typing…" in the chat for about five seconds, or until the bot's next message. */
export async function sendTelegramTyping(api: Api, chatId: string, { threadId }: Pick<DeliveryOptions, 'threadId'> = {}): Promise<SentMessages> {
	const thread = toInteger(threadId);
	try {
		await api.sendChatAction(chatId, 'typing', thread !== null ? { message_thread_id: thread } : {});
		return { chatId, messageIds: [] };
	} catch (error) {
		throw describeTelegramError(error, `show "typing" in chat ${chatId}`);
	}
}

/**
 * An edit to the text the message already has: Telegram refuses it (400 "message is not modified"),
 * but what was asked for is done (the user's own edit, or a send run again after a crash).
 */
export async function doneIfNotModified<T>(edit: Promise<T>): Promise<T | true> {
	const { GrammyError } = loadGrammy();
	return await edit.catch((error: unknown) => (error instanceof GrammyError && /message is not modified/i.test(error.description) ? true : Promise.reject(error)));
}

/**
 * Replaces a message's text. Text longer than one message edits in the first part and sends
 * the rest as new messages after it. Editing to the text it already has is not an error.
 */
export async function editTelegramText(api: Api, chatId: string, messageId: string, text: string, options: DeliveryOptions = {}): Promise<SentMessages> {
	const id = toInteger(messageId);
	if (id === null) throw new TelegramApiError('There is no message to edit. Set "Message ID" to the ID Telegram gave the message (for example {{ $json.sent.messageIds[0] }}).');
	if (!text || text.trim() === '') throw new TelegramApiError('There is no text to put in the message. Set "Text".');
	const [first, ...rest] = piecesOf(text, options.format);
	try {
		await withPlainTextRetry(first, async (body, parseMode) => {
			return await doneIfNotModified(api.editMessageText(chatId, id, body, parseMode ? { parse_mode: parseMode } : {}));
		});
		const more = await sendPieces(api, chatId, rest, options, false);
		return { chatId, messageIds: [String(id), ...more] };
	} catch (error) {
		throw describeTelegramError(error, `edit message ${messageId} in chat ${chatId}`);
	}
}
