/**
 * Microsoft Teams and Google Chat in one real n8n (the packed tarball installed the community
 * way): Trigger → AI Session → Send for each, through the Teams and Google Chat emulators and the
 * OpenAI emulator. Each emulator signs its deliveries with its own key, as the platforms do.
 */
import { generateKeyPairSync } from 'node:crypto';

import { GoogleChatEmulator } from '../emulators/googleChat';
import { OpenAiEmulator } from '../emulators/openai';
import { TeamsEmulator } from '../emulators/teams';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

const OPENAI = { id: 'ClawgateOpenAi01', name: 'OpenAI' };

function aiBot(channel: { id: string; name: string; node: string; credentialType: string; credential: { id: string; name: string }; webhookId: string; prefix: string }): WorkflowFixture {
	const node = (suffix: string) => `${channel.prefix}-000${suffix}-4f60-8a1e-2d3c4b5a6f71`;
	return {
		id: channel.id,
		name: `Clawgate: ${channel.name} AI bot (e2e)`,
		nodes: [
			{ id: node('1'), name: 'Trigger', type: `n8n-nodes-clawgate.${channel.node}Trigger`, typeVersion: 1, position: [0, 0], webhookId: channel.webhookId, parameters: {}, credentials: { [channel.credentialType]: channel.credential } },
			{ id: node('2'), name: 'AI Session', type: 'n8n-nodes-clawgate.aiSession', typeVersion: 1, position: [260, 0], parameters: { store: 'sqlite' }, credentials: { openAiApi: OPENAI } },
			{ id: node('3'), name: 'Send', type: `n8n-nodes-clawgate.${channel.node}Send`, typeVersion: 1, position: [520, 0], parameters: {}, credentials: { [channel.credentialType]: channel.credential } },
		],
		connections: {
			Trigger: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: 'Send', type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

const TEAMS = { id: 'ClawgateTeamsE2E', name: 'Teams', node: 'teams', credentialType: 'clawgateTeamsApi', credential: { id: 'ClawgateTeamsCr01', name: 'Teams bot' }, webhookId: '5a1b2c3d-1111-4f60-8a1e-2d3c4b5a6f71', prefix: '5a1b2c3d' };
const GCHAT = { id: 'ClawgateGChatE2E', name: 'Google Chat', node: 'googleChat', credentialType: 'clawgateGoogleChatApi', credential: { id: 'ClawgateGChatCr01', name: 'Chat app' }, webhookId: '6b2c3d4e-2222-4f60-8a1e-2d3c4b5a6f71', prefix: '6b2c3d4e' };

describe('Teams and Google Chat in a real n8n: Trigger → AI Session → Send', () => {
	const teams = new TeamsEmulator();
	const chat = new GoogleChatEmulator();
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
	let n8n: N8nInstance;
	let teamsUrl: string;
	let chatUrl: string;

	const executionsOf = async (workflowId: string) => (await n8n.executions()).filter((run) => run.workflowId === workflowId);
	const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

	beforeAll(async () => {
		await Promise.all([teams.start(), chat.start(), model.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...TEAMS.credential, type: TEAMS.credentialType, data: teams.credential() },
				{ ...GCHAT.credential, type: GCHAT.credentialType, data: chat.credential() },
				{ ...OPENAI, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [aiBot(TEAMS), aiBot(GCHAT)],
		});
		teamsUrl = n8n.webhookUrl(TEAMS.webhookId);
		chatUrl = n8n.webhookUrl(GCHAT.webhookId);
		await n8n.waitForWebhooks([TEAMS.webhookId, GCHAT.webhookId]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([teams.stop(), chat.stop(), model.stop()]);
	});

	describe('Microsoft Teams', () => {
		test('a personal chat gets an AI answer posted to its conversation through the serviceUrl, with a bot token', async () => {
			const activity = teams.activity({ text: 'hello from Teams' });
			const conversationId = String((activity.conversation as { id: string }).id);
			expect((await teams.deliver(teamsUrl, activity)).status).toBe(200);
			await eventually(() => (teams.textsTo(conversationId).includes('answer to: hello from Teams') ? true : undefined), 'the answer in Teams', 30_000);
			expect(teams.calls('/oauth2/v2.0/token').length).toBeGreaterThanOrEqual(1);
		});

		test('a forged (another key, wrong audience, wrong issuer) or unsigned activity is refused 401 and starts no execution', async () => {
			const before = (await executionsOf(TEAMS.id)).length;
			const activity = teams.activity({ text: 'forged' });
			const statuses = [
				(await teams.deliver(teamsUrl, activity, { privateKey: forger, kid: teams.kid })).status,
				(await teams.deliver(teamsUrl, activity, { aud: 'someone-elses-app' })).status,
				(await teams.deliver(teamsUrl, activity, { iss: 'https://sts.windows.net/attacker/' })).status,
				(await teams.deliver(teamsUrl, activity, { unsigned: true })).status,
			];
			expect(statuses).toEqual([401, 401, 401, 401]);
			await settle();
			expect(await executionsOf(TEAMS.id)).toHaveLength(before);
			expect(teams.textsTo(String((activity.conversation as { id: string }).id))).toEqual([]);
		});

		test('a redelivered activity is answered once', async () => {
			const activity = teams.activity({ text: 'deliver me twice' });
			const conversationId = String((activity.conversation as { id: string }).id);
			const before = (await executionsOf(TEAMS.id)).length;
			expect((await teams.deliver(teamsUrl, activity)).status).toBe(200);
			expect((await teams.deliver(teamsUrl, activity)).status).toBe(200);
			await eventually(() => (teams.textsTo(conversationId).length > 0 ? true : undefined), 'the answer', 30_000);
			await settle();
			expect(teams.textsTo(conversationId)).toEqual(['answer to: deliver me twice']);
			expect(await executionsOf(TEAMS.id)).toHaveLength(before + 1);
		});

		test('a group chat message without a mention starts nothing; a mention is answered in the group, without the <at> text', async () => {
			const conversationId = '19:e2egroup@thread.v2';
			const before = (await executionsOf(TEAMS.id)).length;
			expect((await teams.deliver(teamsUrl, teams.activity({ text: 'just chatting', conversationType: 'groupChat', conversationId }))).status).toBe(200);
			await settle();
			expect(await executionsOf(TEAMS.id)).toHaveLength(before);

			await teams.deliver(teamsUrl, teams.activity({ text: 'what time is it?', conversationType: 'groupChat', conversationId, mentionBot: true }));
			await eventually(() => (teams.textsTo(conversationId).includes('answer to: what time is it?') ? true : undefined), 'the answer in the group', 30_000);
		});
	});

	describe('Google Chat', () => {
		test('a DM gets an AI answer through the Chat API, with a service account token', async () => {
			const space = chat.newSpace('DM');
			expect((await chat.deliver(chatUrl, chat.message({ text: 'hello from Google Chat', space }))).status).toBe(200);
			await eventually(() => (chat.textsTo(space.name).includes('answer to: hello from Google Chat') ? true : undefined), 'the answer in Google Chat', 30_000);
		});

		test('a forged (another key, wrong audience, wrong issuer) or unsigned event is refused 401 and starts no execution', async () => {
			const before = (await executionsOf(GCHAT.id)).length;
			const space = chat.newSpace('DM');
			const event = chat.message({ text: 'forged', space });
			const statuses = [
				(await chat.deliver(chatUrl, event, { privateKey: forger, kid: chat.kid })).status,
				(await chat.deliver(chatUrl, event, { aud: '999999999999' })).status,
				(await chat.deliver(chatUrl, event, { iss: 'attacker@evil.iam.gserviceaccount.com' })).status,
				(await chat.deliver(chatUrl, event, { unsigned: true })).status,
			];
			expect(statuses).toEqual([401, 401, 401, 401]);
			await settle();
			expect(await executionsOf(GCHAT.id)).toHaveLength(before);
			expect(chat.textsTo(space.name)).toEqual([]);
		});

		test('a redelivered event is answered once', async () => {
			const space = chat.newSpace('DM');
			const event = chat.message({ text: 'deliver me twice', space });
			const before = (await executionsOf(GCHAT.id)).length;
			expect((await chat.deliver(chatUrl, event)).status).toBe(200);
			expect((await chat.deliver(chatUrl, event)).status).toBe(200);
			await eventually(() => (chat.textsTo(space.name).length > 0 ? true : undefined), 'the answer', 30_000);
			await settle();
			expect(chat.textsTo(space.name)).toEqual(['answer to: deliver me twice']);
			expect(await executionsOf(GCHAT.id)).toHaveLength(before + 1);
		});

		test('a space message without a mention and ADDED_TO_SPACE start nothing; a mention is answered in its thread', async () => {
			const space = chat.newSpace('ROOM');
			const before = (await executionsOf(GCHAT.id)).length;
			expect((await chat.deliver(chatUrl, chat.message({ text: 'just chatting', space }))).status).toBe(200);
			expect((await chat.deliver(chatUrl, chat.spaceEvent('ADDED_TO_SPACE'))).status).toBe(200);
			await settle();
			expect(await executionsOf(GCHAT.id)).toHaveLength(before);

			const mention = chat.message({ text: 'what time is it?', space, mentionBot: true });
			await chat.deliver(chatUrl, mention);
			await eventually(() => (chat.textsTo(space.name).includes('answer to: what time is it?') ? true : undefined), 'the answer in the space', 30_000);
			const thread = String(((mention.message as Record<string, unknown>).thread as { name: string }).name);
			expect(chat.posted.find((message) => message.space === space.name)).toMatchObject({ thread, messageReplyOption: 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD' });
		});
	});
});
