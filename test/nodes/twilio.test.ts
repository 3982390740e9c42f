import type { IDataObject, INode } from 'n8n-workflow';

import { makeAuthToken, TwilioEmulator, WHATSAPP_SANDBOX_NUMBER } from '../emulators/twilio';
import { INPUT_NODE_NAME, PACKAGE, runWorkflow } from './harness';

const SMS_NUMBER = '+14155550100';
const ADA = '+15551230001';

const twilio = new TwilioEmulator({ numbers: [SMS_NUMBER] });
beforeAll(() => twilio.start());
afterAll(() => twilio.stop());

/** Envelopes as the Clawgate Twilio Trigger and AI Session nodes leave them. */
const smsEnvelope = {
	sessionId: `sms:${SMS_NUMBER}:dm:${ADA}`,
	channel: 'sms',
	accountId: SMS_NUMBER,
	chat: { id: ADA, type: 'dm', threadId: null, title: null },
	message: { id: `SM${'1'.repeat(32)}`, text: 'What is the capital of France?' },
	reply: { text: 'Paris.' },
};
const whatsappEnvelope = {
	sessionId: `whatsapp:${WHATSAPP_SANDBOX_NUMBER}:dm:whatsapp:${ADA}`,
	channel: 'whatsapp',
	accountId: WHATSAPP_SANDBOX_NUMBER,
	chat: { id: `whatsapp:${ADA}`, type: 'dm', threadId: null, title: null },
	message: { id: `SM${'2'.repeat(32)}`, text: 'And of Italy?' },
	reply: { text: 'Rome.' },
};

/** A Twilio Send node with every parameter at its default, as dropped onto the canvas. */
function sendNode(settings: Partial<INode> = {}): INode {
	return {
		id: 'twilio-send',
		name: 'Twilio Send',
		type: `${PACKAGE}.twilioSend`,
		typeVersion: 1,
		position: [200, 0],
		parameters: {},
		credentials: { clawgateTwilioApi: { id: '1', name: 'Test account' } },
		...settings,
	};
}

