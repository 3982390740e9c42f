/**
 * One driver per webhook channel for the channel contract suite (channel-contract.test.ts): it
 * knows how its platform's emulator builds, signs and forges deliveries, and where the emulator
 * keeps what the bot sent. Adding a channel to the contract suite is one driver here and one
 * entry in `contractDrivers`.
 */
import { randomBytes } from 'node:crypto';

import type { AnyChannelPlugin, WebhookContext } from '../../nodes/core/channel';
import { linePlugin } from '../../nodes/Line/line.plugin';
import { createMattermostClient, mattermostBotOf, mattermostPlugin, mattermostSocket } from '../../nodes/Mattermost/mattermost.plugin';
import { createRocketChatClient, rocketChatBotOf, rocketChatPlugin, rocketChatSocket } from '../../nodes/RocketChat/rocketChat.plugin';
import { startSocketListener, type SocketPlatform } from '../../nodes/shared/socket-listener';
import { receiveSettingsFrom } from '../../nodes/shared/trigger-settings';
import { nextcloudTalkPlugin } from '../../nodes/NextcloudTalk/nextcloudTalk.plugin';
import { slackPlugin } from '../../nodes/Slack/slack.plugin';
import { synologyChatPlugin } from '../../nodes/SynologyChat/synologyChat.plugin';
import { telegramPlugin, telegramWebhookSecret } from '../../nodes/Telegram/telegram.plugin';
import { twilioPlugin } from '../../nodes/Twilio/twilio.plugin';
import { LineEmulator, signLineBody } from '../emulators/line';
import { MattermostEmulator, mattermostId, type MattermostChannel } from '../emulators/mattermost';
import { RocketChatEmulator, type RocketRoom } from '../emulators/rocketChat';
import { NextcloudTalkEmulator, signTalkBody } from '../emulators/nextcloudTalk';
import { makeBotToken, signSlackRequest, SlackEmulator } from '../emulators/slack';
import { SynologyChatEmulator } from '../emulators/synologyChat';
import { makeBotToken as makeTelegramToken, TelegramEmulator, type TelegramUser } from '../emulators/telegram';
import { makeAuthToken, TwilioEmulator } from '../emulators/twilio';
import { collectingHandlers, quietLog, settle, type CollectingHandlers } from './listener-harness';

/** A request as n8n hands it to the trigger: lower-case headers, the raw bytes, the parsed body. */
export interface Delivery {
	headers: Record<string, string>;
	rawBody: string;
	/** The body as n8n parsed it (JSON, or form fields). */
	body: unknown;
}

/** How a delivery reaches the trigger: as the platform sends it, again, with a forger's secret, or without proof. */
export type DeliveryKind = 'signed' | 'redelivery' | 'forged' | 'unsigned';

export type Sender = 'ada' | 'stranger';

/** The trigger node the contract suite's requests reach (Telegram derives its secret from it). */
export const CONTRACT_WEBHOOK: Pick<WebhookContext, 'workflowId' | 'nodeId' | 'webhookId'> = { workflowId: 'wf-contract', nodeId: 'node-contract', webhookId: 'hook-contract' };

/** The URL n8n reports for the trigger; Twilio signs it. */
export const CONTRACT_WEBHOOK_URL = `https://n8n.example.com/webhook/${CONTRACT_WEBHOOK.webhookId}/webhook`;

