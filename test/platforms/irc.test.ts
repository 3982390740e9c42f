import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { deliverText } from '../../nodes/core/outbound';
import { ircPlugin, ircEnvelopeOf, startIrcListener, whyIrcLineIsNoMessage } from '../../nodes/Irc/irc.plugin';
import { IRC_LINE_BYTES, parseIrcLine, RELAY_PREFIX_BYTES, splitForIrc, TokenBucket, privmsgTextBudget } from '../../nodes/Irc/irc.protocol';
import type { IrcCredential } from '../../nodes/Irc/irc.connection';
import { IrcEmulator } from '../emulators/irc';
import { listenerProbe, settle, until } from './listener-probe';

jest.setTimeout(30_000);

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'irc', `${name}.json`), 'utf8')) as { source: string; platform: string; payload: string };

describe('IRC wire format (recorded lines from the RFCs and IRCv3)', () => {
	test.each(['privmsg-user', 'privmsg-channel', 'message-tags', 'ctcp-action'])('%s parses as the specification describes', (name) => {
		const { source, platform, payload } = fixture(name);
		expect(platform).toBe('irc');
		expect(source).toMatch(/^https:\/\//);
		expect(parseIrcLine(payload)).toMatchSnapshot();
	});

	test('a PRIVMSG to the bot is a DM envelope; one to a channel a group envelope, addressed only with the nick', () => {
		const dm = ircEnvelopeOf(parseIrcLine(fixture('privmsg-user').payload)!, { account: 'Wiz@irc.org', ownNick: 'Wiz', configuredNick: 'Wiz' }).envelope;
		expect(dm).toMatchObject({ channel: 'irc', chat: { id: 'Angel', type: 'dm' }, sender: { id: 'Angel', username: 'wings' }, message: { text: 'Are you receiving this message ?', mentionsBot: true } });
		expect(dm.sessionId).toBe('irc:Wiz@irc.org:dm:Angel');
		const group = ircEnvelopeOf(parseIrcLine(':ada!~ada@h PRIVMSG #chan :clawbot: what is new?')!, { account: 'clawbot@h', ownNick: 'clawbot', configuredNick: 'clawbot' }).envelope;
		expect(group).toMatchObject({ chat: { id: '#chan', type: 'group' }, message: { text: 'what is new?', mentionsBot: true } });
		const word = ircEnvelopeOf(parseIrcLine(':ada!~ada@h PRIVMSG #chan :ask Clawbot about it')!, { account: 'clawbot@h', ownNick: 'clawbot', configuredNick: 'clawbot' }).envelope;
		expect(word.message.mentionsBot).toBe(true);
		const none = ircEnvelopeOf(parseIrcLine(':ada!~ada@h PRIVMSG #chan :clawbots are great')!, { account: 'clawbot@h', ownNick: 'clawbot', configuredNick: 'clawbot' }).envelope;
		expect(none.message.mentionsBot).toBe(false);
	});

	test('CTCP (ACTION, VERSION) starts nothing', () => {
		expect(whyIrcLineIsNoMessage(parseIrcLine(fixture('ctcp-action').payload)!)).toMatch(/CTCP/);
	});

	test('long text is split into lines whose relayed PRIVMSG stays within 512 bytes, never inside a character', () => {
		const text = `${'Grüße aus dem Norden, '.repeat(60)}\nsecond line\n\n${'🙂'.repeat(300)}`;
		const target = '#a-rather-long-channel-name';
		const lines = splitForIrc(text, privmsgTextBudget(target));
		expect(lines.length).toBeGreaterThan(4);
		for (const line of lines) {
			expect(RELAY_PREFIX_BYTES + Buffer.byteLength(`PRIVMSG ${target} :${line}\r\n`)).toBeLessThanOrEqual(IRC_LINE_BYTES);
			expect(line).not.toContain('\uFFFD');
		}
		expect(lines.join(' ').replace(/\s+/g, '')).toBe(text.replace(/\s+/g, ''));
	});

	test('the token bucket lets 4 lines go at once, then one a second', () => {
		let now = 0;
		const bucket = new TokenBucket(4, 1000, () => now);
		expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0, 0]);
		expect(bucket.take()).toBe(1000);
		now = 1000;
		expect(bucket.take()).toBe(0);
		expect(bucket.take()).toBeGreaterThan(0);
	});
});

