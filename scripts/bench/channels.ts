/**
 * Chats on five channels for `npm run bench:memory`, each played by its platform emulator: a
 * Clawgate workflow per channel (Trigger → AI Session on the SQLite store → Send, the shape of
 * the per-channel e2e tests and examples/telegram-ai-bot.json) and people who write to it, each
 * in a chat of their own. A chat is the same few calls on every channel: write, count the answers.
 */
import type { CredentialFixture, N8nInstance, WorkflowFixture } from '../../test/e2e/harness';
import { eventually } from '../../test/e2e/harness';
import { DiscordEmulator, snowflake, type DiscordUser } from '../../test/emulators/discord';
import { LineEmulator } from '../../test/emulators/line';
import { SlackEmulator } from '../../test/emulators/slack';
import { TelegramEmulator } from '../../test/emulators/telegram';
import { TwilioEmulator } from '../../test/emulators/twilio';
import { MODEL } from './workflows';

/** One person's chat with the bot. */
export interface BenchChat {
	/** Writes the bot a message as the platform delivers it; rejects when n8n refuses it. */
	send(text: string): Promise<void>;
	/** How many answers the bot has sent to this chat so far. */
	answers(): number;
}

export interface BenchChannel {
	key: string;
	label: string;
	emulator: { start(): Promise<unknown>; stop(): Promise<unknown> };
	credential: CredentialFixture;
	workflow: WorkflowFixture;
	/** Resolves once n8n takes this channel's messages (webhook registered, gateway connected). */
	ready(n8n: N8nInstance): Promise<void>;
	/** A new person writing to the bot; `index` makes their id. */
	newChat(n8n: N8nInstance, index: number): BenchChat;
}

export const OPENAI_CREDENTIAL = { id: 'BenchMemOpenAi01', name: 'Bench OpenAI' };
export const SYSTEM_PROMPT = '=You are a friendly assistant chatting on {{ $json.channel }}. Answer briefly.';

