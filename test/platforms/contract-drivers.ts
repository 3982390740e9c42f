/**
 * One driver per webhook channel for the channel contract suite (channel-contract.test.ts): it
 * knows how its platform's emulator builds, signs and forges deliveries, and where the emulator
 * keeps what the bot sent. Adding a channel to the contract suite is one driver here and one
 * entry in `contractDrivers`.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import type { AnyChannelPlugin, InboundEvent, ReceiveSettings, WebhookContext } from '../../nodes/core/channel';
import { googleChatPlugin } from '../../nodes/GoogleChat/googleChat.plugin';
import { matrixEventToInbound, matrixPlugin } from '../../nodes/Matrix/matrix.plugin';
import { signalEnvelopeToInbound, signalPlugin } from '../../nodes/Signal/signal.plugin';
import { zulipEventToInbound, zulipPlugin } from '../../nodes/Zulip/zulip.plugin';
import type { Envelope } from '../../nodes/core/envelope';
import { emailPlugin, startEmailListener } from '../../nodes/Email/email.plugin';
import { ircPlugin, startIrcListener } from '../../nodes/Irc/irc.plugin';
import type { ChannelListenerInput } from '../../nodes/shared/listener-trigger';
import { startXmppListener, xmppPlugin } from '../../nodes/Xmpp/xmpp.plugin';
import { instagramPlugin } from '../../nodes/Instagram/instagram.plugin';
import { linePlugin } from '../../nodes/Line/line.plugin';
import { createMattermostClient, mattermostBotOf, mattermostPlugin, mattermostSocket } from '../../nodes/Mattermost/mattermost.plugin';
import { createRocketChatClient, rocketChatBotOf, rocketChatPlugin, rocketChatSocket } from '../../nodes/RocketChat/rocketChat.plugin';
import { startSocketListener, type SocketPlatform } from '../../nodes/shared/socket-listener';
import { receiveSettingsFrom } from '../../nodes/shared/trigger-settings';
import { nextcloudTalkPlugin } from '../../nodes/NextcloudTalk/nextcloudTalk.plugin';
import { messengerPlugin } from '../../nodes/Messenger/messenger.plugin';
import { slackPlugin } from '../../nodes/Slack/slack.plugin';
import { synologyChatPlugin } from '../../nodes/SynologyChat/synologyChat.plugin';
import { teamsPlugin } from '../../nodes/Teams/teams.plugin';
import { telegramPlugin, telegramWebhookSecret } from '../../nodes/Telegram/telegram.plugin';
import { twilioPlugin } from '../../nodes/Twilio/twilio.plugin';
import { whatsAppPlugin } from '../../nodes/WhatsApp/whatsapp.plugin';
import { viberPlugin } from '../../nodes/Viber/viber.plugin';
import { webexPlugin, webexWebhookSecret } from '../../nodes/Webex/webex.plugin';
import { GoogleChatEmulator } from '../emulators/googleChat';
import { LineEmulator, signLineBody } from '../emulators/line';
import { MattermostEmulator, mattermostId, type MattermostChannel } from '../emulators/mattermost';
import { RocketChatEmulator, type RocketRoom } from '../emulators/rocketChat';
import { NextcloudTalkEmulator, signTalkBody } from '../emulators/nextcloudTalk';
import { MetaEmulator, signMetaBody, type MetaProduct } from '../emulators/meta';
import { makeBotToken, signSlackRequest, SlackEmulator } from '../emulators/slack';
import { SynologyChatEmulator } from '../emulators/synologyChat';
import { TeamsEmulator } from '../emulators/teams';
import { makeBotToken as makeTelegramToken, TelegramEmulator, type TelegramUser } from '../emulators/telegram';
import { makeAuthToken, TwilioEmulator } from '../emulators/twilio';
import { collectingHandlers, quietLog, settle, type CollectingHandlers } from './socket-harness';
import { MailEmulator } from '../emulators/email';
import { IrcEmulator } from '../emulators/irc';
import { XmppEmulator } from '../emulators/xmpp';
import { listenerProbe } from './listener-probe';
import { signViberBody, ViberEmulator } from '../emulators/viber';
import { signWebexBody, WebexEmulator, type WebexPerson } from '../emulators/webex';
import { MatrixEmulator } from '../emulators/matrix';
import { SignalEmulator } from '../emulators/signal';
import { ZulipEmulator } from '../emulators/zulip';

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
		/** The next send is answered 429 with this Retry-After (seconds); absent where the platform names no wait (Viber). */
		rateLimitNextSend?(seconds: number): void;
		/** The next send is refused as rate-limited with no wait that would end it (Viber's status 12); where the platform has that. */
		rateLimitNextSendWithoutWait?(): void;
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
		// The NAS writes its integration's own token into every form it posts.
		deliver(fields, kind = 'signed') {
			if (kind === 'forged') return form(fields, { token: randomBytes(24).toString('base64url') });
			if (kind === 'unsigned') return form(fields, { unsigned: true });
			const genuine = [synology.botToken, synology.outgoingToken].includes(fields.token);
			return form(fields, genuine ? {} : { token: synology.botToken });
		},
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

