/**
 * Telegram Bot API emulator: `/bot<token>/<method>` and `/file/bot<token>/<path>` on loopback,
 * answering with the shapes and errors the real API returns. Updates reach the bot both ways
 * Telegram offers: pushed to the registered webhook (POST, JSON, `X-Telegram-Bot-Api-Secret-Token`)
 * or fetched with `getUpdates` long polling, with Telegram's offset semantics (an update is
 * confirmed, and dropped, once getUpdates is called with a higher offset) and its 409 conflicts.
 * It behaves like a self-hosted Bot API server, which also accepts http:// webhooks.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface TelegramUser {
	id: number;
	is_bot: boolean;
	first_name: string;
	last_name?: string;
	username?: string;
}

export interface WebhookRegistration {
	url: string;
	secretToken: string | null;
	allowedUpdates: string[] | null;
}

export interface DeliveryResult {
	status: number;
	body: string;
}

/** A message the bot sent or edited, as the emulator keeps it (per chat). */
export interface SentMessage {
	chatId: string;
	messageId: number;
	method: string;
	text: string | null;
	parseMode: string | null;
	caption: string | null;
	file: { field: string; name: string | null; bytes: Buffer | null; fileId: string | null } | null;
	threadId: number | null;
	replyTo: number | null;
	editedTexts: string[];
	/** When the emulator took the message (ms since the epoch). */
	sentAt: number;
	/** When each edit was taken, in order: the chat's edit rate as the platform saw it. */
	editedAt: number[];
	/** When the bot deleted it (deleteMessage), or null while it is in the chat. */
	deletedAt: number | null;
}

export interface StoredFile {
	fileId: string;
	path: string;
	bytes: Buffer;
	mimeType: string;
	/** How the file is announced and served, when not the way Telegram normally does. */
	serving?: FileServing;
}

/** Ways a file server can misbehave, for download limits: slow answers, sizes that lie or are missing. */
export interface FileServing {
	/** The `file_size` getFile reports: a number (which may lie) or null to leave it out. Default: the true size. */
	announcedSize?: number | null;
	/** Sends a Content-Length header with the true size (the kit otherwise answers chunked, without one). */
	contentLength?: boolean;
	/** Waits this long before answering the download at all. */
	delayMs?: number;
	/**
	 * Sends the body in chunks of `chunkBytes`, one every `intervalMs`, without Content-Length (chunked
	 * encoding), so a client learns the size only by reading. Served by a streaming side server the
	 * file URL redirects to, since the kit answers with whole bodies.
	 */
	trickle?: { chunkBytes: number; intervalMs: number };
}

/** One trickled download as the emulator saw it: how much it sent and whether the client hung up first. */
export interface FileStream {
	fileId: string;
	bytesSent: number;
	/** The client closed the connection before the whole file was sent. */
	cutOff: boolean;
	finished: Promise<void>;
}

type Update = Record<string, unknown> & { update_id: number };

const ok = (result: unknown): EmulatorReply => ({ status: 200, body: { ok: true, result } });
const fail = (status: number, description: string, parameters?: Record<string, unknown>): EmulatorReply => ({
	status,
	body: { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) },
});

export function makeBotToken(botId = 7_000_000_000 + Math.floor(Math.random() * 999_999_999)): string {
	return `${botId}:${randomBytes(26).toString('base64url').slice(0, 35)}`;
}

/** The update types Telegram sends when a bot never said which it wants. */
const DEFAULT_UPDATE_TYPES = null;
const TELEGRAM_TEXT_LIMIT = 4096;
const TELEGRAM_CAPTION_LIMIT = 1024;

interface HeldPoll {
	offset: number;
	limit: number;
	release: (reply: EmulatorReply) => void;
	timer: NodeJS.Timeout;
}

