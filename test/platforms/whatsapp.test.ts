/**
 * What only WhatsApp Cloud API does, against the Meta emulator: Meta's verification request, the
 * 24-hour customer service window and templates, replies by context.message_id, read receipts,
 * media, Cloud API rate limits, numbers of other phone number IDs, groups of the Groups API, and
 * Reply telling this integration apart from Twilio's WhatsApp.
 */
import { DEFAULT_ACCESS_POLICY, parseIdList, type AccessPolicy } from '../../nodes/core/access-policy';
import type { WebhookRequest } from '../../nodes/core/channel';
import type { Envelope } from '../../nodes/core/envelope';
import { deliverText, replyTo } from '../../nodes/core/outbound';
import { RecentKeys } from '../../nodes/core/recent-keys';
import { handleWebhookDelivery, type WebhookOutcome } from '../../nodes/core/webhook-delivery';
import { GRAPH_API_VERSION } from '../../nodes/Meta/meta.graph';
import { pluginForItem } from '../../nodes/Reply/channel-registry';
import { twilioPlugin } from '../../nodes/Twilio/twilio.plugin';
import { createWhatsAppClient, markWhatsAppMessageRead, sendWhatsAppMessage, whatsAppPlugin, type WhatsAppCredential } from '../../nodes/WhatsApp/whatsapp.plugin';
import { MetaEmulator } from '../emulators/meta';

const meta = new MetaEmulator('whatsapp');
let credential: WhatsAppCredential;

beforeAll(async () => {
	await meta.start();
	credential = meta.credential() as unknown as WhatsAppCredential;
});
afterAll(() => meta.stop());

function receive(request: WebhookRequest, { policy = {}, reads = { count: 0 }, held = credential }: { policy?: Partial<AccessPolicy>; reads?: { count: number }; held?: WhatsAppCredential } = {}): Promise<WebhookOutcome> {
	return handleWebhookDelivery(whatsAppPlugin, {
		request,
		context: { workflowId: 'wf', nodeId: 'node', webhookId: 'whatsapp-test', options: {}, now: Date.now() },
		async credentialFor(verifies) {
			reads.count++;
			return { credential: held, verified: verifies(held) };
		},
		policy: { ...DEFAULT_ACCESS_POLICY, ...policy },
		sessionScope: 'chat',
		recent: new RecentKeys(),
	});
}

function post(body: unknown, options: Parameters<MetaEmulator['signedDelivery']>[1] = {}): WebhookRequest {
	const { headers, rawBody } = meta.signedDelivery(body, options);
	return { method: 'POST', headers, rawBody: Buffer.from(rawBody), body: JSON.parse(rawBody), query: {}, url: 'https://n8n.example.com/webhook/wa/webhook' };
}

function verification(query: Record<string, string>): WebhookRequest {
	return { method: 'GET', headers: {}, rawBody: undefined, body: {}, query, url: 'https://n8n.example.com/webhook/wa/webhook' };
}

async function envelopeOf(body: unknown, policy: Partial<AccessPolicy> = {}): Promise<Envelope | null> {
	const outcome = await receive(post(body), { policy });
	if (outcome.kind !== 'taken') throw new Error(`Expected taken, got ${outcome.kind}: ${outcome.reason}`);
	return outcome.envelopes[0] ?? null;
}

const client = () => createWhatsAppClient(credential);

