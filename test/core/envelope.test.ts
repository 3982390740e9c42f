import { buildMessageKey, buildSessionId, commandForBot, parseCommand } from '../../nodes/core/envelope';

describe('session key (DESIGN.md: channel:accountId:chat.type:chat.id)', () => {
	const chat = { id: '42', type: 'dm' as const, threadId: null };

	test('a direct message session is channel, account, chat type and chat id', () => {
		expect(buildSessionId({ channel: 'telegram', accountId: '7012345678', chat, senderId: '42' })).toBe('telegram:7012345678:dm:42');
	});

	test('a thread gets its own session, appended after the chat', () => {
		const threaded = { id: '-100123', type: 'group' as const, threadId: '77' };
		expect(buildSessionId({ channel: 'telegram', accountId: '1', chat: threaded, senderId: '5' })).toBe('telegram:1:group:-100123:77');
	});

	test('per-user scope splits a group by sender, but leaves DMs as they are', () => {
		const group = { id: 'C1', type: 'group' as const, threadId: null };
		expect(buildSessionId({ channel: 'slack', accountId: 'T1', chat: group, senderId: 'U9', scope: 'user' })).toBe('slack:T1:group:C1:user:U9');
		expect(buildSessionId({ channel: 'slack', accountId: 'T1', chat, senderId: '42', scope: 'user' })).toBe('slack:T1:dm:42');
	});

	test('two messages of the same chat share a session; different chats or bots do not', () => {
		const a = buildSessionId({ channel: 'telegram', accountId: '1', chat, senderId: '42' });
		expect(buildSessionId({ channel: 'telegram', accountId: '1', chat, senderId: '42' })).toBe(a);
		expect(buildSessionId({ channel: 'telegram', accountId: '2', chat, senderId: '42' })).not.toBe(a);
		expect(buildSessionId({ channel: 'telegram', accountId: '1', chat: { ...chat, id: '43' }, senderId: '43' })).not.toBe(a);
	});
});

describe('message key (idempotency)', () => {
	test('is channel, account, chat and message id, so a redelivery has the same key', () => {
		const envelope = { channel: 'telegram', accountId: '1', chat: { id: '42' }, message: { id: '1001' } } as Parameters<typeof buildMessageKey>[0];
		expect(buildMessageKey(envelope)).toBe('telegram:1:42:1001');
		expect(buildMessageKey({ ...envelope })).toBe(buildMessageKey(envelope));
	});

	test('the same message number in two chats is two messages (Telegram and Slack number messages per chat)', () => {
		const inChat = (chatId: string) => ({ channel: 'telegram', accountId: '1', chat: { id: chatId }, message: { id: '5' } }) as Parameters<typeof buildMessageKey>[0];
		expect(buildMessageKey(inChat('42'))).not.toBe(buildMessageKey(inChat('43')));
	});
});

describe('bot commands', () => {
	test('a leading slash word is a command, lower-cased, with its arguments', () => {
		expect(parseCommand('/New please')).toEqual({ command: 'new', addressee: null, args: 'please' });
	});

	test('Telegram-style /cmd@botname is recognised for our bot and ignored for another bot', () => {
		expect(commandForBot('/usage@MyBot', 'mybot')).toBe('usage');
		expect(commandForBot('/usage@otherbot', 'mybot')).toBeNull();
	});

	test('text that only contains a slash later, or a path, is not a command', () => {
		expect(parseCommand('see /new')).toBeNull();
		expect(parseCommand('/usr/bin is a path')).toBeNull();
		expect(parseCommand('hello')).toBeNull();
	});
});
