/**
 * WhatsApp Cloud API, Messenger and Instagram in one real n8n: each trigger → AI Session → its
 * send node, answering through the Meta emulators and the OpenAI emulator; Meta's verification
 * request (a GET to the same URL) answered by the trigger; forged and redelivered requests; a
 * WhatsApp status callback; and a WhatsApp text outside the 24-hour window, then Send Template.
 */
import { MetaEmulator, type MetaProduct } from '../emulators/meta';
import { OpenAiEmulator } from '../emulators/openai';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

const OPENAI = { id: 'ClawgateOpenAi01', name: 'OpenAI' };

interface Channel {
	product: MetaProduct;
	/** Node type prefix and credential type. */
	node: string;
	credentialType: string;
	webhookId: string;
	credential: { id: string; name: string };
}

const CHANNELS: Channel[] = [
	{ product: 'whatsapp', node: 'whatsapp', credentialType: 'clawgateWhatsAppApi', webhookId: '5b1f0c3e-7a2d-4e91-9c1b-6d0e8f2a3b41', credential: { id: 'ClawgateWaCred01', name: 'WhatsApp number' } },
	{ product: 'messenger', node: 'messenger', credentialType: 'clawgateMessengerApi', webhookId: '5b1f0c3e-7a2d-4e91-9c1b-6d0e8f2a3b42', credential: { id: 'ClawgateMsCred01', name: 'Messenger page' } },
	{ product: 'instagram', node: 'instagram', credentialType: 'clawgateInstagramApi', webhookId: '5b1f0c3e-7a2d-4e91-9c1b-6d0e8f2a3b43', credential: { id: 'ClawgateIgCred01', name: 'Instagram account' } },
];

function aiWorkflow(channel: Channel, index: number): WorkflowFixture {
	const id = (n: number) => `5b1f0c3e-000${n}-4e91-9c1b-6d0e8f2a3b4${index}`;
	return {
		id: `ClawgateMeta${channel.product}`,
		name: `Clawgate: ${channel.product} AI bot (e2e)`,
		nodes: [
			{ id: id(1), name: 'Trigger', type: `n8n-nodes-clawgate.${channel.node}Trigger`, typeVersion: 1, position: [0, 0], webhookId: channel.webhookId, parameters: {}, credentials: { [channel.credentialType]: channel.credential } },
			{ id: id(2), name: 'AI Session', type: 'n8n-nodes-clawgate.aiSession', typeVersion: 1, position: [260, 0], parameters: { store: 'sqlite' }, credentials: { openAiApi: OPENAI } },
			{ id: id(3), name: 'Send', type: `n8n-nodes-clawgate.${channel.node}Send`, typeVersion: 1, position: [520, 0], parameters: {}, credentials: { [channel.credentialType]: channel.credential } },
		],
		connections: { Trigger: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] }, 'AI Session': { main: [[{ node: 'Send', type: 'main', index: 0 }], []] } },
		settings: { executionOrder: 'v1' },
	};
}

const TEMPLATE_WEBHOOK_ID = '5b1f0c3e-7a2d-4e91-9c1b-6d0e8f2a3b49';
/** Someone who has not written for more than 24 hours: the WhatsApp emulator saw no message from them. */
const LAPSED_CUSTOMER = '16505550199';