describe('WhatsApp webhook verification (GET)', () => {
	const query = (overrides: Record<string, string> = {}) => ({ 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': meta.verifyToken, ...overrides });

	test('the challenge is answered as plain text when the verify token matches', async () => {
		expect(await receive(verification(query()))).toMatchObject({ kind: 'answered', answer: { status: 200, body: '1158201444', contentType: 'text/plain' } });
	});

	test('a wrong verify token is refused 401, without the challenge', async () => {
		const outcome = await receive(verification(query({ 'hub.verify_token': `${meta.verifyToken}x` })));
		expect(outcome).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(JSON.stringify(outcome.answer)).not.toContain('1158201444');
	});

	test('a GET that is no verification (no hub.mode, no token) is refused 401 without reading the credential', async () => {
		const reads = { count: 0 };
		expect(await receive(verification({}), { reads })).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(await receive(verification(query({ 'hub.verify_token': '' })), { reads })).toMatchObject({ kind: 'forged', answer: { status: 401 } });
		expect(reads.count).toBe(0);
	});

	test('a verification with a challenge that is no token is answered 400, never echoed', async () => {
		const outcome = await receive(verification(query({ 'hub.challenge': '<script>alert(1)</script>' })));
		expect(outcome).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
	});

	test('a credential without a verify token answers no verification', async () => {
		const held = { ...credential, verifyToken: '' };
		expect(await receive(verification(query({ 'hub.verify_token': 'anything' })), { held })).toMatchObject({ kind: 'forged', answer: { status: 401 } });
	});
});

describe('WhatsApp webhook deliveries', () => {
	test('a body of another Meta product (a Page webhook) is answered 400', async () => {
		expect(await receive(post({ object: 'page', entry: [] }))).toMatchObject({ kind: 'invalid', answer: { status: 400 } });
	});

	test('a status callback is acknowledged and starts nothing', async () => {
		const outcome = await receive(post(meta.whatsAppStatus(meta.newPersonId(), 'read')));
		expect(outcome).toMatchObject({ kind: 'taken', answer: { status: 200 }, envelopes: [] });
	});

	test('Allowed Senders takes phone numbers as people type them (+, spaces, dashes)', async () => {
		const person = meta.newPersonId();
		const listed = `+${person.slice(0, 1)} (${person.slice(1, 4)}) ${person.slice(4, 7)}-${person.slice(7)}`;
		expect(parseIdList(listed, whatsAppPlugin.idReading)).toEqual([person]);
		expect(await envelopeOf(meta.whatsAppText(person, 'hi'), { allowedSenderIds: parseIdList(listed, whatsAppPlugin.idReading) })).not.toBeNull();
		expect(await envelopeOf(meta.whatsAppText(meta.newPersonId(), 'hi'), { allowedSenderIds: parseIdList(listed, whatsAppPlugin.idReading) })).toBeNull();
	});

	test('/new is the command "new"; a reply button is a callback_query with its ID as text', async () => {
		expect((await envelopeOf(meta.whatsAppText(meta.newPersonId(), '/new')))?.message.command).toBe('new');
		const pressed = await envelopeOf(meta.whatsAppMessage(meta.newPersonId(), { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'yes-please', title: 'Yes' } } }));
		expect(pressed).toMatchObject({ event: 'callback_query', message: { text: 'yes-please', command: null } });
	});

	test('a reaction is acknowledged and starts nothing', async () => {
		expect(await envelopeOf(meta.whatsAppMessage(meta.newPersonId(), { type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '👍' } }))).toBeNull();
	});

	test('a group message (Groups API) is a group chat: ignored unless it replies to the business, then answered in the group', async () => {
		const groupId = 'Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD';
		expect(await envelopeOf(meta.whatsAppText(meta.newPersonId(), 'lunch?', { group_id: groupId }))).toBeNull();
		const reply = await envelopeOf(meta.whatsAppText(meta.newPersonId(), 'and you?', { group_id: groupId, context: { from: meta.account.displayNumber, id: 'wamid.OURS' } }));
		expect(reply).toMatchObject({ chat: { id: groupId, type: 'group' }, message: { replyToId: 'wamid.OURS' } });
		expect(reply!.sessionId).toBe(`whatsapp:${meta.account.id}:group:${groupId}`);
	});
});

