import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { simpleParser } from 'mailparser';

import type { Envelope } from '../../nodes/core/envelope';
import { deliverText } from '../../nodes/core/outbound';
import { DONE_KEYWORD, emailEnvelopeOf, emailPlugin, MAX_BODY_CHARS, startEmailListener, whyMailIsNoMessage, type EmailCredential } from '../../nodes/Email/email.plugin';
import { composeMail, MailEmulator } from '../emulators/email';
import { listenerProbe, settle, until } from './listener-probe';

jest.setTimeout(30_000);

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'email', `${name}.json`), 'utf8')) as { source: string; platform: string; payload: string };

describe('mail as envelopes (recorded from RFC 5322 Appendix A)', () => {
	test('a first mail starts a thread of its own; the reply names that thread and the mail it answers', async () => {
		for (const name of ['first-message', 'reply-message']) expect(fixture(name)).toMatchObject({ platform: 'email', source: expect.stringMatching(/^https:\/\//) });
		const first = emailEnvelopeOf(await simpleParser(fixture('first-message').payload), { account: 'mary@example.net', uidValidity: '1', uid: 7 }).envelope;
		expect(first).toMatchObject({
			channel: 'email',
			accountId: 'mary@example.net',
			chat: { id: 'jdoe@machine.example', type: 'dm', threadId: '<1234@local.machine.example>', title: 'Saying Hello' },
			sender: { id: 'jdoe@machine.example', name: 'John Doe' },
			message: { id: '<1234@local.machine.example>', text: 'This is a message just to say hello.\nSo, "Hello".', replyToId: null, timestamp: '1997-11-21T15:55:06.000Z' },
		});
		expect(first.sessionId).toBe('email:mary@example.net:dm:jdoe@machine.example:<1234@local.machine.example>');
		const reply = emailEnvelopeOf(await simpleParser(fixture('reply-message').payload), { account: 'jdoe@machine.example', uidValidity: '1', uid: 8 }).envelope;
		expect(reply).toMatchObject({ chat: { id: 'mary@example.net', threadId: '<1234@local.machine.example>' }, message: { id: '<3456@example.net>', replyToId: '<1234@local.machine.example>' } });
	});

	test('automatic mail (Auto-Submitted, bulk, lists) starts nothing, so two bots never answer each other', async () => {
		const auto = composeMail({ from: 'a@x.test', to: 'b@x.test', subject: 'Out of office', text: 'away', headers: { 'Auto-Submitted': 'auto-replied' } });
		expect(whyMailIsNoMessage(await simpleParser(auto))).toMatch(/automatically/);
		const list = composeMail({ from: 'a@x.test', to: 'b@x.test', subject: 'News', text: 'hi', headers: { 'List-Id': '<news.x.test>' } });
		expect(whyMailIsNoMessage(await simpleParser(list))).toMatch(/mailing list/);
	});

	test('HTML-only mail reads as text; quoted history is left out; attachments are listed', async () => {
		const raw = [
			'From: Ada <ada@people.test>',
			'To: bot@clawgate.test',
			'Subject: report',
			'Message-ID: <html-1@people.test>',
			'MIME-Version: 1.0',
			'Content-Type: multipart/mixed; boundary="b1"',
			'',
			'--b1',
			'Content-Type: text/html; charset=utf-8',
			'',
			'<p>Please <b>summarise</b> the attached file.</p>',
			'--b1',
			'Content-Type: application/pdf; name="report.pdf"',
			'Content-Disposition: attachment; filename="report.pdf"',
			'Content-Transfer-Encoding: base64',
			'',
			Buffer.from('%PDF-1.4 tiny').toString('base64'),
			'--b1--',
			'',
		].join('\r\n');
		const { envelope } = emailEnvelopeOf(await simpleParser(raw), { account: 'bot@clawgate.test', uidValidity: '1', uid: 1 });
		expect(envelope.message.text).toBe('Please summarise the attached file.');
		expect(envelope.message.attachments).toEqual([expect.objectContaining({ kind: 'document', mimeType: 'application/pdf', name: 'report.pdf' })]);
		const quoted = composeMail({ from: 'ada@people.test', to: 'bot@clawgate.test', subject: 'Re: x', text: 'Thanks!\n\nOn Mon, 1 Jan 2026, bot@clawgate.test wrote:\n> earlier answer' });
		expect(emailEnvelopeOf(await simpleParser(quoted), { account: 'bot@clawgate.test', uidValidity: '1', uid: 2 }).envelope.message.text).toBe('Thanks!');
	});
});

describe('Email trigger and send against loopback IMAP and SMTP servers', () => {
	const server = new MailEmulator({ 'bot@clawgate.test': 'mail-secret' });
	const credential = () => server.credential('bot@clawgate.test') as EmailCredential;
	const mailFrom = (from: string, text: string, extra: Partial<Parameters<typeof composeMail>[0]> = {}) => server.deliver({ from, to: 'bot@clawgate.test', subject: 'Question', text, ...extra });

	beforeAll(() => server.start());
	afterAll(() => server.stop());

	test('mail already in the box at first activation is left alone; new mail is emitted and then marked done, the high-water mark moved', async () => {
		mailFrom('ada@people.test', 'an old mail');
		const staticData: Record<string, unknown> = {};
		const probe = listenerProbe(emailPlugin, credential(), {}, staticData);
		const listener = await startEmailListener(probe.input);
		try {
			await settle(500);
			expect(probe.emitted).toEqual([]);
			const uid = mailFrom('ada@people.test', 'what is 2 + 2?');
			const [envelope] = await probe.waitForEmitted(1);
			expect(envelope).toMatchObject({ via: 'email', chat: { id: 'ada@people.test', type: 'dm' }, message: { text: 'what is 2 + 2?' } });
			await until(() => server.mailbox.find((mail) => mail.uid === uid)!.flags.has(DONE_KEYWORD), 'the done keyword');
			expect(staticData.clawgateEmail).toEqual({ uidValidity: String(server.uidValidity), nextUid: uid + 1 });
			expect(server.commands.some((command) => command.startsWith('IDLE'))).toBe(true);
		} finally {
			await listener.close();
		}
		expect(server.logouts.length).toBeGreaterThan(0);
	});

	test('after a restart, mail that came meanwhile is answered once, and mail handled before is not repeated (even with a mark saved before its execution ended)', async () => {
		const staticData: Record<string, unknown> = {};
		let savedAtEmit: Record<string, unknown> = {};
		const first = listenerProbe(emailPlugin, credential(), {}, staticData);
		// n8n saves static data when the trigger emits, so the stored mark lags the mail being handled.
		const emitAndWait = first.input.emitAndWait;
		first.input.emitAndWait = async (envelope: Envelope) => {
			savedAtEmit = JSON.parse(JSON.stringify(staticData));
			await emitAndWait(envelope);
		};
		const listener = await startEmailListener(first.input);
		mailFrom('ada@people.test', 'before the restart');
		await first.waitForEmitted(1);
		await listener.close();

		mailFrom('ada@people.test', 'while n8n was down');
		const second = listenerProbe(emailPlugin, credential(), {}, savedAtEmit);
		const restarted = await startEmailListener(second.input);
		try {
			await second.waitForEmitted(1);
			await settle(500);
			expect(second.emitted.map((envelope) => envelope.message.text)).toEqual(['while n8n was down']);
		} finally {
			await restarted.close();
		}
	});

	test('a rebuilt mailbox (new UIDVALIDITY) starts over from the next mail', async () => {
		const staticData: Record<string, unknown> = { clawgateEmail: { uidValidity: '1', nextUid: 1 } };
		mailFrom('ada@people.test', 'old under another UIDVALIDITY');
		const probe = listenerProbe(emailPlugin, credential(), {}, staticData);
		const listener = await startEmailListener(probe.input);
		try {
			await settle(500);
			expect(probe.emitted).toEqual([]);
			expect((staticData.clawgateEmail as { uidValidity: string }).uidValidity).toBe(String(server.uidValidity));
		} finally {
			await listener.close();
		}
	});

	test('DM Policy Allowlist: only listed senders start the workflow', async () => {
		const probe = listenerProbe(emailPlugin, credential(), { dmPolicy: 'allowlist', allowedSenderIds: 'ada@people.test' });
		const listener = await startEmailListener(probe.input);
		try {
			mailFrom('spammer@junk.test', 'cheap pills');
			mailFrom('ada@people.test', 'a real question');
			await probe.waitForEmitted(1);
			await settle(500);
			expect(probe.emitted.map((envelope) => envelope.sender.id)).toEqual(['ada@people.test']);
		} finally {
			await listener.close();
		}
	});

	test('a reply keeps the subject as "Re:", names the mail in In-Reply-To and References, and quotes it below', async () => {
		const probe = listenerProbe(emailPlugin, credential());
		const listener = await startEmailListener(probe.input);
		try {
			mailFrom('grace@people.test', 'Can you help?\nThanks, Grace', { subject: 'Help with the report', messageId: '<q1@people.test>', references: ['<root@people.test>'], inReplyTo: '<root@people.test>' });
			const [envelope] = await probe.waitForEmitted(1);
			expect(envelope.chat.threadId).toBe('<root@people.test>');
			const client = await emailPlugin.createClient(credential());
			const sentBefore = server.sent.length;
			const sent = await deliverText(emailPlugin, client, { chatId: envelope.chat.id, markdown: 'Of **course**.', replyToId: envelope.message.id, threadId: envelope.chat.threadId, linkPreviews: false, answers: envelope });
			expect(sent.messageIds).toHaveLength(1);
			expect(server.sent).toHaveLength(sentBefore + 1);
			const mail = await simpleParser(server.sent.at(-1)!.raw);
			expect(server.sent.at(-1)!.to).toEqual(['grace@people.test']);
			expect(mail.subject).toBe('Re: Help with the report');
			expect(mail.inReplyTo).toBe('<q1@people.test>');
			expect(mail.references).toEqual(['<root@people.test>', '<q1@people.test>']);
			expect(mail.text).toMatch(/^Of course\.\n\nOn .+, grace@people.test wrote:\n> Can you help\?\n> Thanks, Grace/);
			expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
		} finally {
			await listener.close();
		}
	});

	test('a very large mail is read only up to the cap, and its text capped', async () => {
		const probe = listenerProbe(emailPlugin, credential());
		const listener = await startEmailListener(probe.input);
		try {
			mailFrom('ada@people.test', `${'word '.repeat(400_000)}`);
			const [envelope] = await probe.waitForEmitted(1, 10_000);
			expect(envelope.message.text.length).toBeLessThanOrEqual(MAX_BODY_CHARS);
			expect(server.commands.some((command) => /BODY\.PEEK\[\]<0\.1048576>/i.test(command))).toBe(true);
		} finally {
			await listener.close();
		}
	});

	test('a wrong password fails activation pointing at the credential; a dropped connection comes back', async () => {
		const wrong = listenerProbe(emailPlugin, { ...credential(), password: 'not-the-secret' });
		const failure = await startEmailListener(wrong.input).then(() => null, (error: Error) => error);
		expect(failure?.message).toMatch(/refused the login.*credential/);
		expect(failure?.message).not.toContain('not-the-secret');

		const probe = listenerProbe(emailPlugin, credential());
		const listener = await startEmailListener(probe.input);
		try {
			const logins = server.commands.filter((command) => command === 'LOGIN').length;
			server.dropAll();
			await until(() => server.commands.filter((command) => command === 'LOGIN').length > logins, 'the reconnect', 10_000);
			await settle(300);
			mailFrom('ada@people.test', 'back?');
			expect((await probe.waitForEmitted(1, 10_000))[0].message.text).toBe('back?');
		} finally {
			await listener.close();
		}
	});
});
