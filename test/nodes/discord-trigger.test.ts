/**
 * The Discord Trigger node inside n8n's own trigger machinery (n8n-core's TriggerContext and
 * TriggersAndPollers), against the gateway emulator: what an activated workflow and a
 * "Listen for test event" run get.
 */
import { Container } from '@n8n/di';
import { ExecutionLifecycleHooks, getExecuteTriggerFunctions, TriggerContext, TriggersAndPollers } from 'n8n-core';
import {
	ICredentialsHelper,
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentials,
	type IHttpRequestOptions,
	type INode,
	type INodeExecutionData,
	type INodeParameters,
	type INodeProperties,
	type INodeTypes,
	type ITriggerResponse,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

import { ClawgateDiscordApi } from '../../credentials/ClawgateDiscordApi.credentials';
import { DiscordTrigger } from '../../nodes/Discord/DiscordTrigger.node';
import { DiscordEmulator, makeDiscordToken } from '../emulators/discord';
import { LOOPBACK_URLS, PACKAGE } from './harness';

const discord = new DiscordEmulator();
beforeAll(() => discord.start());
afterAll(() => discord.stop());

const trigger = new DiscordTrigger();
const nodeTypes: INodeTypes = {
	getByName: () => trigger,
	getByNameAndVersion: () => trigger,
	getKnownTypes: () => ({}),
};

/** Hands the trigger the test's plain credential, with the credential type's defaults, as n8n does after decrypting. */
class PlainCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly data: ICredentialDataDecryptedObject) {
		super();
	}

	async getDecrypted(): Promise<ICredentialDataDecryptedObject> {
		return NodeHelpers.getNodeParameters(this.getCredentialsProperties(), structuredClone(this.data) as INodeParameters, true, false, null, null) as ICredentialDataDecryptedObject;
	}

	getCredentialsProperties(): INodeProperties[] {
		return new ClawgateDiscordApi().properties;
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	authenticate(): Promise<IHttpRequestOptions> {
		throw new Error('Not used by the Discord Trigger.');
	}

	async preAuthentication(): Promise<undefined> {
		return undefined;
	}

	async runPreAuthentication(): Promise<undefined> {
		return undefined;
	}

	getCredentials(): Promise<ICredentials> {
		throw new Error('Not used by the Discord Trigger.');
	}

	async updateCredentials(): Promise<void> {}

	async updateCredentialsOauthTokenData(): Promise<void> {}
}

function setUp(parameters: INodeParameters = {}, token = discord.token) {
	const node: INode = {
		id: 'discord-trigger',
		name: 'Discord Trigger',
		type: `${PACKAGE}.discordTrigger`,
		typeVersion: 1,
		position: [0, 0],
		parameters,
		credentials: { clawgateDiscordApi: { id: '1', name: 'Test bot' } },
	};
	const workflowData = { id: 'discord-trigger-workflow', name: 'Discord trigger', nodes: [node], connections: {}, active: true, settings: { executionOrder: 'v1' as const } };
	const workflow = new Workflow({ ...workflowData, nodeTypes });
	const additionalData = {
		credentialsHelper: new PlainCredentialsHelper({ botToken: token, baseUrl: discord.apiBase }),
		hooks: new ExecutionLifecycleHooks('manual', '1', { ...workflowData, activeVersionId: null, isArchived: false, createdAt: new Date(), updatedAt: new Date() }),
		variables: {},
		...LOOPBACK_URLS,
	} as unknown as IWorkflowExecuteAdditionalData;
	return { node, workflow, additionalData };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('an active workflow gets one envelope item per accepted message, and deactivation closes the connection, keeping the session resumable', async () => {
	const { node, workflow, additionalData } = setUp({ options: { allowedUserIds: `${discord.users.ada.id}, 42` } });
	const emitted: INodeExecutionData[][][] = [];
	const errors: Error[] = [];
	const context = new TriggerContext(workflow, node, additionalData, 'trigger', 'activate', (data) => emitted.push(data), (error) => errors.push(error));
	const response = (await trigger.trigger.call(context)) as ITriggerResponse;
	const connection = discord.connections.at(-1)!;

	const dm = discord.sendDm({ content: 'hello' });
	discord.sendDm({ from: discord.users.bob, content: 'not on the allow-list' });
	discord.sendGuildMessage({ content: 'not addressed to the bot' });
	const mention = discord.mentionBot('and you?');
	for (let i = 0; i < 100 && emitted.length < 2; i++) await sleep(20);
	await sleep(100);

	expect(emitted).toHaveLength(2);
	expect(emitted.map((data) => data.map((items) => items.map((item) => (item.json.message as { id: string }).id)))).toEqual([[[dm.id]], [[mention.id]]]);
	expect(emitted[0][0][0].json).toMatchObject({ channel: 'discord', accountId: discord.bot.id, chat: { type: 'dm' }, message: { text: 'hello' } });
	expect(errors).toEqual([]);

	await response.closeFunction!();
	// Not 1000: Discord keeps the session, and the next activation resumes it from the node's static data.
	expect(connection.closeCode).toBe(4200);
	expect(discord.openSockets).toBe(0);
	expect(workflow.getStaticData('node', node).clawgateListenerCursor).toMatchObject({ sessionId: expect.any(String), sequence: expect.any(Number), shardCount: 1 });
});

test('"Listen for test event" resolves with the first message only, then closes', async () => {
	const { node, workflow, additionalData } = setUp();
	const response = await Container.get(TriggersAndPollers).runTriggerFunction(workflow, node, getExecuteTriggerFunctions, additionalData, 'manual', 'manual');
	const first = discord.sendDm({ content: 'first' });
	discord.sendDm({ content: 'second' });

	const data = (await response!.manualTriggerResponse!) as INodeExecutionData[][];
	expect(data).toHaveLength(1);
	expect(data[0].map((item) => (item.json.message as { id: string }).id)).toEqual([first.id]);
	await response!.closeFunction!();
	expect(discord.openSockets).toBe(0);
});

test('activation with a wrong token fails with advice on the credential, never revealing the token', async () => {
	const wrongToken = makeDiscordToken();
	const { node, workflow, additionalData } = setUp({}, wrongToken);
	const context = new TriggerContext(workflow, node, additionalData, 'trigger', 'activate', () => {}, () => {});
	const failure = trigger.trigger.call(context);
	await expect(failure).rejects.toThrow(/Discord rejected the bot token \(401\)/);
	await failure.catch((error: Error) => expect(JSON.stringify({ ...error, message: error.message })).not.toContain(wrongToken));
});

test('a token reset while active is reported to n8n as a trigger error', async () => {
	const { node, workflow, additionalData } = setUp();
	const errors: Error[] = [];
	const context = new TriggerContext(workflow, node, additionalData, 'trigger', 'activate', () => {}, (error) => errors.push(error));
	const response = (await trigger.trigger.call(context)) as ITriggerResponse;
	discord.closeConnections(4004, 'Authentication failed.');
	for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(20);
	expect(errors.map((error) => error.message)).toEqual([expect.stringContaining('closed the gateway connection for good (code 4004)')]);
	await response.closeFunction!();
});