describe('IRC trigger and send against a loopback IRC server', () => {
	const server = new IrcEmulator({ accounts: { clawbot: 'sasl-secret' }, takenNicks: ['busybot'] });
	const credential = (): IrcCredential => ({ baseUrl: server.url, nick: 'clawbot', saslPassword: 'sasl-secret', channels: '#clawgate, #other' });

	beforeAll(() => server.start());
	afterAll(() => server.stop());

	test('logs in with SASL, joins the channels; a DM is emitted and answered on the same connection; a plain channel message is not', async () => {
		const probe = listenerProbe(ircPlugin, credential());
		const listener = await startIrcListener(probe.input);
		try {
			expect(server.received.some(({ raw }) => raw === 'AUTHENTICATE PLAIN')).toBe(true);
			expect(server.membersOf('#clawgate')).toContain('clawbot');

			server.say({ from: 'ada', to: 'clawbot', text: 'hello bot' });
			server.say({ from: 'ada', to: '#clawgate', text: 'lunch, anyone?' });
			server.notice({ from: 'ada', to: 'clawbot', text: 'a notice' });
			server.say({ from: 'ada', to: 'clawbot', text: '\x01VERSION\x01' });
			server.say({ from: 'grace', to: '#clawgate', text: 'clawbot, what time is it?' });
			const [dm, group] = await probe.waitForEmitted(2);
			await settle();
			expect(probe.emitted).toHaveLength(2);
			expect(dm).toMatchObject({ via: 'irc', accountId: `clawbot@127.0.0.1`, chat: { id: 'ada', type: 'dm' }, message: { text: 'hello bot' } });
			expect(group).toMatchObject({ chat: { id: '#clawgate', type: 'group' }, sender: { id: 'grace' }, message: { text: 'what time is it?', mentionsBot: true } });

			const connectionsBefore = server.clients.size;
			const client = await ircPlugin.createClient(credential());
			await deliverText(ircPlugin, client, { chatId: 'ada', markdown: 'hi **ada**', replyToId: null, threadId: null, linkPreviews: false });
			await deliverText(ircPlugin, client, { chatId: '#clawgate', markdown: 'noon', replyToId: group.message.id, threadId: null, linkPreviews: false });
			await until(() => server.textsTo('#clawgate').length > 0, 'the answers to reach the server');
			expect(server.textsTo('ada')).toEqual(['hi ada']);
			expect(server.textsTo('#clawgate')).toEqual(['grace: noon']);
			expect(server.clients.size).toBe(connectionsBefore);
		} finally {
			await listener.close();
		}
		await until(() => server.disconnects.some((ended) => ended.nick === 'clawbot' && ended.quit), 'the QUIT of the closed trigger');
	});

	test('a taken nick falls back to nick_, and "nick_:" still addresses the bot', async () => {
		const probe = listenerProbe(ircPlugin, { baseUrl: server.url, nick: 'busybot', channels: '#clawgate' });
		const listener = await startIrcListener(probe.input);
		try {
			expect(server.connectedNicks()).toContain('busybot_');
			server.say({ from: 'ada', to: '#clawgate', text: 'busybot_: are you there?' });
			const [envelope] = await probe.waitForEmitted(1);
			expect(envelope).toMatchObject({ accountId: 'busybot@127.0.0.1', message: { text: 'are you there?', mentionsBot: true } });
		} finally {
			await listener.close();
		}
	});

	test('a wrong SASL password fails activation with words pointing at the credential, never the password', async () => {
		const probe = listenerProbe(ircPlugin, { ...credential(), saslPassword: 'not-the-password' });
		const failure = await startIrcListener(probe.input).then(() => null, (error: Error) => error);
		expect(failure?.message).toMatch(/SASL.*credential/);
		expect(failure?.message).not.toContain('not-the-password');
	});

	test('a dropped connection is re-established with backoff; the trigger answers again', async () => {
		const probe = listenerProbe(ircPlugin, credential());
		const listener = await startIrcListener(probe.input);
		try {
			const registrations = () => server.received.filter(({ raw }) => raw === 'NICK clawbot').length;
			const before = registrations();
			server.dropAll();
			await until(() => registrations() > before && server.connectedNicks().includes('clawbot'), 'the reconnect', 10_000);
			await until(() => server.membersOf('#clawgate').includes('clawbot'), 'the channel joined again');
			server.say({ from: 'ada', to: 'clawbot', text: 'back?' });
			expect((await probe.waitForEmitted(1))[0].message.text).toBe('back?');
		} finally {
			await listener.close();
		}
	});

	test('flood control: a long answer goes out 4 lines at once, then about one line a second', async () => {
		const probe = listenerProbe(ircPlugin, credential());
		const listener = await startIrcListener(probe.input);
		try {
			const client = await ircPlugin.createClient(credential());
			const text = Array.from({ length: 7 }, (_unused, index) => `line ${index + 1}`).join('\n');
			await deliverText(ircPlugin, client, { chatId: 'pacer', markdown: text, replyToId: null, threadId: null, linkPreviews: false });
			await until(() => server.privmsgTimes('pacer').length === 7, 'every line');
			const times = server.privmsgTimes('pacer');
			expect(times).toHaveLength(7);
			expect(times[3] - times[0]).toBeLessThan(300);
			for (let index = 4; index < 7; index++) expect(times[index] - times[index - 1]).toBeGreaterThanOrEqual(800);
		} finally {
			await listener.close();
		}
	});
});
