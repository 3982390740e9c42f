/**
 * The workflow the live-reply e2e tests (typing, Stream Preview) run: a Telegram Trigger (webhook)
 * and a Discord Trigger (gateway) → AI Session with both platform credentials → Reply.
 */
import type { DiscordEmulator } from '../emulators/discord';
import type { OpenAiEmulator } from '../emulators/openai';
import type { TelegramEmulator } from '../emulators/telegram';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

export interface LiveRepliesWorkflowOptions {
	/** Four characters or so that make the workflow's, nodes' and credentials' IDs this test's own. */
	prefix: string;
	/** Who the credentials are named after ("Typing Telegram bot"). */
	label: string;
	name: string;
	webhookId: string;
	telegramParameters?: Record<string, unknown>;
	aiSessionParameters: Record<string, unknown>;
}

export function liveRepliesWorkflow({ prefix, label, name, webhookId, telegramParameters = {}, aiSessionParameters }: LiveRepliesWorkflowOptions) {
	const telegramCredential = { id: `Clawgate${prefix}Tg001`, name: `${label} Telegram bot` };
	const discordCredential = { id: `Clawgate${prefix}Dc001`, name: `${label} Discord bot` };
	const openAiCredential = { id: `Clawgate${prefix}Ai001`, name: `${label} OpenAI` };
	const node = (nodeName: string, type: string, position: [number, number], extra: Record<string, unknown>) => ({
		id: `${label.toLowerCase()}-${nodeName.toLowerCase().replace(/ /g, '-')}`,
		name: nodeName,
		type: `n8n-nodes-clawgate.${type}`,
		position,
		...extra,
	});
	const workflow: WorkflowFixture = {
		id: `Clawgate${label}01`.slice(0, 16),
		name,
		active: false,
		nodes: [
			node('Telegram Trigger', 'telegramTrigger', [0, 0], { typeVersion: 2, webhookId, parameters: { mode: 'webhook', ...telegramParameters }, credentials: { clawgateTelegramApi: telegramCredential } }),
			node('Discord Trigger', 'discordTrigger', [0, 200], { typeVersion: 2, parameters: {}, credentials: { clawgateDiscordApi: discordCredential } }),
			node('AI Session', 'aiSession', [260, 100], {
				typeVersion: 2,
				parameters: aiSessionParameters,
				credentials: { openAiApi: openAiCredential, clawgateTelegramApi: telegramCredential, clawgateDiscordApi: discordCredential },
			}),
			node('Reply', 'reply', [520, 100], { typeVersion: 1, parameters: {}, credentials: { clawgateTelegramApi: telegramCredential, clawgateDiscordApi: discordCredential } }),
		],
		connections: {
			'Telegram Trigger': { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'Discord Trigger': { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: 'Reply', type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
	return { workflow, telegramCredential, discordCredential, openAiCredential };
}

/** Starts n8n with the workflow and its credentials pointing at the emulators; resolves once both triggers listen. */
export async function startLiveRepliesN8n(
	{ workflow, telegramCredential, discordCredential, openAiCredential }: ReturnType<typeof liveRepliesWorkflow>,
	{ telegram, discord, model }: { telegram: TelegramEmulator; discord: DiscordEmulator; model: OpenAiEmulator },
	env?: Record<string, string>,
): Promise<N8nInstance> {
	const n8n = await N8nInstance.start({
		credentials: [
			{ ...telegramCredential, type: 'clawgateTelegramApi', data: { accessToken: telegram.token, baseUrl: telegram.apiRoot } },
			{ ...discordCredential, type: 'clawgateDiscordApi', data: { botToken: discord.token, baseUrl: discord.apiBase } },
			{ ...openAiCredential, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
		],
		workflows: [workflow],
		...(env ? { env } : {}),
	});
	await Promise.all([
		telegram.waitForCall('setWebhook', undefined, 60_000),
		eventually(() => (discord.openSockets > 0 ? true : undefined), 'the Discord gateway connection', 60_000),
	]);
	return n8n;
}
