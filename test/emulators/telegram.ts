/**
 * Telegram Bot API emulator: `/bot<token>/<method>` on loopback, answering with the shapes the
 * real API returns, and delivering updates to the registered webhook the way Telegram does
 * (POST, JSON, `X-Telegram-Bot-Api-Secret-Token`).
 */
import { randomBytes } from 'node:crypto';

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

const ok = (result: unknown): EmulatorReply => ({ status: 200, body: { ok: true, result } });
const fail = (status: number, description: string): EmulatorReply => ({ status, body: { ok: false, error_code: status, description } });

export function makeBotToken(botId = 7_000_000_000 + Math.floor(Math.random() * 999_999_999)): string {
	return `${botId}:${randomBytes(26).toString('base64url').slice(0, 35)}`;
}

export class TelegramEmulator {
	readonly server: EmulatorServer;
	readonly token: string;
	readonly bot: TelegramUser;
	webhook: WebhookRegistration | null = null;
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

	stop(): Promise<void> {
		return this.server.stop();
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
		return this.server.waitFor((request) => methodOf(request) === method && predicate(request.body), {
			timeoutMs,
			description: `a ${method} call`,
		});
	}

	/** A text message update as Telegram sends it for a private chat (or a group, with `chat`). */
	textUpdate({
		text,
		chatId = 42,
		from = { id: 42, is_bot: false, first_name: 'Ada', last_name: 'L.', username: 'ada' },
		chat,
	}: {
		text: string;
		chatId?: number;
		from?: TelegramUser;
		chat?: Record<string, unknown>;
	}): Record<string, unknown> {
		const message: Record<string, unknown> = {
			message_id: this.nextMessageId++,
			from,
			chat: chat ?? { id: chatId, first_name: from.first_name, last_name: from.last_name, username: from.username, type: 'private' },
			date: Math.floor(Date.now() / 1000),
			text,
		};
		const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
		if (command) message.entities = [{ offset: 0, length: command[0].length, type: 'bot_command' }];
		return { update_id: this.nextUpdateId++, message };
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

	private handle(request: RecordedRequest): EmulatorReply {
		const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(request.path);
		if (!match) return fail(404, 'Not Found');
		if (match[1] !== this.token) return fail(401, 'Unauthorized');
		const params = { ...Object.fromEntries(request.query), ...request.body };
		switch (match[2]) {
			case 'getMe':
				return ok({ ...this.bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });
			case 'setWebhook':
				return this.setWebhook(params);
			case 'deleteWebhook':
				this.webhook = null;
				return ok(true);
			case 'getWebhookInfo':
				return ok({
					url: this.webhook?.url ?? '',
					has_custom_certificate: false,
					pending_update_count: 0,
					...(this.webhook?.allowedUpdates ? { allowed_updates: this.webhook.allowedUpdates } : {}),
				});
			case 'sendMessage':
				return this.sendMessage(params);
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
		const secretToken = params.secret_token === undefined ? null : String(params.secret_token);
		if (secretToken !== null && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
			return fail(400, 'Bad Request: secret token contains unallowed characters');
		}
		const allowed = parseMaybeJson(params.allowed_updates);
		this.webhook = { url, secretToken, allowedUpdates: Array.isArray(allowed) ? allowed.map(String) : null };
		return ok(true);
	}

	private sendMessage(params: Record<string, unknown>): EmulatorReply {
		const text = String(params.text ?? '');
		if (params.chat_id === undefined || params.chat_id === '') return fail(400, 'Bad Request: chat_id is empty');
		if (text.trim() === '') return fail(400, 'Bad Request: message text is empty');
		if (text.length > 4096) return fail(400, 'Bad Request: message is too long');
		const chatId = Number(params.chat_id);
		return ok({
			message_id: this.nextMessageId++,
			from: this.bot,
			chat: { id: chatId, type: chatId < 0 ? 'group' : 'private' },
			date: Math.floor(Date.now() / 1000),
			text,
		});
	}
}

function methodOf(request: RecordedRequest): string | null {
	return /^\/bot[^/]+\/([A-Za-z]+)$/.exec(request.path)?.[1] ?? null;
}

function parseMaybeJson(value: unknown): unknown {
	if (typeof value !== 'string') return value;
	try {
		return JSON.parse(value);
	} catch {
		return value;
	}
}