export interface ContractDriver<Sample = unknown> {
	plugin: AnyChannelPlugin;
	start(): Promise<void>;
	stop(): Promise<void>;
	/** The credential as n8n holds it, pointing at the emulator. */
	credential(): unknown;
	/** Trigger options the platform itself needs, beside the shared access policy. */
	options?: Record<string, unknown>;
	/** Ada's ID as a user types it into Allowed Senders. */
	adaListedAs: string;
	/** A direct message (a person's chat with the bot) from Ada, or from someone not listed anywhere. */
	dm(text: string, from?: Sender): Sample;
	/** Group messages; absent where the platform has no groups (SMS). */
	group?: {
		/** The group's chat ID, as the envelope names it. */
		chatId: string;
		plain(text: string, from?: Sender): Sample;
		mention(text: string, from?: Sender): Sample;
	};
	/** Absent where the platform never delivers a bot's own messages to it (LINE). */
	ownMessage?(text: string): Sample;
	/** Absent where the platform never delivers other bots' messages (LINE, Twilio). */
	otherBotMessage?(text: string): Sample;
	deliver(sample: Sample, kind?: DeliveryKind): Delivery;
	/** A signed body the platform would never send. */
	malformed(): Delivery;
	/** The credential with a token the platform does not know, and that token (which no error may carry). */
	wrongToken(): { credential: unknown; token: string };
	outbound: {
		/** Texts the bot sent to a chat, in order, as the platform shows them. */
		sentTexts(chatId: string): string[];
		/** Calls of the send method so far (accepted or not). */
		sendCalls(): number;
		/** The next send is answered 429 with this Retry-After (seconds). */
		rateLimitNextSend(seconds: number): void;
	};
}

// ---------------------------------------------------------------------------------------------

function slackDriver(): ContractDriver<Record<string, unknown>> {
	const slack = new SlackEmulator();
	const users: Record<Sender, { user: string; channel: string }> = { ada: { user: 'U0ADA', channel: 'D0ADA' }, stranger: { user: 'U0EVE', channel: 'D0EVE' } };
	const json = (headers: Record<string, string>, rawBody: string): Delivery => ({ headers, rawBody, body: JSON.parse(rawBody) });
	return {
		plugin: slackPlugin,
		start: async () => void (await slack.start()),
		stop: () => slack.stop(),
		credential: () => ({ botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl }),
		adaListedAs: 'U0ADA',
		wrongToken() {
			const token = makeBotToken();
			return { credential: { botToken: token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl }, token };
		},
		dm: (text, from = 'ada') => slack.dmMessage({ text, ...users[from] }),
		group: {
			chatId: 'C0GENERAL',
			plain: (text, from = 'ada') => slack.channelMessage({ text, user: users[from].user }),
			mention: (text, from = 'ada') => slack.appMention({ text: `<@${slack.bot.userId}> ${text}`, user: users[from].user }),
		},
		ownMessage: (text) => slack.botMessage({ text, own: true, channel: 'D0ADA', channelType: 'im' }),
		otherBotMessage: (text) => slack.botMessage({ text, channel: 'D0ADA', channelType: 'im' }),
		deliver(payload, kind = 'signed') {
			const options = { signed: {}, redelivery: { retryNum: 1, retryReason: 'http_timeout' }, forged: { signingSecret: randomBytes(16).toString('hex') }, unsigned: { unsigned: true } }[kind];
			const { headers, rawBody } = slack.signedDelivery(payload, options);
			return json(headers, rawBody);
		},
		malformed() {
			const rawBody = 'token=x&team_id=T0CLAWGATE&command=%2Fask';
			const timestamp = Math.floor(Date.now() / 1000);
			return {
				headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signSlackRequest(slack.signingSecret, timestamp, rawBody) },
				rawBody,
				body: {},
			};
		},
		outbound: {
			sentTexts: (chatId) => slack.posted.filter((message) => message.channel === chatId).map((message) => message.text),
			sendCalls: () => slack.calls('chat.postMessage').length,
			rateLimitNextSend: (seconds) => void slack.fail({ method: 'chat.postMessage', rateLimitSeconds: seconds }),
		},
	};
}

