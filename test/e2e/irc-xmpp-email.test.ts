import { simpleParser } from 'mailparser';

import { MailEmulator } from '../emulators/email';
import { IrcEmulator } from '../emulators/irc';
import { OpenAiEmulator } from '../emulators/openai';
import { XmppEmulator } from '../emulators/xmpp';
import { eventually, N8nInstance, type WorkflowFixture } from './harness';

const OPENAI = { id: 'ClawgateOpenAi01', name: 'OpenAI' };

/** Trigger → AI Session → the channel's send node, every parameter at its default but the trigger's options. */
function aiWorkflow(id: string, name: string, prefix: string, credentialType: string, options: Record<string, unknown> = {}): WorkflowFixture {
	const credential = { [credentialType]: { id: `${id}Cr`, name: `${name} account` } };
	return {
		id,
		name: `Clawgate: ${name} AI bot (e2e)`,
		nodes: [
			{ id: `${id}-1`, name: `${name} Trigger`, type: `n8n-nodes-clawgate.${prefix}Trigger`, typeVersion: 1, position: [0, 0], parameters: { options }, credentials: credential },
			{ id: `${id}-2`, name: 'AI Session', type: 'n8n-nodes-clawgate.aiSession', typeVersion: 1, position: [260, 0], parameters: { store: 'sqlite' }, credentials: { openAiApi: OPENAI } },
			{ id: `${id}-3`, name: `${name} Send`, type: `n8n-nodes-clawgate.${prefix}Send`, typeVersion: 1, position: [520, 0], parameters: {}, credentials: credential },
		],
		connections: {
			[`${name} Trigger`]: { main: [[{ node: 'AI Session', type: 'main', index: 0 }]] },
			'AI Session': { main: [[{ node: `${name} Send`, type: 'main', index: 0 }], []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

const ircWorkflow = aiWorkflow('ClawgateIrcE2E01', 'IRC', 'irc', 'clawgateIrcApi');
const xmppWorkflow = aiWorkflow('ClawgateXmppE2E1', 'XMPP', 'xmpp', 'clawgateXmppApi');
const emailWorkflow = aiWorkflow('ClawgateMailE2E1', 'Email', 'email', 'clawgateEmailApi', { dmPolicy: 'allowlist', allowedSenderIds: 'ada@people.test' });

describe('IRC, XMPP and Email in a real n8n: listener trigger → AI Session → send node', () => {
	const irc = new IrcEmulator({ accounts: { clawbot: 'irc-secret' } });
	const xmpp = new XmppEmulator({ accounts: { clawbot: 'xmpp-secret' } });
	const mail = new MailEmulator({ 'bot@clawgate.test': 'mail-secret' });
	const model = new OpenAiEmulator({ responder: (request) => `answer to: ${String(request.messages.at(-1)?.content)}` });
	const room = 'team@conference.clawgate.test';
	let n8n: N8nInstance;

	const executionsOf = async (workflow: WorkflowFixture) => (await n8n.executions()).filter((run) => run.workflowId === workflow.id);
	const settle = (ms = 2_000) => new Promise((resolve) => setTimeout(resolve, ms));
	const ircReady = () => eventually(() => (irc.membersOf('#clawgate').includes('clawbot') ? true : undefined), 'the IRC bot in #clawgate', 60_000);
	const xmppReady = () => eventually(() => (xmpp.rooms.get(room)?.get('clawbot') ? true : undefined), 'the XMPP bot in the room', 60_000);
	const imapReady = () => eventually(() => (mail.commands.some((command) => command.startsWith('IDLE')) && mail.sessions.size > 0 ? true : undefined), 'the IMAP trigger idling', 60_000);
	const repliesTo = async (address: string) =>
		await Promise.all(mail.sent.filter((sent) => sent.to.includes(address)).map(async (sent) => await simpleParser(sent.raw)));

	beforeAll(async () => {
		await Promise.all([irc.start(), xmpp.start(), mail.start(), model.start()]);
		// The room replays this on join, with a delay element: it must never be answered.
		xmpp.history.set(room, [{ nick: 'ada', text: 'clawbot: an old question', stamp: '2026-01-01T10:00:00Z' }]);
		// Mail in the box before the first activation is left alone.
		mail.deliver({ from: 'ada@people.test', to: 'bot@clawgate.test', subject: 'Old', text: 'an old mail' });
		n8n = await N8nInstance.start({
			credentials: [
				{ id: `${ircWorkflow.id}Cr`, name: 'IRC account', type: 'clawgateIrcApi', data: { baseUrl: irc.url, nick: 'clawbot', saslPassword: 'irc-secret', channels: '#clawgate' } },
				{ id: `${xmppWorkflow.id}Cr`, name: 'XMPP account', type: 'clawgateXmppApi', data: { jid: 'clawbot@clawgate.test', password: 'xmpp-secret', baseUrl: xmpp.url, rooms: room } },
				{ id: `${emailWorkflow.id}Cr`, name: 'Email account', type: 'clawgateEmailApi', data: mail.credential('bot@clawgate.test') },
				{ ...OPENAI, type: 'openAiApi', data: { apiKey: model.apiKey, url: model.baseUrl } },
			],
			workflows: [ircWorkflow, xmppWorkflow, emailWorkflow],
		});
		await Promise.all([ircReady(), xmppReady(), imapReady()]);
	});

	afterAll(async () => {
		await n8n?.stop();
		await Promise.all([irc.stop(), xmpp.stop(), mail.stop(), model.stop()]);
	});

	test('IRC: a private message is answered; channel talk without the nick starts nothing; "clawbot:" is answered in the channel', async () => {
		irc.say({ from: 'ada', to: 'clawbot', text: 'hello from IRC' });
		await eventually(() => (irc.textsTo('ada').includes('answer to: hello from IRC') ? true : undefined), 'the IRC answer', 60_000);

		const before = (await executionsOf(ircWorkflow)).length;
		irc.say({ from: 'grace', to: '#clawgate', text: 'lunch, anyone?' });
		await settle();
		expect(await executionsOf(ircWorkflow)).toHaveLength(before);
		irc.say({ from: 'grace', to: '#clawgate', text: 'clawbot: what time is it?' });
		await eventually(() => (irc.textsTo('#clawgate').includes('grace: answer to: what time is it?') ? true : undefined), 'the channel answer', 60_000);
	});

	test('XMPP: a chat message is answered; room talk without the nick and the room history start nothing; a mention is answered in the room', async () => {
		xmpp.chat({ from: 'ada@clawgate.test/phone', to: 'clawbot@clawgate.test', text: 'hello from XMPP' });
		await eventually(() => (xmpp.bodiesTo('ada@clawgate.test').includes('answer to: hello from XMPP') ? true : undefined), 'the XMPP answer', 60_000);

		const before = (await executionsOf(xmppWorkflow)).length;
		xmpp.roomSay({ room, nick: 'grace', text: 'lunch, anyone?' });
		await settle();
		expect(await executionsOf(xmppWorkflow)).toHaveLength(before);
		xmpp.roomSay({ room, nick: 'grace', text: 'clawbot, what time is it?' });
		await eventually(() => (xmpp.bodiesTo(room).includes('answer to: what time is it?') ? true : undefined), 'the room answer', 60_000);
		expect(xmpp.bodiesTo(room)).toEqual(['answer to: what time is it?']);
	});

	test('Email: a listed sender gets a reply in the thread; a stranger starts nothing (DM Policy Allowlist)', async () => {
		mail.deliver({ from: 'Ada <ada@people.test>', to: 'bot@clawgate.test', subject: 'Capital', text: 'What is the capital of France?', messageId: '<e2e-1@people.test>' });
		const before = (await executionsOf(emailWorkflow)).length;
		mail.deliver({ from: 'spam@junk.test', to: 'bot@clawgate.test', subject: 'WIN', text: 'cheap pills' });
		const [reply] = await eventually(async () => ((await repliesTo('ada@people.test')).length > 0 ? await repliesTo('ada@people.test') : undefined), 'the mail reply', 60_000);
		expect(reply.subject).toBe('Re: Capital');
		expect(reply.inReplyTo).toBe('<e2e-1@people.test>');
		expect(reply.text).toMatch(/^answer to: What is the capital of France\?\n\nOn .+ wrote:\n> What is the capital of France\?/);
		await settle();
		expect(await executionsOf(emailWorkflow)).toHaveLength(before + 1);
		expect(await repliesTo('spam@junk.test')).toEqual([]);
		expect((await repliesTo('ada@people.test')).map((mail) => mail.subject)).toEqual(['Re: Capital']);
	});

	test('a restart of n8n repeats nothing; mail and an XMPP chat that arrived while n8n was down are answered once', async () => {
		const answersBefore = { irc: irc.textsTo('ada').length, xmpp: xmpp.bodiesTo('ada@clawgate.test').length, mail: (await repliesTo('ada@people.test')).length };
		await n8n.halt();
		mail.deliver({ from: 'ada@people.test', to: 'bot@clawgate.test', subject: 'While you were away', text: 'Did you get this?', messageId: '<e2e-2@people.test>' });
		// The XMPP server stores a chat for an offline account and hands it over when the bot is back (XEP-0160).
		// IRC keeps nothing for an absent nick, so IRC talk while n8n is down is not answered (docs/channels/irc.md).
		xmpp.chat({ from: 'ada@clawgate.test', to: 'clawbot@clawgate.test', text: 'while n8n is down' });
		const disconnectsBefore = { irc: irc.disconnects.length, xmpp: xmpp.disconnects.length };
		await n8n.restart();
		expect(irc.disconnects.length + xmpp.disconnects.length).toBeGreaterThanOrEqual(disconnectsBefore.irc + disconnectsBefore.xmpp);
		await Promise.all([ircReady(), xmppReady()]);

		await eventually(async () => ((await repliesTo('ada@people.test')).some((reply) => reply.subject === 'Re: While you were away') ? true : undefined), 'the reply to the mail sent while n8n was down', 90_000);
		irc.say({ from: 'ada', to: 'clawbot', text: 'after the restart' });
		xmpp.chat({ from: 'ada@clawgate.test', to: 'clawbot@clawgate.test', text: 'after the restart' });
		await eventually(() => (irc.textsTo('ada').includes('answer to: after the restart') ? true : undefined), 'the IRC answer after the restart', 60_000);
		await eventually(() => (xmpp.bodiesTo('ada@clawgate.test').includes('answer to: after the restart') ? true : undefined), 'the XMPP answer after the restart', 60_000);
		await eventually(() => (xmpp.bodiesTo('ada@clawgate.test').includes('answer to: while n8n is down') ? true : undefined), 'the XMPP answer to the chat sent while n8n was down', 60_000);
		await settle(3_000);

		expect(irc.textsTo('ada').slice(answersBefore.irc)).toEqual(['answer to: after the restart']);
		expect(xmpp.bodiesTo('ada@clawgate.test').slice(answersBefore.xmpp).sort()).toEqual(['answer to: after the restart', 'answer to: while n8n is down']);
		expect((await repliesTo('ada@people.test')).slice(answersBefore.mail).map((reply) => reply.subject)).toEqual(['Re: While you were away']);
	});

	test('deactivating each workflow closes its connection: the servers see the bot leave', async () => {
		const before = { irc: irc.disconnects.length, xmpp: xmpp.disconnects.length, logouts: mail.logouts.length };
		for (const workflow of [ircWorkflow, xmppWorkflow, emailWorkflow]) await n8n.api(`/rest/workflows/${workflow.id}/deactivate`, { method: 'POST', body: '{}' });
		await eventually(() => (irc.disconnects.slice(before.irc).some((ended) => ended.nick === 'clawbot' && ended.quit) ? true : undefined), 'the IRC QUIT', 30_000);
		await eventually(() => (xmpp.disconnects.slice(before.xmpp).some((ended) => ended.jid?.startsWith('clawbot@') && ended.cleanly) ? true : undefined), 'the XMPP stream close', 30_000);
		await eventually(() => (mail.logouts.length > before.logouts ? true : undefined), 'the IMAP LOGOUT', 30_000);
		expect(irc.connectedNicks()).not.toContain('clawbot');
		expect(xmpp.online()).not.toContain('clawbot@clawgate.test');
	});
});