/** WhatsApp Cloud API, Messenger and Instagram: one Meta emulator per product, the same webhook scheme. */
function metaDriver(product: MetaProduct, plugin: AnyChannelPlugin): ContractDriver<Record<string, unknown>> {
	const meta = new MetaEmulator(product);
	const people: Record<Sender, string> = { ada: meta.newPersonId(), stranger: meta.newPersonId() };
	const json = (headers: Record<string, string>, rawBody: string): Delivery => ({ headers, rawBody, body: JSON.parse(rawBody) });
	return {
		plugin,
		start: async () => void (await meta.start()),
		stop: () => meta.stop(),
		credential: () => meta.credential(),
		// WhatsApp IDs are phone numbers, typed with + and spaces; the others are typed as they are.
		adaListedAs: product === 'whatsapp' ? `+${people.ada.slice(0, 1)} ${people.ada.slice(1, 4)} ${people.ada.slice(4)}` : people.ada,
		wrongToken() {
			const token = `EAAG${randomBytes(60).toString('base64url')}`;
			return { credential: meta.credential(product === 'messenger' ? { pageAccessToken: token } : { accessToken: token }), token };
		},
		dm: (text, from = 'ada') => meta.text(people[from], text),
		// Messenger and Instagram echo the account's own messages (is_echo); WhatsApp delivers none. No channel has bots writing to the account.
		...(product === 'whatsapp' ? {} : { ownMessage: (text: string) => meta.messagingEcho(people.ada, text) }),
		deliver(body, kind = 'signed') {
			const options = { signed: {}, redelivery: {}, forged: { appSecret: randomBytes(16).toString('hex') }, unsigned: { unsigned: true } }[kind];
			const { headers, rawBody } = meta.signedDelivery(body, options);
			return json(headers, rawBody);
		},
		malformed() {
			const rawBody = JSON.stringify({ object: product === 'whatsapp' ? 'whatsapp_business_account' : product === 'messenger' ? 'page' : 'instagram', entry: 'none' });
			return json({ 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(meta.appSecret, rawBody) }, rawBody);
		},
		outbound: {
			sentTexts: (chatId) => meta.textsTo(chatId),
			sendCalls: () => meta.calls(meta.sendPath).length,
			rateLimitNextSend: (seconds) => void meta.fail({ path: meta.sendPath, rateLimitSeconds: seconds }),
		},
	};
}

function viberDriver(): ContractDriver<Record<string, unknown>> {
	const viber = new ViberEmulator();
	const people: Record<Sender, { id: string; name: string }> = { ada: { id: viber.newUserId(), name: 'Ada L.' }, stranger: { id: viber.newUserId(), name: 'Eve' } };
	const json = (headers: Record<string, string>, rawBody: string): Delivery => ({ headers, rawBody, body: JSON.parse(rawBody) });
	return {
		plugin: viberPlugin,
		start: async () => void (await viber.start()),
		stop: () => viber.stop(),
		credential: () => ({ authToken: viber.authToken, baseUrl: viber.apiUrl }),
		adaListedAs: people.ada.id,
		wrongToken() {
			const token = new ViberEmulator().authToken;
			return { credential: { authToken: token, baseUrl: viber.apiUrl }, token };
		},
		dm: (text, from = 'ada') => viber.text(people[from], text),
		// Viber bots have no groups, and Viber delivers no bot's messages to a bot.
		deliver(callback, kind = 'signed') {
			// A retry is the same callback again.
			const options = { signed: {}, redelivery: {}, forged: { authToken: new ViberEmulator().authToken }, unsigned: { unsigned: true } }[kind];
			const { headers, rawBody } = viber.signedDelivery(callback, options);
			return json(headers, rawBody);
		},
		malformed() {
			const rawBody = JSON.stringify({ timestamp: Date.now(), message_token: 1 });
			return json({ 'content-type': 'application/json', 'x-viber-content-signature': signViberBody(viber.authToken, rawBody) }, rawBody);
		},
		outbound: {
			sentTexts: (chatId) => viber.textsTo(chatId),
			sendCalls: () => viber.calls('send_message').length,
			rateLimitNextSendWithoutWait: () => void viber.rateLimitNext(1),
		},
	};
}