function twilioDriver(): ContractDriver<Record<string, string>> {
	const twilio = new TwilioEmulator();
	const numbers: Record<Sender, string> = { ada: '+15551230001', stranger: '+15557770000' };
	const form = (params: Record<string, string>, signature: string | null): Delivery => ({
		headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'TwilioProxy/1.1', ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
		rawBody: new URLSearchParams(params).toString(),
		body: { ...params },
	});
	return {
		plugin: twilioPlugin,
		start: async () => void (await twilio.start()),
		stop: () => twilio.stop(),
		credential: () => twilio.credential(),
		// Phone numbers are typed with spaces; Twilio's ID reading takes them out.
		adaListedAs: '+1 555 123 0001',
		wrongToken() {
			const token = makeAuthToken();
			return { credential: { ...twilio.credential(), authToken: token }, token };
		},
		dm: (text, from = 'ada') => twilio.inboundSms({ from: numbers[from], body: text }),
		deliver(params, kind = 'signed') {
			if (kind === 'unsigned') return form(params, null);
			return form(params, twilio.sign(CONTRACT_WEBHOOK_URL, params, kind === 'forged' ? makeAuthToken() : undefined));
		},
		malformed() {
			// Signed, but no MessageSid, AccountSid or To: not a message webhook.
			const params = { Body: 'hello', From: numbers.ada };
			return form(params, twilio.sign(CONTRACT_WEBHOOK_URL, params));
		},
		outbound: {
			sentTexts: (chatId) => twilio.sent.filter((message) => message.to === chatId).map((message) => message.body),
			sendCalls: () => twilio.calls('messages.create').length,
			rateLimitNextSend: (seconds) => twilio.rateLimitNext(1, seconds),
		},
	};
}

function telegramDriver(): ContractDriver<Record<string, unknown>> {
	const telegram = new TelegramEmulator();
	const people: Record<Sender, TelegramUser> = {
		ada: { id: 42, is_bot: false, first_name: 'Ada', last_name: 'L.', username: 'ada' },
		stranger: { id: 4711, is_bot: false, first_name: 'Eve', username: 'eve' },
	};
	const credential = () => ({ accessToken: telegram.token, baseUrl: telegram.apiRoot });
	const json = (update: unknown, secret: string | null): Delivery => ({
		headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
		rawBody: JSON.stringify(update),
		body: JSON.parse(JSON.stringify(update)),
	});
	return {
		plugin: telegramPlugin,
		start: async () => void (await telegram.start()),
		stop: () => telegram.stop(),
		credential,
		adaListedAs: '42',
		wrongToken() {
			const token = makeTelegramToken();
			return { credential: { accessToken: token, baseUrl: telegram.apiRoot }, token };
		},
		dm: (text, from = 'ada') => telegram.textUpdate({ text, chatId: people[from].id, from: people[from] }),
		group: {
			chatId: '-100123',
			plain: (text, from = 'ada') => telegram.groupUpdate({ text, chatId: -100_123, from: people[from] }),
			mention: (text, from = 'ada') => telegram.groupUpdate({ text: `@${telegram.bot.username} ${text}`, chatId: -100_123, from: people[from] }),
		},
		ownMessage: (text) => telegram.textUpdate({ text, chatId: 42, from: telegram.bot }),
		otherBotMessage: (text) => telegram.textUpdate({ text, chatId: 777, from: { id: 777, is_bot: true, first_name: 'Deploy', username: 'deploy_bot' } }),
		deliver(update, kind = 'signed') {
			// Telegram's proof is the secret token it was given on setWebhook, derived per trigger node.
			const secret = telegramWebhookSecret(credential(), CONTRACT_WEBHOOK);
			if (kind === 'unsigned') return json(update, null);
			return json(update, kind === 'forged' ? randomBytes(32).toString('base64url') : secret);
		},
		malformed: () => json({ message: { text: 'no update_id' } }, telegramWebhookSecret(credential(), CONTRACT_WEBHOOK)),
		outbound: {
			sentTexts: (chatId) => telegram.sentTexts(chatId),
			sendCalls: () => telegram.calls('sendMessage').length,
			rateLimitNextSend: (seconds) => telegram.rateLimitNext('sendMessage', seconds),
		},
	};
}

