import { InvalidPayloadError } from '../../nodes/core/errors';
import {
	botIdFromToken,
	createTelegramApi,
	deriveWebhookSecret,
	isGenuineWebhookRequest,
	isWebhookRegistered,
	normalizeTelegramUpdate,
	parseTelegramUpdate,
	registerWebhook,
	removeWebhook,
	resolveBotUsername,
	sendTelegramText,
} from '../../nodes/Telegram/telegram.adapter';
import { makeBotToken, TelegramEmulator } from '../emulators/telegram';

describe('Telegram adapter against the Bot API emulator (grammy over HTTP)', () => {
	const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
	const api = () => createTelegramApi({ accessToken: telegram.token, baseUrl: telegram.apiRoot });

	beforeAll(() => telegram.start());
	afterAll(() => telegram.stop());

	test('sends text to a chat, as a reply and in a forum topic when asked', async () => {
		const sent = await sendTelegramText(api(), '42', 'hi there', { replyToMessageId: '7', threadId: '3' });
		const call = telegram.calls('sendMessage').at(-1)!;
		expect(call.body).toMatchObject({ chat_id: '42', text: 'hi there', message_thread_id: 3, reply_parameters: { message_id: 7 } });
		expect(sent).toEqual({ chatId: '42', messageIds: [expect.stringMatching(/^\d+$/)] });
	});

	test('empty reply-to and topic values send a plain message', async () => {
		await sendTelegramText(api(), '42', 'plain', { replyToMessageId: '', threadId: '' });
		const body = telegram.calls('sendMessage').at(-1)!.body;
		expect(body).not.toHaveProperty('reply_parameters');
		expect(body).not.toHaveProperty('message_thread_id');
	});

	test('a wrong bot token fails with advice to check the credential, without the token in the message', async () => {
		const wrongToken = makeBotToken();
		const badApi = createTelegramApi({ accessToken: wrongToken, baseUrl: telegram.apiRoot });
		const failure = sendTelegramText(badApi, '42', 'hello');
		await expect(failure).rejects.toThrow(/401.*Check the bot token/);
		await failure.catch((error: Error) => {
			expect(error.message).not.toContain(wrongToken);
			expect(JSON.stringify(error)).not.toContain(wrongToken);
		});
	});

	test('an unreachable API names the base URL as the thing to check', async () => {
		const offline = createTelegramApi({ accessToken: telegram.token, baseUrl: 'http://127.0.0.1:9' });
		await expect(sendTelegramText(offline, '42', 'x')).rejects.toThrow(/Could not reach the Telegram Bot API.*base URL/);
	});

	test('empty text is refused before any call, with a hint about the default expression', async () => {
		const before = telegram.calls('sendMessage').length;
		await expect(sendTelegramText(api(), '42', '')).rejects.toThrow(/no text to send/);
		expect(telegram.calls('sendMessage')).toHaveLength(before);
	});

	test('registers, detects and removes its webhook; never removes a webhook pointing elsewhere', async () => {
		const url = 'https://n8n.example.com/webhook/abc/webhook';
		await registerWebhook(api(), url, 'secret_1');
		expect(telegram.webhook).toEqual({ url, secretToken: 'secret_1', allowedUpdates: ['message'] });
		expect(await isWebhookRegistered(api(), url)).toBe(true);
		expect(await isWebhookRegistered(api(), 'https://elsewhere.example.com/hook')).toBe(false);

		expect(await removeWebhook(api(), 'https://elsewhere.example.com/hook')).toBe(false);
		expect(telegram.webhook?.url).toBe(url);
		expect(await removeWebhook(api(), url)).toBe(true);
		expect(telegram.webhook).toBeNull();
	});

	test('a failed setWebhook reports the reason and does not leak the secret token', async () => {
		const failure = registerWebhook(api(), 'https://n8n.example.com/hook', 'bad secret with spaces');
		await expect(failure).rejects.toThrow(/Telegram refused to register the webhook.*400/);
		await failure.catch((error: Error) => expect(JSON.stringify({ ...error, message: error.message })).not.toContain('bad secret'));
	});

	test('the bot username is looked up once per process', async () => {
		const before = telegram.calls('getMe').length;
		expect(await resolveBotUsername(api(), telegram.token)).toBe('ClawgateBot');
		expect(await resolveBotUsername(api(), telegram.token)).toBe('ClawgateBot');
		expect(telegram.calls('getMe')).toHaveLength(before + 1);
	});
});