export class TelegramEmulator {
	readonly server: EmulatorServer;
	readonly token: string;
	readonly bot: TelegramUser;
	webhook: WebhookRegistration | null = null;
	/** Overrides for `getWebhookInfo` (e.g. `last_error_message`, `pending_update_count`). */
	webhookInfo: Record<string, unknown> = {};
	/** Messages the bot sent, in order. */
	readonly sent: SentMessage[] = [];
	/** Callback queries the bot answered, by id. */
	readonly answeredCallbacks: string[] = [];
	/**
	 * When set, a webhook delivery that failed (connection refused, non-2xx) is tried again after
	 * this many ms, as Telegram keeps retrying; when null, only the next queued update retries it.
	 */
	redeliverAfterMs: number | null = null;
	/** `allowed_updates` as last set by setWebhook or getUpdates; null means Telegram's default. */
	allowedUpdates: string[] | null = DEFAULT_UPDATE_TYPES;
	/** Updates not yet confirmed by the bot (getUpdates offset) or accepted by its webhook. */
	private pending: Update[] = [];
	private held: HeldPoll | null = null;
	private faults = new Map<string, EmulatorReply[]>();
	private files = new Map<string, StoredFile>();
	/** Serves trickled files (see FileServing.trickle); started on first use. */
	private streamer: { server: Server; url: string } | null = null;
	/** Trickled downloads, in the order they started. */
	readonly fileStreams: FileStream[] = [];
	private pushing: Promise<void> | null = null;
	private redeliveryTimer: NodeJS.Timeout | null = null;
	private nextUpdateId = 100_000;
	private nextMessageId = 1;