function webexDriver(): ContractDriver<Record<string, unknown>> {
	const webex = new WebexEmulator();
	const people: Record<Sender, WebexPerson> = { ada: webex.newPerson('Ada Lovelace'), stranger: webex.newPerson('Eve Stranger') };
	const group = webex.newGroupRoom('Project Unicorn');
	const deployBot = webex.newPerson('Deploy', 'deploy@webex.bot');
	const credential = () => ({ botToken: webex.token, webhookSecret: '', baseUrl: webex.apiUrl });
	const json = (headers: Record<string, string>, rawBody: string): Delivery => ({ headers, rawBody, body: JSON.parse(rawBody) });
	return {
		plugin: webexPlugin,
		start: async () => void (await webex.start()),
		stop: () => webex.stop(),
		credential,
		adaListedAs: people.ada.id,
		wrongToken() {
			const token = new WebexEmulator().token;
			return { credential: { ...credential(), botToken: token }, token };
		},
		dm: (text, from = 'ada') => webex.post({ from: people[from], room: webex.directRoom(people[from]), text }),
		group: {
			chatId: group.id,
			plain: (text, from = 'ada') => webex.post({ from: people[from], room: group, text }),
			mention: (text, from = 'ada') => webex.post({ from: people[from], room: group, text, mentionBot: true }),
		},
		// Webex notifies a bot of its own posts too.
		ownMessage: (text) => webex.post({ from: webex.bot, room: webex.directRoom(people.ada), text }),
		otherBotMessage: (text) => webex.post({ from: deployBot, room: webex.directRoom(deployBot), text }),
		deliver(notification, kind = 'signed') {
			// The secret the trigger gave Webex on registration, derived per trigger node.
			const secret = webexWebhookSecret(credential(), CONTRACT_WEBHOOK);
			const options = { signed: {}, redelivery: {}, forged: { secret: randomBytes(20).toString('hex') }, unsigned: { unsigned: true } }[kind];
			const { headers, rawBody } = webex.signedDelivery(notification, secret, options);
			return json(headers, rawBody);
		},
		malformed() {
			const rawBody = JSON.stringify({ resource: 'messages', event: 'created' });
			return json({ 'content-type': 'application/json', 'x-spark-signature': signWebexBody(webexWebhookSecret(credential(), CONTRACT_WEBHOOK), rawBody) }, rawBody);
		},
		outbound: {
			sentTexts: (chatId) => webex.textsTo(chatId),
			sendCalls: () => webex.calls('POST /v1/messages').length,
			rateLimitNextSend: (seconds) => void webex.fail({ route: 'POST /v1/messages', rateLimitSeconds: seconds }),
		},
	};
}

/** A key no platform published: what a forger signs JWTs with. */
const forgerKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

