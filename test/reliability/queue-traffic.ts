/**
 * Traffic for the queue-mode tests: the multi-channel gateway example set to one store, its own
 * platform emulators, people (sessions) who write numbered messages on Telegram (webhook), Slack,
 * SMS, WhatsApp and Discord, and what reached the platforms and the store afterwards.
 *
 * Every message carries a marker `Q<run>S<session>M<message>`; the model answers "answer to: <text>",
 * so each reply names the message it answers, and each stored turn names the message it came from.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';
import { Client } from 'pg';

import type { StoredTurn } from '../../nodes/core/session/store';
import { DEFAULT_POSTGRES_TABLE_PREFIX, PostgresSessionStore } from '../../nodes/core/stores/postgres.store';
import { RedisSessionStore } from '../../nodes/core/stores/redis.store';
import { keepOnlyTriggers, loadExampleWorkflow, type CredentialFixture, type N8nInstance, type WorkflowFixture } from '../e2e/harness';
import { DiscordEmulator, snowflake, type DiscordUser } from '../emulators/discord';
import { SlackEmulator } from '../emulators/slack';
import { TelegramEmulator } from '../emulators/telegram';
import { TwilioEmulator } from '../emulators/twilio';
import { POSTGRES, REDIS } from './queue-deployment';

export type QueueStore = 'redis' | 'postgres';

/** The triggers run journaled messages without a delivery again after this long (the default is a minute). */
export const RECOVER_AFTER_SECONDS = 10;
type ChannelKind = 'telegram' | 'slack' | 'sms' | 'whatsapp' | 'discord';
const CHANNEL_KINDS: ChannelKind[] = ['telegram', 'slack', 'sms', 'whatsapp', 'discord'];

const MARKER = /Q(\d+)S(\d+)M(\d+)/;
export const marker = (run: number, session: number, message: number) => `Q${run}S${session}M${message}`;
const digits = (count: number) => Array.from(randomBytes(count), (byte) => byte % 10).join('');

/** The credentials n8n needs beside the platform ones: the model and the session stores. */
export const MODEL_CREDENTIAL = { id: 'QueueOpenAiCred1', name: 'Queue test model' };
export const REDIS_CREDENTIAL = { id: 'QueueRedisCred01', name: 'Queue test Redis' };
export const POSTGRES_CREDENTIAL = { id: 'QueuePgCred00001', name: 'Queue test Postgres' };

export function storeCredentials(database: string): CredentialFixture[] {
	return [
		{ ...REDIS_CREDENTIAL, type: 'redis', data: { host: REDIS.host, port: REDIS.port, database: 0, password: '' } },
		{ ...POSTGRES_CREDENTIAL, type: 'postgres', data: { host: POSTGRES.host, port: POSTGRES.port, database, user: POSTGRES.user, password: POSTGRES.password, ssl: 'disable' } },
	];
}

/** One person writing to the bot on one channel. */
interface Person {
	index: number;
	kind: ChannelKind;
	/** Sends a text; resolves with what the trigger answered (200 for a Discord gateway dispatch). */
	/**
	 * The message as the platform will deliver it (its IDs fixed once), and how one delivery of it
	 * is made: a redelivery repeats the same message, it does not write a new one.
	 */
	message(text: string): () => Promise<{ status: number; body: string }>;
}

/** The n8n the people write to: its main, and the webhook URLs the platforms were given. */
export interface LiveDeployment {
	main: N8nInstance;
	webhookUrl(webhookId: string): string;
}

export interface DeliveryAttempt {
	sentAt: number;
	answeredAt: number;
	status: number;
	body: string;
}

export interface TrafficOptions {
	run: number;
	sessions: number;
	messagesPerSession: number;
	/** `answer`: a person sends the next message once the previous one is answered; `ack`: once n8n acknowledged it. */
	pacing: 'answer' | 'ack';
	/** How long a person waits for an answer before writing the next message anyway. */
	replyTimeoutMs: number;
	/** At the end, how long to keep waiting for outstanding answers while none arrives (default: replyTimeoutMs). */
	settleMs?: number;
	/** Called as each reply arrives (the kill test uses it to pick its moment). */
	onReply?: (repliesSoFar: number) => void;
	/**
	 * Deliver a message again, every second for up to two minutes, until n8n takes it (2xx), as
	 * Telegram and Slack do while a webhook is down; a Discord message waits for the bot to be
	 * connected (Discord does not replay messages a disconnected bot missed). Off: Telegram
	 * retries five times, the others not at all.
	 */
	retryUntilTaken?: boolean;
}