function lineDriver(): ContractDriver<{ destination: string; events: Array<Record<string, unknown>> }> {
	const line = new LineEmulator();
	const people: Record<Sender, string> = { ada: line.newUserId(), stranger: line.newUserId() };
	const groupId = line.newGroupId();
	const json = (headers: Record<string, string>, rawBody: string): Delivery => ({ headers, rawBody, body: JSON.parse(rawBody) });
	return {
		plugin: linePlugin,
		start: async () => void (await line.start()),
		stop: () => line.stop(),
		credential: () => ({ channelAccessToken: line.channelAccessToken, channelSecret: line.channelSecret, baseUrl: line.apiUrl }),
		adaListedAs: people.ada,
		wrongToken() {
			const token = randomBytes(96).toString('base64');
			return { credential: { channelAccessToken: token, channelSecret: line.channelSecret, baseUrl: line.apiUrl }, token };
		},
		dm: (text, from = 'ada') => line.body(line.textEvent({ text, source: { userId: people[from] } })),
		group: {
			chatId: groupId,
			plain: (text, from = 'ada') => line.body(line.textEvent({ text, source: { groupId, userId: people[from] } })),
			mention: (text, from = 'ada') => line.body(line.textEvent({ text, source: { groupId, userId: people[from] }, mentionBot: true })),
		},
		// LINE delivers no bot's messages: a bot cannot write to another bot, and its own pushes are not echoed.
		deliver(body, kind = 'signed') {
			const options = { signed: {}, redelivery: {}, forged: { channelSecret: randomBytes(16).toString('hex') }, unsigned: { unsigned: true } }[kind];
			const { headers, rawBody } = line.signedDelivery(kind === 'redelivery' ? line.redelivery(body) : body, options);
			return json(headers, rawBody);
		},
		malformed() {
			const rawBody = JSON.stringify({ events: 'none' });
			return json({ 'content-type': 'application/json; charset=utf-8', 'x-line-signature': signLineBody(line.channelSecret, rawBody) }, rawBody);
		},
		outbound: {
			sentTexts: (chatId) => line.textsTo(chatId),
			sendCalls: () => line.calls('/v2/bot/message/push').length,
			rateLimitNextSend: (seconds) => void line.fail({ path: '/v2/bot/message/push', rateLimitSeconds: seconds }),
		},
	};
}

function synologyChatDriver(): ContractDriver<Record<string, string>> {
	const synology = new SynologyChatEmulator();
	const people = { ada: { userId: 4, username: 'ada' }, stranger: { userId: 12, username: 'eve' } };
	const form = (fields: Record<string, string>, options: { token?: string; unsigned?: boolean } = {}): Delivery => {
		const rawBody = synology.formOf(fields, options);
		return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody, body: Object.fromEntries(new URLSearchParams(rawBody)) };
	};
	return {
		plugin: synologyChatPlugin,
		start: async () => void (await synology.start()),
		stop: () => synology.stop(),
		credential: () => synology.credential(),
		adaListedAs: '4',
		wrongToken() {
			const token = randomBytes(24).toString('base64url');
			return { credential: { ...synology.credential(), botToken: token }, token };
		},
		dm: (text, from = 'ada') => synology.botPost(people[from], text),
		group: {
			chatId: `channel:${synology.incomingChannelId}`,
			plain: (text, from = 'ada') => synology.channelPost(people[from], text, { channelId: synology.incomingChannelId }),
			mention: (text, from = 'ada') => synology.channelPost(people[from], text, { channelId: synology.incomingChannelId, triggerWord: 'clawgate' }),
		},
		// Synology posts no bot's messages to a chatbot, and outgoing webhooks answer people's trigger words.
		deliver: (fields, kind = 'signed') => form(fields, kind === 'forged' ? { token: randomBytes(24).toString('base64url') } : kind === 'unsigned' ? { unsigned: true } : {}),
		malformed: () => form({ token: synology.botToken, text: 'no user or post' }),
		outbound: {
			sentTexts: (chatId) => synology.textsTo(chatId),
			sendCalls: () => synology.sendCalls().length,
			rateLimitNextSend: (seconds) => synology.rateLimitNext(seconds),
		},
	};
}

