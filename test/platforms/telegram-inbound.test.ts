import { parseIdList } from '../../nodes/core/access-policy';
import { buildMessageKey } from '../../nodes/core/envelope';
import {
	allowedUpdatesFor,
	attachmentsOf,
	createTelegramApi,
	decideTelegramUpdate,
	downloadTelegramFile,
	normalizeTelegramUpdate,
	parseTelegramUpdate,
	type TelegramTriggerRules,
	type UpdateDecision,
} from '../../nodes/Telegram/telegram.adapter';
import { TelegramEmulator, type TelegramUser } from '../emulators/telegram';

const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
const bot = { id: String(telegram.bot.id), username: 'ClawgateBot' };
const ada: TelegramUser = { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' };
const otherBot: TelegramUser = { id: 99, is_bot: true, first_name: 'Other', username: 'OtherBot' };

const decide = (update: Record<string, unknown>, rules: Partial<TelegramTriggerRules> = {}): UpdateDecision =>
	decideTelegramUpdate(parseTelegramUpdate(update), { bot, rules });
const emitted = (decision: UpdateDecision) => (decision.emit ? decision.envelope : null);
const reason = (decision: UpdateDecision) => (decision.emit ? null : decision.reason);

describe('what the trigger emits in groups', () => {
	test('a group message that neither mentions nor replies to the bot is not emitted, by default', () => {
		expect(reason(decide(telegram.groupUpdate({ text: 'hello everyone' })))).toMatch(/neither mentions nor replies/);
	});

	test('a message mentioning @ClawgateBot (any letter case) is emitted, with mentionsBot', () => {
		const envelope = emitted(decide(telegram.groupUpdate({ text: 'hey @clawgatebot what time is it' })));
		expect(envelope?.message.mentionsBot).toBe(true);
		expect(envelope?.chat.type).toBe('group');
	});

	test('a mention of another user is not a mention of the bot', () => {
		expect(decide(telegram.groupUpdate({ text: 'ask @someone_else please' })).emit).toBe(false);
	});

	test('a text_mention entity naming the bot counts as a mention (users without @username links)', () => {
		const update = telegram.groupUpdate({ text: 'Clawgate, help', extra: { entities: [{ type: 'text_mention', offset: 0, length: 8, user: telegram.bot }] } });
		expect(emitted(decide(update))?.message.mentionsBot).toBe(true);
	});

	test('a reply to one of the bot\'s messages is emitted; a reply to someone else is not', () => {
		const toBot = telegram.groupUpdate({ text: 'and then?', extra: { reply_to_message: { message_id: 5, date: 0, from: telegram.bot, chat: { id: -100123, type: 'supergroup' } } } });
		const toAda = telegram.groupUpdate({ text: 'and then?', extra: { reply_to_message: { message_id: 6, date: 0, from: ada, chat: { id: -100123, type: 'supergroup' } } } });
		expect(emitted(decide(toBot))?.message.replyToId).toBe('5');
		expect(decide(toAda).emit).toBe(false);
	});

	test('commands for the bot are emitted (/new and /new@ClawgateBot); /new@OtherBot is not ours', () => {
		expect(emitted(decide(telegram.groupUpdate({ text: '/new' })))?.message.command).toBe('new');
		expect(emitted(decide(telegram.groupUpdate({ text: '/usage@ClawgateBot' })))?.message.command).toBe('usage');
		expect(reason(decide(telegram.groupUpdate({ text: '/new@OtherBot' })))).toMatch(/command for another bot \(@OtherBot\)/);
	});

	test('"Every Message" emits all group messages, but never commands for another bot', () => {
		expect(decide(telegram.groupUpdate({ text: 'hello everyone' }), { groupMessages: 'all' }).emit).toBe(true);
		expect(decide(telegram.groupUpdate({ text: '/new@OtherBot' }), { groupMessages: 'all' }).emit).toBe(false);
	});

	test('in a forum topic the topic is chat.threadId, and the automatic "reply" to the topic\'s first message is no reply', () => {
		const update = telegram.groupUpdate({
			text: '@ClawgateBot hi',
			extra: {
				is_topic_message: true,
				message_thread_id: 77,
				reply_to_message: { message_id: 77, date: 0, from: telegram.bot, chat: { id: -100123, type: 'supergroup' }, forum_topic_created: { name: 'Help', icon_color: 1 } },
			},
		});
		const envelope = emitted(decide(update))!;
		expect(envelope.chat.threadId).toBe('77');
		expect(envelope.message.replyToId).toBeNull();
		expect(envelope.sessionId).toBe(`telegram:${bot.id}:group:-100123:77`);
		// Without the mention, the topic's first message (even the bot's) does not make it a reply to the bot.
		const unmentioned = telegram.groupUpdate({ text: 'hi', extra: { is_topic_message: true, message_thread_id: 77, reply_to_message: (update.message as Record<string, unknown>).reply_to_message } });
		expect(decide(unmentioned).emit).toBe(false);
	});
});

describe('bots and allow-lists', () => {
	test('messages from other bots are dropped by default and emitted when "Ignore Other Bots" is off', () => {
		const update = telegram.textUpdate({ text: 'beep', from: otherBot, chatId: 99 });
		expect(reason(decide(update))).toMatch(/another bot/);
		expect(emitted(decide(update, { ignoreBots: false }))?.sender).toEqual({ id: '99', name: 'Other', username: 'OtherBot', isBot: true });
	});

	test('the bot\'s own messages are never emitted', () => {
		expect(reason(decide(telegram.textUpdate({ text: 'echo', from: telegram.bot }), { ignoreBots: false }))).toMatch(/bot sent it itself/);
	});

	test('"Only These Users" and "Only These Chats" drop everyone else', () => {
		const fromAda = telegram.textUpdate({ text: 'hi', from: ada, chatId: 42 });
		expect(decide(fromAda, { allowedUserIds: ['42'] }).emit).toBe(true);
		expect(reason(decide(fromAda, { allowedUserIds: ['7'] }))).toMatch(/Allowed Senders/);
		expect(decide(fromAda, { allowedChatIds: ['42', '-100123'] }).emit).toBe(true);
		expect(reason(decide(fromAda, { allowedChatIds: ['-100123'] }))).toMatch(/Only These Chats/);
	});

	test('ID lists accept commas, spaces and new lines', () => {
		expect(parseIdList('42, -100123\n7  8;9')).toEqual(['42', '-100123', '7', '8', '9']);
		expect(parseIdList('')).toEqual([]);
		expect(parseIdList(undefined)).toEqual([]);
	});
});

describe('edited messages and button presses', () => {
	test('an edit is not emitted by default; when asked for, it keeps the message id and gets a new idempotency key', () => {
		const original = telegram.textUpdate({ text: 'helo' });
		const edit = telegram.editedUpdate(original, 'hello');
		expect(reason(decide(edit))).toMatch(/Emit Edited Messages/);

		const envelope = emitted(decide(edit, { editedMessages: true }))!;
		const first = emitted(decide(original))!;
		expect(envelope.event).toBe('edited_message');
		expect(envelope.message.id).toBe(first.message.id);
		expect(envelope.message.text).toBe('hello');
		expect(envelope.message.editedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
		expect(buildMessageKey(envelope)).not.toBe(buildMessageKey(first));
		expect(buildMessageKey(first)).toBe(`telegram:${bot.id}:${first.chat.id}:${first.message.id}`);
	});

	test('a button press carries the button data as text, the pressing user as sender and the bot message as replyToId', () => {
		const botMessage = { message_id: 501, date: 0, from: telegram.bot, chat: { id: -100123, type: 'supergroup', title: 'Makers' }, text: 'Pick one' };
		const press = telegram.callbackUpdate({ data: 'tea', message: botMessage, from: ada });
		expect(reason(decide(press))).toMatch(/Emit Button Presses/);

		const envelope = emitted(decide(press, { callbackQueries: true }))!;
		expect(envelope).toMatchObject({
			event: 'callback_query',
			chat: { id: '-100123', type: 'group' },
			sender: { id: '42', username: 'ada' },
			message: { text: 'tea', replyToId: '501', command: null, mentionsBot: false },
		});
		expect(envelope.message.id).toMatch(/^callback:\d+$/);
	});

	test('the update types asked from Telegram are exactly those emitted', () => {
		expect(allowedUpdatesFor({ editedMessages: false, callbackQueries: false })).toEqual(['message']);
		expect(allowedUpdatesFor({ editedMessages: true, callbackQueries: true })).toEqual(['message', 'edited_message', 'callback_query']);
	});
});

describe('attachments in the envelope', () => {
	const attachments = (fields: Record<string, unknown>) => attachmentsOf(parseTelegramUpdate(telegram.messageUpdate(fields)).message!);

	test('a photo is its largest size, with the caption as text', () => {
		const update = telegram.messageUpdate({
			caption: 'my cat',
			photo: [
				{ file_id: 'small', file_unique_id: 's', width: 90, height: 60, file_size: 1000 },
				{ file_id: 'large', file_unique_id: 'l', width: 1280, height: 853, file_size: 90_000 },
				{ file_id: 'medium', file_unique_id: 'm', width: 320, height: 213, file_size: 9000 },
			],
		});
		const envelope = normalizeTelegramUpdate(parseTelegramUpdate(update), { bot })!;
		expect(envelope.message.text).toBe('my cat');
		expect(envelope.message.attachments).toEqual([{ kind: 'image', id: 'large', mimeType: 'image/jpeg', name: null, size: 90_000 }]);
	});

	test.each([
		['document', { document: { file_id: 'd1', file_unique_id: 'u', file_name: 'report.pdf', mime_type: 'application/pdf', file_size: 5 } }, { kind: 'document', id: 'd1', mimeType: 'application/pdf', name: 'report.pdf', size: 5 }],
		['voice message', { voice: { file_id: 'v1', file_unique_id: 'u', duration: 3, mime_type: 'audio/ogg', file_size: 7 } }, { kind: 'voice', id: 'v1', mimeType: 'audio/ogg', name: null, size: 7, durationSeconds: 3 }],
		['audio file', { audio: { file_id: 'a1', file_unique_id: 'u', duration: 3, title: 'Song', mime_type: 'audio/mpeg' } }, { kind: 'audio', id: 'a1', mimeType: 'audio/mpeg', name: 'Song', size: null, durationSeconds: 3 }],
		['video', { video: { file_id: 'x1', file_unique_id: 'u', width: 1, height: 1, duration: 1, file_size: 9 } }, { kind: 'video', id: 'x1', mimeType: 'video/mp4', name: null, size: 9 }],
		['sticker', { sticker: { file_id: 's1', file_unique_id: 'u', type: 'regular', width: 1, height: 1, is_animated: false, is_video: false, emoji: '😀' } }, { kind: 'sticker', id: 's1', mimeType: 'image/webp', name: '😀', size: null }],
		['location', { location: { latitude: 52.52, longitude: 13.405 } }, { kind: 'location', id: '52.52,13.405', mimeType: null, name: null, size: null, location: { latitude: 52.52, longitude: 13.405 } }],
	])('a %s becomes one attachment', (_label, fields, expected) => {
		expect(attachments(fields)).toEqual([expected]);
	});

	test('an animation (which Telegram also repeats as a document) is one video attachment', () => {
		const gif = { file_id: 'g1', file_unique_id: 'u', width: 1, height: 1, duration: 1, mime_type: 'video/mp4', file_name: 'fun.mp4' };
		expect(attachments({ animation: gif, document: gif })).toEqual([{ kind: 'video', id: 'g1', mimeType: 'video/mp4', name: 'fun.mp4', size: null }]);
	});
});

describe('downloading files through the Bot API', () => {
	beforeAll(() => telegram.start());
	afterAll(() => telegram.stop());
	const credential = () => ({ accessToken: telegram.token, baseUrl: telegram.apiRoot });

	test('getFile, then the file from <apiRoot>/file/bot<token>/<file_path>', async () => {
		const fileId = telegram.addFile('%PDF-1.4 fake report', { mimeType: 'application/pdf', path: 'documents/file_7.pdf' });
		const file = await downloadTelegramFile(createTelegramApi(credential()), credential(), { id: fileId, name: 'report.pdf', mimeType: 'application/pdf' });
		expect(file).toEqual({ bytes: Buffer.from('%PDF-1.4 fake report'), fileName: 'report.pdf', mimeType: 'application/pdf' });
		expect(telegram.server.matching((request) => request.path === `/file/bot${telegram.token}/documents/file_7.pdf`)).toHaveLength(1);
	});

	test('a file without a name is named after its path; a photo keeps its type', async () => {
		const fileId = telegram.addFile('jpeg bytes', { mimeType: 'image/jpeg', path: 'photos/file_3.jpg' });
		const file = await downloadTelegramFile(createTelegramApi(credential()), credential(), { id: fileId, name: null, mimeType: 'image/jpeg' });
		expect(file.fileName).toBe('file_3.jpg');
		expect(file.mimeType).toBe('image/jpeg');
	});

	const MB = 1024 * 1024;
	const api = () => createTelegramApi(credential());
	const fetchedBytes = (fileId: string) => telegram.fileDownloads(fileId).length;

	test('a file the message announces as larger than the limit (20 MB by default) is not fetched at all', async () => {
		const fileId = telegram.addFile('small body, big claim', { path: 'videos/announced_25mb.mp4' });
		const getFileCalls = telegram.calls('getFile').length;
		const failure = downloadTelegramFile(api(), credential(), { id: fileId, name: null, mimeType: 'video/mp4', size: 25 * MB });
		await expect(failure).rejects.toThrow('too large (25 MB; the limit is 20 MB)');
		expect(telegram.calls('getFile')).toHaveLength(getFileCalls);
		expect(fetchedBytes(fileId)).toBe(0);
	});

	test('a file without a size in the message is checked against the size getFile reports, before its bytes are fetched', async () => {
		const fileId = telegram.addFile('small body', { path: 'documents/reported_5mb.bin', serving: { announcedSize: 5 * MB } });
		const failure = downloadTelegramFile(api(), credential(), { id: fileId, name: null, mimeType: null, size: null }, { maxBytes: 1 * MB });
		await expect(failure).rejects.toThrow('too large (5 MB; the limit is 1 MB)');
		expect(fetchedBytes(fileId)).toBe(0);
	});

	test('a server sending more than the announced size is stopped at the limit (its Content-Length says so)', async () => {
		const fileId = telegram.addFile(Buffer.alloc(21 * MB, 'a'), { path: 'documents/lying_21mb.bin', serving: { announcedSize: 10, contentLength: true } });
		const failure = downloadTelegramFile(api(), credential(), { id: fileId, name: null, mimeType: null, size: 10 });
		await expect(failure).rejects.toThrow('too large (21 MB; the limit is 20 MB)');
	});

	test('a server sending more than the announced size without Content-Length is cut off at the limit', async () => {
		const fileId = telegram.addFile(Buffer.alloc(2 * MB, 'a'), { path: 'documents/lying_2mb.bin', serving: { announcedSize: 10 } });
		const failure = downloadTelegramFile(api(), credential(), { id: fileId, name: null, mimeType: null, size: 10 }, { maxBytes: 1 * MB });
		await expect(failure).rejects.toThrow('too large (more than 1 MB; the limit is 1 MB)');
	});

	test('a file of unknown size streamed without Content-Length is cut off as soon as the limit is passed', async () => {
		const fileId = telegram.addFile(Buffer.alloc(3 * MB, 'b'), {
			path: 'documents/unannounced_3mb.bin',
			serving: { announcedSize: null, trickle: { chunkBytes: 256 * 1024, intervalMs: 10 } },
		});
		const failure = downloadTelegramFile(api(), credential(), { id: fileId, name: null, mimeType: null, size: null }, { maxBytes: 1 * MB });
		await expect(failure).rejects.toThrow('too large (more than 1 MB; the limit is 1 MB)');
		const stream = telegram.fileStreams.find((candidate) => candidate.fileId === fileId)!;
		await stream.finished;
		expect(stream.cutOff).toBe(true);
		expect(stream.bytesSent).toBeLessThan(2 * MB);
	});

	test('a file within the limit arrives whole, also when streamed without Content-Length or size', async () => {
		const bytes = Buffer.alloc(300 * 1024, 'c');
		const fileId = telegram.addFile(bytes, { path: 'documents/fine.bin', serving: { announcedSize: null, trickle: { chunkBytes: 64 * 1024, intervalMs: 5 } } });
		const file = await downloadTelegramFile(api(), credential(), { id: fileId, name: 'fine.bin', mimeType: null, size: null }, { maxBytes: 1 * MB });
		expect(file.bytes.equals(bytes)).toBe(true);
	});

	test.each([
		['answers late', { delayMs: 5_000 }],
		['sends its bytes slowly', { trickle: { chunkBytes: 1024, intervalMs: 100 } }],
	])('a download from a server that %s is stopped after the timeout', async (_label, serving) => {
		const fileId = telegram.addFile(Buffer.alloc(100 * 1024, 'd'), { path: `documents/slow_${_label.replace(/\W/g, '_')}.bin`, serving });
		const started = Date.now();
		const failure = downloadTelegramFile(api(), credential(), { id: fileId, name: null, mimeType: null, size: null }, { timeoutMs: 500 });
		await expect(failure).rejects.toThrow('The download took longer than 0.5 s and was stopped.');
		expect(Date.now() - started).toBeLessThan(1_500);
	});

	test('an unknown file is explained without revealing the bot token', async () => {
		const failure = downloadTelegramFile(createTelegramApi(credential()), credential(), { id: 'nope', name: null, mimeType: null });
		await expect(failure).rejects.toThrow(/Telegram refused to look up a file \(getFile\).*400/);
		await failure.catch((error: Error) => expect(`${error.message}${error.stack}`).not.toContain(telegram.token));
	});
});