export interface TrafficResult {
	sent: number;
	/** Deliveries n8n did not acknowledge with 2xx, as `channel status` → count. */
	refused: Record<string, number>;
	/** Messages with no reply at all. */
	lost: string[];
	/** Replies beyond the first, summed over all messages. */
	duplicated: number;
	/** The messages answered more than once, with when their first answer reached the platform. */
	answeredTwice: Array<{ marker: string; firstReplyAt: number }>;
	/** Deliveries made again after n8n did not take them, as the platforms would. */
	redeliveries: number;
	seconds: number;
}

export interface StoreCheck {
	sessions: number;
	/** Sessions whose stored user turns are not in the order their messages were sent. */
	outOfOrder: number;
	/** Messages stored as a user turn more than once. */
	storedTwice: number;
	/** Markers of the messages stored as user turns. */
	stored: Set<string>;
	/** A few sessions out of order, each as its messages' numbers in the order they were stored. */
	outOfOrderExamples: string[];
}

/** The example workflow with the AI Session on `store`, its own IDs, webhooks and platform credentials. */
function gatewayWorkflow(store: QueueStore): { workflow: WorkflowFixture; credentialIds: Record<string, { id: string; name: string }> } {
	// The example holds a trigger for every channel; this traffic uses only these four, so the others
	// (and the emulators and credentials they would need to activate) are left out.
	const example = keepOnlyTriggers(loadExampleWorkflow('multi-channel-gateway.json'), [
		'n8n-nodes-clawgate.telegramTrigger',
		'n8n-nodes-clawgate.discordTrigger',
		'n8n-nodes-clawgate.slackTrigger',
		'n8n-nodes-clawgate.twilioTrigger',
	]);
	const suffix = store === 'redis' ? 'Rds' : 'Pgs';
	const credentialIds: Record<string, { id: string; name: string }> = {
		clawgateTelegramApi: { id: `QueueTg${suffix}Cred01`, name: `Telegram (${store})` },
		clawgateDiscordApi: { id: `QueueDc${suffix}Cred01`, name: `Discord (${store})` },
		clawgateSlackApi: { id: `QueueSl${suffix}Cred01`, name: `Slack (${store})` },
		clawgateTwilioApi: { id: `QueueTw${suffix}Cred01`, name: `Twilio (${store})` },
		openAiApi: MODEL_CREDENTIAL,
	};
	const nodes = example.nodes.map((node) => {
		const credentials = Object.fromEntries(Object.keys((node.credentials as object | undefined) ?? {}).map((type) => [type, credentialIds[type]]));
		const copy: Record<string, unknown> = { ...node, credentials };
		if (node.webhookId) copy.webhookId = randomUUID();
		const storeCredential = { [store]: store === 'redis' ? REDIS_CREDENTIAL : POSTGRES_CREDENTIAL };
		if (node.type === 'n8n-nodes-clawgate.aiSession') {
			copy.parameters = { ...(node.parameters as object), store };
			copy.credentials = { ...credentials, ...storeCredential };
		}
		// Queue mode: the triggers journal, and Reply keeps its receipts, in the same shared store.
		if (String(node.type).endsWith('Trigger')) {
			copy.parameters = { ...(node.parameters as object), journalStore: store, recoverAfterSeconds: RECOVER_AFTER_SECONDS };
			copy.credentials = { ...credentials, ...storeCredential };
		}
		if (node.type === 'n8n-nodes-clawgate.reply') {
			copy.parameters = { ...(node.parameters as object), receiptStore: store };
			copy.credentials = { ...credentials, ...storeCredential };
		}
		return copy;
	});
	return {
		workflow: { ...example, id: `ClawgateQueue${suffix}`, name: `${example.name} (${store} store)`, nodes },
		credentialIds,
	};
}

