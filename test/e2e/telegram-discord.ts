/**
 * A real n8n for workflows that take Telegram (webhook) and Discord (gateway) messages to AI Session
 * and the model: the emulators' credentials imported, the workflow published, both triggers ready.
 */
import type { DiscordEmulator } from '../emulators/discord';
import type { OpenAiEmulator } from '../emulators/openai';
import type { TelegramEmulator } from '../emulators/telegram';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

type CredentialName = { id: string; name: string };

export interface TelegramDiscordSetup {
	telegram: TelegramEmulator;
	discord: DiscordEmulator;
	model: OpenAiEmulator;
	/** The ids and names the workflow's nodes name the credentials by. */
	credentials: { telegram: CredentialName; discord: CredentialName; openAi: CredentialName };
	workflow: WorkflowFixture;
}

/** Starts n8n (debug log, so tests can check what it writes) and waits for the Telegram webhook and the Discord gateway connection. */
export async function startTelegramDiscordN8n({ telegram, discord, model, credentials, workflow }: TelegramDiscordSetup): Promise<N8nInstance> {
	const n8n = await N8nInstance.start({
		credentials: [
			{ ...credentials.telegram, type: 'clawgateTelegramApi', data: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
			{ ...credentials.discord, type: 'clawgateDiscordApi', data: { botToken: discord.token, baseUrl: discord.apiBase } },
			{ ...credentials.openAi, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
		],
		workflows: [workflow],
		env: { N8N_LOG_LEVEL: 'debug' },
	});
	await Promise.all([
		telegram.waitForCall('setWebhook', undefined, 60_000),
		eventually(() => (discord.openSockets > 0 ? true : undefined), 'the Discord gateway connection', 60_000),
	]);
	return n8n;
}
