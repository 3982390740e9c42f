import { OpenAiEmulator } from '../emulators/openai';
import { ViberEmulator } from '../emulators/viber';
import { WebexEmulator } from '../emulators/webex';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

const OPENAI = { id: 'ClawgateOpenAi01', name: 'OpenAI' };

/** Trigger → AI Session → send, the wiring a user makes on the canvas, with one trigger option. */
function chatWorkflow(id: string, channel: 'viber' | 'webex', webhookId: string, credential: { id: string; name: string }, triggerOptions: Record<string, unknown> = {}): WorkflowFixture {
	const credentials = { [channel === 'viber' ? 'clawgateViberApi' : 'clawgateWebexApi']: credential };
	const node = (suffix: string) => `${webhookId.slice(0, 9)}${suffix}${webhookId.slice(13)}`;
	return {
		id,
		name: `Clawgate: ${channel} AI bot (e2e)`,
		nodes: [
			{ id: node('0001'), name: 'Trigger', type: `n8n-nodes-clawgate.${channel}Trigger`, typeVersion: 1, position: [0, 0], webhookId, parameters: { options: triggerOptions }, credentials },
			{ id: node('0002'), name: 'AI Session', type: 'n8n-nodes-clawgate.aiSession', typeVersion: 1, position: [260, 0], parameters: { store: 'sqlite' }, credentials: { openAiApi: OPENAI } },
			{ id: node('0003'), name: 'Send', type: `n8n-nodes-clawgate.${channel}Send`, typeVersion: 1, position: [520, 0], parameters: {}, credentials },
		],
		connections: {
			Trigger: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: 'Send', type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

const VIBER_HOOK = '5a0c9e12-7b41-4c3d-9e8f-1a2b3c4d5e6f';
const WEBEX_HOOK = '6b1d0f23-8c52-4d4e-af90-2b3c4d5e6f70';
const VIBER_CREDENTIAL = { id: 'ClawgateViberCr1', name: 'Viber bot' };
const WEBEX_CREDENTIAL = { id: 'ClawgateWebexCr1', name: 'Webex bot' };
const viberWorkflow = chatWorkflow('ClawgateViberE2E', 'viber', VIBER_HOOK, VIBER_CREDENTIAL, { welcomeMessage: 'Hi! Ask me anything.' });
const webexWorkflow = chatWorkflow('ClawgateWebexE2E', 'webex', WEBEX_HOOK, WEBEX_CREDENTIAL);

describe('Viber and Webex in one real n8n: Trigger → AI Session → Send', () => {
	const viber = new ViberEmulator();
	const webex = new WebexEmulator();
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	let n8n: N8nInstance;
	let viberUrl: string;
	let webexUrl: string;

	const executionsOf = async (workflow: WorkflowFixture) => (await n8n.executions()).filter((run) => run.workflowId === workflow.id);
	const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

	beforeAll(async () => {
		await Promise.all([viber.start(), webex.start(), model.start()]);
		n8n = await N8nInstance.start({
			credentials: [
				{ ...VIBER_CREDENTIAL, type: 'clawgateViberApi', data: { authToken: viber.authToken, baseUrl: viber.apiUrl } },
				{ ...WEBEX_CREDENTIAL, type: 'clawgateWebexApi', data: { botToken: webex.token, webhookSecret: '', baseUrl: webex.apiUrl } },
				{ ...OPENAI, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [viberWorkflow, webexWorkflow],
		});
		viberUrl = n8n.webhookUrl(VIBER_HOOK);
		webexUrl = n8n.webhookUrl(WEBEX_HOOK);
		await n8n.waitForWebhooks([VIBER_HOOK, WEBEX_HOOK]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([viber.stop(), webex.stop(), model.stop()]);
	});

	describe('Viber', () => {
		test("activation set the trigger's production URL as the bot's webhook, and Viber's check callback was answered 200", async () => {
			await eventually(() => (viber.webhook.url === viberUrl ? true : undefined), 'the Viber webhook to be set', 30_000);
			expect(viber.webhookChecks.filter((check) => check.url === viberUrl).map((check) => check.status)).toContain(200);
			expect(viber.webhook.eventTypes).toEqual(['conversation_started']);
			// The check callback itself started nothing.
			expect(await executionsOf(viberWorkflow)).toHaveLength(0);
		});

		test('a message gets an AI answer from the bot, under its name', async () => {
			const ada = { id: viber.newUserId(), name: 'Ada' };
			expect((await viber.deliver(viberUrl, viber.text(ada, 'hello from Viber'))).status).toBe(200);
			await eventually(() => (viber.textsTo(ada.id).includes('answer to: hello from Viber') ? true : undefined), 'the answer in Viber', 30_000);
			expect(viber.sent.at(-1)).toMatchObject({ receiver: ada.id, senderName: viber.bot.name, type: 'text' });
		});

		test('a forged or unsigned callback is refused 401 and starts no execution', async () => {
			const before = (await executionsOf(viberWorkflow)).length;
			const ada = { id: viber.newUserId() };
			const forged = await viber.deliver(viberUrl, viber.text(ada, 'forged'), { authToken: new ViberEmulator().authToken });
			const unsigned = await viber.deliver(viberUrl, viber.text(ada, 'unsigned'), { unsigned: true });
			expect([forged.status, unsigned.status]).toEqual([401, 401]);
			await settle();
			expect(await executionsOf(viberWorkflow)).toHaveLength(before);
			expect(viber.textsTo(ada.id)).toEqual([]);
		});

		test('a retried callback is answered once', async () => {
			const ada = { id: viber.newUserId() };
			const callback = viber.text(ada, 'deliver me twice');
			const before = (await executionsOf(viberWorkflow)).length;
			expect((await viber.deliver(viberUrl, callback)).status).toBe(200);
			expect((await viber.deliver(viberUrl, callback)).status).toBe(200);
			await eventually(() => (viber.textsTo(ada.id).length > 0 ? true : undefined), 'the answer', 30_000);
			await settle();
			expect(viber.textsTo(ada.id)).toEqual(['answer to: deliver me twice']);
			expect(await executionsOf(viberWorkflow)).toHaveLength(before + 1);
		});

		test('opening a conversation is answered with the Welcome Message and starts no execution; delivery receipts start nothing', async () => {
			const before = (await executionsOf(viberWorkflow)).length;
			const userId = viber.newUserId();
			const opened = await viber.deliver(viberUrl, viber.event('conversation_started', userId));
			expect(opened.status).toBe(200);
			expect(JSON.parse(opened.body)).toEqual({ sender: { name: viber.bot.name }, type: 'text', text: 'Hi! Ask me anything.' });
			expect((await viber.deliver(viberUrl, viber.event('delivered', userId))).status).toBe(200);
			expect((await viber.deliver(viberUrl, viber.event('subscribed', userId))).status).toBe(200);
			await settle();
			expect(await executionsOf(viberWorkflow)).toHaveLength(before);
		});
	});

	describe('Webex', () => {
		test('activation registered a webhook for new messages at the production URL, with a secret', () => {
			expect(webex.webhooks).toHaveLength(1);
			expect(webex.webhooks[0]).toMatchObject({ targetUrl: webexUrl, resource: 'messages', event: 'created' });
			expect(webex.webhooks[0].secret.length).toBeGreaterThanOrEqual(32);
		});

		test('a direct message gets an AI answer in the same room', async () => {
			const ada = webex.newPerson('Ada Lovelace');
			const room = webex.directRoom(ada);
			expect((await webex.deliver(webexUrl, webex.post({ from: ada, room, text: 'hello from Webex' }))).status).toBe(200);
			await eventually(() => (webex.textsTo(room.id).includes('answer to: hello from Webex') ? true : undefined), 'the answer in Webex', 30_000);
			// The notification carried only IDs: the trigger read the text with the bot token.
			expect(webex.calls('GET /v1/messages/').length).toBeGreaterThan(0);
		});

		test('a forged or unsigned notification is refused 401, reads no message and starts no execution', async () => {
			const before = (await executionsOf(webexWorkflow)).length;
			const fetchesBefore = webex.calls('GET /v1/messages/').length;
			const ada = webex.newPerson('Ada Lovelace');
			const room = webex.directRoom(ada);
			const forged = await webex.deliver(webexUrl, webex.post({ from: ada, room, text: 'forged' }), { secret: 'not-the-secret' });
			const unsigned = await webex.deliver(webexUrl, webex.post({ from: ada, room, text: 'unsigned' }), { unsigned: true });
			expect([forged.status, unsigned.status]).toEqual([401, 401]);
			await settle();
			expect(await executionsOf(webexWorkflow)).toHaveLength(before);
			expect(webex.calls('GET /v1/messages/').length).toBe(fetchesBefore);
			expect(webex.textsTo(room.id)).toEqual([]);
		});

		test('a notification delivered twice is answered once', async () => {
			const ada = webex.newPerson('Ada Lovelace');
			const room = webex.directRoom(ada);
			const notification = webex.post({ from: ada, room, text: 'deliver me twice' });
			const before = (await executionsOf(webexWorkflow)).length;
			expect((await webex.deliver(webexUrl, notification)).status).toBe(200);
			expect((await webex.deliver(webexUrl, notification)).status).toBe(200);
			await eventually(() => (webex.textsTo(room.id).length > 0 ? true : undefined), 'the answer', 30_000);
			await settle();
			expect(webex.textsTo(room.id)).toEqual(['answer to: deliver me twice']);
			expect(await executionsOf(webexWorkflow)).toHaveLength(before + 1);
		});

		test("a space message without a mention starts nothing; a mention is answered in the message's thread; the bot's own answer starts nothing", async () => {
			const ada = webex.newPerson('Ada Lovelace');
			const room = webex.newGroupRoom('Project Unicorn');
			const before = (await executionsOf(webexWorkflow)).length;
			expect((await webex.deliver(webexUrl, webex.post({ from: ada, room, text: 'just chatting' }))).status).toBe(200);
			await settle();
			expect(await executionsOf(webexWorkflow)).toHaveLength(before);
			expect(webex.textsTo(room.id)).toEqual([]);

			const root = webex.post({ from: ada, room, text: 'kick-off' });
			const inThread = webex.post({ from: ada, room, text: 'what time is it?', mentionBot: true, parentId: String((root.data as { id: string }).id) });
			await webex.deliver(webexUrl, inThread);
			await eventually(() => (webex.textsTo(room.id).includes('answer to: what time is it?') ? true : undefined), 'the answer in the space', 30_000);
			const answer = webex.posted.at(-1)!;
			expect(answer.parentId).toBe((root.data as { id: string }).id);

			// Webex notifies the bot of its own post; it must not answer itself.
			const executions = (await executionsOf(webexWorkflow)).length;
			expect((await webex.deliver(webexUrl, webex.notification(answer))).status).toBe(200);
			await settle();
			expect(await executionsOf(webexWorkflow)).toHaveLength(executions);
		});
	});

	describe('deactivation', () => {
		test('deactivating removes the Viber webhook and the Webex webhook', async () => {
			await n8n.api(`/rest/workflows/${viberWorkflow.id}/deactivate`, { method: 'POST', body: '{}' });
			await n8n.api(`/rest/workflows/${webexWorkflow.id}/deactivate`, { method: 'POST', body: '{}' });
			await eventually(() => (viber.webhook.url === '' ? true : undefined), 'the Viber webhook to be removed', 20_000);
			await eventually(() => (webex.webhooks.length === 0 ? true : undefined), 'the Webex webhook to be deleted', 20_000);
		});
	});
});
