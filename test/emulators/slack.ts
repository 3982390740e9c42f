/**
 * Slack on loopback, both directions:
 * - the Web API (`/api/<method>`, Bearer token, `{ ok, error }` bodies, 429 + Retry-After) with
 *   the calls Clawgate makes, including the three steps of files.uploadV2;
 * - the Events API sender: realistic event_callback payloads, signed like Slack signs them
 *   (`X-Slack-Signature: v0=<hmac>`, `X-Slack-Request-Timestamp`, retry headers).
 * The signature code here is written from Slack's documentation, independently of the adapter.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';

import { EmulatorServer, type EmulatorReply, type RecordedRequest } from './kit';

export interface SlackEmulatorOptions {
	token?: string;
	signingSecret?: string;
	teamId?: string;
	botUserId?: string;
}

export interface SlackFault {
	/** Only a call of this method consumes the fault. */
	method: string;
	/** A 429 with this Retry-After (seconds), or an `{ ok: false, error }` answer. */
	rateLimitSeconds?: number;
	error?: string;
	/** Extra fields of the error answer, e.g. `{ needed: 'chat:write' }`. */
	extra?: Record<string, unknown>;
}

export interface PostedMessage {
	channel: string;
	ts: string;
	text: string;
	threadTs: string | null;
	user: string;
	files: string[];
}

interface EmulatedFile {
	id: string;
	filename: string;
	length: number;
	uploadKey: string;
	bytes: Buffer | null;
	title: string | null;
	channel: string | null;
	threadTs: string | null;
}

export interface SignedDelivery {
	headers: Record<string, string>;
	rawBody: string;
}

export interface DeliveryOptions {
	/** Unix seconds; defaults to now. */
	timestamp?: number;
	/** Signs with another secret (a forger's). */
	signingSecret?: string;
	/** Sends X-Slack-Retry-Num / X-Slack-Retry-Reason like a redelivery. */
	retryNum?: number;
	retryReason?: string;
	/** Sends this body instead of the signed one (tampering in transit). */
	bodyOverride?: string;
	/** Leaves the signature headers out. */
	unsigned?: boolean;
}

export interface DeliveryResult {
	status: number;
	body: string;
}

