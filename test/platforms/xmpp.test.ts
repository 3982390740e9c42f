import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { deliverText } from '../../nodes/core/outbound';
import { scramClientFinal, scramClientFirst, type XmppCredential } from '../../nodes/Xmpp/xmpp.connection';
import { startXmppListener, whyXmppStanzaIsNoMessage, xmppEnvelopeOf, xmppPlugin } from '../../nodes/Xmpp/xmpp.plugin';
import { MAX_STANZA_BYTES, XmlStreamParser, type XmlElement } from '../../nodes/Xmpp/xmpp.xml';
import { XmppEmulator } from '../emulators/xmpp';
import { listenerProbe, settle, until } from './listener-probe';

jest.setTimeout(30_000);

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'xmpp', `${name}.json`), 'utf8')) as { source: string; platform: string; payload: string };

function stanzaOf(payload: string): XmlElement {
	const parser = new XmlStreamParser();
	parser.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
	const [event] = parser.feed(payload);
	if (event?.kind !== 'stanza') throw new Error('no stanza');
	return event.element;
}

describe('XMPP stanzas (recorded from RFC 6121 and XEP-0045)', () => {
	test('a chat message becomes a DM envelope of its sender\'s bare JID', () => {
		const { source, platform, payload } = fixture('chat-message');
		expect([platform, source]).toEqual(['xmpp', expect.stringMatching(/^https:\/\//)]);
		const stanza = stanzaOf(payload);
		expect(whyXmppStanzaIsNoMessage(stanza)).toBeNull();
		const { envelope, fromSelf } = xmppEnvelopeOf(stanza, { account: 'romeo@example.net', rooms: new Map() });
		expect(fromSelf).toBe(false);
		expect(envelope).toMatchObject({
			sessionId: 'xmpp:romeo@example.net:dm:juliet@example.com',
			chat: { id: 'juliet@example.com', type: 'dm' },
			sender: { id: 'juliet@example.com' },
			message: { id: 'ktx72v49', text: 'Art thou not Romeo, and a Montague?', mentionsBot: true },
		});
	});

	test('a room message is a group envelope of the room; without our nick it does not mention us', () => {
		const stanza = stanzaOf(fixture('muc-message').payload);
		const { envelope } = xmppEnvelopeOf(stanza, { account: 'crone1@shakespeare.lit', rooms: new Map([['coven@chat.shakespeare.lit', 'crone1']]) });
		expect(envelope).toMatchObject({ chat: { id: 'coven@chat.shakespeare.lit', type: 'group' }, sender: { id: 'coven@chat.shakespeare.lit/thirdwitch', name: 'thirdwitch' }, message: { mentionsBot: false } });
		const named = xmppEnvelopeOf(stanzaOf(fixture('muc-message').payload.replace('Harpier', 'crone1: Harpier')), { account: 'crone1@shakespeare.lit', rooms: new Map([['coven@chat.shakespeare.lit', 'crone1']]) });
		expect(named.envelope.message).toMatchObject({ mentionsBot: true, text: "Harpier cries: 'tis time, 'tis time." });
	});

	test("a room's history replay (XEP-0203 delay) starts nothing", () => {
		expect(whyXmppStanzaIsNoMessage(stanzaOf(fixture('muc-history').payload))).toMatch(/history/);
	});

	test('the parser refuses a stanza over the size cap before building it, and XML XMPP forbids', () => {
		const parser = new XmlStreamParser();
		parser.feed("<stream:stream xmlns='jabber:client'>");
		parser.feed('<message><body>');
		expect(() => {
			for (let sent = 0; sent <= MAX_STANZA_BYTES; sent += 64 * 1024) parser.feed('x'.repeat(64 * 1024));
		}).toThrow(/larger than/);
		const other = new XmlStreamParser();
		other.feed("<stream:stream xmlns='jabber:client'>");
		expect(() => other.feed('<!DOCTYPE x [<!ENTITY a "aaaa">]>')).toThrow(/forbids/);
	});

	test('a stanza split into single characters parses the same, in linear time', () => {
		const parser = new XmlStreamParser();
		parser.feed("<stream:stream xmlns='jabber:client'>");
		const payload = `<message from='a@b' type='chat'><body>${'a &amp; b '.repeat(5_000)}</body></message>`;
		const started = Date.now();
		const events = [...payload].flatMap((char) => parser.feed(char));
		expect(Date.now() - started).toBeLessThan(2_000);
		expect(events).toHaveLength(1);
	});

	test('SCRAM-SHA-1 matches RFC 5802 §5\'s example exchange', () => {
		const first = scramClientFirst('user', 'fyko+d2lbbFgONRv9qkxdawL');
		expect(first.message).toBe('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
		const final = scramClientFinal('pencil', first.bare, first.nonce, 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
		expect(final.message).toBe('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
		expect(final.serverSignature.toString('base64')).toBe('rmF9pqV8S7suAoZWja4dJRkFsKQ=');
	});
});

describe('XMPP trigger and send against a loopback XMPP server', () => {
	const server = new XmppEmulator({ accounts: { clawbot: 'xmpp-secret', other: 'other-secret' } });
	const room = 'team@conference.clawgate.test';
	const credential = (): XmppCredential => ({ jid: 'clawbot@clawgate.test', password: 'xmpp-secret', baseUrl: server.url, rooms: room });

	beforeAll(async () => {
		await server.start();
		server.history.set(room, [{ nick: 'ada', text: 'clawbot: an old question', stamp: '2026-01-01T10:00:00Z' }]);
	});
	afterAll(() => server.stop());

	test('logs in (SCRAM-SHA-1), joins the room; history and unaddressed room talk start nothing; a DM and a mention do; answers go out on the same session', async () => {
		const probe = listenerProbe(xmppPlugin, credential());
		const listener = await startXmppListener(probe.input);
		try {
			expect(server.authentications).toContain('clawbot');
			expect([...(server.rooms.get(room)?.keys() ?? [])]).toContain('clawbot');
			server.chat({ from: 'ada@clawgate.test/phone', to: 'clawbot@clawgate.test', text: 'hello bot' });
			server.roomSay({ room, nick: 'ada', text: 'lunch, anyone?' });
			server.roomSay({ room, nick: 'grace', text: 'clawbot, what time is it?' });
			const [dm, mention] = await probe.waitForEmitted(2);
			await settle();
			expect(probe.emitted).toHaveLength(2);
			expect(dm).toMatchObject({ via: 'xmpp', accountId: 'clawbot@clawgate.test', chat: { id: 'ada@clawgate.test', type: 'dm' }, message: { text: 'hello bot' } });
			expect(mention).toMatchObject({ chat: { id: room, type: 'group' }, message: { text: 'what time is it?', mentionsBot: true } });

			const sessions = server.sessions.size;
			const client = await xmppPlugin.createClient(credential());
			await deliverText(xmppPlugin, client, { chatId: 'ada@clawgate.test', markdown: 'hi **ada** <3 & more', replyToId: null, threadId: null, linkPreviews: false });
			await deliverText(xmppPlugin, client, { chatId: room, markdown: 'noon', replyToId: null, threadId: null, linkPreviews: false });
			await until(() => server.bodiesTo(room).length > 0, 'the room answer');
			expect(server.bodiesTo('ada@clawgate.test')).toEqual(['hi ada <3 & more']);
			expect(server.bodiesTo(room)).toEqual(['noon']);
			expect(server.sessions.size).toBe(sessions);
			// The room reflects our own message back: never emitted.
			await settle();
			expect(probe.emitted).toHaveLength(2);
		} finally {
			await listener.close();
		}
		await until(() => server.disconnects.some((ended) => ended.jid?.startsWith('clawbot@') && ended.cleanly), 'the closed stream');
	});

	test('a 1:1 message stored while offline (with a delay) is answered; PLAIN works where SCRAM is not offered', async () => {
		const plainOnly = new XmppEmulator({ accounts: { clawbot: 'xmpp-secret' }, mechanisms: ['PLAIN'] });
		await plainOnly.start();
		const probe = listenerProbe(xmppPlugin, { ...credential(), baseUrl: plainOnly.url, rooms: '' });
		// Sent while the bot has no session: the server stores it and hands it over, with a delay, after the bot's initial presence.
		plainOnly.chat({ from: 'ada@clawgate.test', to: 'clawbot@clawgate.test', text: 'while you were away' });
		expect(plainOnly.offline).toHaveLength(1);
		const listener = await startXmppListener(probe.input);
		try {
			const [envelope] = await probe.waitForEmitted(1);
			expect(envelope.message.text).toBe('while you were away');
			expect(Date.parse(envelope.message.timestamp)).toBeLessThanOrEqual(Date.now());
			expect(plainOnly.offline).toHaveLength(0);
		} finally {
			await listener.close();
			await plainOnly.stop();
		}
	});

	test('a nick taken in the room falls back to nick_', async () => {
		const other = listenerProbe(xmppPlugin, { jid: 'other@clawgate.test', password: 'other-secret', baseUrl: server.url, rooms: room, nick: 'helper' });
		const mine = listenerProbe(xmppPlugin, { ...credential(), nick: 'helper' });
		const first = await startXmppListener(other.input);
		const second = await startXmppListener(mine.input);
		try {
			expect([...(server.rooms.get(room)?.keys() ?? [])]).toEqual(expect.arrayContaining(['helper', 'helper_']));
			server.roomSay({ room, nick: 'ada', text: 'helper_: ping' });
			expect((await mine.waitForEmitted(1))[0].message.text).toBe('ping');
		} finally {
			await second.close();
			await first.close();
		}
	});

	test('a wrong password fails activation pointing at the credential; a dropped connection comes back', async () => {
		const wrong = listenerProbe(xmppPlugin, { ...credential(), password: 'wrong-secret' });
		const failure = await startXmppListener(wrong.input).then(() => null, (error: Error) => error);
		expect(failure?.message).toMatch(/refused the login.*credential/);
		expect(failure?.message).not.toContain('wrong-secret');

		const probe = listenerProbe(xmppPlugin, credential());
		const listener = await startXmppListener(probe.input);
		try {
			const logins = server.authentications.length;
			server.dropAll();
			await until(() => server.authentications.length > logins && server.online().includes('clawbot@clawgate.test'), 'the reconnect', 10_000);
			await until(() => server.rooms.get(room)?.get('clawbot') !== undefined, 'the room joined again');
			server.chat({ from: 'ada@clawgate.test', to: 'clawbot@clawgate.test', text: 'back?' });
			expect((await probe.waitForEmitted(1))[0].message.text).toBe('back?');
		} finally {
			await listener.close();
		}
	});
});