function teamsDriver(): ContractDriver<Record<string, unknown>> {
	const teams = new TeamsEmulator();
	const people: Record<Sender, { id: string; name: string }> = { ada: { id: '29:1ada', name: 'Ada Lovelace' }, stranger: { id: '29:1eve', name: 'Eve' } };
	const dms: Record<Sender, string> = { ada: 'a:1ada-personal', stranger: 'a:1eve-personal' };
	const groupId = '19:clawgategroup@thread.v2';
	const json = ({ headers, rawBody }: { headers: Record<string, string>; rawBody: string }): Delivery => ({ headers, rawBody, body: JSON.parse(rawBody) });
	return {
		plugin: teamsPlugin,
		start: async () => void (await teams.start()),
		stop: () => teams.stop(),
		credential: () => teams.credential(),
		adaListedAs: '29:1ada',
		wrongToken() {
			const token = randomBytes(24).toString('base64url');
			return { credential: { ...teams.credential(), appPassword: token }, token };
		},
		dm: (text, from = 'ada') => teams.activity({ text, conversationId: dms[from], from: people[from] }),
		group: {
			chatId: groupId,
			plain: (text, from = 'ada') => teams.activity({ text, conversationType: 'groupChat', conversationId: groupId, from: people[from] }),
			mention: (text, from = 'ada') => teams.activity({ text, conversationType: 'groupChat', conversationId: groupId, from: people[from], mentionBot: true }),
		},
		ownMessage: (text) => teams.ownActivity(text),
		deliver(activity, kind = 'signed') {
			// The Bot Connector sends the same activity (same id) again when the bot did not answer in time.
			// The Connector's token names the serviceUrl of the activity it carries.
			if (kind === 'unsigned') return json(teams.signedDelivery(activity, { unsigned: true }));
			const named = (activity as { serviceUrl?: unknown } | null)?.serviceUrl;
			const serviceUrl = typeof named === 'string' ? named : undefined;
			return json(teams.signedDelivery(activity, kind === 'forged' ? { privateKey: forgerKey(), kid: teams.kid, serviceUrl } : { serviceUrl }));
		},
		malformed: () => json(teams.signedDelivery({ type: 'message', text: 'no id, conversation or sender', serviceUrl: teams.serviceUrl })),
		outbound: {
			sentTexts: (chatId) => teams.textsTo(chatId),
			sendCalls: () => teams.sendCalls(),
			rateLimitNextSend: (seconds) => teams.rateLimitNextSend(seconds),
		},
	};
}

function googleChatDriver(): ContractDriver<Record<string, unknown>> {
	const chat = new GoogleChatEmulator();
	const people: Record<Sender, { name: string; displayName: string }> = { ada: { name: 'users/111', displayName: 'Ada Lovelace' }, stranger: { name: 'users/999', displayName: 'Eve' } };
	const dms: Record<Sender, { name: string; type: 'DM' }> = { ada: { name: 'spaces/adaDm', type: 'DM' }, stranger: { name: 'spaces/eveDm', type: 'DM' } };
	const room = { name: 'spaces/clawgateRoom', type: 'ROOM' as const, displayName: 'Clawgate testers' };
	// Fixed once, as the credential is: the service account key is generated per emulator.
	let credential: ReturnType<GoogleChatEmulator['credential']> | null = null;
	const json = ({ headers, rawBody }: { headers: Record<string, string>; rawBody: string }): Delivery => ({ headers, rawBody, body: JSON.parse(rawBody) });
	return {
		plugin: googleChatPlugin,
		start: async () => void (await chat.start()),
		stop: () => chat.stop(),
		credential: () => (credential ??= chat.credential()),
		adaListedAs: 'users/111',
		wrongToken() {
			const other = new GoogleChatEmulator().serviceAccountJson();
			return { credential: { ...chat.credential(), serviceAccountJson: other }, token: JSON.parse(other).private_key };
		},
		dm: (text, from = 'ada') => chat.message({ text, space: dms[from], sender: people[from] }),
		group: {
			chatId: room.name,
			plain: (text, from = 'ada') => chat.message({ text, space: room, sender: people[from] }),
			mention: (text, from = 'ada') => chat.message({ text, space: room, sender: people[from], mentionBot: true }),
		},
		otherBotMessage: (text) => chat.message({ text, space: dms.ada, sender: { name: 'users/777', displayName: 'Deploy bot', type: 'BOT' } }),
		deliver(event, kind = 'signed') {
			if (kind === 'unsigned') return json(chat.signedDelivery(event, { unsigned: true }));
			return json(chat.signedDelivery(event, kind === 'forged' ? { privateKey: forgerKey(), kid: chat.kid } : {}));
		},
		malformed: () => json(chat.signedDelivery({ type: 'MESSAGE', message: { text: 'no name, space or sender' } })),
		outbound: {
			sentTexts: (chatId) => chat.textsTo(chatId),
			sendCalls: () => chat.sendCalls(),
			rateLimitNextSend: (seconds) => chat.rateLimitNextSend(seconds),
		},
	};
}