/** Any message to this trigger makes the number write to a lapsed customer: text first (refused), then a template. */
function templateWorkflow(credential: Channel['credential']): WorkflowFixture {
	const id = (n: number) => `5b1f0c3e-100${n}-4e91-9c1b-6d0e8f2a3b49`;
	const send = (n: number, name: string, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
		id: id(n),
		name,
		type: 'n8n-nodes-clawgate.whatsappSend',
		typeVersion: 1,
		position: [260 * n, 0],
		parameters: { chatId: LAPSED_CUSTOMER, ...parameters },
		credentials: { clawgateWhatsAppApi: credential },
		...extra,
	});
	return {
		id: 'ClawgateMetaTemplate',
		name: 'Clawgate: WhatsApp re-engagement (e2e)',
		nodes: [
			{ id: id(0), name: 'Trigger', type: 'n8n-nodes-clawgate.whatsappTrigger', typeVersion: 1, position: [0, 0], webhookId: TEMPLATE_WEBHOOK_ID, parameters: {}, credentials: { clawgateWhatsAppApi: credential } },
			send(1, 'Send Text', { operation: 'sendText', text: 'Are you still interested?' }, { onError: 'continueRegularOutput' }),
			send(2, 'Send Template', { operation: 'sendTemplate', templateName: 'hello_world', languageCode: 'en_US' }),
		],
		connections: { Trigger: { main: [[{ node: 'Send Text', type: 'main', index: 0 }]] }, 'Send Text': { main: [[{ node: 'Send Template', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

const OPERATIONS_WEBHOOK_IDS = { whatsapp: '5b1f0c3e-7a2d-4e91-9c1b-6d0e8f2a3b4a', messenger: '5b1f0c3e-7a2d-4e91-9c1b-6d0e8f2a3b4b' };
const PICTURE = 'https://example.com/menu.png';

/** Trigger → the first operation → the second: the send node's other operations, answering the item's chat. */
function operationsWorkflow(channel: Channel, webhookId: string, first: Record<string, unknown>, second: Record<string, unknown>): WorkflowFixture {
	const id = (n: number) => `5b1f0c3e-200${n}-4e91-9c1b-${webhookId.slice(-12)}`;
	const credentials = { [channel.credentialType]: channel.credential };
	const send = (n: number, parameters: Record<string, unknown>) => ({ id: id(n), name: `Send ${n}`, type: `n8n-nodes-clawgate.${channel.node}Send`, typeVersion: 1, position: [260 * n, 0], parameters, credentials });
	return {
		id: `ClawgateMetaOps${channel.product}`,
		name: `Clawgate: ${channel.product} send operations (e2e)`,
		nodes: [{ id: id(0), name: 'Trigger', type: `n8n-nodes-clawgate.${channel.node}Trigger`, typeVersion: 1, position: [0, 0], webhookId, parameters: {}, credentials }, send(1, first), send(2, second)],
		connections: { Trigger: { main: [[{ node: 'Send 1', type: 'main', index: 0 }]] }, 'Send 1': { main: [[{ node: 'Send 2', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

describe('WhatsApp, Messenger and Instagram in a real n8n: Trigger → AI Session → Send', () => {
	const emulators = new Map(CHANNELS.map((channel) => [channel.product, new MetaEmulator(channel.product)]));
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	let n8n: N8nInstance;

	const meta = (product: MetaProduct) => emulators.get(product)!;
	const urlOf = (channel: Channel) => n8n.webhookUrl(channel.webhookId);
	const executionsOf = async (workflowId: string) => (await n8n.executions()).filter((run) => run.workflowId === workflowId);
	const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

	beforeAll(async () => {
		await Promise.all([...emulators.values()].map((emulator) => emulator.start()).concat(model.start()));
		const whatsapp = CHANNELS[0];
		n8n = await N8nInstance.start({
			credentials: [
				...CHANNELS.map((channel) => ({ ...channel.credential, type: channel.credentialType, data: meta(channel.product).credential() })),
				{ ...OPENAI, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [
				...CHANNELS.map(aiWorkflow),
				templateWorkflow(whatsapp.credential),
				operationsWorkflow(whatsapp, OPERATIONS_WEBHOOK_IDS.whatsapp, { operation: 'markAsRead' }, { operation: 'sendMedia', mediaType: 'image', mediaUrl: PICTURE, caption: 'our menu' }),
				operationsWorkflow(CHANNELS[1], OPERATIONS_WEBHOOK_IDS.messenger, { operation: 'senderAction', senderAction: 'typing_on' }, { operation: 'sendMedia', mediaType: 'image', mediaUrl: PICTURE }),
			],
		});
		await n8n.waitForWebhooks([...CHANNELS.map((channel) => channel.webhookId), TEMPLATE_WEBHOOK_ID, ...Object.values(OPERATIONS_WEBHOOK_IDS)]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([...emulators.values()].map((emulator) => emulator.stop()).concat(model.stop()));
	});

	describe.each(CHANNELS.map((channel) => [channel.product, channel] as const))('%s', (product, channel) => {
		const workflowId = `ClawgateMeta${product}`;

		test('activation checked the credential with a Graph API call', () => {
			const checks = meta(product).server.matching((request) => request.method === 'GET' && (request.path.endsWith(`/${meta(product).account.id}`) || request.path.endsWith('/me')));
			expect(checks.length).toBeGreaterThan(0);
		});

		test("Meta's verification request (GET) is answered with the challenge as text; a wrong verify token is refused", async () => {
			const before = (await executionsOf(workflowId)).length;
			const verified = await meta(product).verify(urlOf(channel));
			expect(verified).toMatchObject({ status: 200, body: verified.challenge });
			expect(verified.contentType).toMatch(/^text\/plain/);
			const wrong = await meta(product).verify(urlOf(channel), { verifyToken: 'guessed-token' });
			expect([401, 403]).toContain(wrong.status);
			expect(wrong.body).not.toContain(wrong.challenge);
			await settle();
			expect(await executionsOf(workflowId)).toHaveLength(before);
		});

		test('a direct message gets the AI answer from the account', async () => {
			const person = meta(product).newPersonId();
			expect((await meta(product).deliver(urlOf(channel), meta(product).text(person, `hello from ${product}`))).status).toBe(200);
			await eventually(() => (meta(product).textsTo(person).includes(`answer to: hello from ${product}`) ? true : undefined), `the answer on ${product}`, 30_000);
		});

		test('a forged or unsigned request is refused 401 and starts no execution', async () => {
			const before = (await executionsOf(workflowId)).length;
			const person = meta(product).newPersonId();
			const forged = await meta(product).deliver(urlOf(channel), meta(product).text(person, 'forged'), { appSecret: 'not-the-app-secret' });
			const unsigned = await meta(product).deliver(urlOf(channel), meta(product).text(person, 'unsigned'), { unsigned: true });
			expect([forged.status, unsigned.status]).toEqual([401, 401]);
			await settle();
			expect(await executionsOf(workflowId)).toHaveLength(before);
			expect(meta(product).textsTo(person)).toEqual([]);
		});

		test('a redelivered message is answered once', async () => {
			const person = meta(product).newPersonId();
			const body = meta(product).text(person, 'deliver me twice');
			const before = (await executionsOf(workflowId)).length;
			expect((await meta(product).deliver(urlOf(channel), body)).status).toBe(200);
			expect((await meta(product).deliver(urlOf(channel), body)).status).toBe(200);
			await eventually(() => (meta(product).textsTo(person).length > 0 ? true : undefined), 'the answer', 30_000);
			await settle();
			expect(meta(product).textsTo(person)).toEqual(['answer to: deliver me twice']);
			expect(await executionsOf(workflowId)).toHaveLength(before + 1);
		});
	});

	test('WhatsApp: a status callback (delivered, read) is acknowledged and starts no execution', async () => {
		const whatsapp = meta('whatsapp');
		const before = (await executionsOf('ClawgateMetawhatsapp')).length;
		const person = whatsapp.newPersonId();
		expect((await whatsapp.deliver(urlOf(CHANNELS[0]), whatsapp.whatsAppStatus(person, 'delivered'))).status).toBe(200);
		expect((await whatsapp.deliver(urlOf(CHANNELS[0]), whatsapp.whatsAppStatus(person, 'read'))).status).toBe(200);
		await settle();
		expect(await executionsOf('ClawgateMetawhatsapp')).toHaveLength(before);
	});

	test('WhatsApp: a group message that does not reply to the business starts no execution', async () => {
		const whatsapp = meta('whatsapp');
		const before = (await executionsOf('ClawgateMetawhatsapp')).length;
		const body = whatsapp.whatsAppText(whatsapp.newPersonId(), 'lunch, anyone?', { group_id: 'Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD' });
		expect((await whatsapp.deliver(urlOf(CHANNELS[0]), body)).status).toBe(200);
		await settle();
		expect(await executionsOf('ClawgateMetawhatsapp')).toHaveLength(before);
	});

	test('Messenger: a button press (the Get Started postback) is answered like a message', async () => {
		const messenger = meta('messenger');
		const person = messenger.newPersonId();
		expect((await messenger.deliver(urlOf(CHANNELS[1]), messenger.messagingPostback(person, 'GET_STARTED'))).status).toBe(200);
		await eventually(() => (messenger.textsTo(person).includes('answer to: GET_STARTED') ? true : undefined), 'the answer to the postback', 30_000);
	});

	test('WhatsApp: outside the 24-hour window Send Text fails saying to use a template, and Send Template delivers', async () => {
		const whatsapp = meta('whatsapp');
		const before = (await executionsOf('ClawgateMetaTemplate')).length;
		expect((await whatsapp.deliver(n8n.webhookUrl(TEMPLATE_WEBHOOK_ID), whatsapp.whatsAppText(whatsapp.newPersonId(), 'remind them'))).status).toBe(200);
		await eventually(() => (whatsapp.sent.some((message) => message.to === LAPSED_CUSTOMER && message.type === 'template') ? true : undefined), 'the template', 30_000);
		expect(whatsapp.sent.filter((message) => message.to === LAPSED_CUSTOMER).map((message) => [message.type, message.text])).toEqual([['template', 'hello_world']]);

		const runs = await eventually(async () => {
			const found = await executionsOf('ClawgateMetaTemplate');
			return found.length > before && found.every((run) => run.status !== 'running' && run.status !== 'new') ? found : undefined;
		}, 'the execution to finish');
		const newest = runs.reduce((latest, run) => (Number(run.id) > Number(latest.id) ? run : latest));
		const data = (await n8n.execution(newest.id)).data;
		expect(data).toMatch(/more than 24 hours have passed since this person last wrote/);
		expect(data).toMatch(/131047/);
		expect(data).toMatch(/Send Template/);
	});

	test('WhatsApp Send: Mark as Read (with typing) on the incoming message, then Send Media with a caption to its sender', async () => {
		const whatsapp = meta('whatsapp');
		const person = whatsapp.newPersonId();
		const body = whatsapp.whatsAppText(person, 'show me the menu');
		const messageId = (body.entry as Array<{ changes: Array<{ value: { messages: Array<{ id: string }> } }> }>)[0].changes[0].value.messages[0].id;
		expect((await whatsapp.deliver(n8n.webhookUrl(OPERATIONS_WEBHOOK_IDS.whatsapp), body)).status).toBe(200);
		await eventually(() => (whatsapp.sent.some((message) => message.to === person && message.type === 'image') ? true : undefined), 'the image', 30_000);
		expect(whatsapp.readReceipts).toContainEqual({ messageId, typing: true });
		expect(whatsapp.sent.find((message) => message.to === person)).toMatchObject({ type: 'image', text: PICTURE, body: { image: { link: PICTURE, caption: 'our menu' } } });
	});

	test('Messenger Send: Send Sender Action (typing on), then Send Media, to the person who wrote', async () => {
		const messenger = meta('messenger');
		const person = messenger.newPersonId();
		expect((await messenger.deliver(n8n.webhookUrl(OPERATIONS_WEBHOOK_IDS.messenger), messenger.messagingText(person, 'menu?'))).status).toBe(200);
		await eventually(() => (messenger.sent.some((message) => message.to === person && message.type === 'image') ? true : undefined), 'the image', 30_000);
		expect(messenger.senderActions).toContainEqual({ to: person, action: 'typing_on' });
		expect(messenger.sent.find((message) => message.to === person)).toMatchObject({ type: 'image', text: PICTURE, body: { messaging_type: 'RESPONSE' } });
	});
});
