/**
 * The multi-channel gateway example, imported and activated unchanged in one real n8n: every
 * trigger it holds → one AI Session → one Reply, each platform played by its emulator and the
 * model by the OpenAI emulator, so Reply must find the way back to every channel on its own.
 */
import { simpleParser } from 'mailparser';

import { DiscordEmulator } from '../emulators/discord';
import { MailEmulator } from '../emulators/email';
import { GoogleChatEmulator } from '../emulators/googleChat';
import { IrcEmulator } from '../emulators/irc';
import { MatrixEmulator } from '../emulators/matrix';
import { MattermostEmulator } from '../emulators/mattermost';
import { MetaEmulator } from '../emulators/meta';
import { NextcloudTalkEmulator } from '../emulators/nextcloudTalk';
import { OpenAiEmulator } from '../emulators/openai';
import { RocketChatEmulator } from '../emulators/rocketChat';
import { SignalEmulator } from '../emulators/signal';
import { SlackEmulator } from '../emulators/slack';
import { SynologyChatEmulator } from '../emulators/synologyChat';
import { TeamsEmulator } from '../emulators/teams';
import { TelegramEmulator } from '../emulators/telegram';
import { TwilioEmulator } from '../emulators/twilio';
import { ViberEmulator } from '../emulators/viber';
import { WebexEmulator } from '../emulators/webex';
import { XmppEmulator } from '../emulators/xmpp';
import { ZulipEmulator } from '../emulators/zulip';
import { eventually, loadExampleWorkflow, N8nInstance } from './harness';

const example = loadExampleWorkflow('multi-channel-gateway.json');
type Credentials = Record<string, { id: string; name: string }>;
const credentialOf = (type: string) =>
	example.nodes.map((node) => (node.credentials as Credentials | undefined)?.[type]).find(Boolean) as { id: string; name: string };
const webhookOf = (name: string) => example.nodes.find((node) => node.name === name)!.webhookId as string;
const triggerCount = example.nodes.filter((node) => String(node.type).endsWith('Trigger')).length;

/** A person writing to the bot on one of the channels added after the first four, through its emulator. */
interface PersonOnChannel {
	/** The platform, as the DM names it: "hello from <name>". */
	name: string;
	/** The envelope's `channel`: the example's system prompt names it. */
	channel: string;
	/** Writes the bot a direct message, delivered as the platform delivers it. */
	sendDm(text: string): Promise<void> | void;
	/** What the bot has answered that person so far. */
	answers(): Promise<string[]> | string[];
}