/** Every webhook channel the contract suite checks: one entry per channel. */
export const contractDrivers: ContractDriver[] = [
	slackDriver(),
	twilioDriver(),
	telegramDriver(),
	lineDriver(),
	metaDriver('whatsapp', whatsAppPlugin),
	metaDriver('messenger', messengerPlugin),
	metaDriver('instagram', instagramPlugin),
	viberDriver(),
	webexDriver(),
	teamsDriver(),
	googleChatDriver(),
	synologyChatDriver(),
	nextcloudTalkDriver(),
] as ContractDriver[];

// ---------------------------------------------------------------------------------------------
// Listener channels: messages are fetched (long poll, socket), so there is no proof of origin to
// check and no redelivery to answer; the suite feeds the platform's payloads to the normaliser the
// trigger's receive loop uses, then the shared admission, and checks the same envelope, access and
// outbound rules as for webhook channels.

export interface ListenerContractDriver<Sample = unknown> extends Omit<ContractDriver<Sample>, 'deliver' | 'malformed' | 'options'> {
	/** The payload as the trigger's receive loop turns it into an inbound event (null: not a message at all). */
	inbound(sample: Sample, settings: ReceiveSettings): Promise<InboundEvent | null> | InboundEvent | null;
}

function matrixDriver(): ListenerContractDriver<{ roomId: string; event: Record<string, unknown>; isDirect: boolean }> {
	const matrix = new MatrixEmulator();
	const people: Record<Sender, string> = { ada: '@ada:localhost', stranger: '@eve:localhost' };
	const dms: Record<Sender, string> = { ada: matrix.createRoom({ members: [people.ada], direct: true }), stranger: matrix.createRoom({ members: [people.stranger], direct: true }) };
	const groupId = matrix.createRoom({ members: [people.ada, people.stranger] });
	const say = (roomId: string, sender: string, text: string, content: Record<string, unknown> = {}) => ({ roomId, event: matrix.say(roomId, sender, text, content), isDirect: roomId !== groupId });
	return {
		plugin: matrixPlugin,
		start: async () => void (await matrix.start()),
		stop: () => matrix.stop(),
		credential: () => matrix.credential(),
		adaListedAs: people.ada,
		wrongToken() {
			const token = `syt_${randomBytes(16).toString('base64url')}`;
			return { credential: { ...matrix.credential(), accessToken: token }, token };
		},
		dm: (text, from = 'ada') => say(dms[from], people[from], text),
		group: {
			chatId: groupId,
			plain: (text, from = 'ada') => say(groupId, people[from], text),
			mention: (text, from = 'ada') => say(groupId, people[from], `${matrix.displayName}: ${text}`, { 'm.mentions': { user_ids: [matrix.botUserId] } }),
		},
		ownMessage: (text) => say(dms.ada, matrix.botUserId, text),
		// Bots post m.notice.
		otherBotMessage: (text) => say(dms.ada, '@deploy:localhost', text, { msgtype: 'm.notice' }),
		inbound: ({ roomId, event, isDirect }, settings) =>
			matrixEventToInbound(event, roomId, { botUserId: matrix.botUserId, botDisplayName: matrix.displayName, isDirect, sessionScope: settings.sessionScope }),
		outbound: {
			sentTexts: (chatId) => matrix.textsIn(chatId),
			sendCalls: () => matrix.server.matching((request) => request.method === 'PUT' && request.path.includes('/send/m.room.message/')).length,
			rateLimitNextSend: (seconds) => matrix.rateLimitNextSend(seconds),
		},
	};
}