/** The gateway example on one store, with its own emulated Telegram, Slack, Twilio and Discord. */
export class QueueGateway {
	readonly telegram = new TelegramEmulator();
	readonly discord = new DiscordEmulator();
	// Account IDs unique to this run: they are part of every session ID, so a shared Redis keeps runs apart.
	readonly slack = new SlackEmulator({ teamId: `T${randomBytes(5).toString('hex').toUpperCase()}`, signingSecret: randomBytes(32).toString('hex') });
	readonly twilio = new TwilioEmulator({ numbers: [`+1415${digits(7)}`], whatsappSenders: [`+1628${digits(7)}`] });
	readonly workflow: WorkflowFixture;
	private readonly credentialIds: Record<string, { id: string; name: string }>;
	private deployment: LiveDeployment | null = null;
	private readonly replies = new Map<string, number>();
	/** When the first reply to each message marker was seen on its platform (read every 20 ms). */
	private readonly firstReplyAt = new Map<string, number>();
	private readonly waiters = new Map<string, () => void>();
	private readonly seen = { telegram: 0, slack: 0, twilio: 0, discord: 0 };
	private poller: NodeJS.Timeout | null = null;
	private replyListener: ((total: number) => void) | null = null;
	private totalReplies = 0;

	constructor(readonly store: QueueStore) {
		({ workflow: this.workflow, credentialIds: this.credentialIds } = gatewayWorkflow(store));
	}

	async start(): Promise<void> {
		await Promise.all([this.telegram.start(), this.discord.start(), this.slack.start(), this.twilio.start()]);
		this.poller = setInterval(() => this.collectReplies(), 20);
	}

	async stop(): Promise<void> {
		if (this.poller) clearInterval(this.poller);
		await Promise.all([this.telegram.stop(), this.discord.stop(), this.slack.stop(), this.twilio.stop()]);
	}

	credentials(): CredentialFixture[] {
		const { telegram, discord, slack, twilio } = this;
		const id = this.credentialIds;
		return [
			{ ...id.clawgateTelegramApi, type: 'clawgateTelegramApi', data: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
			{ ...id.clawgateDiscordApi, type: 'clawgateDiscordApi', data: { botToken: discord.token, baseUrl: discord.apiBase } },
			{ ...id.clawgateSlackApi, type: 'clawgateSlackApi', data: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl } },
			{ ...id.clawgateTwilioApi, type: 'clawgateTwilioApi', data: twilio.credential() },
		];
	}

	webhookIdOf(nodeName: string): string {
		return this.workflow.nodes.find((node) => node.name === nodeName)!.webhookId as string;
	}