describe(`multi-channel gateway example in a real n8n: ${triggerCount} triggers → one AI Session → Reply`, () => {
	const telegram = new TelegramEmulator();
	const discord = new DiscordEmulator();
	const slack = new SlackEmulator();
	const twilio = new TwilioEmulator();
	const whatsappCloud = new MetaEmulator('whatsapp');
	const messenger = new MetaEmulator('messenger');
	const instagram = new MetaEmulator('instagram');
	const viber = new ViberEmulator();
	const webex = new WebexEmulator();
	const teams = new TeamsEmulator();
	const googleChat = new GoogleChatEmulator();
	const matrix = new MatrixEmulator();
	const zulip = new ZulipEmulator();
	const signal = new SignalEmulator();
	const irc = new IrcEmulator({ accounts: { clawbot: 'irc-secret' } });
	const xmpp = new XmppEmulator({ accounts: { clawbot: 'xmpp-secret' } });
	const mail = new MailEmulator({ 'bot@clawgate.test': 'mail-secret' });
	const mattermost = new MattermostEmulator();
	const rocket = new RocketChatEmulator();
	const talk = new NextcloudTalkEmulator();
	const synology = new SynologyChatEmulator();
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	const emulators = [telegram, discord, slack, twilio, whatsappCloud, messenger, instagram, viber, webex, teams, googleChat, matrix, zulip, signal, irc, xmpp, mail, mattermost, rocket, talk, synology, model];
	const ircChannel = '#clawgate';
	const xmppRoom = 'team@conference.clawgate.test';
	const matrixPerson = '@ada:localhost';
	let matrixDm: string;
	let n8n: N8nInstance;
	const executions = async () => (await n8n.executions()).filter((run) => run.workflowId === example.id);

	/** Awaits a webhook delivery: n8n must take it (200). */
	const accepted = async (delivery: Promise<{ status: number } | number>) => {
		const result = await delivery;
		expect(typeof result === 'number' ? result : result.status).toBe(200);
	};
	const url = (trigger: string) => n8n.webhookUrl(webhookOf(trigger));

	const metaPerson = (name: string, emulator: MetaEmulator, trigger: string): PersonOnChannel => {
		const person = emulator.newPersonId();
		return { name, channel: emulator.product, sendDm: (text) => accepted(emulator.deliver(url(trigger), emulator.text(person, text))), answers: () => emulator.textsTo(person) };
	};

	/** One person per channel added after the first four, each with a fresh chat. */
	function peopleOnTheNewChannels(): PersonOnChannel[] {
		const viberUser = { id: viber.newUserId(), name: 'Ada' };
		const webexPerson = webex.newPerson('Ada Lovelace');
		const webexRoom = webex.directRoom(webexPerson);
		const teamsChat = 'a:1multi-channel-gateway';
		const chatSpace = googleChat.newSpace('DM');
		const talkRoom = talk.newConversation('one-to-one');
		const mattermostPerson = mattermost.person('ada');
		const mattermostDm = mattermost.dmWith(mattermostPerson);
		const rocketPerson = rocket.person('ada');
		const rocketDm = rocket.dmWith(rocketPerson);
		return [
			metaPerson('WhatsApp Cloud API', whatsappCloud, 'WhatsApp Trigger'),
			metaPerson('Messenger', messenger, 'Messenger Trigger'),
			metaPerson('Instagram', instagram, 'Instagram Trigger'),
			{ name: 'Viber', channel: 'viber', sendDm: (text) => accepted(viber.deliver(url('Viber Trigger'), viber.text(viberUser, text))), answers: () => viber.textsTo(viberUser.id) },
			{ name: 'Webex', channel: 'webex', sendDm: (text) => accepted(webex.deliver(url('Webex Trigger'), webex.post({ from: webexPerson, room: webexRoom, text }))), answers: () => webex.textsTo(webexRoom.id) },
			{ name: 'Microsoft Teams', channel: 'teams', sendDm: (text) => accepted(teams.deliver(url('Microsoft Teams Trigger'), teams.activity({ text, conversationId: teamsChat }))), answers: () => teams.textsTo(teamsChat) },
			{ name: 'Google Chat', channel: 'googlechat', sendDm: (text) => accepted(googleChat.deliver(url('Google Chat Trigger'), googleChat.message({ text, space: chatSpace }))), answers: () => googleChat.textsTo(chatSpace.name) },
			{ name: 'Matrix', channel: 'matrix', sendDm: (text) => void matrix.say(matrixDm, matrixPerson, text), answers: () => matrix.textsIn(matrixDm) },
			{ name: 'Zulip', channel: 'zulip', sendDm: (text) => void zulip.dm(zulip.people.ada, text), answers: () => zulip.textsTo(String(zulip.people.ada.user_id)) },
			{ name: 'Signal', channel: 'signal', sendDm: (text) => void signal.receive(signal.envelope(signal.people.ada, text)), answers: () => signal.textsTo(signal.people.ada.number) },
			{ name: 'IRC', channel: 'irc', sendDm: (text) => void irc.say({ from: 'ada', to: 'clawbot', text }), answers: () => irc.textsTo('ada') },
			{ name: 'XMPP', channel: 'xmpp', sendDm: (text) => void xmpp.chat({ from: 'ada@clawgate.test/phone', to: 'clawbot@clawgate.test', text }), answers: () => xmpp.bodiesTo('ada@clawgate.test') },
			{
				name: 'Email',
				channel: 'email',
				sendDm: (text) => void mail.deliver({ from: 'Ada <ada@people.test>', to: 'bot@clawgate.test', subject: 'Hello', text, messageId: '<multi-channel-1@people.test>' }),
				// The reply quotes the mail below the answer ("On … wrote:"): the answer is its first paragraph.
				answers: async () =>
					await Promise.all(mail.sent.filter((sent) => sent.to.includes('ada@people.test')).map(async (sent) => String((await simpleParser(sent.raw)).text ?? '').split('\n\n')[0])),
			},
			{ name: 'Mattermost', channel: 'mattermost', sendDm: (text) => void mattermost.say(mattermostPerson, mattermostDm, text), answers: () => mattermost.botTextsIn(mattermostDm.id) },
			{ name: 'Rocket.Chat', channel: 'rocketchat', sendDm: (text) => void rocket.say(rocketPerson, rocketDm, text), answers: () => rocket.textsIn(rocketDm._id, { byBot: true }) },
			{
				name: 'Nextcloud Talk',
				channel: 'nextcloudtalk',
				sendDm: (text) => accepted(talk.deliver(url('Nextcloud Talk Trigger'), talk.message(talkRoom, { id: 'users/ada', name: 'Ada Lovelace' }, text))),
				answers: () => talk.messagesIn(talkRoom),
			},
			{ name: 'Synology Chat', channel: 'synologychat', sendDm: (text) => accepted(synology.deliver(url('Synology Chat Trigger'), synology.botPost({ userId: 4, username: 'ada' }, text))), answers: () => synology.textsTo('4') },
		];
	}

	beforeAll(async () => {
		await Promise.all(emulators.map((emulator) => emulator.start()));
		matrixDm = matrix.createRoom({ members: [matrixPerson], direct: true });
		const credentialData: Record<string, Record<string, unknown>> = {
			clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot },
			clawgateDiscordApi: { botToken: discord.token, baseUrl: discord.apiBase },
			clawgateSlackApi: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl },
			clawgateTwilioApi: twilio.credential(),
			clawgateWhatsAppApi: whatsappCloud.credential(),
			clawgateMessengerApi: messenger.credential(),
			clawgateInstagramApi: instagram.credential(),
			clawgateViberApi: { authToken: viber.authToken, baseUrl: viber.apiUrl },
			clawgateWebexApi: { botToken: webex.token, webhookSecret: '', baseUrl: webex.apiUrl },
			clawgateTeamsApi: teams.credential(),
			clawgateGoogleChatApi: googleChat.credential(),
			clawgateMatrixApi: matrix.credential(),
			clawgateZulipApi: zulip.credential(),
			clawgateSignalApi: signal.credential(),
			// The IRC channel and the XMPP room only show when the bots are fully in: they answer DMs either way.
			clawgateIrcApi: { baseUrl: irc.url, nick: 'clawbot', saslPassword: 'irc-secret', channels: ircChannel },
			clawgateXmppApi: { jid: 'clawbot@clawgate.test', password: 'xmpp-secret', baseUrl: xmpp.url, rooms: xmppRoom },
			clawgateEmailApi: mail.credential('bot@clawgate.test'),
			clawgateMattermostApi: mattermost.credential(),
			clawgateRocketChatApi: rocket.credential(),
			clawgateNextcloudTalkApi: talk.credential(),
			clawgateSynologyChatApi: synology.credential(),
			openAiApi: { apiKey: model.apiKey, url: model.baseUrl },
		};
		const referenced = new Set(example.nodes.flatMap((node) => Object.keys((node.credentials as Credentials | undefined) ?? {})));
		const missing = [...referenced].filter((type) => !credentialData[type]);
		if (missing.length > 0) throw new Error(`The example needs credentials this test does not create: ${missing.join(', ')}`);
		n8n = await N8nInstance.start({
			credentials: [...referenced].map((type) => ({ ...credentialOf(type), type, data: credentialData[type] })),
			workflows: [example],
		});
		const webhookIds = example.nodes.map((node) => node.webhookId as string | undefined).filter((id): id is string => Boolean(id));
		const until = (check: () => boolean, what: string) => eventually(() => (check() ? true : undefined), what, 60_000);
		await Promise.all([
			telegram.waitForCall('setWebhook', undefined, 60_000),
			n8n.waitForWebhooks(webhookIds),
			until(() => webex.webhooks.some((webhook) => webhook.targetUrl === url('Webex Trigger')), 'the Webex webhook'),
			until(() => discord.openSockets > 0, 'the Discord gateway connection'),
			until(() => matrix.openPolls > 0, 'the Matrix long poll'),
			until(() => zulip.openPolls > 0, 'the Zulip long poll'),
			until(() => signal.openSockets > 0, 'the Signal WebSocket'),
			until(() => irc.membersOf(ircChannel).includes('clawbot'), 'the IRC bot in its channel'),
			until(() => Boolean(xmpp.rooms.get(xmppRoom)?.get('clawbot')), 'the XMPP bot in its room'),
			until(() => mail.commands.some((command) => command.startsWith('IDLE')) && mail.sessions.size > 0, 'the IMAP trigger idling'),
			until(() => mattermost.openSockets === 1 && rocket.openSockets === 1, 'the Mattermost and Rocket.Chat connections'),
		]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all(emulators.map((emulator) => emulator.stop()));
	});

	test('Telegram, Discord, Slack, WhatsApp and SMS are each answered on their own channel in one run', async () => {
		const twilioUrl = n8n.webhookUrl(webhookOf('Twilio Trigger'));
		await Promise.all([
			telegram.deliver(telegram.textUpdate({ text: 'hi from telegram' })),
			Promise.resolve(discord.sendDm({ content: 'hi from discord' })),
			slack.deliver(n8n.webhookUrl(webhookOf('Slack Trigger')), slack.dmMessage({ text: 'hi from slack' })),
			twilio.deliver(twilioUrl, twilio.inboundWhatsApp({ body: 'hi from whatsapp' })),
			twilio.deliver(twilioUrl, twilio.inboundSms({ body: 'hi from sms' })),
		]);

		await telegram.waitForCall('sendMessage', (body) => body.text === 'answer to: hi from telegram', 60_000);
		await eventually(() => discord.sent.find((message) => message.content === 'answer to: hi from discord'), 'the Discord DM reply', 60_000);
		await eventually(() => slack.posted.find((message) => message.text === 'answer to: hi from slack'), 'the Slack reply', 60_000);
		const whatsapp = await eventually(() => twilio.sent.find((message) => message.body === 'answer to: hi from whatsapp'), 'the WhatsApp reply', 60_000);
		const sms = await eventually(() => twilio.sent.find((message) => message.body === 'answer to: hi from sms'), 'the SMS reply', 60_000);
		expect(whatsapp.to.startsWith('whatsapp:')).toBe(true);
		expect(whatsapp.from?.startsWith('whatsapp:')).toBe(true);
		expect(sms.to.startsWith('whatsapp:')).toBe(false);
		expect(sms.from).toBe(twilio.numbers[0]);
		// Each channel has its own session: the system prompt names the channel.
		const systemPrompts = model.prompts().map((prompt) => String(prompt[0].content));
		for (const channel of ['telegram', 'discord', 'slack', 'whatsapp', 'sms']) expect(systemPrompts).toContain(`You are a friendly assistant answering on ${channel}. Answer briefly.`);
	});

	test('a DM on each of the other 17 channels (WhatsApp Cloud API to Synology Chat) is answered on that channel, all in one run', async () => {
		const people = peopleOnTheNewChannels();
		const textOf = (person: PersonOnChannel) => `hello from ${person.name}`;
		await Promise.all(people.map(async (person) => await person.sendDm(textOf(person))));

		await Promise.all(
			people.map(async (person) =>
				await eventually(async () => ((await person.answers()).includes(`answer to: ${textOf(person)}`) ? true : undefined), `the ${person.name} answer`, 60_000),
			),
		);
		for (const person of people) expect(await person.answers()).toEqual([`answer to: ${textOf(person)}`]);
		// WhatsApp through the Cloud API and through Twilio share the channel name: Reply answered through the integration that received it.
		expect(twilio.sent.some((message) => message.body.includes('WhatsApp Cloud API'))).toBe(false);
		const systemPrompts = model.prompts().map((prompt) => String(prompt[0].content));
		for (const { channel } of people) expect(systemPrompts).toContain(`You are a friendly assistant answering on ${channel}. Answer briefly.`);
	});

	test('in a Discord server the bot answers a mention but not an unmentioned message', async () => {
		discord.sendGuildMessage({ content: 'people talking among themselves' });
		discord.mentionBot('what is the time?');
		await eventually(() => discord.sent.find((message) => message.content.includes('what is the time?')), 'the reply to the mention', 60_000);
		await new Promise((resolve) => setTimeout(resolve, 1500));
		expect(discord.sent.some((message) => message.content.includes('people talking'))).toBe(false);
		expect(model.prompts().some((prompt) => String(prompt.at(-1)?.content).includes('people talking'))).toBe(false);
	});

	test('an unsigned or forged Twilio request gets 401 and starts no execution', async () => {
		const before = (await executions()).length;
		const url = n8n.webhookUrl(webhookOf('Twilio Trigger'));
		const unsigned = await twilio.deliver(url, twilio.inboundSms({ body: 'unsigned' }), { unsigned: true });
		const forged = await twilio.deliver(url, twilio.inboundSms({ body: 'forged' }), { authToken: 'f'.repeat(32) });
		expect([unsigned.status, forged.status]).toEqual([401, 401]);
		await new Promise((resolve) => setTimeout(resolve, 1000));
		expect(await executions()).toHaveLength(before);
	});

	test('a Discord DM sent while n8n is down (killed) is answered exactly once after it is back; one answered before is not answered again', async () => {
		const answersTo = (text: string) => discord.sent.filter((message) => message.content === `answer to: ${text}`);
		discord.sendDm({ content: 'before the crash' });
		await eventually(() => answersTo('before the crash')[0], 'the answer before the crash', 60_000);

		await n8n.halt('SIGKILL');
		await eventually(() => (discord.openSockets === 0 ? true : undefined), 'the killed n8n\'s gateway connection to drop', 20_000);
		discord.sendDm({ content: 'sent while n8n was down' });
		await n8n.restart();

		await eventually(() => answersTo('sent while n8n was down')[0], 'the answer to the DM sent while n8n was down', 90_000);
		// The trigger resumed the session it had saved instead of starting a new one.
		expect(discord.connections.at(-1)!.start?.op).toBe(6);
		await new Promise((resolve) => setTimeout(resolve, 3000));
		expect(answersTo('sent while n8n was down')).toHaveLength(1);
		expect(answersTo('before the crash')).toHaveLength(1);
	});

	test('deactivating the workflow closes the Discord gateway connection', async () => {
		expect(discord.openSockets).toBeGreaterThan(0);
		await n8n.api(`/rest/workflows/${example.id}/deactivate`, { method: 'POST', body: '{}' });
		await eventually(() => (discord.openSockets === 0 ? true : undefined), 'the gateway connection to close', 20_000);
	});
});