function zulipDriver(): ListenerContractDriver<Record<string, unknown>> {
	const zulip = new ZulipEmulator();
	const people: Record<Sender, typeof zulip.people.ada> = { ada: zulip.people.ada, stranger: zulip.people.eve };
	const bot = { id: String(zulip.bot.user_id), fullName: zulip.bot.full_name };
	return {
		plugin: zulipPlugin,
		start: async () => void (await zulip.start()),
		stop: () => zulip.stop(),
		credential: () => zulip.credential(),
		adaListedAs: String(people.ada.user_id),
		wrongToken() {
			const token = randomBytes(16).toString('hex');
			return { credential: { ...zulip.credential(), apiKey: token }, token };
		},
		dm: (text, from = 'ada') => zulip.eventOf(zulip.dm(people[from], text)),
		group: {
			chatId: String(zulip.streams.general),
			plain: (text, from = 'ada') => zulip.eventOf(zulip.streamMessage(people[from], text)),
			mention: (text, from = 'ada') => zulip.eventOf(zulip.streamMessage(people[from], text, { mention: true })),
		},
		ownMessage: (text) => zulip.eventOf(zulip.dm(zulip.bot, text)),
		otherBotMessage: (text) => zulip.eventOf(zulip.dm(zulip.people.deploy, text)),
		inbound: (event, settings) => zulipEventToInbound(event, { bot, sessionScope: settings.sessionScope }),
		outbound: {
			sentTexts: (chatId) => zulip.textsTo(chatId),
			sendCalls: () => zulip.server.matching((request) => request.method === 'POST' && request.path === '/api/v1/messages').length,
			rateLimitNextSend: (seconds) => zulip.rateLimitNextSend(seconds),
		},
	};
}

function signalDriver(): ListenerContractDriver<Record<string, unknown>> {
	const signal = new SignalEmulator();
	const people: Record<Sender, typeof signal.people.ada> = { ada: signal.people.ada, stranger: signal.people.eve };
	return {
		plugin: signalPlugin,
		start: () => signal.start(),
		stop: () => signal.stop(),
		credential: () => signal.credential(),
		// Phone numbers are typed with spaces; Signal's ID reading takes them out.
		adaListedAs: people.ada.number.replace(/^(\+\d{2})(\d{3})/, '$1 $2 '),
		// signal-cli-rest-api has no token: the account is what the credential names, and a wrong one is refused.
		wrongToken() {
			const account = `+49151${randomBytes(3).readUIntBE(0, 3).toString().padStart(8, '7')}`;
			return { credential: { ...signal.credential(), account }, token: account };
		},
		dm: (text, from = 'ada') => signal.envelope(people[from], text),
		group: {
			chatId: signal.groupRecipient,
			plain: (text, from = 'ada') => signal.envelope(people[from], text, { group: true }),
			mention: (text, from = 'ada') => signal.envelope(people[from], text, { group: true, mention: true }),
		},
		ownMessage: (text) => signal.envelope({ number: signal.account, uuid: 'self', name: 'Bot' }, text),
		inbound: (frame, settings) => signalEnvelopeToInbound(frame, { account: signal.account, sessionScope: settings.sessionScope }),
		outbound: {
			sentTexts: (chatId) => signal.textsTo(chatId),
			sendCalls: () => signal.server.matching((request) => request.path === '/v2/send').length,
			rateLimitNextSend: (seconds) => signal.rateLimitNextSend(seconds),
		},
	};
}

/** Every listener channel the contract suite checks (listener-contract.test.ts): one entry per channel. */
export const listenerContractDrivers: ListenerContractDriver[] = [matrixDriver(), zulipDriver(), signalDriver()] as ListenerContractDriver[];
// ---------------------------------------------------------------------------------------------
// Listener channels: messages arrive over a connection the trigger holds, not by webhook, so
// there is no proof, redelivery or malformed request to check; the rest of the contract holds.

/** A running listener of the plugin, started with the shared handlers (listener-harness.ts). */
export interface RunningProbe {
	emitted: Envelope[];
	close(): Promise<void>;
}

export interface ConnectionContractDriver {
	plugin: AnyChannelPlugin;
	start(): Promise<void>;
	stop(): Promise<void>;
	credential(): unknown;
	adaListedAs: string;
	/** Starts the trigger's listener with these options; resolves once it listens. */
	listen(options: Record<string, unknown>): Promise<RunningProbe>;
	/** The platform delivers a direct message from Ada or a stranger. */
	dm(text: string, from?: Sender): void;
	group?: { chatId: string; plain(text: string, from?: Sender): void; mention(text: string, from?: Sender): void };
	ownMessage?(text: string): void;
	/** Texts the bot sent to a chat, in order. */
	sentTexts(chatId: string): string[];
}

async function probeOf(plugin: AnyChannelPlugin, credential: unknown, options: Record<string, unknown>, start: (input: ChannelListenerInput<never>) => Promise<{ close(): Promise<void> }>): Promise<RunningProbe> {
	const probe = listenerProbe(plugin, credential, options);
	const listener = await start(probe.input as ChannelListenerInput<never>);
	return { emitted: probe.emitted, close: () => listener.close() };
}

