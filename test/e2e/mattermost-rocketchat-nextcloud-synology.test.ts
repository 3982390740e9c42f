/**
 * Mattermost, Rocket.Chat, Nextcloud Talk and Synology Chat in one real n8n, each wired
 * trigger → AI Session → its send node, against their emulators and the OpenAI emulator:
 * DMs answered, group messages without a mention ignored; for the webhook channels forged
 * requests refused and redeliveries answered once; for the listener channels an n8n restart
 * that loses and repeats nothing, and deactivation that closes the connection.
 */
import { MattermostEmulator } from '../emulators/mattermost';
import { NextcloudTalkEmulator } from '../emulators/nextcloudTalk';
import { OpenAiEmulator } from '../emulators/openai';
import { RocketChatEmulator } from '../emulators/rocketChat';
import { SynologyChatEmulator } from '../emulators/synologyChat';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

jest.setTimeout(300_000);

const OPENAI = { id: 'ClawgateOpenAi01', name: 'OpenAI' };

interface Channel {
	id: string;
	/** The node name's prefix and the credential type's middle: "Mattermost". */
	name: string;
	credentialType: string;
	webhookId: string;
}

const CHANNELS: Record<'mattermost' | 'rocketChat' | 'nextcloudTalk' | 'synologyChat', Channel> = {
	mattermost: { id: 'mattermost', name: 'Mattermost', credentialType: 'clawgateMattermostApi', webhookId: '5d1c7a20-0001-4b1e-9c3d-7e8f9a0b1c01' },
	rocketChat: { id: 'rocketChat', name: 'RocketChat', credentialType: 'clawgateRocketChatApi', webhookId: '5d1c7a20-0002-4b1e-9c3d-7e8f9a0b1c02' },
	nextcloudTalk: { id: 'nextcloudTalk', name: 'NextcloudTalk', credentialType: 'clawgateNextcloudTalkApi', webhookId: '5d1c7a20-0003-4b1e-9c3d-7e8f9a0b1c03' },
	synologyChat: { id: 'synologyChat', name: 'SynologyChat', credentialType: 'clawgateSynologyChatApi', webhookId: '5d1c7a20-0004-4b1e-9c3d-7e8f9a0b1c04' },
};

const credentialOf = (channel: Channel) => ({ id: `Cg${channel.name}Cred`.slice(0, 16), name: `${channel.name} bot` });
const workflowIdOf = (channel: Channel) => `Cg${channel.name}E2E`.slice(0, 16);

