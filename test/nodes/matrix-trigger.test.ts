/**
 * The Matrix Trigger node inside n8n's own trigger machinery (n8n-core's TriggerContext and
 * TriggersAndPollers), against the homeserver emulator: the since token in the node's static data,
 * confirmed after the execution; the deduplication key; "Listen for test event".
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
	type IRun,
	type ITriggerResponse,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

import { ClawgateMatrixApi } from '../../credentials/ClawgateMatrixApi.credentials';
import { MatrixTrigger } from '../../nodes/Matrix/MatrixTrigger.node';
import { MatrixEmulator } from '../emulators/matrix';
import { LOOPBACK_URLS, PACKAGE } from './harness';

const matrix = new MatrixEmulator();
beforeAll(() => matrix.start());
afterAll(() => matrix.stop());

const trigger = new MatrixTrigger();
const nodeTypes: INodeTypes = { getByName: () => trigger, getByNameAndVersion: () => trigger, getKnownTypes: () => ({}) };

/** Hands the trigger the test's plain credential with the credential type's defaults, as n8n does after decrypting. */
class PlainCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly data: ICredentialDataDecryptedObject) {
		super();
	}

	async getDecrypted(): Promise<ICredentialDataDecryptedObject> {
		return NodeHelpers.getNodeParameters(new ClawgateMatrixApi().properties, structuredClone(this.data) as INodeParameters, true, false, null, null) as ICredentialDataDecryptedObject;
	}

	getCredentialsProperties(): INodeProperties[] {
		return new ClawgateMatrixApi().properties;
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	authenticate(): Promise<IHttpRequestOptions> {
		throw new Error('Not used by the Matrix Trigger.');
	}

	async preAuthentication(): Promise<undefined> {
		return undefined;
	}

	async runPreAuthentication(): Promise<undefined> {
		return undefined;
	}

	getCredentials(): Promise<ICredentials> {
		throw new Error('Not used by the Matrix Trigger.');
	}

	async updateCredentials(): Promise<void> {}

	async updateCredentialsOauthTokenData(): Promise<void> {}
}

function setUp() {
	const node: INode = {
		id: 'matrix-trigger',
		name: 'Matrix Trigger',
		type: `${PACKAGE}.matrixTrigger`,
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
		credentials: { clawgateMatrixApi: { id: '1', name: 'Matrix bot' } },
	};
	const workflowData = { id: 'matrix-trigger-workflow', name: 'Matrix trigger', nodes: [node], connections: {}, active: true, settings: { executionOrder: 'v1' as const } };
	const workflow = new Workflow({ ...workflowData, nodeTypes });
	const additionalData = {
		credentialsHelper: new PlainCredentialsHelper(matrix.credential()),
		hooks: new ExecutionLifecycleHooks('manual', '1', { ...workflowData, activeVersionId: null, isArchived: false, createdAt: new Date(), updatedAt: new Date() }),
		variables: {},
		...LOOPBACK_URLS,
	} as unknown as IWorkflowExecuteAdditionalData;
	return { node, workflow, additionalData };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('an active trigger keeps the since token in static data and moves it only after the execution; each item has a deduplication key', async () => {
	const room = matrix.createRoom({ members: ['@ada:localhost'], direct: true });
	const { node, workflow, additionalData } = setUp();
	const emitted: Array<{ data: INodeExecutionData[][]; done?: { resolve(run: IRun): void }; key?: string }> = [];
	const context = new TriggerContext(workflow, node, additionalData, 'trigger', 'activate', (data, _response, done, key) => void emitted.push({ data, done, key }), () => {});
	const response = (await trigger.trigger.call(context)) as ITriggerResponse;
	const staticData = workflow.getStaticData('node', node);
	// Begun during activation, so n8n saves it with the activation.
	const begun = staticData.clawgateCursor;
	expect(begun).toEqual(expect.stringMatching(/^s\d+$/));

	matrix.say(room, '@ada:localhost', 'hello');
	for (let i = 0; i < 100 && emitted.length === 0; i++) await sleep(20);
	expect(emitted).toHaveLength(1);
	expect(emitted[0].data[0][0].json).toMatchObject({ channel: 'matrix', via: 'matrix', chat: { id: room, type: 'dm' }, message: { text: 'hello' } });
	expect(emitted[0].key).toMatch(/^clawgate:[0-9a-f]{64}$/);
	await sleep(200);
	expect(staticData.clawgateCursor).toBe(begun);

	emitted[0].done!.resolve({} as IRun);
	for (let i = 0; i < 100 && staticData.clawgateCursor === begun; i++) await sleep(20);
	expect(staticData.clawgateCursor).not.toBe(begun);
	await response.closeFunction!();
	for (let i = 0; i < 50 && matrix.openPolls > 0; i++) await sleep(20);
	expect(matrix.openPolls).toBe(0);
});

test('"Listen for test event" resolves with the first message only, stores no cursor, then stops polling', async () => {
	const room = matrix.createRoom({ members: ['@ada:localhost'], direct: true });
	const { node, workflow, additionalData } = setUp();
	const response = await Container.get(TriggersAndPollers).runTriggerFunction(workflow, node, getExecuteTriggerFunctions, additionalData, 'manual', 'manual');
	matrix.say(room, '@ada:localhost', 'first');
	matrix.say(room, '@ada:localhost', 'second');
	const data = (await response!.manualTriggerResponse!) as INodeExecutionData[][];
	expect(data[0].map((item) => (item.json.message as { text: string }).text)).toEqual(['first']);
	await response!.closeFunction!();
	expect(workflow.getStaticData('node', node).clawgateCursor).toBeUndefined();
	for (let i = 0; i < 50 && matrix.openPolls > 0; i++) await sleep(20);
	expect(matrix.openPolls).toBe(0);
});
