/**
 * What only the Messenger model does (Messenger and Instagram share it), against the Meta
 * emulator: sender actions, the 24-hour window, attachments, postbacks, echoes, standby entries,
 * the account a token speaks for, and Instagram's limit in UTF-8 bytes.
 */
import { DEFAULT_ACCESS_POLICY } from '../../nodes/core/access-policy';
import type { AnyChannelPlugin, WebhookRequest } from '../../nodes/core/channel';
import { deliverText } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { instagramPlugin } from '../../nodes/Instagram/instagram.plugin';
import { messengerPlugin } from '../../nodes/Messenger/messenger.plugin';
import { sendAttachment } from '../../nodes/Meta/meta.messaging';
import { MetaEmulator, type MetaProduct } from '../emulators/meta';

describe.each([
	['messenger', messengerPlugin],
	['instagram', instagramPlugin],
] as Array<[MetaProduct, AnyChannelPlugin]>)('%s', (product, plugin) => {
	const meta = new MetaEmulator(product);
	beforeAll(() => meta.start());
	afterAll(() => meta.stop());

	function receive(body: unknown, options: Record<string, unknown> = {}): Promise<WebhookOutcome> {
		const { headers, rawBody } = meta.signedDelivery(body);
		const request: WebhookRequest = { method: 'POST', headers, rawBody: Buffer.from(rawBody), body: JSON.parse(rawBody), query: {}, url: 'https://n8n.example.com/webhook/m/webhook' };
		return handleWebhookDelivery(plugin, {
			request,
			context: { workflowId: 'wf', nodeId: 'node', webhookId: `${product}-test`, options, now: Date.now() },
			credentialFor: async (verifies) => ({ credential: meta.credential(), verified: verifies(meta.credential()) }),
			policy: DEFAULT_ACCESS_POLICY,
			sessionScope: 'chat',
			recent: new RecentKeys(),
		});
	}
	const taken = async (body: unknown, options: Record<string, unknown> = {}) => {
		const outcome = await receive(body, options);
		if (outcome.kind !== 'taken') throw new Error(`Expected taken, got ${outcome.kind}: ${outcome.reason}`);
		return outcome;
	};
	const client = () => plugin.createClient(meta.credential());

	test('the account a token speaks for is the one webhooks name as recipient', async () => {
		expect(await plugin.accountOf(meta.credential(), await client())).toBe(meta.account.id);
		const outcome = await taken(meta.messagingText(meta.newPersonId(), 'hi'));
		expect(outcome.envelopes[0].accountId).toBe(meta.account.id);
	});

	test('typing shows as the typing_on sender action', async () => {
		const person = meta.newPersonId();
		await plugin.outbound.sendTyping!(await client(), { chatId: person, threadId: null });
		expect(meta.senderActions.at(-1)).toEqual({ to: person, action: 'typing_on' });
	});

	test('a postback is a callback_query by default; with Emit Button Presses off it starts nothing', async () => {
		expect((await taken(meta.messagingPostback(meta.newPersonId(), 'GET_STARTED'))).envelopes[0]).toMatchObject({ event: 'callback_query', message: { text: 'GET_STARTED' } });
		expect((await taken(meta.messagingPostback(meta.newPersonId(), 'GET_STARTED'), { emitCallbackQueries: false })).dropped.join()).toMatch(/Emit Button Presses/);
	});

	test("the account's own messages come back as echoes and start nothing", async () => {
		expect((await taken(meta.messagingEcho(meta.newPersonId(), 'our answer'))).dropped.join()).toMatch(/the bot sent it itself/);
	});

	test('events another app handles (standby) and deleted messages start nothing', async () => {
		const standby = { object: product === 'messenger' ? 'page' : 'instagram', entry: [{ id: meta.account.id, time: Date.now(), standby: [{ sender: { id: '1' }, recipient: { id: meta.account.id }, message: { mid: 'm_1', text: 'hi' } }] }] };
		expect((await taken(standby)).dropped.join()).toMatch(/standby/);
		expect((await taken(meta.messagingText(meta.newPersonId(), '', { is_deleted: true }))).envelopes).toEqual([]);
	});

	test('a body for another Meta product is answered 400', async () => {
		expect(await receive({ object: 'whatsapp_business_account', entry: [] })).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
	});

	test('outside the 24-hour window an answer fails, saying so', async () => {
		const person = meta.newPersonId();
		meta.closeWindow(person);
		const failure = await deliverText(plugin, await client(), { chatId: person, markdown: 'late', replyToId: null, threadId: null, linkPreviews: false }).catch((error: Error) => error);
		expect((failure as Error).message).toMatch(new RegExp(`${plugin.name} refused to send a message: more than 24 hours`));
	});

	test('an image goes as an attachment by URL', async () => {
		const person = meta.newPersonId();
		meta.messagingText(person, 'show me');
		expect(await sendAttachment(await client(), person, 'image', 'https://example.com/a.png')).toHaveLength(1);
		expect(meta.sent.at(-1)).toMatchObject({ to: person, type: 'image', text: 'https://example.com/a.png' });
	});
});

test('Messenger answers carry messaging_type RESPONSE', async () => {
	const meta = new MetaEmulator('messenger');
	await meta.start();
	try {
		const person = meta.newPersonId();
		meta.messagingText(person, 'hi');
		await deliverText(messengerPlugin, await messengerPlugin.createClient(meta.credential() as never), { chatId: person, markdown: 'hello', replyToId: null, threadId: null, linkPreviews: false });
		expect(meta.sent.at(-1)!.body).toMatchObject({ messaging_type: 'RESPONSE', recipient: { id: person }, message: { text: 'hello' } });
	} finally {
		await meta.stop();
	}
});

test('Instagram splits by UTF-8 bytes: 800 emoji (3,200 bytes) arrive in messages of at most 1,000 bytes', async () => {
	const meta = new MetaEmulator('instagram');
	await meta.start();
	try {
		const person = meta.newPersonId();
		meta.messagingText(person, 'hi');
		const text = '😀'.repeat(800);
		const sent = await deliverText(instagramPlugin, await instagramPlugin.createClient(meta.credential() as never), { chatId: person, markdown: text, replyToId: null, threadId: null, linkPreviews: false });
		const texts = meta.textsTo(person);
		expect(sent.messageIds.length).toBeGreaterThanOrEqual(4);
		for (const part of texts) expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(1000);
		expect(texts.join('').replace(/\s/g, '')).toBe(text);
	} finally {
		await meta.stop();
	}
});