function nextcloudTalkDriver(): ContractDriver<Record<string, unknown>> {
	const talk = new NextcloudTalkEmulator();
	const people = { ada: { id: 'users/ada', name: 'Ada Lovelace' }, stranger: { id: 'users/eve', name: 'Eve' } };
	let rooms: Record<Sender | 'group', string>;
	const json = ({ headers, rawBody }: { headers: Record<string, string>; rawBody: string }): Delivery => ({ headers, rawBody, body: JSON.parse(rawBody) });
	return {
		plugin: nextcloudTalkPlugin,
		async start() {
			await talk.start();
			rooms = { ada: talk.newConversation('one-to-one'), stranger: talk.newConversation('one-to-one', 'Eve'), group: talk.newConversation('group') };
		},
		stop: () => talk.stop(),
		credential: () => talk.credential(),
		adaListedAs: 'users/ada',
		wrongToken() {
			const token = randomBytes(40).toString('hex');
			return { credential: { ...talk.credential(), botSecret: token }, token };
		},
		dm: (text, from = 'ada') => talk.message(rooms[from], people[from], text),
		group: {
			get chatId() {
				return rooms.group;
			},
			plain: (text, from = 'ada') => talk.message(rooms.group, people[from], text),
			mention: (text, from = 'ada') => talk.message(rooms.group, people[from], text, { mentionBot: true }),
		},
		// Talk sends a bot the messages of people, not of bots.
		deliver: (activity, kind = 'signed') => json(talk.signedDelivery(activity, kind === 'forged' ? { secret: randomBytes(40).toString('hex') } : { unsigned: kind === 'unsigned' })),
		malformed() {
			const rawBody = JSON.stringify({ type: 'Create', object: { type: 'Note', id: '1', content: 'not json' }, target: { id: rooms.ada } });
			const random = randomBytes(32).toString('hex');
			return { headers: { 'content-type': 'application/json', 'x-nextcloud-talk-random': random, 'x-nextcloud-talk-signature': signTalkBody(talk.botSecret, random, rawBody) }, rawBody, body: JSON.parse(rawBody) };
		},
		outbound: {
			sentTexts: (chatId) => talk.messagesIn(chatId),
			sendCalls: () => talk.sendCalls().length,
			rateLimitNextSend: (seconds) => talk.rateLimitNext(seconds),
		},
	};
}

/** Every webhook channel the contract suite checks: one entry per channel. */
export const contractDrivers: ContractDriver[] = [slackDriver(), twilioDriver(), telegramDriver(), lineDriver(), synologyChatDriver(), nextcloudTalkDriver()] as ContractDriver[];

// ---------------------------------------------------------------------------------------------
// Listener channels: the platform pushes over a socket the trigger holds open, so there is no
// request to sign or forge. A driver opens the listener with trigger options, makes the platform
// post, and hands back what the listener emitted.

export interface ListenerContractDriver {
	plugin: AnyChannelPlugin;
	start(): Promise<void>;
	stop(): Promise<void>;
	credential(): unknown;
	adaListedAs: string;
	/** Opens the listener (through the shared socket listener and admission) with these trigger options, and another credential if given. */
	listen(options?: Record<string, unknown>, credential?: unknown): Promise<{ handlers: CollectingHandlers; close(): Promise<void> }>;
	/** Logged-in socket connections the platform holds open now. */
	openConnections(): number;
	dm(text: string, from?: Sender): void;
	group: { chatId: string; plain(text: string, from?: Sender): void; mention(text: string, from?: Sender): void };
	/** The bot posts itself (the platform echoes its posts to it). */
	ownMessage(text: string): void;
	otherBotMessage(text: string): void;
	/** Ada's DM, then the platform sends the same message again (a replay after a network blip, or the catch-up after a reconnect). */
	dmTwice(text: string): Promise<void>;
	wrongToken(): { credential: unknown; token: string };
	outbound: ContractDriver['outbound'];
}

async function openListener(plugin: AnyChannelPlugin, socketOf: () => Promise<SocketPlatform<unknown>>, options: Record<string, unknown> = {}) {
	const handlers = collectingHandlers(plugin, { policy: receiveSettingsFrom(plugin, options).policy });
	const listener = await startSocketListener(await socketOf(), handlers, quietLog, { backoffMs: { initial: 50, max: 200 } });
	return { handlers, close: () => listener.close() };
}