const uuid = (prefix: string, n: number) => `${prefix}-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function accepted(delivery: Promise<{ status: number; body: string }>, channel: string): Promise<void> {
	const { status, body } = await delivery;
	if (status !== 200) throw new Error(`n8n answered ${status} to a ${channel} message: ${body.slice(0, 200)}`);
}

/** Trigger → AI Session (SQLite store, the example's model and system prompt) → Send, all at version 1 and their defaults. */
function channelWorkflow(index: number, label: string, platform: string, credential: { type: string; id: string; name: string }, webhook: boolean): WorkflowFixture {
	const prefix = `e3e0000${index}`;
	const credentials = { [credential.type]: { id: credential.id, name: credential.name } };
	return {
		id: `BenchMemWflow${String(index).padStart(3, '0')}`,
		name: `Bench memory: ${label} Trigger → AI Session → ${label} Send`,
		nodes: [
			{
				id: uuid(prefix, 1),
				name: `${label} Trigger`,
				type: `n8n-nodes-clawgate.${platform}Trigger`,
				typeVersion: 1,
				position: [0, 0],
				...(webhook ? { webhookId: uuid(prefix, 2) } : {}),
				parameters: {},
				credentials,
			},
			{
				id: uuid(prefix, 3),
				name: 'AI Session',
				type: 'n8n-nodes-clawgate.aiSession',
				typeVersion: 1,
				position: [260, 0],
				parameters: { model: MODEL, systemPrompt: SYSTEM_PROMPT, store: 'sqlite' },
				credentials: { openAiApi: OPENAI_CREDENTIAL },
			},
			{
				id: uuid(prefix, 4),
				name: `${label} Send`,
				type: `n8n-nodes-clawgate.${platform}Send`,
				typeVersion: 1,
				position: [520, 0],
				parameters: {},
				credentials,
			},
		],
		connections: {
			[`${label} Trigger`]: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: `${label} Send`, type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/**
 * One channel: its workflow (number `index`), its credential (`data` read once the emulator has
 * started), when n8n is ready for it (by default: the trigger's production webhook answers), and
 * how a person writes to it (`url`: the trigger's production webhook URL; empty for Discord).
 */
function benchChannel({
	index,
	key,
	label,
	platform,
	credentialId,
	emulator,
	data,
	webhook = true,
	ready,
	chat,
}: {
	index: number;
	key: string;
	label: string;
	platform: string;
	credentialId: string;
	emulator: BenchChannel['emulator'];
	data: () => Record<string, unknown>;
	webhook?: boolean;
	ready?: () => Promise<unknown>;
	chat: (url: string, index: number) => BenchChat;
}): BenchChannel {
	const credential = { type: `clawgate${platform[0].toUpperCase()}${platform.slice(1)}Api`, id: credentialId, name: `Bench ${label}` };
	const workflow = channelWorkflow(index, label.split(' ')[0], platform, credential, webhook);
	const webhookId = String(workflow.nodes[0].webhookId);
	return {
		key,
		label,
		emulator,
		get credential() {
			return { ...credential, data: data() };
		},
		workflow,
		ready: async (n8n) => void (await (ready ? ready() : n8n.waitForWebhooks([webhookId]))),
		newChat: (n8n, chatIndex) => chat(webhook ? n8n.webhookUrl(webhookId) : '', chatIndex),
	};
}

function telegramChannel(): BenchChannel {
	const bot = new TelegramEmulator({ username: 'bench_memory_bot' });
	return benchChannel({
		index: 1,
		key: 'telegram',
		label: 'Telegram',
		platform: 'telegram',
		credentialId: 'BenchMemTgCred01',
		emulator: bot,
		data: () => ({ accessToken: bot.token, baseUrl: bot.apiRoot }),
		// The trigger registers its URL and secret with setWebhook; deliver() posts to what was registered.
		ready: () => bot.waitForCall('setWebhook', undefined, 60_000),
		chat: (_url, index) => {
			const chatId = 20_000 + index;
			const from = { id: chatId, is_bot: false, first_name: 'Bench', username: `bench${chatId}` };
			return { send: (text) => accepted(bot.deliver(bot.textUpdate({ text, chatId, from })), 'Telegram'), answers: () => bot.sentTexts(chatId).length };
		},
	});
}

function slackChannel(): BenchChannel {
	const slack = new SlackEmulator();
	return benchChannel({
		index: 2,
		key: 'slack',
		label: 'Slack',
		platform: 'slack',
		credentialId: 'BenchMemSlCred01',
		emulator: slack,
		data: () => ({ botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl }),
		chat: (url, index) => {
			const [user, channel] = [`U0BENCH${index}`, `D0BENCH${index}`];
			return { send: (text) => accepted(slack.deliver(url, slack.dmMessage({ text, user, channel })), 'Slack'), answers: () => slack.posted.filter((message) => message.channel === channel).length };
		},
	});
}

function twilioChannel(): BenchChannel {
	const twilio = new TwilioEmulator();
	return benchChannel({
		index: 3,
		key: 'twilio',
		label: 'Twilio SMS',
		platform: 'twilio',
		credentialId: 'BenchMemTwCred01',
		emulator: twilio,
		data: () => twilio.credential(),
		chat: (url, index) => {
			const from = `+1555${String(index).padStart(7, '0')}`;
			return { send: (text) => accepted(twilio.deliver(url, twilio.inboundSms({ from, body: text })), 'Twilio'), answers: () => twilio.sent.filter((message) => message.to === from).length };
		},
	});
}

function lineChannel(): BenchChannel {
	const line = new LineEmulator();
	return benchChannel({
		index: 4,
		key: 'line',
		label: 'LINE',
		platform: 'line',
		credentialId: 'BenchMemLnCred01',
		emulator: line,
		data: () => ({ channelAccessToken: line.channelAccessToken, channelSecret: line.channelSecret, baseUrl: line.apiUrl }),
		chat: (url) => {
			const userId = line.newUserId();
			return { send: (text) => accepted(line.deliver(url, line.body(line.textEvent({ text, source: { userId } }))), 'LINE'), answers: () => line.textsTo(userId).length };
		},
	});
}

function discordChannel(): BenchChannel {
	const discord = new DiscordEmulator({ botUsername: 'BenchMemory' });
	return benchChannel({
		index: 5,
		key: 'discord',
		label: 'Discord',
		platform: 'discord',
		credentialId: 'BenchMemDcCred01',
		emulator: discord,
		data: () => ({ botToken: discord.token, baseUrl: discord.apiBase }),
		webhook: false,
		ready: () => eventually(() => (discord.botConnected ? true : undefined), 'the Discord gateway connection', 60_000),
		chat: (_url, index) => {
			const person: DiscordUser = { id: snowflake(), username: `bench${index}`, global_name: `Bench ${index}`, discriminator: '0', avatar: null, public_flags: 0 };
			const channelId = discord.dmChannelOf(person).id;
			return { send: async (text) => void discord.sendDm({ from: person, content: text }), answers: () => discord.sentTo(channelId).length };
		},
	});
}

/** Telegram, Slack, Twilio SMS, LINE (webhooks) and Discord (the gateway, a WebSocket n8n holds). */
export function fiveChannels(): BenchChannel[] {
	return [telegramChannel(), slackChannel(), twilioChannel(), lineChannel(), discordChannel()];
}

/** The floor's chats: Telegram updates posted to n8n's Webhook node, answered by its HTTP Request node's sendMessage. */
export function floorChat(bot: TelegramEmulator, webhookUrl: string, index: number): BenchChat {
	const chatId = 40_000 + index;
	const from = { id: chatId, is_bot: false, first_name: 'Bench', username: `floor${chatId}` };
	return { send: (text) => accepted(bot.deliver(bot.textUpdate({ text, chatId, from }), { url: webhookUrl }), 'floor'), answers: () => bot.sentTexts(chatId).length };
}

export interface ConversationResult {
	messages: number;
	answered: number;
	errors: string[];
	seconds: number;
}

/**
 * Closed loop: `concurrency` people at a time, each chat written `messagesPerChat` times, the
 * next message only after the answer to the last (a chat never has two in flight). Answers are
 * counted by polling the emulators, so the figures here are not latencies.
 */
export async function converse(
	chats: BenchChat[],
	{ concurrency, messagesPerChat = 1, replyTimeoutMs = 60_000, stopped = () => false }: { concurrency: number; messagesPerChat?: number; replyTimeoutMs?: number; stopped?: () => boolean },
): Promise<ConversationResult> {
	const started = Date.now();
	const queue = [...chats];
	const errors: string[] = [];
	let [messages, answered] = [0, 0];
	const worker = async () => {
		for (let chat = queue.shift(); chat && !stopped(); chat = queue.shift()) {
			for (let turn = 1; turn <= messagesPerChat && !stopped(); turn++) {
				const before = chat.answers();
				messages++;
				try {
					await chat.send(`Message ${turn}: what should I cook tonight?`);
					const current = chat;
					await eventually(() => (current.answers() > before ? true : undefined), 'the answer', replyTimeoutMs);
					answered++;
				} catch (error) {
					errors.push((error as Error).message);
					break;
				}
			}
		}
	};
	await Promise.all(Array.from({ length: concurrency }, worker));
	return { messages, answered, errors, seconds: (Date.now() - started) / 1000 };
}
