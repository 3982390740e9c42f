/**
 * The Teams and Google Chat send nodes inside real n8n workflows (n8n-core), against their
 * emulators: with every parameter at its default they answer the conversation an envelope came
 * from; Edit Text replaces what the send node before it posted; Teams shows typing.
 */
import type { ICredentialDataDecryptedObject, IDataObject, INode, INodeParameters } from 'n8n-workflow';

import { googleChatEventToInbound } from '../../nodes/GoogleChat/googleChat.plugin';
import { teamsActivityToInbound } from '../../nodes/Teams/teams.plugin';
import { GoogleChatEmulator } from '../emulators/googleChat';
import { TeamsEmulator } from '../emulators/teams';
import { fromTrigger, INPUT_NODE_NAME, PACKAGE, runWorkflow } from './harness';

const teams = new TeamsEmulator();
const chat = new GoogleChatEmulator();
beforeAll(() => Promise.all([teams.start(), chat.start()]));
afterAll(() => Promise.all([teams.stop(), chat.stop()]));

function node(name: string, type: string, credentialType: string, parameters: INodeParameters = {}): INode {
	return { id: name, name, type: `${PACKAGE}.${type}`, typeVersion: 1, position: [0, 0], parameters, credentials: { [credentialType]: { id: '1', name: 'test' } } };
}

/** Input → each node in turn. */
function chain(nodes: INode[], credentials: Record<string, ICredentialDataDecryptedObject>, input: IDataObject) {
	const names = [INPUT_NODE_NAME, ...nodes.map((each) => each.name)];
	const connections = Object.fromEntries(names.slice(0, -1).map((from, index) => [from, { main: [[{ node: names[index + 1], type: 'main' as const, index: 0 }]] }]));
	return runWorkflow({ nodes, connections, credentials, input: [input] });
}

test('Teams: Send Text answers the conversation through its serviceUrl, Edit Text replaces it, Send Typing shows typing', async () => {
	const activity = teams.activity({ text: 'hi' });
	const { envelope } = teamsActivityToInbound(activity, { appId: teams.appId, sessionScope: 'chat', now: Date.now() });
	const input = fromTrigger({ ...(envelope as unknown as IDataObject), via: 'teams', reply: { text: 'first **draft**' } });
	const { error, outputOf } = await chain(
		[
			node('Send', 'teamsSend', 'clawgateTeamsApi'),
			node('Edit', 'teamsSend', 'clawgateTeamsApi', { operation: 'editText', text: 'final answer' }),
			node('Typing', 'teamsSend', 'clawgateTeamsApi', { operation: 'sendTyping' }),
		],
		{ clawgateTeamsApi: teams.credential() },
		input,
	);
	expect(error).toBeUndefined();
	const conversationId = String((activity.conversation as { id: string }).id);
	expect(teams.textsTo(conversationId)).toEqual(['final answer']);
	expect(teams.posted.find((posted) => posted.conversationId === conversationId)).toMatchObject({ edited: 1, textFormat: 'markdown' });
	expect(teams.typing).toContain(conversationId);
	expect(outputOf('Send')[0].json.sent).toMatchObject({ channel: 'teams', chatId: `${teams.serviceUrl}|${conversationId}`, messageIds: [expect.any(String)] });
});

test('Google Chat: Send Text answers the space in its thread in Chat markup, Edit Text replaces it', async () => {
	const space = chat.newSpace('ROOM');
	const event = chat.message({ text: 'hi', space, mentionBot: true });
	const { envelope } = googleChatEventToInbound(event, { accountId: chat.projectNumber, sessionScope: 'chat', now: Date.now() });
	const input = fromTrigger({ ...(envelope as unknown as IDataObject), via: 'googleChat', reply: { text: 'It is **Paris**.' } });
	const credential = chat.credential();
	const send = await chain([node('Send', 'googleChatSend', 'clawgateGoogleChatApi')], { clawgateGoogleChatApi: credential }, input);
	expect(send.error).toBeUndefined();
	expect(chat.posted.filter((message) => message.space === space.name)).toMatchObject([{ text: 'It is *Paris*.', thread: envelope!.chat.threadId }]);

	const sentItem = send.outputOf('Send')[0].json;
	const edit = await chain([node('Edit', 'googleChatSend', 'clawgateGoogleChatApi', { operation: 'editText', text: '_Paris_, France' })], { clawgateGoogleChatApi: credential }, sentItem);
	expect(edit.error).toBeUndefined();
	expect(chat.posted.filter((message) => message.space === space.name)).toMatchObject([{ text: '_Paris_, France', edited: 1 }]);
});