	/** Waits until the main registered the Telegram webhook, serves the Slack and Twilio ones, and holds the Discord gateway. */
	async waitUntilLive(deployment: LiveDeployment): Promise<void> {
		this.deployment = deployment;
		const n8n = deployment.main;
		await this.telegram.waitForCall('setWebhook', undefined, 90_000);
		await n8n.waitForWebhooks([this.webhookIdOf('Slack Trigger'), this.webhookIdOf('Twilio Trigger')], 90_000);
		const deadline = Date.now() + 90_000;
		// Identified, not only a socket open: only then does Discord hand the bot a message.
		while (!this.discord.botConnected) {
			if (Date.now() > deadline) throw new Error(`The ${this.store} gateway's Discord trigger did not connect.`);
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}

	/** Every secret this gateway's credentials hold, by name, for findSecretLeaks. */
	secrets(): Record<string, string> {
		return {
			[`Telegram bot token (${this.store})`]: this.telegram.token,
			[`Telegram webhook secret token (${this.store})`]: this.telegram.webhook?.secretToken ?? this.telegram.token,
			[`Slack signing secret (${this.store})`]: this.slack.signingSecret,
			[`Slack bot token (${this.store})`]: this.slack.token,
			[`Twilio auth token (${this.store})`]: this.twilio.authToken,
			[`Discord bot token (${this.store})`]: this.discord.token,
		};
	}

	/** The account part of every session ID this gateway's people produce. */
	accountIds(): string[] {
		return [String(this.telegram.bot.id), this.slack.teamId, this.twilio.numbers[0], this.twilio.whatsappSenders[0], this.discord.bot.id];
	}

	/** Person `index` of run `run`; channels take turns, so every channel gets a fifth of the sessions. */
	person(run: number, index: number): Person {
		const kind = CHANNEL_KINDS[index % CHANNEL_KINDS.length];
		const deployment = this.deployment;
		if (!deployment) throw new Error('waitUntilLive() first');
		const id = `${run}${String(index).padStart(4, '0')}`;
		switch (kind) {
			case 'telegram': {
				const chatId = Number(id);
				const from = { id: chatId, is_bot: false, first_name: `Person ${index}` };
				return {
					index,
					kind,
					message: (text) => {
						const update = this.telegram.textUpdate({ text, chatId, from });
						return () => this.telegram.deliver(update);
					},
				};
			}
			case 'slack': {
				const url = deployment.webhookUrl(this.webhookIdOf('Slack Trigger'));
				return {
					index,
					kind,
					message: (text) => {
						const event = this.slack.dmMessage({ text, user: `U${id}`, channel: `D${id}` });
						return () => this.slack.deliver(url, event);
					},
				};
			}
			case 'sms':
			case 'whatsapp': {
				const url = deployment.webhookUrl(this.webhookIdOf('Twilio Trigger'));
				const from = `+1555${id.padStart(7, '0')}`;
				const inbound = (body: string) => (kind === 'sms' ? this.twilio.inboundSms({ from, body }) : this.twilio.inboundWhatsApp({ from, body }));
				return {
					index,
					kind,
					message: (text) => {
						const message = inbound(text);
						return () => this.twilio.deliver(url, message);
					},
				};
			}
			case 'discord': {
				const user: DiscordUser = { id: snowflake(), username: `person${id}`, global_name: `Person ${index}`, discriminator: '0', avatar: null, public_flags: 0 };
				return {
					index,
					kind,
					// Discord has no redelivery: a message waits until the bot is connected, then goes once.
					message: (text) => async () => {
						if (!this.discord.botConnected) return { status: 0, body: 'the bot is not connected to the gateway' };
						this.discord.sendDm({ from: user, content: text });
						return { status: 200, body: '' };
					},
				};
			}
		}
	}

	/** Deliveries made again after n8n did not take them. */
	private redeliveries = 0;

	/** Every delivery of every message (by its text), so a lost message says how n8n answered it. */
	private readonly attempts = new Map<string, DeliveryAttempt[]>();

	/** How n8n answered each delivery of the message with this marker. */
	deliveryAttempts(messageMarker: string): DeliveryAttempt[] {
		return this.attempts.get(`hello ${messageMarker}`) ?? [];
	}

	/**
	 * Delivers as the platform would: an answer of 5xx, 404 (the webhook not registered yet after a
	 * restart) or none means it is delivered again a second later. Telegram tries five times;
	 * with `retryUntilTaken` every platform tries for two minutes.
	 */
	private async deliver(person: Person, text: string, retryUntilTaken: boolean): Promise<{ status: number; body: string }> {
		const deadline = Date.now() + 120_000;
		const delivery = person.message(text);
		const attempts: DeliveryAttempt[] = [];
		this.attempts.set(text, attempts);
		for (let attempt = 1; ; attempt++) {
			const sentAt = Date.now();
			const answer = await delivery().catch((error: Error) => ({ status: 0, body: `${error.message} (${String((error.cause as Error | undefined)?.message)})` }));
			attempts.push({ sentAt, answeredAt: Date.now(), status: answer.status, body: answer.body.slice(0, 120) });
			const taken = answer.status >= 200 && answer.status < 300;
			const again = retryUntilTaken ? Date.now() < deadline : person.kind === 'telegram' && attempt < 5;
			if (taken || (answer.status > 0 && answer.status < 500 && answer.status !== 404) || !again) return answer;
			this.redeliveries++;
			await new Promise((resolve) => setTimeout(resolve, 1000));
		}
	}

	/** Replies received so far for a message marker. */
	repliesTo(messageMarker: string): number {
		return this.replies.get(messageMarker) ?? 0;
	}

	/** Resolves true when the message got a reply, false after `timeoutMs`. */
	waitForReply(messageMarker: string, timeoutMs: number): Promise<boolean> {
		if (this.repliesTo(messageMarker) > 0) return Promise.resolve(true);
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.waiters.delete(messageMarker);
				resolve(false);
			}, timeoutMs);
			this.waiters.set(messageMarker, () => {
				clearTimeout(timer);
				this.waiters.delete(messageMarker);
				resolve(true);
			});
		});
	}

	/** Reads new messages the bot sent on every platform and counts them per marker. */
	private collectReplies(): void {
		const fresh: string[] = [];
		const take = <T>(key: keyof QueueGateway['seen'], list: T[], text: (item: T) => string | null) => {
			for (let i = this.seen[key]; i < list.length; i++) fresh.push(text(list[i]) ?? '');
			this.seen[key] = list.length;
		};
		take('telegram', this.telegram.sent, (message) => message.text);
		take('slack', this.slack.posted, (message) => message.text);
		take('twilio', this.twilio.sent, (message) => message.body);
		take('discord', this.discord.sent, (message) => message.content);
		for (const text of fresh) {
			const match = MARKER.exec(text);
			if (!match) continue;
			this.replies.set(match[0], (this.replies.get(match[0]) ?? 0) + 1);
			if (!this.firstReplyAt.has(match[0])) this.firstReplyAt.set(match[0], Date.now());
			this.totalReplies++;
			this.waiters.get(match[0])?.();
			this.replyListener?.(this.totalReplies);
		}
	}

	/** Every person writes `messagesPerSession` messages, paced as asked; counts what came back. */
	async traffic({ run, sessions, messagesPerSession, pacing, replyTimeoutMs, settleMs = replyTimeoutMs, onReply, retryUntilTaken = false }: TrafficOptions): Promise<TrafficResult> {
		const started = Date.now();
		const sentMarkers: string[] = [];
		const refused: Record<string, number> = {};
		const repliesBefore = this.totalReplies;
		const redeliveriesBefore = this.redeliveries;
		this.replyListener = onReply ? (total) => onReply(total - repliesBefore) : null;
		const people = Array.from({ length: sessions }, (_, index) => this.person(run, index));
		await Promise.all(
			people.map(async (person) => {
				for (let message = 1; message <= messagesPerSession; message++) {
					const messageMarker = marker(run, person.index, message);
					const answer = await this.deliver(person, `hello ${messageMarker}`, retryUntilTaken);
					if (answer.status < 200 || answer.status >= 300) {
						const why = `${person.kind} ${answer.status} ${answer.body.slice(0, 80)}`;
						refused[why] = (refused[why] ?? 0) + 1;
					}
					sentMarkers.push(messageMarker);
					if (pacing === 'answer') await this.waitForReply(messageMarker, replyTimeoutMs);
				}
			}),
		);
		// Ack-paced messages (and late ones) are still being answered; wait while answers keep coming.
		let unanswered = sentMarkers.filter((sent) => this.repliesTo(sent) === 0).length;
		let lastProgress = Date.now();
		while (unanswered > 0 && Date.now() - lastProgress < settleMs) {
			await new Promise((resolve) => setTimeout(resolve, 250));
			const now = sentMarkers.filter((sent) => this.repliesTo(sent) === 0).length;
			if (now < unanswered) lastProgress = Date.now();
			unanswered = now;
		}
		const seconds = (Date.now() - started) / 1000;
		// A late second reply would be a duplicate: give one the chance to arrive.
		await new Promise((resolve) => setTimeout(resolve, 1500));
		this.replyListener = null;
		return {
			sent: sentMarkers.length,
			refused,
			lost: sentMarkers.filter((sent) => this.repliesTo(sent) === 0),
			duplicated: sentMarkers.reduce((sum, sent) => sum + Math.max(0, this.repliesTo(sent) - 1), 0),
			answeredTwice: sentMarkers.filter((sent) => this.repliesTo(sent) > 1).map((marker) => ({ marker, firstReplyAt: this.firstReplyAt.get(marker) ?? 0 })),
			redeliveries: this.redeliveries - redeliveriesBefore,
			seconds,
		};
	}

	/** Reads every session of run `run` back from the store through the store's own interface. */
	async checkStore(run: number, database: string): Promise<StoreCheck> {
		const sessionIds = await this.sessionIdsInStore(database);
		const store =
			this.store === 'redis'
				? new RedisSessionStore({ host: REDIS.host, port: REDIS.port })
				: new PostgresSessionStore({ host: POSTGRES.host, port: POSTGRES.port, database, user: POSTGRES.user, password: POSTGRES.password });
		const check: StoreCheck = { sessions: 0, outOfOrder: 0, storedTwice: 0, stored: new Set(), outOfOrderExamples: [] };
		try {
			for (const sessionId of sessionIds) {
				const turns: StoredTurn[] = await store.readTurns(sessionId, 0, Number.MAX_SAFE_INTEGER);
				const userMarkers = turns
					.filter((turn) => turn.role === 'user')
					.map((turn) => MARKER.exec(turn.content))
					.filter((match): match is RegExpExecArray => match !== null && Number(match[1]) === run);
				if (userMarkers.length === 0) continue;
				check.sessions++;
				const order = userMarkers.map((match) => Number(match[3]));
				if (order.some((value, i) => i > 0 && value <= order[i - 1])) {
					check.outOfOrder++;
					if (check.outOfOrderExamples.length < 5) check.outOfOrderExamples.push(`${sessionId}: stored ${order.join(', ')}`);
				}
				for (const match of userMarkers) {
					if (check.stored.has(match[0])) check.storedTwice++;
					check.stored.add(match[0]);
				}
			}
		} finally {
			await store.close();
		}
		return check;
	}

	private async sessionIdsInStore(database: string): Promise<string[]> {
		const accounts = this.accountIds();
		const mine = (sessionId: string) => accounts.some((account) => sessionId.includes(`:${account}:`));
		if (this.store === 'postgres') {
			const client = new Client({ ...POSTGRES, database });
			await client.connect();
			try {
				const { rows } = await client.query<{ session_id: string }>(`SELECT session_id FROM ${DEFAULT_POSTGRES_TABLE_PREFIX}sessions`);
				return rows.map((row) => row.session_id).filter(mine);
			} finally {
				await client.end();
			}
		}
		const prefix = 'clawgate:session:';
		return (await redisKeys(`${prefix}*`)).map((key) => key.slice(prefix.length)).filter(mine);
	}

	/**
	 * The journal entries of messages (by marker) as the store keeps them: state, emissions, the
	 * last error; so a lost message says where the journal left it.
	 */
	async journalStates(markers: string[], database: string): Promise<Map<string, string>> {
		const states = new Map<string, string>();
		const describe = (row: { state?: string; attempts?: string | number; last_error?: string | null; emitted_at?: string | number }) =>
			`journal: ${row.state ?? '?'}, ${row.attempts ?? '?'} emission(s), last emitted ${row.emitted_at ? `${Math.round((Date.now() - Number(row.emitted_at)) / 1000)} s ago` : '?'}${row.last_error ? `, last error: ${String(row.last_error).slice(0, 200)}` : ''}`;
		const markerOf = (item: string) => markers.find((marker) => item.includes(marker));
		if (this.store === 'postgres') {
			const client = new Client({ ...POSTGRES, database });
			await client.connect();
			try {
				const { rows } = await client.query<{ item: string; state: string; attempts: string; last_error: string | null; emitted_at: string }>(
					`SELECT item, state, attempts, last_error, emitted_at FROM ${DEFAULT_POSTGRES_TABLE_PREFIX}journal WHERE item LIKE ANY($1::text[])`,
					[markers.map((marker) => `%${marker}%`)],
				);
				for (const row of rows) {
					const marker = markerOf(row.item);
					if (marker) states.set(marker, describe(row));
				}
			} finally {
				await client.end();
			}
			return states;
		}
		const redis = new Redis({ ...REDIS, lazyConnect: true });
		try {
			for (const key of await redisKeys('clawgate:journal:entry:*')) {
				const row = await redis.hgetall(key);
				const marker = markerOf(row.item ?? '');
				if (marker) states.set(marker, describe({ state: row.state, attempts: row.attempts, last_error: row.lastError }));
			}
		} finally {
			redis.disconnect();
		}
		return states;
	}

	/** Deletes this gateway's sessions from the shared Redis (the Postgres store goes with its database). */
	async cleanRedis(): Promise<void> {
		const accounts = this.accountIds();
		const keys = (await redisKeys('clawgate:*')).filter((key) => accounts.some((account) => key.includes(`:${account}:`)));
		if (keys.length === 0) return;
		const redis = new Redis({ ...REDIS, lazyConnect: true });
		try {
			for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
		} finally {
			redis.disconnect();
		}
	}
}

async function redisKeys(pattern: string): Promise<string[]> {
	const redis = new Redis({ ...REDIS, lazyConnect: true });
	const keys: string[] = [];
	try {
		let cursor = '0';
		do {
			const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
			keys.push(...batch);
			cursor = next;
		} while (cursor !== '0');
	} finally {
		redis.disconnect();
	}
	return keys;
}