/** Trigger → AI Session → Send, with every parameter at its default. */
function botWorkflow(channel: Channel): WorkflowFixture {
	const credential = { [channel.credentialType]: credentialOf(channel) };
	const [trigger, session, send] = [`${channel.name} Trigger`, 'AI Session', `${channel.name} Send`];
	return {
		id: workflowIdOf(channel),
		name: `Clawgate: ${channel.name} AI bot (e2e)`,
		nodes: [
			{ id: `${channel.webhookId.slice(0, 24)}00000001`, name: trigger, type: `n8n-nodes-clawgate.${channel.id}Trigger`, typeVersion: 1, position: [0, 0], webhookId: channel.webhookId, parameters: {}, credentials: credential },
			{ id: `${channel.webhookId.slice(0, 24)}00000002`, name: session, type: 'n8n-nodes-clawgate.aiSession', typeVersion: 1, position: [260, 0], parameters: { store: 'sqlite' }, credentials: { openAiApi: OPENAI } },
			{ id: `${channel.webhookId.slice(0, 24)}00000003`, name: send, type: `n8n-nodes-clawgate.${channel.id}Send`, typeVersion: 1, position: [520, 0], parameters: {}, credentials: credential },
		],
		connections: {
			[trigger]: { main: [[{ node: session, type: 'main', index: 0 }]] },
			[session]: { main: [[{ node: send, type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

describe('Mattermost, Rocket.Chat, Nextcloud Talk and Synology Chat in one real n8n: Trigger → AI Session → Send', () => {
	const mattermost = new MattermostEmulator();
	const rocket = new RocketChatEmulator();
	const talk = new NextcloudTalkEmulator();
	const synology = new SynologyChatEmulator();
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	let n8n: N8nInstance;

	const executionsOf = async (channel: Channel) => (await n8n.executions()).filter((run) => run.workflowId === workflowIdOf(channel));
	const settle = (ms = 2000) => new Promise((resolve) => setTimeout(resolve, ms));
	const until = <T>(check: () => T | undefined, what: string) => eventually(check, what, 60_000);

	beforeAll(async () => {
		await Promise.all([mattermost.start(), rocket.start(), talk.start(), synology.start(), model.start()]);
		const channels = Object.values(CHANNELS);
		const data: Record<string, Record<string, string>> = {
			clawgateMattermostApi: mattermost.credential(),
			clawgateRocketChatApi: rocket.credential(),
			clawgateNextcloudTalkApi: talk.credential(),
			clawgateSynologyChatApi: synology.credential(),
		};
		n8n = await N8nInstance.start({
			credentials: [
				...channels.map((channel) => ({ ...credentialOf(channel), type: channel.credentialType, data: data[channel.credentialType] })),
				{ ...OPENAI, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: channels.map(botWorkflow),
		});
		await n8n.waitForWebhooks([CHANNELS.nextcloudTalk.webhookId, CHANNELS.synologyChat.webhookId]);
		await until(() => (mattermost.openSockets === 1 && rocket.openSockets === 1 ? true : undefined), 'the Mattermost and Rocket.Chat listeners to connect');
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([mattermost.stop(), rocket.stop(), talk.stop(), synology.stop(), model.stop()]);
	});

	describe('Synology Chat (webhook)', () => {
		const url = () => n8n.webhookUrl(CHANNELS.synologyChat.webhookId);

		test('a DM to the chatbot is answered through the chatbot', async () => {
			expect(await synology.deliver(url(), synology.botPost({ userId: 4, username: 'ada' }, 'hello from the NAS'))).toBe(200);
			await until(() => (synology.textsTo('4').includes('answer to: hello from the NAS') ? true : undefined), 'the answer in Synology Chat');
		});

		test('a forged or unsigned post is refused 401 and starts no execution', async () => {
			const before = (await executionsOf(CHANNELS.synologyChat)).length;
			const post = synology.botPost({ userId: 5, username: 'eve' }, 'forged');
			expect(await synology.deliver(url(), post, { token: 'not-the-bot-token' })).toBe(401);
			expect(await synology.deliver(url(), post, { unsigned: true })).toBe(401);
			await settle();
			expect(await executionsOf(CHANNELS.synologyChat)).toHaveLength(before);
			expect(synology.textsTo('5')).toEqual([]);
		});

		test('the same post delivered twice is answered once', async () => {
			const before = (await executionsOf(CHANNELS.synologyChat)).length;
			const post = synology.botPost({ userId: 6, username: 'grace' }, 'deliver me twice');
			expect(await synology.deliver(url(), post)).toBe(200);
			expect(await synology.deliver(url(), post)).toBe(200);
			await until(() => (synology.textsTo('6').length > 0 ? true : undefined), 'the answer');
			await settle();
			expect(synology.textsTo('6')).toEqual(['answer to: deliver me twice']);
			expect(await executionsOf(CHANNELS.synologyChat)).toHaveLength(before + 1);
		});

		test('a channel message without the trigger word starts nothing', async () => {
			const before = (await executionsOf(CHANNELS.synologyChat)).length;
			expect(await synology.deliver(url(), synology.channelPost({ userId: 4, username: 'ada' }, 'just chatting', { channelId: synology.incomingChannelId }))).toBe(200);
			await settle();
			expect(await executionsOf(CHANNELS.synologyChat)).toHaveLength(before);
		});
	});

	describe('Nextcloud Talk (webhook)', () => {
		const url = () => n8n.webhookUrl(CHANNELS.nextcloudTalk.webhookId);
		const ada = { id: 'users/ada', name: 'Ada Lovelace' };

		test('a message in a one-to-one conversation is answered there through the bot API', async () => {
			const room = talk.newConversation('one-to-one');
			expect(await talk.deliver(url(), talk.message(room, ada, 'hello Talk'))).toBe(200);
			await until(() => (talk.messagesIn(room).includes('answer to: hello Talk') ? true : undefined), 'the answer in Talk');
		});

		test('a forged or unsigned request is refused 401 and starts no execution', async () => {
			const room = talk.newConversation('one-to-one');
			const before = (await executionsOf(CHANNELS.nextcloudTalk)).length;
			expect(await talk.deliver(url(), talk.message(room, ada, 'forged'), { secret: 'not-the-bot-secret-not-the-bot-secret-0000' })).toBe(401);
			expect(await talk.deliver(url(), talk.message(room, ada, 'unsigned'), { unsigned: true })).toBe(401);
			await settle();
			expect(await executionsOf(CHANNELS.nextcloudTalk)).toHaveLength(before);
			expect(talk.messagesIn(room)).toEqual([]);
		});

		test('the same message delivered twice is answered once', async () => {
			const room = talk.newConversation('one-to-one');
			const before = (await executionsOf(CHANNELS.nextcloudTalk)).length;
			const activity = talk.message(room, ada, 'deliver me twice');
			expect(await talk.deliver(url(), activity)).toBe(200);
			expect(await talk.deliver(url(), activity)).toBe(200);
			await until(() => (talk.messagesIn(room).length > 0 ? true : undefined), 'the answer');
			await settle();
			expect(talk.messagesIn(room)).toEqual(['answer to: deliver me twice']);
			expect(await executionsOf(CHANNELS.nextcloudTalk)).toHaveLength(before + 1);
		});

		test('a group message without a mention starts nothing; a mention is answered, quoting it', async () => {
			const room = talk.newConversation('group');
			const before = (await executionsOf(CHANNELS.nextcloudTalk)).length;
			expect(await talk.deliver(url(), talk.message(room, ada, 'just chatting'))).toBe(200);
			await settle();
			expect(await executionsOf(CHANNELS.nextcloudTalk)).toHaveLength(before);
			const mention = talk.message(room, ada, 'what time is it?', { mentionBot: true });
			await talk.deliver(url(), mention);
			await until(() => (talk.messagesIn(room).includes('answer to: what time is it?') ? true : undefined), 'the answer in the group');
			expect(talk.posted.at(-1)?.replyTo).toBe(Number((mention.object as { id: string }).id));
		});
	});

	describe('Mattermost (WebSocket listener)', () => {
		const ada = mattermost.person('ada');

		test('a DM is answered in the DM channel', async () => {
			const dm = mattermost.dmWith(ada);
			mattermost.say(ada, dm, 'hello Mattermost');
			await until(() => (mattermost.botTextsIn(dm.id).includes('answer to: hello Mattermost') ? true : undefined), 'the answer in Mattermost');
		});

		test('a channel message without a mention starts nothing; a mention is answered in its thread', async () => {
			const town = mattermost.openChannel('Town Square');
			const before = (await executionsOf(CHANNELS.mattermost)).length;
			mattermost.say(ada, town, 'just chatting');
			await settle();
			expect(await executionsOf(CHANNELS.mattermost)).toHaveLength(before);
			const mention = mattermost.say(ada, town, '@clawgate what time is it?');
			await until(() => (mattermost.botTextsIn(town.id).includes('answer to: what time is it?') ? true : undefined), 'the answer in the channel');
			expect(mattermost.postsIn(town.id, { byBot: true }).at(-1)?.root_id).toBe(mention.id);
		});
	});

	describe('Rocket.Chat (realtime listener)', () => {
		const ada = rocket.person('ada');

		test('a DM is answered in the direct room', async () => {
			const dm = rocket.dmWith(ada);
			rocket.say(ada, dm, 'hello Rocket.Chat');
			await until(() => (rocket.textsIn(dm._id, { byBot: true }).includes('answer to: hello Rocket.Chat') ? true : undefined), 'the answer in Rocket.Chat');
		});

		test('a room message without a mention starts nothing; a mention is answered in its thread', async () => {
			const general = rocket.channel('general');
			const before = (await executionsOf(CHANNELS.rocketChat)).length;
			rocket.say(ada, general, 'just chatting');
			await settle();
			expect(await executionsOf(CHANNELS.rocketChat)).toHaveLength(before);
			const mention = rocket.say(ada, general, '@clawgate what time is it?');
			await until(() => (rocket.textsIn(general._id, { byBot: true }).includes('answer to: what time is it?') ? true : undefined), 'the answer in the room');
			expect(rocket.messages.filter((message) => message.u._id === rocket.bot._id).at(-1)?.tmid).toBe(mention._id);
		});
	});

	describe('listeners across an n8n restart and deactivation', () => {
		test('messages posted while n8n is down are answered once after the restart; nothing answered before is answered again', async () => {
			const [mmAda, rcAda] = [mattermost.person('ada.restart'), rocket.person('ada.restart')];
			const [mmDm, rcDm] = [mattermost.dmWith(mmAda), rocket.dmWith(rcAda)];
			mattermost.say(mmAda, mmDm, 'before the restart');
			rocket.say(rcAda, rcDm, 'before the restart');
			await until(() => (mattermost.botTextsIn(mmDm.id).length === 1 && rocket.textsIn(rcDm._id, { byBot: true }).length === 1 ? true : undefined), 'the answers before the restart');

			await n8n.halt();
			expect([mattermost.openSockets, rocket.openSockets]).toEqual([0, 0]);
			mattermost.say(mmAda, mmDm, 'while n8n was down');
			rocket.say(rcAda, rcDm, 'while n8n was down');
			await n8n.restart();
			await until(() => (mattermost.openSockets === 1 && rocket.openSockets === 1 ? true : undefined), 'the listeners to connect again');

			mattermost.say(mmAda, mmDm, 'after the restart');
			rocket.say(rcAda, rcDm, 'after the restart');
			const expected = ['answer to: before the restart', 'answer to: while n8n was down', 'answer to: after the restart'];
			await until(() => (mattermost.botTextsIn(mmDm.id).length >= 3 && rocket.textsIn(rcDm._id, { byBot: true }).length >= 3 ? true : undefined), 'the answers after the restart');
			await settle(3000);
			expect(mattermost.botTextsIn(mmDm.id)).toEqual(expected);
			expect(rocket.textsIn(rcDm._id, { byBot: true })).toEqual(expected);
		});

		test('deactivating the workflows closes the Mattermost and Rocket.Chat connections', async () => {
			await n8n.api(`/rest/workflows/${workflowIdOf(CHANNELS.mattermost)}/deactivate`, { method: 'POST', body: '{}' });
			await n8n.api(`/rest/workflows/${workflowIdOf(CHANNELS.rocketChat)}/deactivate`, { method: 'POST', body: '{}' });
			await until(() => (mattermost.openSockets === 0 && rocket.openSockets === 0 ? true : undefined), 'the connections to close');
			const late = mattermost.person('late');
			const dm = mattermost.dmWith(late);
			mattermost.say(late, dm, 'anyone there?');
			await settle();
			expect(mattermost.botTextsIn(dm.id)).toEqual([]);
		});
	});
});