	constructor({ token = makeBotToken(), username = 'clawgate_test_bot' } = {}) {
		this.token = token;
		this.bot = { id: Number(token.split(':')[0]), is_bot: true, first_name: 'Clawgate Test', username };
		this.server = new EmulatorServer('Telegram', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	async stop(): Promise<void> {
		if (this.redeliveryTimer) clearTimeout(this.redeliveryTimer);
		this.redeliveryTimer = null;
		this.releaseHeldPoll(ok([]));
		await this.server.stop();
		await this.stopStreamer();
	}

	/** The value for the credential's `baseUrl`. */
	get apiRoot(): string {
		return this.server.url;
	}

	/** Bot API calls received for one method, in order. */
	calls(method: string): RecordedRequest[] {
		return this.server.matching((request) => methodOf(request) === method);
	}

	waitForCall(method: string, predicate: (body: Record<string, unknown>) => boolean = () => true, timeoutMs?: number): Promise<RecordedRequest> {
		return this.server.waitFor((request) => methodOf(request) === method && predicate(paramsOf(request)), {
			timeoutMs,
			description: `a ${method} call`,
		});
	}

	/** Texts the bot sent with sendMessage, in order (what a user would read in the chat). */
	sentTexts(chatId?: number | string): string[] {
		return this.sent.filter((message) => message.method === 'sendMessage' && (chatId === undefined || message.chatId === String(chatId))).map((message) => message.text ?? '');
	}

	/** Update IDs still waiting to be confirmed (polling) or accepted (webhook). */
	get pendingUpdateIds(): number[] {
		return this.pending.map((update) => update.update_id);
	}

	/** The next `count` calls of `method` fail with this reply instead of being served. */
	failNext(method: string, reply: EmulatorReply, count = 1): void {
		const queue = this.faults.get(method) ?? [];
		for (let i = 0; i < count; i++) queue.push(reply);
		this.faults.set(method, queue);
	}

	/** The next `count` calls of `method` get Telegram's flood-control answer. */
	rateLimitNext(method: string, retryAfterSeconds: number, count = 1): void {
		this.failNext(method, fail(429, `Too Many Requests: retry after ${retryAfterSeconds}`, { retry_after: retryAfterSeconds }), count);
	}

	/** Makes a file downloadable through getFile and `/file/bot<token>/<path>`; returns its file_id. */
	addFile(bytes: Buffer | string, { mimeType = 'application/octet-stream', path, serving }: { mimeType?: string; path?: string; serving?: FileServing } = {}): string {
		const fileId = `AgAC${randomBytes(12).toString('base64url')}`;
		const content = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
		this.files.set(fileId, { fileId, path: path ?? `documents/file_${this.files.size}`, bytes: content, mimeType, ...(serving ? { serving } : {}) });
		return fileId;
	}

	/** Requests for a file's bytes (`/file/bot<token>/<path>`) received so far, for one file or all. */
	fileDownloads(fileId?: string): RecordedRequest[] {
		const paths = new Set([...this.files.values()].filter((file) => fileId === undefined || file.fileId === fileId).map((file) => file.path));
		return this.server.matching((request) => {
			const match = /^\/file\/bot[^/]+\/(.+)$/.exec(request.path);
			return match !== null && paths.has(decodeURIComponent(match[1]));
		});
	}

	// ---------------------------------------------------------------------------------------------
	// Building updates the way Telegram sends them

	private nextUpdate(): number {
		return this.nextUpdateId++;
	}

	private messageBase({
		chatId = 42,
		from = { id: 42, is_bot: false, first_name: 'Ada', last_name: 'L.', username: 'ada' },
		chat,
	}: { chatId?: number; from?: TelegramUser; chat?: Record<string, unknown> }): Record<string, unknown> {
		return {
			message_id: this.nextMessageId++,
			from,
			chat: chat ?? { id: chatId, first_name: from.first_name, last_name: from.last_name, username: from.username, type: 'private' },
			date: Math.floor(Date.now() / 1000),
		};
	}

	/** A text message update as Telegram sends it for a private chat (or a group, with `chat`). */
	textUpdate({ text, ...where }: { text: string; chatId?: number; from?: TelegramUser; chat?: Record<string, unknown> }): Update {
		const message: Record<string, unknown> = { ...this.messageBase(where), text };
		const entities = entitiesOf(text);
		if (entities.length > 0) message.entities = entities;
		return { update_id: this.nextUpdate(), message };
	}

	/** A message update with any content fields (photo, document, voice, location, ...). */
	messageUpdate(fields: Record<string, unknown>, where: { chatId?: number; from?: TelegramUser; chat?: Record<string, unknown> } = {}): Update {
		return { update_id: this.nextUpdate(), message: { ...this.messageBase(where), ...fields } };
	}

	/** A group message: `chat` is a supergroup; `text` entities (mentions, commands) are filled in. */
	groupUpdate({ text, chatId = -100_123, from, extra = {} }: { text: string; chatId?: number; from?: TelegramUser; extra?: Record<string, unknown> }): Update {
		const update = this.textUpdate({ text, from, chat: { id: chatId, type: 'supergroup', title: 'Makers' } });
		Object.assign(update.message as object, extra);
		return update;
	}

	/** An `edited_message` update for an earlier message update. */
	editedUpdate(original: Update, text: string): Update {
		const message = original.message as Record<string, unknown>;
		return { update_id: this.nextUpdate(), edited_message: { ...message, text, edit_date: Math.floor(Date.now() / 1000) } };
	}

	/** A button press on one of the bot's messages. */
	callbackUpdate({ data, message, from }: { data: string; message: Record<string, unknown>; from?: TelegramUser }): Update {
		const presser = from ?? { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' };
		return {
			update_id: this.nextUpdate(),
			callback_query: { id: String(8_000_000_000_000 + this.nextUpdateId), from: presser, message, chat_instance: '-5', data },
		};
	}

	// ---------------------------------------------------------------------------------------------
	// Getting updates to the bot

	/**
	 * Queues an update like Telegram does when a user writes: it waits for the bot's getUpdates,
	 * or is pushed to the webhook when one is set. Updates of a type the bot did not ask for
	 * (`allowed_updates`) are never stored, as on Telegram.
	 */
	queueUpdate(update: Update): void {
		const type = Object.keys(update).find((key) => key !== 'update_id') ?? 'unknown';
		if (this.allowedUpdates && this.allowedUpdates.length > 0 && !this.allowedUpdates.includes(type)) return;
		this.pending.push(update);
		this.pending.sort((a, b) => a.update_id - b.update_id);
		if (this.webhook) void this.pushPending();
		else this.answerHeldPoll();
	}

	/**
	 * Queues the same message again under a new update_id: what a bot sees when the same message
	 * reaches it twice (Telegram itself never resends an update the bot confirmed, so a copy of
	 * a confirmed update needs a new id to be delivered at all).
	 */
	queueCopy(update: Update): Update {
		const copy = { ...update, update_id: this.nextUpdate() };
		this.queueUpdate(copy);
		return copy;
	}

	/** Posts an update to the registered webhook like Telegram: JSON body and the secret header. */
	async deliver(update: unknown, { secretToken, url }: { secretToken?: string | null; url?: string } = {}): Promise<DeliveryResult> {
		const target = url ?? this.webhook?.url;
		if (!target) throw new Error('No webhook is registered with the Telegram emulator (setWebhook was not called).');
		const secret = secretToken === undefined ? this.webhook?.secretToken : secretToken;
		const response = await fetch(target, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
			body: JSON.stringify(update),
		});
		return { status: response.status, body: await response.text() };
	}

	/** Resolves once every queued update has been confirmed or accepted. */
	async drained(timeoutMs = 20_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (this.pending.length > 0) {
			if (Date.now() > deadline) throw new Error(`Telegram updates ${this.pendingUpdateIds.join(', ')} were never confirmed by the bot.`);
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	}

	/** Pushes pending updates to the webhook one at a time, in order, like Telegram does. */
	private pushPending(): Promise<void> {
		this.pushing ??= (async () => {
			try {
				while (this.webhook && this.pending.length > 0) {
					const update = this.pending[0];
					let result: DeliveryResult | null = null;
					try {
						result = await this.deliver(update);
					} catch (error) {
						this.webhookInfo = { ...this.webhookInfo, last_error_date: nowSeconds(), last_error_message: `Connection failed: ${(error as Error).message}` };
					}
					if (result && result.status >= 200 && result.status < 300) {
						this.pending = this.pending.filter((pending) => pending !== update);
						continue;
					}
					if (result) this.webhookInfo = { ...this.webhookInfo, last_error_date: nowSeconds(), last_error_message: `Wrong response from the webhook: ${result.status}` };
					if (this.redeliverAfterMs !== null) this.scheduleRedelivery(this.redeliverAfterMs);
					break;
				}
			} finally {
				this.pushing = null;
			}
		})();
		return this.pushing;
	}

	private scheduleRedelivery(delayMs: number): void {
		if (this.redeliveryTimer) return;
		this.redeliveryTimer = setTimeout(() => {
			this.redeliveryTimer = null;
			if (this.webhook && this.pending.length > 0) void this.pushPending();
		}, delayMs);
	}

	private handle(request: RecordedRequest): EmulatorReply | Promise<EmulatorReply> {
		const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(request.path);
		if (file) return this.downloadFile(file[1], decodeURIComponent(file[2]));
		const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(request.path);
		if (!match) return fail(404, 'Not Found');
		if (match[1] !== this.token) return fail(401, 'Unauthorized');
		const method = match[2];
		const fault = this.faults.get(method)?.shift();
		if (fault) return fault;
		return this.serveMethod(method, request);
	}

	private async serveMethod(method: string, request: RecordedRequest): Promise<EmulatorReply> {
		const multipart = await multipartOf(request);
		const params: Record<string, unknown> = { ...paramsOf(request), ...multipart.fields };
		switch (method) {
			case 'getMe':
				return ok({ ...this.bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });
			case 'setWebhook':
				return this.setWebhook(params);
			case 'deleteWebhook':
				this.webhook = null;
				if (isTrue(params.drop_pending_updates)) this.pending = [];
				return ok(true);
			case 'getWebhookInfo':
				return ok({
					url: this.webhook?.url ?? '',
					has_custom_certificate: false,
					pending_update_count: this.pending.length,
					...(this.webhook?.allowedUpdates ? { allowed_updates: this.webhook.allowedUpdates } : {}),
					...this.webhookInfo,
				});
			case 'getUpdates':
				return this.getUpdates(params);
			case 'sendMessage':
				return this.sendMessage(params);
			case 'sendPhoto':
			case 'sendDocument':
				return this.sendFile(method, params, multipart.files);
			case 'sendChatAction':
				return this.sendChatAction(params);
			case 'editMessageText':
				return this.editMessageText(params);
			case 'deleteMessage':
				return this.deleteMessage(params);
			case 'getFile':
				return this.getFile(params);
			case 'answerCallbackQuery':
				this.answeredCallbacks.push(String(params.callback_query_id ?? ''));
				return ok(true);
			default:
				return fail(404, 'Not Found: method not found');
		}
	}

	private setWebhook(params: Record<string, unknown>): EmulatorReply {
		const url = String(params.url ?? '');
		if (url === '') {
			this.webhook = null;
			return ok(true);
		}
		if (!/^https?:\/\//.test(url)) return fail(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
		const secretToken = params.secret_token === undefined ? null : String(params.secret_token);
		if (secretToken !== null && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
			return fail(400, 'Bad Request: secret token contains unallowed characters');
		}
		const allowed = parseMaybeJson(params.allowed_updates);
		const allowedUpdates = Array.isArray(allowed) ? allowed.map(String) : null;
		if (allowedUpdates) this.allowedUpdates = allowedUpdates;
		if (isTrue(params.drop_pending_updates)) this.pending = [];
		if (this.webhook?.url !== url) this.webhookInfo = {};
		this.webhook = { url, secretToken, allowedUpdates };
		// A poll waiting when the webhook is set ends the way Telegram ends it.
		this.releaseHeldPoll(fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"));
		if (this.pending.length > 0) void this.pushPending();
		return ok(true);
	}

	private getUpdates(params: Record<string, unknown>): EmulatorReply | Promise<EmulatorReply> {
		if (this.webhook) return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
		// Only one getUpdates at a time: Telegram ends the older one.
		this.releaseHeldPoll(fail(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));

		const offset = params.offset === undefined ? null : Number(params.offset);
		if (offset !== null && offset > 0) this.pending = this.pending.filter((update) => update.update_id >= offset);
		if (offset !== null && offset < 0) this.pending = this.pending.slice(offset);
		const allowed = parseMaybeJson(params.allowed_updates);
		if (Array.isArray(allowed)) this.allowedUpdates = allowed.map(String);
		const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
		const timeoutSeconds = Math.max(0, Number(params.timeout ?? 0));

		if (this.pending.length > 0 || timeoutSeconds === 0) return ok(this.pending.slice(0, limit));
		return new Promise<EmulatorReply>((resolve) => {
			const poll: HeldPoll = {
				offset: offset ?? 0,
				limit,
				release: (reply) => {
					clearTimeout(poll.timer);
					if (this.held === poll) this.held = null;
					resolve(reply);
				},
				timer: setTimeout(() => poll.release(ok([])), timeoutSeconds * 1000),
			};
			this.held = poll;
		});
	}

	private answerHeldPoll(): void {
		const poll = this.held;
		if (poll) poll.release(ok(this.pending.slice(0, poll.limit)));
	}

	private releaseHeldPoll(reply: EmulatorReply): void {
		this.held?.release(reply);
	}

	private chatIdOf(params: Record<string, unknown>): string | null {
		const chatId = params.chat_id;
		if (chatId === undefined || chatId === null || chatId === '') return null;
		return String(chatId);
	}

	private sendMessage(params: Record<string, unknown>): EmulatorReply {
		const chatId = this.chatIdOf(params);
		if (chatId === null) return fail(400, 'Bad Request: chat_id is empty');
		const text = String(params.text ?? '');
		const parsed = parseFormatted(text, params.parse_mode);
		if ('error' in parsed) return fail(400, `Bad Request: can't parse entities: ${parsed.error}`);
		if (parsed.text.trim() === '') return fail(400, 'Bad Request: message text is empty');
		if (parsed.text.length > TELEGRAM_TEXT_LIMIT) return fail(400, 'Bad Request: message is too long');
		const message = this.record('sendMessage', chatId, params, { text, caption: null, file: null });
		return ok({ ...this.messageShape(message), text: parsed.text });
	}

	private sendFile(method: string, params: Record<string, unknown>, files: Map<string, { name: string | null; bytes: Buffer }>): EmulatorReply {
		const chatId = this.chatIdOf(params);
		if (chatId === null) return fail(400, 'Bad Request: chat_id is empty');
		const field = method === 'sendPhoto' ? 'photo' : 'document';
		// grammy uploads as `photo: "attach://<part>"` plus a file part of that name; a plain part also works.
		const named = params[field];
		const upload = typeof named === 'string' && named.startsWith('attach://') ? files.get(named.slice('attach://'.length)) : files.get(field);
		const reference = upload ? null : named;
		if (!upload && (typeof reference !== 'string' || reference === '')) return fail(400, `Bad Request: there is no ${field} in the request`);
		const caption = params.caption === undefined ? null : String(params.caption);
		if (caption !== null) {
			const parsed = parseFormatted(caption, params.parse_mode);
			if ('error' in parsed) return fail(400, `Bad Request: can't parse entities: ${parsed.error}`);
			if (parsed.text.length > TELEGRAM_CAPTION_LIMIT) return fail(400, 'Bad Request: message caption is too long');
		}
		const file = { field, name: upload?.name ?? null, bytes: upload?.bytes ?? null, fileId: upload ? null : String(reference) };
		const message = this.record(method, chatId, params, { text: null, caption, file });
		const size = upload?.bytes.length ?? 0;
		const content =
			field === 'photo'
				? { photo: [{ file_id: `AgAC${message.messageId}`, file_unique_id: `u${message.messageId}`, width: 90, height: 90, file_size: size }] }
				: { document: { file_id: `BQAC${message.messageId}`, file_unique_id: `u${message.messageId}`, file_name: upload?.name ?? undefined, file_size: size } };
		return ok({ ...this.messageShape(message), ...content, ...(caption !== null ? { caption } : {}) });
	}

	private sendChatAction(params: Record<string, unknown>): EmulatorReply {
		if (this.chatIdOf(params) === null) return fail(400, 'Bad Request: chat_id is empty');
		const actions = ['typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document', 'choose_sticker', 'find_location'];
		if (!actions.includes(String(params.action))) return fail(400, 'Bad Request: wrong parameter action in request');
		return ok(true);
	}

	private editMessageText(params: Record<string, unknown>): EmulatorReply {
		const chatId = this.chatIdOf(params);
		if (chatId === null) return fail(400, 'Bad Request: chat_id is empty');
		const message = this.sent.find((sent) => sent.chatId === chatId && sent.messageId === Number(params.message_id));
		if (!message || message.text === null) return fail(400, 'Bad Request: message to edit not found');
		const text = String(params.text ?? '');
		const parsed = parseFormatted(text, params.parse_mode);
		if ('error' in parsed) return fail(400, `Bad Request: can't parse entities: ${parsed.error}`);
		if (parsed.text.trim() === '') return fail(400, 'Bad Request: message text is empty');
		if (parsed.text.length > TELEGRAM_TEXT_LIMIT) return fail(400, 'Bad Request: MESSAGE_TOO_LONG');
		if (text === message.text && (params.parse_mode ?? null) === message.parseMode) {
			return fail(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
		}
		message.editedTexts.push(message.text);
		message.editedAt.push(Date.now());
		message.text = text;
		message.parseMode = params.parse_mode === undefined ? null : String(params.parse_mode);
		return ok({ ...this.messageShape(message), text: parsed.text, edit_date: nowSeconds() });
	}

	private deleteMessage(params: Record<string, unknown>): EmulatorReply {
		const chatId = this.chatIdOf(params);
		if (chatId === null) return fail(400, 'Bad Request: chat_id is empty');
		const message = this.sent.find((sent) => sent.chatId === chatId && sent.messageId === Number(params.message_id) && sent.deletedAt === null);
		if (!message) return fail(400, "Bad Request: message can't be deleted for everyone");
		message.deletedAt = Date.now();
		return ok(true);
	}

	private getFile(params: Record<string, unknown>): EmulatorReply {
		const file = this.files.get(String(params.file_id ?? ''));
		if (!file) return fail(400, 'Bad Request: invalid file_id');
		// Telegram refuses by the size it knows; a server whose metadata lies (FileServing) is judged by what it says.
		const announced = file.serving?.announcedSize === undefined ? file.bytes.length : file.serving.announcedSize;
		if ((announced ?? 0) > 20 * 1024 * 1024) return fail(400, 'Bad Request: file is too big');
		return ok({ file_id: file.fileId, file_unique_id: `u${file.fileId.slice(-8)}`, ...(announced !== null ? { file_size: announced } : {}), file_path: file.path });
	}

	private downloadFile(token: string, path: string): EmulatorReply | Promise<EmulatorReply> {
		if (token !== this.token) return fail(401, 'Unauthorized');
		const file = [...this.files.values()].find((stored) => stored.path === path);
		if (!file) return fail(404, 'Not Found');
		const whole: EmulatorReply = {
			status: 200,
			headers: { 'content-type': file.mimeType, ...(file.serving?.contentLength ? { 'content-length': String(file.bytes.length) } : {}) },
			body: file.bytes,
		};
		const delayMs = file.serving?.delayMs ?? 0;
		if (delayMs === 0 && !file.serving?.trickle) return whole;
		// Unref'd: a late answer nobody waits for any more must not keep the test process alive.
		return new Promise<void>((resolve) => setTimeout(resolve, delayMs).unref()).then(async () =>
			file.serving?.trickle ? { status: 302, headers: { location: `${await this.startStreamer()}/${file.fileId}` } } : whole,
		);
	}

	private async startStreamer(): Promise<string> {
		if (this.streamer) return this.streamer.url;
		const server = createServer((req, res) => {
			const file = this.files.get((req.url ?? '').slice(1));
			const trickle = file?.serving?.trickle;
			if (!file || !trickle) {
				res.writeHead(404).end();
				return;
			}
			let settle!: () => void;
			const stream: FileStream = { fileId: file.fileId, bytesSent: 0, cutOff: false, finished: new Promise((resolve) => (settle = resolve)) };
			this.fileStreams.push(stream);
			res.writeHead(200, { 'content-type': file.mimeType, 'transfer-encoding': 'chunked' });
			const timer = setInterval(() => {
				const chunk = file.bytes.subarray(stream.bytesSent, stream.bytesSent + trickle.chunkBytes);
				stream.bytesSent += chunk.length;
				if (stream.bytesSent >= file.bytes.length) {
					clearInterval(timer);
					res.end(chunk, settle);
				} else {
					res.write(chunk);
				}
			}, trickle.intervalMs);
			res.on('close', () => {
				clearInterval(timer);
				if (stream.bytesSent < file.bytes.length) stream.cutOff = true;
				settle();
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		this.streamer = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
		return this.streamer.url;
	}

	private async stopStreamer(): Promise<void> {
		const streamer = this.streamer;
		this.streamer = null;
		if (!streamer) return;
		streamer.server.closeAllConnections();
		await new Promise<void>((resolve) => streamer.server.close(() => resolve()));
	}

	private record(method: string, chatId: string, params: Record<string, unknown>, content: Pick<SentMessage, 'text' | 'caption' | 'file'>): SentMessage {
		const reply = parseMaybeJson(params.reply_parameters) as { message_id?: number } | undefined;
		const message: SentMessage = {
			chatId,
			messageId: this.nextMessageId++,
			method,
			parseMode: params.parse_mode === undefined ? null : String(params.parse_mode),
			threadId: params.message_thread_id === undefined ? null : Number(params.message_thread_id),
			replyTo: reply?.message_id === undefined ? null : Number(reply.message_id),
			editedTexts: [],
			sentAt: Date.now(),
			editedAt: [],
			deletedAt: null,
			...content,
		};
		this.sent.push(message);
		return message;
	}

	private messageShape(message: SentMessage): Record<string, unknown> {
		const chatId = Number(message.chatId);
		return {
			message_id: message.messageId,
			from: this.bot,
			chat: { id: chatId, type: chatId < 0 ? 'supergroup' : 'private' },
			date: nowSeconds(),
			...(message.threadId !== null ? { message_thread_id: message.threadId } : {}),
		};
	}
}

function nowSeconds(): number {
	return Math.floor(Date.now() / 1000);
}

function isTrue(value: unknown): boolean {
	return value === true || value === 'true';
}

/** The `entities` Telegram computes for a text: bot commands and @mentions. */
function entitiesOf(text: string): Array<Record<string, unknown>> {
	const entities: Array<Record<string, unknown>> = [];
	const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
	if (command) entities.push({ offset: 0, length: command[0].length, type: 'bot_command' });
	for (const mention of text.matchAll(/(^|[^A-Za-z0-9_/])(@[A-Za-z0-9_]{5,32})/g)) {
		entities.push({ offset: (mention.index ?? 0) + mention[1].length, length: mention[2].length, type: 'mention' });
	}
	return entities;
}

function methodOf(request: RecordedRequest): string | null {
	return /^\/bot[^/]+\/([A-Za-z]+)$/.exec(request.path)?.[1] ?? null;
}

/** Query string and JSON/form body together, as the Bot API accepts parameters in either. */
function paramsOf(request: RecordedRequest): Record<string, unknown> {
	return { ...Object.fromEntries(request.query), ...request.body, ...(request as RecordedRequest & { multipartFields?: Record<string, unknown> }).multipartFields };
}

/** Reads a multipart/form-data body (grammy uploads files this way) with the platform's own parser. */
async function multipartOf(request: RecordedRequest): Promise<{ fields: Record<string, unknown>; files: Map<string, { name: string | null; bytes: Buffer }> }> {
	const fields: Record<string, unknown> = {};
	const files = new Map<string, { name: string | null; bytes: Buffer }>();
	const contentType = String(request.headers['content-type'] ?? '');
	if (!contentType.startsWith('multipart/form-data')) return { fields, files };
	const form = await new Response(new Uint8Array(request.rawBody), { headers: { 'content-type': contentType } }).formData();
	for (const [name, value] of form.entries()) {
		if (typeof value === 'string') fields[name] = value;
		else files.set(name, { name: value.name || null, bytes: Buffer.from(await value.arrayBuffer()) });
	}
	// Keep the parsed fields with the recorded request so tests can assert on them like JSON bodies.
	Object.assign(request, { multipartFields: fields });
	return { fields, files };
}

function parseMaybeJson(value: unknown): unknown {
	if (typeof value !== 'string') return value;
	try {
		return JSON.parse(value);
	} catch {
		return value;
	}
}

const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);
const HTML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0' };

/**
 * The visible text of a message as Telegram parses it, or Telegram's error for markup it rejects.
 * Only HTML is checked in depth (that is what the nodes send); other modes pass through.
 */
export function parseFormatted(text: string, parseMode: unknown): { text: string } | { error: string } {
	if (parseMode === undefined || parseMode === null || parseMode === '') return { text };
	if (String(parseMode).toLowerCase() !== 'html') return { text };
	const open: string[] = [];
	let visible = '';
	let i = 0;
	while (i < text.length) {
		const char = text[i];
		if (char === '<') {
			const tag = /^<(\/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*>/.exec(text.slice(i));
			const offset = Buffer.byteLength(text.slice(0, i));
			if (!tag) return { error: `Unsupported start tag at byte offset ${offset}` };
			const [whole, closing, rawName] = tag;
			const name = rawName.toLowerCase();
			if (!HTML_TAGS.has(name)) return { error: `Unsupported start tag "${name}" at byte offset ${offset}` };
			if (closing) {
				const expected = open.pop();
				if (expected !== name) return { error: `Unmatched end tag at byte offset ${offset}, expected "</${expected ?? ''}>", found "</${name}>"` };
			} else {
				const inside = open.at(-1);
				if ((inside === 'code' || (inside === 'pre' && name !== 'code')) && name !== inside) {
					return { error: `Can't find end tag corresponding to start tag "${inside}"` };
				}
				open.push(name);
			}
			i += whole.length;
			continue;
		}
		if (char === '&') {
			const entity = /^&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/.exec(text.slice(i));
			if (entity) {
				const body = entity[1];
				const decoded = body.startsWith('#x')
					? String.fromCodePoint(parseInt(body.slice(2), 16))
					: body.startsWith('#')
						? String.fromCodePoint(Number(body.slice(1)))
						: HTML_ENTITIES[body.toLowerCase()];
				if (decoded === undefined) return { error: `Unsupported HTML entity "&${body};" at byte offset ${Buffer.byteLength(text.slice(0, i))}` };
				visible += decoded;
				i += entity[0].length;
				continue;
			}
		}
		visible += char;
		i++;
	}
	if (open.length > 0) return { error: `Can't find end tag corresponding to start tag "${open.at(-1)}"` };
	return { text: visible };
}