function ircDriver(): ConnectionContractDriver {
	const server = new IrcEmulator();
	const nicks: Record<Sender, string> = { ada: 'ada', stranger: 'eve' };
	const credential = () => ({ baseUrl: server.url, nick: 'clawbot', channels: '#contract' });
	return {
		plugin: ircPlugin,
		start: () => server.start(),
		stop: () => server.stop(),
		credential,
		adaListedAs: 'ada',
		listen: (options) => probeOf(ircPlugin, credential(), options, startIrcListener),
		dm: (text, from = 'ada') => void server.say({ from: nicks[from], to: 'clawbot', text }),
		group: {
			chatId: '#contract',
			plain: (text, from = 'ada') => void server.say({ from: nicks[from], to: '#contract', text }),
			mention: (text, from = 'ada') => void server.say({ from: nicks[from], to: '#contract', text: `clawbot: ${text}` }),
		},
		ownMessage: (text) => void server.say({ from: 'clawbot', to: '#contract', text: `clawbot: ${text}` }),
		sentTexts: (chatId) => server.textsTo(chatId),
	};
}

function xmppDriver(): ConnectionContractDriver {
	const server = new XmppEmulator({ accounts: { clawbot: 'contract-secret' } });
	const room = 'contract@conference.clawgate.test';
	const jids: Record<Sender, string> = { ada: 'ada@clawgate.test', stranger: 'eve@elsewhere.test' };
	const credential = () => ({ jid: 'clawbot@clawgate.test', password: 'contract-secret', baseUrl: server.url, rooms: room });
	return {
		plugin: xmppPlugin,
		start: () => server.start(),
		stop: () => server.stop(),
		credential,
		adaListedAs: 'ada@clawgate.test',
		listen: (options) => probeOf(xmppPlugin, credential(), options, startXmppListener),
		dm: (text, from = 'ada') => void server.chat({ from: `${jids[from]}/phone`, to: 'clawbot@clawgate.test', text }),
		group: {
			chatId: room,
			plain: (text, from = 'ada') => void server.roomSay({ room, nick: from, text }),
			mention: (text, from = 'ada') => void server.roomSay({ room, nick: from, text: `clawbot: ${text}` }),
		},
		ownMessage: (text) => void server.chat({ from: 'clawbot@clawgate.test/other', to: 'clawbot@clawgate.test', text }),
		sentTexts: (chatId) => server.bodiesTo(chatId),
	};
}

function emailDriver(): ConnectionContractDriver {
	const server = new MailEmulator({ 'bot@clawgate.test': 'contract-secret' });
	const addresses: Record<Sender, string> = { ada: 'ada@people.test', stranger: 'eve@elsewhere.test' };
	const credential = () => server.credential('bot@clawgate.test');
	return {
		plugin: emailPlugin,
		start: () => server.start(),
		stop: () => server.stop(),
		credential,
		adaListedAs: 'ada@people.test',
		listen: (options) => probeOf(emailPlugin, credential(), options, startEmailListener),
		dm: (text, from = 'ada') => void server.deliver({ from: addresses[from], to: 'bot@clawgate.test', subject: 'Contract', text }),
		ownMessage: (text) => void server.deliver({ from: 'bot@clawgate.test', to: 'bot@clawgate.test', subject: 'Contract', text }),
		sentTexts: (chatId) => server.sent.filter((mail) => mail.to.includes(chatId)).map((mail) => /\r\n\r\n([\s\S]*?)(?:\r\n\r\nOn |\r\n$)/.exec(mail.raw)?.[1] ?? ''),
	};
}

/** Every listener channel the contract suite checks. */
export const connectionContractDrivers: ConnectionContractDriver[] = [ircDriver(), xmppDriver(), emailDriver()];
// ---------------------------------------------------------------------------------------------
// Listener channels: the platform pushes over a socket the trigger holds open, so there is no
// request to sign or forge. A driver opens the listener with trigger options, makes the platform
// post, and hands back what the listener emitted.

export interface SocketContractDriver {
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

function mattermostDriver(): SocketContractDriver {
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

function rocketChatDriver(): SocketContractDriver {
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
export const socketContractDrivers: SocketContractDriver[] = [mattermostDriver(), rocketChatDriver()];


