import { decideAccess, DEFAULT_ACCESS_POLICY, parseIdList, type AccessFacts, type AccessPolicy } from '../../nodes/core/access-policy';
import type { Envelope, EnvelopeEvent } from '../../nodes/core/envelope';

interface MessageShape {
	chatType?: 'dm' | 'group' | 'channel';
	chatId?: string;
	threadId?: string | null;
	senderId?: string;
	isBot?: boolean;
	text?: string;
	mentionsBot?: boolean;
	command?: string | null;
	event?: EnvelopeEvent;
}

/** An envelope as a trigger would emit it: a DM from Ada unless told otherwise. */
function envelopeOf({ chatType = 'dm', chatId, threadId = null, senderId = '42', isBot = false, text = 'hello', mentionsBot = false, command = null, event = 'message' }: MessageShape = {}): Envelope {
	const chat = { id: chatId ?? (chatType === 'dm' ? senderId : '-100123'), type: chatType, threadId, title: null };
	return {
		sessionId: `test:1:${chat.type}:${chat.id}`,
		channel: 'test',
		accountId: '1',
		event,
		chat,
		sender: { id: senderId, name: 'Ada', username: 'ada', isBot },
		message: { id: '1001', text, replyToId: null, mentionsBot, command, attachments: [], timestamp: '2026-11-26T07:00:00.000Z' },
		raw: {},
	};
}

const group = (shape: MessageShape = {}) => envelopeOf({ chatType: 'group', ...shape });
const person: AccessFacts = { fromSelf: false };
const policy = (overrides: Partial<AccessPolicy> = {}): AccessPolicy => ({ ...DEFAULT_ACCESS_POLICY, ...overrides });
const allowed = { allowed: true };
const denied = (reason: RegExp | string) => ({ allowed: false, reason: typeof reason === 'string' ? expect.stringContaining(reason) : expect.stringMatching(reason) });