function mattermostDriver(): ListenerContractDriver {
	const mattermost = new MattermostEmulator();
	const people = { ada: mattermost.person('ada'), stranger: mattermost.person('eve') };
	let town: MattermostChannel;
	const client = (credential: unknown = mattermost.credential()) => createMattermostClient(credential as never);
	return {
		plugin: mattermostPlugin,
		async start() {
			await mattermost.start();
			town = mattermost.openChannel('Town Square');
		},
		stop: () => mattermost.stop(),
		credential: () => mattermost.credential(),
		adaListedAs: people.ada.id,
		listen: (options = {}, credential) =>
			openListener(mattermostPlugin, async () => mattermostSocket(client(credential), await mattermostBotOf(client(credential)), receiveSettingsFrom(mattermostPlugin, options).sessionScope) as SocketPlatform<unknown>, options),
		openConnections: () => mattermost.openSockets,
		dm: (text, from = 'ada') => void mattermost.say(people[from], mattermost.dmWith(people[from]), text),
		group: {
			get chatId() {
				return town.id;
			},
			plain: (text, from = 'ada') => void mattermost.say(people[from], town, text),
			mention: (text, from = 'ada') => void mattermost.say(people[from], town, `@${mattermost.bot.username} ${text}`),
		},
		ownMessage: (text) => void mattermost.say(mattermost.bot, mattermost.dmWith(people.ada), text),
		otherBotMessage: (text) => void mattermost.say(mattermost.person('deploybot', true), mattermost.dmWith(people.ada), text),
		async dmTwice(text) {
			const post = mattermost.say(people.ada, mattermost.dmWith(people.ada), text);
			await settle(200);
			mattermost.replay(post, people.ada);
		},
		wrongToken() {
			const token = mattermostId();
			return { credential: { ...mattermost.credential(), botToken: token }, token };
		},
		outbound: {
			sentTexts: (chatId) => mattermost.botTextsIn(chatId),
			sendCalls: () => mattermost.calls('POST', '/api/v4/posts').length,
			rateLimitNextSend: (seconds) => mattermost.rateLimitNext(seconds),
		},
	};
}

function rocketChatDriver(): ListenerContractDriver {
	const rocket = new RocketChatEmulator();
	const people = { ada: rocket.person('ada'), stranger: rocket.person('eve') };
	let general: RocketRoom;
	const client = (credential: unknown = rocket.credential()) => createRocketChatClient(credential as never);
	return {
		plugin: rocketChatPlugin,
		async start() {
			await rocket.start();
			general = rocket.channel('general');
		},
		stop: () => rocket.stop(),
		credential: () => rocket.credential(),
		adaListedAs: people.ada._id,
		listen: (options = {}, credential) =>
			openListener(rocketChatPlugin, async () => rocketChatSocket(client(credential), await rocketChatBotOf(client(credential)), receiveSettingsFrom(rocketChatPlugin, options).sessionScope) as SocketPlatform<unknown>, options),
		openConnections: () => rocket.openSockets,
		dm: (text, from = 'ada') => void rocket.say(people[from], rocket.dmWith(people[from]), text),
		group: {
			get chatId() {
				return general._id;
			},
			plain: (text, from = 'ada') => void rocket.say(people[from], general, text),
			mention: (text, from = 'ada') => void rocket.say(people[from], general, `@${rocket.bot.username} ${text}`),
		},
		ownMessage: (text) => void rocket.say(rocket.bot, rocket.dmWith(people.ada), text),
		otherBotMessage: (text) => void rocket.say(rocket.person('deploybot', true), rocket.dmWith(people.ada), text),
		async dmTwice(text) {
			rocket.say(people.ada, rocket.dmWith(people.ada), text);
			await settle(200);
			// The connection drops; on reconnecting, the catch-up brings the same message again.
			rocket.dropConnections();
			await settle(600);
		},
		wrongToken() {
			const token = randomBytes(32).toString('base64url');
			return { credential: { ...rocket.credential(), authToken: token }, token };
		},
		outbound: {
			sentTexts: (chatId) => rocket.textsIn(chatId, { byBot: true }),
			sendCalls: () => rocket.calls('chat.sendMessage').length,
			rateLimitNextSend: (seconds) => rocket.rateLimitNext(seconds),
		},
	};
}

/** Every listener channel the contract suite checks. */
export const listenerContractDrivers: ListenerContractDriver[] = [mattermostDriver(), rocketChatDriver()];
