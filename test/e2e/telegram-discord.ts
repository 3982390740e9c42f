/**
 * A real n8n for workflows that take Telegram (webhook) and Discord (gateway) messages to AI Session
 * and the model: the emulators' credentials imported, the workflow published, both triggers ready.
 */
import type { DiscordEmulator } from '../emulators/discord';
import type { OpenAiEmulator } from '../emulators/openai';
import type { TelegramEmulator } from '../emulators/telegram';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

type CredentialName = { id: string; name: string };

export interface TelegramDiscordWorkflow {
	id: string;
	name: string;
	/** The Telegram Trigger's webhook ID (a UUID of the test's own). */
	webhookId: string;
	credentials: TelegramDiscordSetup['credentials'];
	/** Parameters of the Telegram Trigger besides `mode: webhook`, and of AI Session. */
	telegramTrigger?: Record<string, unknown>;
	aiSession: Record<string, unknown>;
}

/** Telegram Trigger (webhook) and Discord Trigger → AI Session (the platforms' credentials set) → Reply. */
export function telegramDiscordWorkflow({ id, name, webhookId, credentials, telegramTrigger = {}, aiSession }: TelegramDiscordWorkflow): WorkflowFixture {
	const node = (nodeName: string, type: string, position: [number, number], extra: Record<string, unknown>) => ({
		id: `${id}-${nodeName.toLowerCase().replace(/ /g, '-')}`,
		name: nodeName,
		type: `n8n-nodes-clawgate.${type}`,
		position,
		...extra,
	});
	const channels = { clawgateTelegramApi: credentials.telegram, clawgateDiscordApi: credentials.discord };
	return {
		id,
		name,
		active: false,
		nodes: [
			node('Telegram Trigger', 'telegramTrigger', [0, 0], { typeVersion: 2, webhookId, parameters: { mode: 'webhook', ...telegramTrigger }, credentials: { clawgateTelegramApi: credentials.telegram } }),
			node('Discord Trigger', 'discordTrigger', [0, 200], { typeVersion: 2, parameters: {}, credentials: { clawgateDiscordApi: credentials.discord } }),
			node('AI Session', 'aiSession', [260, 100], { typeVersion: 2, parameters: aiSession, credentials: { openAiApi: credentials.openAi, ...channels } }),
			node('Reply', 'reply', [520, 100], { typeVersion: 1, parameters: {}, credentials: channels }),
		],
		connections: {
			'Telegram Trigger': { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'Discord Trigger': { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: 'Reply', type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

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