describe('Telegram webhook secret', () => {
	const ids = { workflowId: 'wf1', nodeId: 'node1', webhookId: 'hook1' };
	const token = makeBotToken(123);

	test('is stable for the same bot and webhook, and fits Telegram secret_token rules', () => {
		const secret = deriveWebhookSecret(token, ids);
		expect(deriveWebhookSecret(token, ids)).toBe(secret);
		expect(secret).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
		expect(secret).not.toContain(token.split(':')[1]);
	});

	test('changes with the token, the workflow, the node and the webhook', () => {
		const secret = deriveWebhookSecret(token, ids);
		expect(deriveWebhookSecret(makeBotToken(123), ids)).not.toBe(secret);
		expect(deriveWebhookSecret(token, { ...ids, workflowId: 'wf2' })).not.toBe(secret);
		expect(deriveWebhookSecret(token, { ...ids, nodeId: 'node2' })).not.toBe(secret);
		expect(deriveWebhookSecret(token, { ...ids, webhookId: 'hook2' })).not.toBe(secret);
	});

	test('only the exact header value is genuine', () => {
		const secret = deriveWebhookSecret(token, ids);
		expect(isGenuineWebhookRequest(secret, secret)).toBe(true);
		expect(isGenuineWebhookRequest(`${secret}x`, secret)).toBe(false);
		expect(isGenuineWebhookRequest(secret.slice(1), secret)).toBe(false);
		expect(isGenuineWebhookRequest(undefined, secret)).toBe(false);
		expect(isGenuineWebhookRequest([secret], secret)).toBe(false);
	});

	test('the bot id comes from the token; a malformed token is explained', () => {
		expect(botIdFromToken('7012345678:AAE-xyz')).toBe('7012345678');
		expect(() => botIdFromToken('not-a-token')).toThrow(/does not look like/);
	});
});

describe('normalising Telegram updates into the envelope', () => {
	const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
	const bot = { id: String(telegram.bot.id), username: 'ClawgateBot' };

	test('a private text message becomes a DM envelope with a stable session id', () => {
		const update = telegram.textUpdate({ text: 'hello', chatId: 42 });
		const envelope = normalizeTelegramUpdate(parseTelegramUpdate(update), { bot })!;
		const message = update.message as { message_id: number; date: number };
		expect(envelope).toEqual({
			sessionId: `telegram:${bot.id}:dm:42`,
			channel: 'telegram',
			accountId: bot.id,
			event: 'message',
			chat: { id: '42', type: 'dm', threadId: null, title: null },
			sender: { id: '42', name: 'Ada L.', username: 'ada', isBot: false },
			message: {
				id: String(message.message_id),
				text: 'hello',
				replyToId: null,
				mentionsBot: false,
				command: null,
				attachments: [],
				timestamp: new Date(message.date * 1000).toISOString(),
			},
			raw: update,
		});
	});

	test('a group message in a forum topic carries the group, title and topic; mentions are seen', () => {
		const update = telegram.textUpdate({
			text: '@ClawgateBot what is up',
			chat: { id: -100777, type: 'supergroup', title: 'Makers', is_forum: true },
		});
		Object.assign(update.message as object, {
			is_topic_message: true,
			message_thread_id: 9,
			entities: [{ type: 'mention', offset: 0, length: 12 }],
			reply_to_message: { message_id: 5, date: 0, chat: { id: -100777, type: 'supergroup', title: 'Makers' } },
		});
		const envelope = normalizeTelegramUpdate(parseTelegramUpdate(update), { bot, sessionScope: 'user' })!;
		expect(envelope.chat).toEqual({ id: '-100777', type: 'group', threadId: '9', title: 'Makers' });
		expect(envelope.sessionId).toBe(`telegram:${bot.id}:group:-100777:9:user:42`);
		expect(envelope.message.mentionsBot).toBe(true);
		expect(envelope.message.replyToId).toBe('5');
	});

	test('commands are read, including /cmd@ourbot, but not /cmd@otherbot', () => {
		const ours = normalizeTelegramUpdate(parseTelegramUpdate(telegram.textUpdate({ text: '/new@ClawgateBot' })), { bot })!;
		const theirs = normalizeTelegramUpdate(parseTelegramUpdate(telegram.textUpdate({ text: '/new@OtherBot' })), { bot })!;
		expect(ours.message.command).toBe('new');
		expect(theirs.message.command).toBeNull();
	});

	test('updates that are neither messages, edits nor button presses are not emitted', () => {
		const poll = parseTelegramUpdate({ update_id: 5, poll: { id: '1', question: 'Tea?', options: [] } });
		const member = parseTelegramUpdate({ update_id: 6, my_chat_member: { chat: { id: 1, type: 'private' } } });
		expect(normalizeTelegramUpdate(poll, { bot })).toBeNull();
		expect(normalizeTelegramUpdate(member, { bot })).toBeNull();
	});

	test.each([
		['a string', 'hello'],
		['an array', [1, 2]],
		['null', null],
		['an object without update_id', { message: {} }],
		['a non-numeric update_id', { update_id: '5' }],
	])('%s is rejected as not a Telegram update', (_label, body) => {
		expect(() => parseTelegramUpdate(body)).toThrow(InvalidPayloadError);
	});

	test('a message without chat id is rejected with a validation error, not a crash', () => {
		const update = parseTelegramUpdate({ update_id: 1, message: { message_id: 1, date: 0, chat: {} } });
		expect(() => normalizeTelegramUpdate(update, { bot })).toThrow(InvalidPayloadError);
	});
});