describe('decideAccess: who may start the workflow', () => {
	test('by default a DM from a person starts the workflow', () => {
		expect(decideAccess(envelopeOf(), person)).toEqual(allowed);
	});

	describe('bots', () => {
		test("the bot's own message never starts the workflow, even with Include Other Bots on", () => {
			expect(decideAccess(envelopeOf({ isBot: true }), { fromSelf: true }, policy({ includeBots: true }))).toEqual(denied('the bot sent it itself'));
			expect(decideAccess(group({ isBot: true, mentionsBot: true }), { fromSelf: true }, policy({ includeBots: true, groupActivation: 'all' }))).toEqual(denied('itself'));
		});

		test("another bot's message is dropped while Include Other Bots is off (the default)", () => {
			expect(decideAccess(envelopeOf({ isBot: true }), person)).toEqual(denied('Include Other Bots'));
			expect(decideAccess(group({ isBot: true, mentionsBot: true }), person)).toEqual(denied('Include Other Bots'));
		});

		test("another bot's message starts the workflow with Include Other Bots on", () => {
			expect(decideAccess(envelopeOf({ isBot: true }), person, policy({ includeBots: true }))).toEqual(allowed);
			expect(decideAccess(group({ isBot: true, mentionsBot: true }), person, policy({ includeBots: true }))).toEqual(allowed);
		});

		test('another bot still passes the other rules: Include Other Bots does not open a closed DM policy', () => {
			expect(decideAccess(envelopeOf({ isBot: true }), person, policy({ includeBots: true, dmPolicy: 'disabled' }))).toEqual(denied('Disabled'));
		});
	});

	describe('Allowed Senders', () => {
		const onlyAda = policy({ allowedSenderIds: ['42'] });

		test('a listed sender passes in DMs and in groups', () => {
			expect(decideAccess(envelopeOf({ senderId: '42' }), person, onlyAda)).toEqual(allowed);
			expect(decideAccess(group({ senderId: '42', mentionsBot: true }), person, onlyAda)).toEqual(allowed);
		});

		test('anyone else is dropped in DMs and in groups, and the reason names the sender', () => {
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, onlyAda)).toEqual(denied('its sender 7 is not in "Allowed Senders"'));
			expect(decideAccess(group({ senderId: '7', mentionsBot: true }), person, onlyAda)).toEqual(denied('its sender 7 is not in "Allowed Senders"'));
		});

		test('senderListedAs is what the list is compared with, when the platform names senders differently (Twilio phone numbers)', () => {
			const numbers = policy({ allowedSenderIds: ['+15551230001'] });
			const whatsapp = envelopeOf({ senderId: 'whatsapp:+15551230001' });
			expect(decideAccess(whatsapp, { fromSelf: false, senderListedAs: '+15551230001' }, numbers)).toEqual(allowed);
			expect(decideAccess(whatsapp, person, numbers)).toEqual(denied('whatsapp:+15551230001'));
			expect(decideAccess(envelopeOf({ senderId: '+15551230001' }), { fromSelf: false, senderListedAs: '+15559999999' }, numbers)).toEqual(denied('+15559999999'));
		});

		test('an empty list allows everyone', () => {
			expect(decideAccess(envelopeOf({ senderId: 'anyone' }), person, policy({ allowedSenderIds: [] }))).toEqual(allowed);
		});
	});

	describe('DM policy', () => {
		test('open: anyone, within Allowed Senders when set', () => {
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, policy({ dmPolicy: 'open' }))).toEqual(allowed);
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, policy({ dmPolicy: 'open', allowedSenderIds: ['42'] }))).toEqual(denied('Allowed Senders'));
		});

		test('allowlist: only Allowed Senders', () => {
			const allowlist = policy({ dmPolicy: 'allowlist', allowedSenderIds: ['42'] });
			expect(decideAccess(envelopeOf({ senderId: '42' }), person, allowlist)).toEqual(allowed);
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, allowlist)).toEqual(denied('Allowed Senders'));
		});

		test('allowlist with an empty Allowed Senders lets no DM through (a private bot is not opened by forgetting the list)', () => {
			expect(decideAccess(envelopeOf({ senderId: '42' }), person, policy({ dmPolicy: 'allowlist' }))).toEqual(denied('"DM Policy" is Allowlist with no "Allowed Senders"'));
		});

		test('allowlist applies to DMs only: group messages follow the group rules', () => {
			expect(decideAccess(group({ mentionsBot: true }), person, policy({ dmPolicy: 'allowlist' }))).toEqual(allowed);
		});

		test('pairing: an unknown sender is handed to the pairing step, not to the model', () => {
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, policy({ dmPolicy: 'pairing' }))).toEqual({ allowed: 'pairing', reason: expect.stringContaining('sender 7 is not approved yet') });
		});

		test('pairing: a sender in Allowed Senders is approved already', () => {
			expect(decideAccess(envelopeOf({ senderId: '42' }), person, policy({ dmPolicy: 'pairing', allowedSenderIds: ['42'] }))).toEqual(allowed);
		});

		// DESIGN.md: "pairing: an unknown sender gets a one-time code". With some senders approved
		// (listed), a new one is still unknown and must be offered pairing, not dropped silently.
		test('pairing: a sender outside a non-empty Allowed Senders still gets pairing, not a silent drop', () => {
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, policy({ dmPolicy: 'pairing', allowedSenderIds: ['42'] }))).toEqual({ allowed: 'pairing', reason: expect.any(String) });
		});

		test('pairing: a sender approved by code passes, in DMs and (with Allowed Senders set) in groups', () => {
			const paired = policy({ dmPolicy: 'pairing', allowedSenderIds: ['42'], approvedSenderIds: ['7'] });
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, paired)).toEqual(allowed);
			expect(decideAccess(group({ senderId: '7', mentionsBot: true }), person, paired)).toEqual(allowed);
			expect(decideAccess(envelopeOf({ senderId: '8' }), person, paired)).toEqual({ allowed: 'pairing', reason: expect.stringContaining('sender 8') });
		});

		test('pairing: approved senders do not make an empty Allowed Senders exclusive in groups', () => {
			expect(decideAccess(group({ senderId: '8', mentionsBot: true }), person, policy({ dmPolicy: 'pairing', approvedSenderIds: ['7'] }))).toEqual(allowed);
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, policy({ dmPolicy: 'pairing', approvedSenderIds: ['7'] }))).toEqual(allowed);
		});

		test('pairing: an approved sender is still refused when it is a bot and Include Other Bots is off', () => {
			expect(decideAccess(envelopeOf({ senderId: '7', isBot: true }), person, policy({ dmPolicy: 'pairing', approvedSenderIds: ['7'] }))).toEqual(denied('Include Other Bots'));
		});

		test('pairing concerns DMs only: group messages follow the group rules', () => {
			expect(decideAccess(group({ mentionsBot: true }), person, policy({ dmPolicy: 'pairing' }))).toEqual(allowed);
		});

		test('disabled: no DM starts the workflow, not even from an allowed sender', () => {
			expect(decideAccess(envelopeOf({ senderId: '42' }), person, policy({ dmPolicy: 'disabled', allowedSenderIds: ['42'] }))).toEqual(denied('"DM Policy" is Disabled'));
			expect(decideAccess(group({ senderId: '42', mentionsBot: true }), person, policy({ dmPolicy: 'disabled', allowedSenderIds: ['42'] }))).toEqual(allowed);
		});
	});

	describe('Allowed Chats', () => {
		const onlyTeam = policy({ allowedChatIds: ['-100123'] });

		test('a group in the list passes; another group is dropped, and the reason names it', () => {
			expect(decideAccess(group({ chatId: '-100123', mentionsBot: true }), person, onlyTeam)).toEqual(allowed);
			expect(decideAccess(group({ chatId: '-100999', mentionsBot: true }), person, onlyTeam)).toEqual(denied('its chat -100999 is not in "Allowed Chats"'));
		});

		test('channels (chat type "channel") are held to the list like groups', () => {
			expect(decideAccess(envelopeOf({ chatType: 'channel', chatId: 'C9', mentionsBot: true }), person, onlyTeam)).toEqual(denied('Allowed Chats'));
		});

		test('a thread counts as its chat, and a listed thread ID passes too', () => {
			expect(decideAccess(group({ chatId: '-100123', threadId: '77', mentionsBot: true }), person, onlyTeam)).toEqual(allowed);
			expect(decideAccess(group({ chatId: '-100999', threadId: '77', mentionsBot: true }), person, policy({ allowedChatIds: ['77'] }))).toEqual(allowed);
		});

		test('alsoInChats lets a message pass by its parent chat (a Discord thread in a listed channel, a listed server)', () => {
			const thread = group({ chatId: 'T55', mentionsBot: true });
			expect(decideAccess(thread, { fromSelf: false, alsoInChats: ['C1', 'G1'] }, policy({ allowedChatIds: ['G1'] }))).toEqual(allowed);
			expect(decideAccess(thread, { fromSelf: false, alsoInChats: ['C1'] }, policy({ allowedChatIds: ['G1'] }))).toEqual(denied('Allowed Chats'));
		});

		test('DMs follow the DM policy, not Allowed Chats', () => {
			expect(decideAccess(envelopeOf({ senderId: '42' }), person, onlyTeam)).toEqual(allowed);
		});

		test('allowedChatsCoverDms (Telegram v1 "Only These Chats") holds DMs to the list too', () => {
			const legacy = policy({ allowedChatIds: ['42', '-100123'], allowedChatsCoverDms: true });
			expect(decideAccess(envelopeOf({ senderId: '42' }), person, legacy)).toEqual(allowed);
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, legacy)).toEqual(denied('its chat 7 is not in "Only These Chats"'));
			expect(decideAccess(envelopeOf({ senderId: '7' }), person, { ...legacy, allowedChatIds: [] })).toEqual(allowed);
		});
	});

	describe('group gate', () => {
		test('with "mentions" (the default) a group message that does not address the bot is dropped', () => {
			expect(decideAccess(group({ text: 'lunch?' }), person)).toEqual(denied('neither mentions'));
		});

		test('a mention, a reply to the bot, or a command addresses the bot', () => {
			expect(decideAccess(group({ mentionsBot: true }), person)).toEqual(allowed);
			expect(decideAccess(group(), { fromSelf: false, repliesToBot: true })).toEqual(allowed);
			expect(decideAccess(group({ text: '/new', command: 'new' }), person)).toEqual(allowed);
			expect(decideAccess(group({ text: '/new@clawgate_bot', command: 'new' }), person)).toEqual(allowed);
		});

		test('a reply to someone else is not a reply to the bot', () => {
			expect(decideAccess(group(), { fromSelf: false, repliesToBot: false })).toEqual(denied('neither mentions'));
		});

		test('with "all" every group message passes', () => {
			expect(decideAccess(group({ text: 'lunch?' }), person, policy({ groupActivation: 'all' }))).toEqual(allowed);
		});

		test('a command for another bot is dropped, even with "all" and even when it mentions this bot', () => {
			const forOther = group({ text: '/new@other_bot', command: null });
			expect(decideAccess(forOther, person)).toEqual(denied('it is a command for another bot (@other_bot)'));
			expect(decideAccess(forOther, person, policy({ groupActivation: 'all' }))).toEqual(denied('@other_bot'));
			expect(decideAccess({ ...forOther, message: { ...forOther.message, mentionsBot: true } }, person)).toEqual(denied('@other_bot'));
		});

		test('a button press (callback query) passes the group gate: it answers the bot by nature', () => {
			expect(decideAccess(group({ event: 'callback_query', text: 'yes' }), person)).toEqual(allowed);
			expect(decideAccess(group({ event: 'callback_query', text: '/new@other_bot' }), person)).toEqual(allowed);
		});

		test('a button press still obeys Allowed Chats, Allowed Senders and the bot rules', () => {
			const press = group({ event: 'callback_query', chatId: '-100999', senderId: '7', text: 'yes' });
			expect(decideAccess(press, person, policy({ allowedChatIds: ['-100123'] }))).toEqual(denied('Allowed Chats'));
			expect(decideAccess(press, person, policy({ allowedSenderIds: ['42'] }))).toEqual(denied('Allowed Senders'));
			expect(decideAccess(press, { fromSelf: true })).toEqual(denied('itself'));
		});

		test('DMs have no group gate: a DM needs no mention', () => {
			expect(decideAccess(envelopeOf({ text: 'hi' }), person, policy({ groupActivation: 'mentions' }))).toEqual(allowed);
		});
	});
});