function sendWorkflow({ authToken = twilio.authToken, node = sendNode(), input = [smsEnvelope] }: { authToken?: string; node?: INode; input?: IDataObject[] } = {}) {
	return runWorkflow({
		nodes: [node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		credentials: { clawgateTwilioApi: { accountSid: twilio.accountSid, authToken, baseUrl: twilio.apiUrl } },
		input,
	});
}

test('answers an SMS with the AI reply from the number it came in on, without changing any parameter', async () => {
	const before = twilio.sent.length;
	const { error, outputOf } = await sendWorkflow();

	expect(error).toBeUndefined();
	expect(twilio.sent.slice(before)).toEqual([expect.objectContaining({ from: SMS_NUMBER, to: ADA, body: 'Paris.', mediaUrls: [], statusCallback: null })]);
	const [item] = outputOf('Twilio Send');
	expect(item.json).toMatchObject({ ...smsEnvelope, sent: { channel: 'sms', chatId: ADA, from: SMS_NUMBER, messageIds: [twilio.sent.at(-1)!.sid] } });
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

test('answers a WhatsApp message on WhatsApp, from the WhatsApp number it came in on, without changing any parameter', async () => {
	const before = twilio.sent.length;
	const { error, outputOf } = await sendWorkflow({ input: [whatsappEnvelope] });

	expect(error).toBeUndefined();
	expect(twilio.sent.slice(before)).toEqual([expect.objectContaining({ from: `whatsapp:${WHATSAPP_SANDBOX_NUMBER}`, to: `whatsapp:${ADA}`, body: 'Rome.' })]);
	expect(outputOf('Twilio Send')[0].json.sent).toMatchObject({ channel: 'whatsapp', chatId: `whatsapp:${ADA}`, from: `whatsapp:${WHATSAPP_SANDBOX_NUMBER}` });
});

test('items of both channels in one run are each answered on their own channel', async () => {
	const before = twilio.sent.length;
	const { error, outputOf } = await sendWorkflow({ input: [smsEnvelope, whatsappEnvelope] });

	expect(error).toBeUndefined();
	expect(twilio.sent.slice(before).map(({ from, to, body }) => ({ from, to, body }))).toEqual([
		{ from: SMS_NUMBER, to: ADA, body: 'Paris.' },
		{ from: `whatsapp:${WHATSAPP_SANDBOX_NUMBER}`, to: `whatsapp:${ADA}`, body: 'Rome.' },
	]);
	expect(outputOf('Twilio Send').map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
});

test('a long answer arrives as several messages of at most 1,600 characters, and all their SIDs are returned', async () => {
	const long = { ...smsEnvelope, reply: { text: 'The quick brown fox jumps over the lazy dog. '.repeat(80) } };
	const before = twilio.sent.length;
	const { error, outputOf } = await sendWorkflow({ input: [long] });

	expect(error).toBeUndefined();
	const sent = twilio.sent.slice(before);
	expect(sent.length).toBe(3);
	for (const message of sent) expect(message.body.length).toBeLessThanOrEqual(1600);
	expect((outputOf('Twilio Send')[0].json.sent as IDataObject).messageIds).toEqual(sent.map((message) => message.sid));
});

test('the options attach a media URL and ask Twilio for status callbacks', async () => {
	const node = sendNode({
		parameters: { options: { mediaUrls: 'https://example.com/paris.jpg', statusCallback: 'https://n8n.example.com/webhook/status' } },
	});
	const { error } = await sendWorkflow({ node });

	expect(error).toBeUndefined();
	expect(twilio.sent.at(-1)).toMatchObject({ body: 'Paris.', mediaUrls: ['https://example.com/paris.jpg'], statusCallback: 'https://n8n.example.com/webhook/status' });
});

test('with "On Error: Continue" a rejected auth token becomes an error on the item, never revealing the token', async () => {
	const wrongToken = makeAuthToken();
	const { error, outputOf } = await sendWorkflow({ authToken: wrongToken, node: sendNode({ onError: 'continueRegularOutput' }) });

	expect(error).toBeUndefined();
	const [item] = outputOf('Twilio Send');
	expect(item.json.error).toEqual(expect.stringContaining('20003: Authenticate'));
	expect(item.json.error).toEqual(expect.stringContaining('Check the Account SID and Auth Token'));
	expect(JSON.stringify(item)).not.toContain(wrongToken);
	expect(item.pairedItem).toMatchObject({ item: 0 });
});

test('with "On Error: Continue (using error output)" a refused recipient routes the item to the error output', async () => {
	const badRecipient = { ...smsEnvelope, chat: { ...smsEnvelope.chat, id: '12' } };
	const { error, outputOf } = await sendWorkflow({ node: sendNode({ onError: 'continueErrorOutput' }), input: [badRecipient, smsEnvelope] });

	expect(error).toBeUndefined();
	expect(outputOf('Twilio Send', 0).map((item) => item.pairedItem)).toEqual([{ item: 1 }]);
	const [failed] = outputOf('Twilio Send', 1);
	expect(failed.json.error).toEqual(expect.stringContaining("21211: Invalid 'To' Phone Number: 12"));
	expect(failed.pairedItem).toMatchObject({ item: 0 });
});

test('without continue on fail a rejected auth token fails the execution and points at the credential, never revealing the token', async () => {
	const wrongToken = makeAuthToken();
	const { error, run } = await sendWorkflow({ authToken: wrongToken });

	expect(run.status).toBe('error');
	expect(error?.message).toContain('Check the Account SID and Auth Token (or API Key SID and Secret) in the Clawgate Twilio credential');
	expect(error).toMatchObject({ node: { name: 'Twilio Send' } });
	expect(JSON.stringify(run)).not.toContain(wrongToken);
});
