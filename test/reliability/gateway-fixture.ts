/**
 * The multi-channel gateway example (Telegram webhook, Discord, Slack, Twilio → AI Session → Reply)
 * running in one real n8n against the emulators, with long random secrets everywhere, for the
 * reliability tests that hit its webhooks. One instance per test file: a start costs 30–60 s.
 */
import { randomBytes } from 'node:crypto';

import { eventually, keepOnlyTriggers, loadExampleWorkflow, N8nInstance } from '../e2e/harness';
import { DiscordEmulator } from '../emulators/discord';
import { OpenAiEmulator } from '../emulators/openai';
import { SlackEmulator } from '../emulators/slack';
import { TelegramEmulator } from '../emulators/telegram';
import { TwilioEmulator } from '../emulators/twilio';
import { allExecutions } from './n8n-checks';

/**
 * n8n settings for reliability runs: n8n's defaults (the isolated-vm expression engine included,
 * as users run it), except that the MCP registry module is off: it fetches a list from the
 * internet (unreachable here) and logs the failure with a stack trace, which would hide ours.
 */
export const RELIABILITY_N8N_ENV = { N8N_DISABLED_MODULES: 'mcp-registry' };

// The example holds a trigger for every channel; these tests drive only these four, so the others
// (and the emulators and credentials they would need to activate) are left out.
export const gatewayExample = keepOnlyTriggers(loadExampleWorkflow('multi-channel-gateway.json'), [
	'n8n-nodes-clawgate.telegramTrigger',
	'n8n-nodes-clawgate.discordTrigger',
	'n8n-nodes-clawgate.slackTrigger',
	'n8n-nodes-clawgate.twilioTrigger',
]);

type Credentials = Record<string, { id: string; name: string }>;
const credentialOf = (type: string) =>
	gatewayExample.nodes.map((node) => (node.credentials as Credentials | undefined)?.[type]).find(Boolean) as { id: string; name: string };
const webhookOf = (name: string) => gatewayExample.nodes.find((node) => node.name === name)!.webhookId as string;

/** The model answers every message with its own text, so a reply names the message it answers. */
export const answerTo = (text: string) => `answer to: ${text}`;

export class GatewayFixture {
	readonly telegram = new TelegramEmulator();
	readonly discord = new DiscordEmulator();
	readonly slack = new SlackEmulator({ signingSecret: randomBytes(32).toString('hex') });
	readonly twilio = new TwilioEmulator();
	readonly model = new OpenAiEmulator({ responder: (request) => answerTo(String(request.messages.at(-1)?.content)) });
	n8n!: N8nInstance;

	async start(): Promise<void> {
		const { telegram, discord, slack, twilio, model } = this;
		await Promise.all([telegram.start(), discord.start(), slack.start(), twilio.start(), model.start()]);
		this.n8n = await N8nInstance.start({
			credentials: [
				{ ...credentialOf('clawgateTelegramApi'), type: 'clawgateTelegramApi', data: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
				{ ...credentialOf('clawgateDiscordApi'), type: 'clawgateDiscordApi', data: { botToken: discord.token, baseUrl: discord.apiBase } },
				{ ...credentialOf('clawgateSlackApi'), type: 'clawgateSlackApi', data: { botToken: slack.token, signingSecret: slack.signingSecret, baseUrl: slack.apiUrl } },
				{ ...credentialOf('clawgateTwilioApi'), type: 'clawgateTwilioApi', data: twilio.credential() },
				{ ...credentialOf('openAiApi'), type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [gatewayExample],
			env: RELIABILITY_N8N_ENV,
		});
		await telegram.waitForCall('setWebhook', undefined, 60_000);
		await this.n8n.waitForWebhooks([webhookOf('Telegram Trigger'), webhookOf('Slack Trigger'), webhookOf('Twilio Trigger')]);
		await eventually(() => (discord.openSockets > 0 ? true : undefined), 'the Discord gateway connection', 60_000);
	}

	async stop(): Promise<void> {
		await this.n8n?.stop();
		await Promise.all([this.telegram.stop(), this.discord.stop(), this.slack.stop(), this.twilio.stop(), this.model.stop()]);
	}

	get urls(): { telegram: string; slack: string; twilio: string } {
		return {
			telegram: this.n8n.webhookUrl(webhookOf('Telegram Trigger')),
			slack: this.n8n.webhookUrl(webhookOf('Slack Trigger')),
			twilio: this.n8n.webhookUrl(webhookOf('Twilio Trigger')),
		};
	}

	/** The secret token n8n gave Telegram with setWebhook (derived from the bot token). */
	get telegramSecret(): string {
		const secret = this.telegram.webhook?.secretToken;
		if (!secret) throw new Error('The Telegram trigger registered no webhook secret.');
		return secret;
	}

	/** Every secret the workflow holds, by name, for findSecretLeaks. */
	secrets(): Record<string, string> {
		return {
			'Telegram bot token': this.telegram.token,
			'Telegram webhook secret token': this.telegramSecret,
			'Slack signing secret': this.slack.signingSecret,
			'Slack bot token': this.slack.token,
			'Twilio auth token': this.twilio.authToken,
			'Discord bot token': this.discord.token,
			'OpenAI API key': this.model.apiKey,
		};
	}

	/** Executions of the gateway workflow n8n saved so far. */
	async executions(): Promise<number> {
		return (await allExecutions(this.n8n)).filter((run) => run.workflowId === gatewayExample.id).length;
	}

	/** Messages the bot sent on any channel (what a person would read). */
	repliesSent(): { telegram: string[]; slack: string[]; twilio: string[]; discord: string[] } {
		return {
			telegram: this.telegram.sentTexts(),
			slack: this.slack.posted.map((message) => message.text),
			twilio: this.twilio.sent.map((message) => message.body),
			discord: this.discord.sent.map((message) => message.content),
		};
	}
}

/** Runs `tasks` with at most `limit` in flight; resolves with their results in order. */
export async function withConcurrency<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
	const results: T[] = new Array(tasks.length);
	let next = 0;
	const worker = async () => {
		while (next < tasks.length) {
			const index = next++;
			results[index] = await tasks[index]();
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
	return results;
}