describe('WhatsApp sending', () => {
	test('the send path carries the Graph API version and the phone number ID', async () => {
		const person = meta.newPersonId();
		meta.text(person, 'open the window');
		await deliverText(whatsAppPlugin, client(), { chatId: person, markdown: 'hello', replyToId: null, threadId: null, linkPreviews: false });
		expect(meta.server.requests.at(-1)!.path).toBe(`/${GRAPH_API_VERSION}/${meta.account.id}/messages`);
		expect(meta.sent.at(-1)!.body).toMatchObject({ messaging_product: 'whatsapp', recipient_type: 'individual', to: person, type: 'text', text: { body: 'hello', preview_url: false } });
	});

	test('a reply carries context.message_id of the message it answers', async () => {
		const person = meta.newPersonId();
		const inbound = meta.whatsAppText(person, 'which one?');
		const messageId = ((inbound.entry as Array<{ changes: Array<{ value: { messages: Array<{ id: string }> } }> }>)[0].changes[0].value.messages[0].id);
		await sendWhatsAppMessage(client(), person, { type: 'text', text: { body: 'this one' } }, messageId);
		expect(meta.sent.at(-1)).toMatchObject({ to: person, text: 'this one', replyTo: messageId });
	});

	test('outside the 24-hour window a text fails with words that name the window and the Send Template operation', async () => {
		const person = meta.newPersonId();
		meta.closeWindow(person);
		const failure = await deliverText(whatsAppPlugin, client(), { chatId: person, markdown: 'are you still there?', replyToId: null, threadId: null, linkPreviews: false }).catch((error: Error) => error);
		expect(failure).toBeInstanceOf(Error);
		expect((failure as Error).message).toMatch(/24 hours/);
		expect((failure as Error).message).toMatch(/131047/);
		expect((failure as Error).message).toMatch(/Send Template/);
		expect(meta.textsTo(person)).toEqual([]);
	});

	test('outside the window an approved template is delivered; an unknown one fails naming the template settings', async () => {
		const person = meta.newPersonId();
		meta.closeWindow(person);
		const ids = await sendWhatsAppMessage(client(), person, { type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } });
		expect(ids).toEqual([expect.stringMatching(/^wamid\./)]);
		expect(meta.sent.at(-1)).toMatchObject({ to: person, type: 'template', text: 'hello_world' });
		const unknown = await sendWhatsAppMessage(client(), person, { type: 'template', template: { name: 'no_such', language: { code: 'en_US' } } }).catch((error: unknown) => whatsAppPlugin.describeError(error, 'send the template'));
		expect((unknown as Error).message).toMatch(/132001.*template name, its language code/);
	});

	test('Mark as Read marks the message and asks for the typing indicator', async () => {
		await markWhatsAppMessageRead(client(), 'wamid.HBgLMTY1MDM4', true);
		expect(meta.readReceipts.at(-1)).toEqual({ messageId: 'wamid.HBgLMTY1MDM4', typing: true });
	});

	test('an image goes by link with its caption', async () => {
		const person = meta.newPersonId();
		meta.text(person, 'a picture please');
		await sendWhatsAppMessage(client(), person, { type: 'image', image: { link: 'https://example.com/a.jpg', caption: 'here' } });
		expect(meta.sent.at(-1)).toMatchObject({ to: person, type: 'image', text: 'https://example.com/a.jpg', body: { image: { caption: 'here' } } });
	});

	test('the Cloud API throughput error (130429, no Retry-After) is waited out; an hourly call limit (80007) fails at once', async () => {
		const person = meta.newPersonId();
		const [envelope] = (await receive(post(meta.whatsAppText(person, 'busy?'))) as { envelopes: Envelope[] }).envelopes;
		meta.fail({ path: meta.sendPath, status: 400, code: 130429, message: '(#130429) Rate limit hit' });
		const started = Date.now();
		await replyTo(whatsAppPlugin, client(), { envelope, text: 'after a second', quote: false, inThread: false, linkPreviews: false });
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
		expect(meta.textsTo(person)).toEqual(['after a second']);

		meta.fail({ path: meta.sendPath, status: 400, code: 80007, message: '(#80007) Rate limit issues' });
		const failure = await replyTo(whatsAppPlugin, client(), { envelope, text: 'never', quote: false, inThread: false, linkPreviews: false }).catch((error: Error) => error);
		expect((failure as Error).message).toMatch(/rate-limiting/);
	});

	test('activation checks the credential: a wrong token or phone number ID fails in words that point at the credential', async () => {
		await expect(whatsAppPlugin.webhook!.checkCredential!(credential)).resolves.toBeUndefined();
		await expect(whatsAppPlugin.webhook!.checkCredential!({ ...credential, accessToken: 'EAAGwrong' })).rejects.toThrow(/rejected the access token.*Clawgate WhatsApp credential/);
		await expect(whatsAppPlugin.webhook!.checkCredential!({ ...credential, phoneNumberId: '123456789012345' })).rejects.toThrow(/WhatsApp refused to read the phone number/);
		expect(() => createWhatsAppClient({ ...credential, phoneNumberId: '+1 555 0100' })).toThrow(/phone number ID/);
	});
});

describe('Reply routing: WhatsApp Cloud API beside Twilio', () => {
	test('items of this trigger (via whatsapp) go to the Cloud API; Twilio\'s (via twilio) and items without via to Twilio', () => {
		expect(pluginForItem({ via: 'whatsapp', channel: 'whatsapp' })).toBe(whatsAppPlugin);
		expect(pluginForItem({ via: 'twilio', channel: 'whatsapp' })).toBe(twilioPlugin);
		// Made before `via` existed, a channel "whatsapp" item came from Twilio, the only WhatsApp integration then.
		expect(pluginForItem({ channel: 'whatsapp' })).toBe(twilioPlugin);
	});
});