/** The Slack v0 signature of a request: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`. */
export function signSlackRequest(signingSecret: string, timestamp: number | string, body: string): string {
	return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function makeBotToken(): string {
	const digits = () => String(Math.floor(1e12 + Math.random() * 9e12));
	return `xoxb-${digits()}-${digits()}-${randomBytes(18).toString('base64url').slice(0, 24)}`;
}

const ok = (result: Record<string, unknown> = {}): EmulatorReply => ({ status: 200, body: { ok: true, ...result } });
// Slack answers API errors with HTTP 200 and `ok: false`; only rate limits use a status (429).
const refuse = (error: string, extra: Record<string, unknown> = {}): EmulatorReply => ({ status: 200, body: { ok: false, error, ...extra } });

export class SlackEmulator {
	readonly server: EmulatorServer;
	readonly token: string;
	readonly signingSecret: string;
	readonly teamId: string;
	readonly appId = 'A0CLAWGATE';
	readonly bot: { userId: string; botId: string; name: string };
	/** Every message chat.postMessage posted (and files shared), by channel in order. */
	readonly posted: PostedMessage[] = [];
	/** Channels the bot is not a member of: posting there answers `not_in_channel`. */
	readonly notInChannel = new Set<string>();
	private faults: SlackFault[] = [];
	private files = new Map<string, EmulatedFile>();
	private seq = 0;

	constructor({ token = makeBotToken(), signingSecret = randomBytes(16).toString('hex'), teamId = 'T0CLAWGATE', botUserId = 'U0CLAWBOT' }: SlackEmulatorOptions = {}) {
		this.token = token;
		this.signingSecret = signingSecret;
		this.teamId = teamId;
		this.bot = { userId: botUserId, botId: 'B0CLAWBOT', name: 'clawgate' };
		this.server = new EmulatorServer('Slack', (request) => this.handle(request));
	}

	start(): Promise<string> {
		return this.server.start();
	}

	stop(): Promise<void> {
		return this.server.stop();
	}

	/** The value for the credential's `baseUrl`, like https://slack.com/api. */
	get apiUrl(): string {
		return `${this.server.url}/api`;
	}

	/** Scripts the next calls of a method to fail, one fault per call, in order. */
	fail(...faults: SlackFault[]): this {
		this.faults.push(...faults);
		return this;
	}

	pendingFaults(): SlackFault[] {
		return [...this.faults];
	}

	/** Web API calls received for one method (accepted or not), in order. */
	calls(method: string): RecordedRequest[] {
		return this.server.matching((request) => methodOf(request) === method);
	}

	/** The bytes uploaded for a file ID, once files.uploadV2 has sent them. */
	uploadedBytes(fileId: string): Buffer | null {
		return this.files.get(fileId)?.bytes ?? null;
	}

	// ------------------------------------------------------------------------------------------
	// Events API payloads, shaped like Slack's

	/** A Slack message ts: Unix seconds, a dot, six digits; unique per channel. */
	nextTs(): string {
		return `${Math.floor(Date.now() / 1000)}.${String(++this.seq).padStart(6, '0')}`;
	}

	/** Wraps an event in the event_callback envelope Slack delivers to the Request URL. */
	eventCallback(event: Record<string, unknown>): Record<string, unknown> {
		return {
			token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
			team_id: this.teamId,
			context_team_id: this.teamId,
			context_enterprise_id: null,
			api_app_id: this.appId,
			event: { ...event, event_ts: event.event_ts ?? event.ts },
			type: 'event_callback',
			event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
			event_time: Math.floor(Date.now() / 1000),
			authorizations: [{ enterprise_id: null, team_id: this.teamId, user_id: this.bot.userId, is_bot: true, is_enterprise_install: false }],
			is_ext_shared_channel: false,
			event_context: `4-${randomBytes(24).toString('base64url')}`,
		};
	}

	/** A person's message event (what message.im / message.channels deliver). */
	userMessageEvent({
		text,
		user = 'U0ADA',
		channel = 'D0ADA',
		channelType = 'im',
		ts = this.nextTs(),
		threadTs,
		extra = {},
	}: {
		text: string;
		user?: string;
		channel?: string;
		channelType?: 'im' | 'mpim' | 'channel' | 'group';
		ts?: string;
		threadTs?: string;
		extra?: Record<string, unknown>;
	}): Record<string, unknown> {
		return {
			user,
			type: 'message',
			ts,
			client_msg_id: randomUUID(),
			text,
			team: this.teamId,
			...(threadTs ? { thread_ts: threadTs, parent_user_id: 'U0ADA' } : {}),
			blocks: richTextBlocks(text),
			channel,
			event_ts: ts,
			channel_type: channelType,
			...extra,
		};
	}

	/** message.im: a direct message to the bot. */
	dmMessage(options: { text: string; user?: string; channel?: string; threadTs?: string }): Record<string, unknown> {
		return this.eventCallback(this.userMessageEvent({ channel: 'D0ADA', ...options, channelType: 'im' }));
	}

	/** message.channels (or .groups / .mpim): any message in a conversation the bot is in. */
	channelMessage(options: { text: string; user?: string; channel?: string; channelType?: 'channel' | 'group' | 'mpim'; ts?: string; threadTs?: string }): Record<string, unknown> {
		return this.eventCallback(this.userMessageEvent({ channel: 'C0GENERAL', channelType: 'channel', ...options }));
	}

	/** A reply in a thread: thread_ts is the parent message's ts. */
	threadReply(options: { text: string; threadTs: string; user?: string; channel?: string; channelType?: 'channel' | 'group' | 'mpim' | 'im' }): Record<string, unknown> {
		const channelType = options.channelType ?? 'channel';
		return this.eventCallback(
			this.userMessageEvent({ channel: channelType === 'im' ? 'D0ADA' : 'C0GENERAL', ...options, channelType }),
		);
	}

	/** app_mention: the bot @mentioned in a channel. It has no channel_type. */
	appMention({ text, user = 'U0ADA', channel = 'C0GENERAL', ts = this.nextTs(), threadTs }: { text?: string; user?: string; channel?: string; ts?: string; threadTs?: string } = {}): Record<string, unknown> {
		const body = text ?? `<@${this.bot.userId}> hello`;
		return this.eventCallback({
			type: 'app_mention',
			user,
			ts,
			client_msg_id: randomUUID(),
			text: body,
			team: this.teamId,
			...(threadTs ? { thread_ts: threadTs } : {}),
			blocks: richTextBlocks(body),
			channel,
			event_ts: ts,
		});
	}

	/**
	 * What Slack sends when someone mentions the bot in a channel the app also reads all
	 * messages of: an app_mention and a message event for the same message (same ts, two event_ids).
	 */
	mentionInChannel({ text, channel = 'C0GENERAL', user = 'U0ADA' }: { text?: string; channel?: string; user?: string } = {}): {
		appMention: Record<string, unknown>;
		message: Record<string, unknown>;
	} {
		const ts = this.nextTs();
		const body = text ?? `<@${this.bot.userId}> what is new?`;
		return {
			appMention: this.appMention({ text: body, channel, user, ts }),
			message: this.channelMessage({ text: body, channel, user, ts }),
		};
	}

	/** A message posted by a bot: the Clawgate bot itself (`own`) or another app's bot. */
	botMessage({ text, own = false, channel = 'C0GENERAL', channelType = 'channel' }: { text: string; own?: boolean; channel?: string; channelType?: 'im' | 'channel' | 'group' | 'mpim' }): Record<string, unknown> {
		const ts = this.nextTs();
		const event = own
			? { user: this.bot.userId, type: 'message', ts, bot_id: this.bot.botId, app_id: this.appId, text, team: this.teamId, bot_profile: { id: this.bot.botId, app_id: this.appId, name: this.bot.name, deleted: false, team_id: this.teamId } }
			: { subtype: 'bot_message', text, ts, username: 'Deploy Bot', bot_id: 'B0OTHERBOT', type: 'message' };
		return this.eventCallback({ ...event, channel, event_ts: ts, channel_type: channelType });
	}

	/** message_changed: someone edited a message. */
	messageChanged({ ts, text, channel = 'D0ADA', channelType = 'im', user = 'U0ADA' }: { ts: string; text: string; channel?: string; channelType?: string; user?: string }): Record<string, unknown> {
		const eventTs = this.nextTs();
		return this.eventCallback({
			type: 'message',
			subtype: 'message_changed',
			message: { type: 'message', user, text, edited: { user, ts: eventTs }, ts, client_msg_id: randomUUID() },
			previous_message: { type: 'message', user, text: 'before the edit', ts },
			channel,
			hidden: true,
			ts: eventTs,
			event_ts: eventTs,
			channel_type: channelType,
		});
	}

	/** A message with files shared (subtype file_share). */
	fileShare({ text = '', files, channel = 'D0ADA', channelType = 'im', user = 'U0ADA' }: { text?: string; files: Array<{ name: string; mimetype: string; size: number; subtype?: string }>; channel?: string; channelType?: 'im' | 'channel'; user?: string }): Record<string, unknown> {
		return this.eventCallback(
			this.userMessageEvent({
				text,
				user,
				channel,
				channelType,
				extra: {
					subtype: 'file_share',
					upload: false,
					display_as_bot: false,
					files: files.map((file) => ({
						id: `F${randomBytes(5).toString('hex').toUpperCase()}`,
						created: Math.floor(Date.now() / 1000),
						name: file.name,
						title: file.name,
						mimetype: file.mimetype,
						filetype: file.name.split('.').pop(),
						user,
						size: file.size,
						...(file.subtype ? { subtype: file.subtype } : {}),
						url_private: `https://files.slack.com/files-pri/${this.teamId}-F0/${file.name}`,
						mode: 'hosted',
					})),
				},
			}),
		);
	}

	/** The check Slack sends when a Request URL is saved in Event Subscriptions. */
	urlVerification(challenge = randomBytes(20).toString('base64url')): Record<string, unknown> {
		return { token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge, type: 'url_verification' };
	}

	// ------------------------------------------------------------------------------------------
	// Delivering

	/** The headers and body of a delivery exactly as Slack sends them, without sending. */
	signedDelivery(payload: unknown, options: DeliveryOptions = {}): SignedDelivery {
		const rawBody = JSON.stringify(payload);
		const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
		const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)' };
		if (!options.unsigned) {
			headers['x-slack-request-timestamp'] = String(timestamp);
			headers['x-slack-signature'] = signSlackRequest(options.signingSecret ?? this.signingSecret, timestamp, rawBody);
		}
		if (options.retryNum !== undefined) {
			headers['x-slack-retry-num'] = String(options.retryNum);
			headers['x-slack-retry-reason'] = options.retryReason ?? 'http_timeout';
		}
		return { headers, rawBody: options.bodyOverride ?? rawBody };
	}

	/** POSTs a delivery to a Request URL like Slack's Events API does. */
	async deliver(url: string, payload: unknown, options: DeliveryOptions = {}): Promise<DeliveryResult> {
		const { headers, rawBody } = this.signedDelivery(payload, options);
		const response = await fetch(url, { method: 'POST', headers, body: rawBody });
		return { status: response.status, body: await response.text() };
	}

	// ------------------------------------------------------------------------------------------
	// Web API

	private handle(request: RecordedRequest): EmulatorReply {
		const upload = /^\/upload\/v1\/([A-Za-z0-9_-]+)$/.exec(request.path);
		if (upload) return this.receiveUpload(upload[1], request);
		const method = methodOf(request);
		if (!method) return { status: 404, body: 'Not Found' };
		const params: Record<string, unknown> = { ...Object.fromEntries(request.query), ...request.body };
		const auth = request.headers.authorization ?? (params.token ? `Bearer ${params.token}` : undefined);
		if (!auth) return refuse('not_authed');
		if (auth !== `Bearer ${this.token}`) return refuse('invalid_auth');

		const faultIndex = this.faults.findIndex((fault) => fault.method === method);
		if (faultIndex >= 0) {
			const [fault] = this.faults.splice(faultIndex, 1);
			if (fault.rateLimitSeconds !== undefined) {
				return { status: 429, headers: { 'retry-after': String(fault.rateLimitSeconds) }, body: { ok: false, error: 'ratelimited' } };
			}
			return refuse(fault.error ?? 'internal_error', fault.extra);
		}

		switch (method) {
			case 'auth.test':
				return ok({
					url: 'https://clawgate-test.slack.com/',
					team: 'Clawgate Test',
					user: this.bot.name,
					team_id: this.teamId,
					user_id: this.bot.userId,
					bot_id: this.bot.botId,
					is_enterprise_install: false,
				});
			case 'chat.postMessage':
				return this.postMessage(params);
			case 'chat.update':
				return this.updateMessage(params);
			case 'chat.delete':
				return this.deleteMessage(params);
			case 'files.getUploadURLExternal':
				return this.getUploadUrl(params);
			case 'files.completeUploadExternal':
				return this.completeUpload(params);
			default:
				return refuse('unknown_method');
		}
	}

	private postMessage(params: Record<string, unknown>): EmulatorReply {
		const channel = String(params.channel ?? '');
		const text = String(params.text ?? '');
		if (!channel) return refuse('channel_not_found');
		if (this.notInChannel.has(channel)) return refuse('not_in_channel');
		if (!text.trim() && !params.blocks) return refuse('no_text');
		if (text.length > 40_000) return refuse('msg_too_long');
		const threadTs = params.thread_ts ? String(params.thread_ts) : null;
		const message = { channel, ts: this.nextTs(), text, threadTs, user: this.bot.userId, files: [] };
		this.posted.push(message);
		return ok({ channel, ts: message.ts, message: this.asSlackMessage(message) });
	}

	private updateMessage(params: Record<string, unknown>): EmulatorReply {
		const channel = String(params.channel ?? '');
		const message = this.posted.find((candidate) => candidate.channel === channel && candidate.ts === String(params.ts ?? ''));
		if (!message) return refuse('message_not_found');
		if (message.user !== this.bot.userId) return refuse('cant_update_message');
		message.text = String(params.text ?? '');
		return ok({ channel, ts: message.ts, text: message.text, message: this.asSlackMessage(message) });
	}

	private deleteMessage(params: Record<string, unknown>): EmulatorReply {
		const channel = String(params.channel ?? '');
		const index = this.posted.findIndex((candidate) => candidate.channel === channel && candidate.ts === String(params.ts ?? ''));
		if (index < 0) return refuse('message_not_found');
		if (this.posted[index].user !== this.bot.userId) return refuse('cant_delete_message');
		this.posted.splice(index, 1);
		return ok({ channel, ts: String(params.ts) });
	}

	private getUploadUrl(params: Record<string, unknown>): EmulatorReply {
		const filename = String(params.filename ?? '');
		const length = Number(params.length);
		if (!filename || !Number.isSafeInteger(length) || length <= 0) return refuse('invalid_arguments');
		const file: EmulatedFile = {
			id: `F${randomBytes(5).toString('hex').toUpperCase()}`,
			filename,
			length,
			uploadKey: randomBytes(12).toString('base64url'),
			bytes: null,
			title: null,
			channel: null,
			threadTs: null,
		};
		this.files.set(file.id, file);
		return ok({ upload_url: `${this.server.url}/upload/v1/${file.uploadKey}`, file_id: file.id });
	}

	private receiveUpload(key: string, request: RecordedRequest): EmulatorReply {
		const file = [...this.files.values()].find((candidate) => candidate.uploadKey === key);
		if (!file) return { status: 404, body: 'upload url not found' };
		const bytes = fileFromMultipart(request) ?? request.rawBody;
		if (bytes.length !== file.length) return { status: 400, body: `expected ${file.length} bytes, got ${bytes.length}` };
		file.bytes = bytes;
		return { status: 200, body: `OK - ${bytes.length}` };
	}

	private completeUpload(params: Record<string, unknown>): EmulatorReply {
		let entries: Array<{ id?: string; title?: string }>;
		try {
			entries = JSON.parse(String(params.files ?? ''));
		} catch {
			return refuse('invalid_arguments');
		}
		if (!Array.isArray(entries) || entries.length === 0) return refuse('invalid_arguments');
		const channel = params.channel_id ? String(params.channel_id) : null;
		if (channel && this.notInChannel.has(channel)) return refuse('not_in_channel');
		const completed: EmulatedFile[] = [];
		for (const entry of entries) {
			const file = this.files.get(String(entry.id));
			if (!file || !file.bytes) return refuse('file_not_found');
			file.title = entry.title ?? file.filename;
			file.channel = channel;
			file.threadTs = params.thread_ts ? String(params.thread_ts) : null;
			completed.push(file);
		}
		if (channel) {
			this.posted.push({
				channel,
				ts: this.nextTs(),
				text: String(params.initial_comment ?? ''),
				threadTs: completed[0].threadTs,
				user: this.bot.userId,
				files: completed.map((file) => file.id),
			});
		}
		return ok({
			files: completed.map((file) => ({
				id: file.id,
				created: Math.floor(Date.now() / 1000),
				name: file.filename,
				title: file.title,
				mimetype: '',
				filetype: '',
				user: this.bot.userId,
				size: file.length,
			})),
		});
	}

	private asSlackMessage(message: PostedMessage): Record<string, unknown> {
		return {
			user: message.user,
			type: 'message',
			ts: message.ts,
			bot_id: this.bot.botId,
			app_id: this.appId,
			text: message.text,
			team: this.teamId,
			...(message.threadTs ? { thread_ts: message.threadTs } : {}),
		};
	}
}

function methodOf(request: RecordedRequest): string | null {
	return /^\/api\/([a-zA-Z.]+)$/.exec(request.path)?.[1] ?? null;
}

/** Slack's composer sends a rich_text block beside `text`; payloads carry both. */
function richTextBlocks(text: string): unknown[] {
	return [
		{
			type: 'rich_text',
			block_id: randomBytes(3).toString('base64url'),
			elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }],
		},
	];
}

/** The bytes of the first part of a multipart/form-data body that carries a file name. */
function fileFromMultipart(request: RecordedRequest): Buffer | null {
	const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(String(request.headers['content-type'] ?? ''));
	if (!boundary) return null;
	const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
	const body = request.rawBody;
	let start = body.indexOf(delimiter);
	while (start >= 0) {
		const next = body.indexOf(delimiter, start + delimiter.length);
		if (next < 0) break;
		const part = body.subarray(start + delimiter.length + 2, next - 2);
		const headerEnd = part.indexOf('\r\n\r\n');
		if (headerEnd >= 0 && /filename=/.test(part.subarray(0, headerEnd).toString())) return Buffer.from(part.subarray(headerEnd + 4));
		start = next;
	}
	return null;
}