describe('parseIdList: IDs as users type them into an option', () => {
	test('commas, semicolons, spaces and new lines separate IDs; blanks are dropped', () => {
		expect(parseIdList('42, 43;44 45\n46\r\n,, ;')).toEqual(['42', '43', '44', '45', '46']);
		expect(parseIdList('  -100123 ,U0ADA  ')).toEqual(['-100123', 'U0ADA']);
	});

	test('empty or missing values are an empty list', () => {
		expect(parseIdList('')).toEqual([]);
		expect(parseIdList('   ')).toEqual([]);
		expect(parseIdList(undefined)).toEqual([]);
		expect(parseIdList(null)).toEqual([]);
		expect(parseIdList({ id: 42 })).toEqual([]);
		expect(parseIdList(true)).toEqual([]);
	});

	test('numbers (an expression resolving to a chat ID) are read as their decimal text', () => {
		expect(parseIdList(42)).toEqual(['42']);
		expect(parseIdList(-1001234567890)).toEqual(['-1001234567890']);
	});

	test('arrays are read entry by entry, nested and mixed', () => {
		expect(parseIdList(['42', 43, '44, 45', ['46'], null])).toEqual(['42', '43', '44', '45', '46']);
	});

	test('custom separators keep spaces inside IDs (phone numbers)', () => {
		const phones = { separators: /[,;\n]+/ };
		expect(parseIdList('+1 415 555 0100, +49 30 1234;+44 20 7946', phones)).toEqual(['+1 415 555 0100', '+49 30 1234', '+44 20 7946']);
		expect(parseIdList(['+1 415 555 0100\n+1 415 555 0101'], phones)).toEqual(['+1 415 555 0100', '+1 415 555 0101']);
	});

	test('normalize spells every entry the platform\'s way, numbers and array entries included; entries it empties are dropped', () => {
		const reading = { separators: /[,;\n]+/, normalize: (id: string) => id.replace(/^whatsapp:/, '').replace(/[\s\-().]/g, '') };
		expect(parseIdList('whatsapp:+1 (415) 555-0100, +44 20 7946', reading)).toEqual(['+14155550100', '+44207946']);
		expect(parseIdList([14155550100, 'whatsapp:'], reading)).toEqual(['14155550100']);
	});
});
