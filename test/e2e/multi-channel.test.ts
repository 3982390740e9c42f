import { DiscordEmulator } from '../emulators/discord';
import { OpenAiEmulator } from '../emulators/openai';
import { SlackEmulator } from '../emulators/slack';
import { TelegramEmulator } from '../emulators/telegram';
import { TwilioEmulator } from '../emulators/twilio';
import { eventually, loadExampleWorkflow, N8nInstance } from './harness';

const example = loadExampleWorkflow('multi-channel-gateway.json');
type Credentials = Record<string, { id: string; name: string }>;
const credentialOf = (type: string) =>
	example.nodes.map((node) => (node.credentials as Credentials | undefined)?.[type]).find(Boolean) as { id: string; name: string };
const webhookOf = (name: string) => example.nodes.find((node) => node.name === name)!.webhookId as string;

describe('multi-channel gateway example in a real n8n: four triggers → one AI Session → Reply', () => {
	const telegram = new TelegramEmulator();
	const discord = new DiscordEmulator();
	const slack = new SlackEmulator();
	const twilio = new TwilioEmulator();
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	let n8n: N8nInstance;
	const executions = async () => (await n8n.executions()).filter((run) => run.workflowId === example.id);

	beforeAll(async () => {
		await Promise.all([telegram.start(), discord.start(), slack.start(), twilio.start(), model.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...credentialOf('clawgateTelegramApi'), type: 'clawgateTelegramApi', data: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
				{ ...credentialOf('clawgateDiscordApi'), type: 'clawgateDiscordApi', data: { botToken: discord.token, baseUrl: discord.apiBase } },
				{ ...credentialOf('clawgateSlackApi'), type: 'clawgateSlackApi', data: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl } },
				{ ...credentialOf('clawgateTwilioApi'), type: 'clawgateTwilioApi', data: twilio.credential() },
				{ ...credentialOf('openAiApi'), type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [example],
		});
		await telegram.waitForCall('setWebhook', undefined, 60_000);
		await n8n.waitForWebhooks([webhookOf('Slack Trigger'), webhookOf('Twilio Trigger')]);
		await eventually(() => (discord.openSockets > 0 ? true : undefined), 'the Discord gateway connection', 60_000);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([telegram.stop(), discord.stop(), slack.stop(), twilio.stop(), model.stop()]);
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

	test('deactivating the workflow closes the Discord gateway connection', async () => {
		expect(discord.openSockets).toBeGreaterThan(0);
		await n8n.api(`/rest/workflows/${example.id}/deactivate`, { method: 'POST', body: '{}' });
		await eventually(() => (discord.openSockets === 0 ? true : undefined), 'the gateway connection to close', 20_000);
	});
});
