/**
 * Runs a workflow in-process with n8n-core's own engine (`WorkflowExecute`), so node classes
 * meet real parameter resolution, expressions, credentials, continue-on-fail and pairedItem
 * handling. Only what n8n's server would supply is stubbed: the node type registry, the
 * credential store and the execution's additional data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GlobalConfig } from '@n8n/config';
import { Container } from '@n8n/di';
import { ExpressionEvaluator, IsolatedVmBridge } from '@n8n/expression-runtime';
import { ExecutionLifecycleHooks, WebhookContext, WorkflowExecute } from 'n8n-core';
import {
	createRunExecutionData,
	Expression,
	ICredentialsHelper,
	LoggerProxy,
	NodeConnectionTypes,
	NodeHelpers,
	Workflow,
	type ExecutionError,
	type ICredentialDataDecryptedObject,
	type ICredentials,
	type ICredentialType,
	type IConnections,
	type IDataObject,
	type IExecuteFunctions,
	type IHttpRequestOptions,
	type INode,
	type INodeExecutionData,
	type INodeParameters,
	type INodeProperties,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IRunData,
	type IVersionedNodeType,
	type IWebhookData,
	type IWebhookResponseData,
	type IWorkflowExecuteAdditionalData,
	type StructuredChunk,
} from 'n8n-workflow';
import { expressionSandboxHooks } from 'n8n-workflow/dist/cjs/expression-sandboxing';

import { ClawgateDiscordApi } from '../../credentials/ClawgateDiscordApi.credentials';
import { ClawgateGoogleChatApi } from '../../credentials/ClawgateGoogleChatApi.credentials';
import { ClawgateSlackApi } from '../../credentials/ClawgateSlackApi.credentials';
import { ClawgateTeamsApi } from '../../credentials/ClawgateTeamsApi.credentials';
import { ClawgateTelegramApi } from '../../credentials/ClawgateTelegramApi.credentials';
import { ClawgateTwilioApi } from '../../credentials/ClawgateTwilioApi.credentials';
import { AiSession } from '../../nodes/AiSession/AiSession.node';
import { Reply } from '../../nodes/Reply/Reply.node';
import { Insights } from '../../nodes/Insights/Insights.node';
import { DiscordSend } from '../../nodes/Discord/DiscordSend.node';
import { GoogleChatSend } from '../../nodes/GoogleChat/GoogleChatSend.node';
import { SlackSend } from '../../nodes/Slack/SlackSend.node';
import { SlackTrigger } from '../../nodes/Slack/SlackTrigger.node';
import { TeamsSend } from '../../nodes/Teams/TeamsSend.node';
import { TelegramSend } from '../../nodes/Telegram/TelegramSend.node';
import { TelegramTrigger } from '../../nodes/Telegram/TelegramTrigger.node';
import { TwilioSend } from '../../nodes/Twilio/TwilioSend.node';
import { TwilioTrigger } from '../../nodes/Twilio/TwilioTrigger.node';
import type { Envelope } from '../../nodes/core/envelope';
import { signEnvelope } from '../../nodes/core/origin';
import { envelopeOriginKey } from '../../nodes/shared/origin-key';

// Every node execution makes n8n-core load its instance settings, which creates
// <N8N_USER_FOLDER>/.n8n/config on first use (not at import). A throwaway folder per test file
// keeps runs away from a developer's real ~/.n8n and from each other.
const n8nUserFolder = mkdtempSync(join(tmpdir(), 'clawgate-n8n-'));
process.env.N8N_USER_FOLDER = n8nUserFolder;
afterAll(() => rmSync(n8nUserFolder, { recursive: true, force: true }));
// n8n's server logs every node error; the run result carries it already. N8N_LOG_LEVEL=debug shows them.
process.env.N8N_LOG_LEVEL ??= 'silent';

let expressionEngineReady: Promise<void> | undefined;

/**
 * Starts the expression engine as n8n's CLI does at startup: n8n 2.x evaluates `{{ }}` in
 * isolated-vm by default, and without this expressions would quietly use the legacy in-process
 * evaluator. `Expression.initExpressionEngine` loads the runtime with a dynamic `import()`, which
 * jest's sandbox refuses without --experimental-vm-modules, so the same evaluator is built here
 * with a static import instead. Each execution uses up one fresh isolate (~100 ms to build when
 * the pool is empty); N8N_EXPRESSION_ENGINE=legacy trades that fidelity for ~10 ms runs.
 */
function startExpressionEngine(): Promise<void> {
	expressionEngineReady ??= (async () => {
		const config = Container.get(GlobalConfig).expressionEngine;
		if (config.engine === 'legacy') return;
		if (config.engine !== 'vm') throw new Error(`The node test harness runs the "vm" or "legacy" expression engine, not "${config.engine}".`);
		const evaluator = new ExpressionEvaluator({
			createBridge: () => new IsolatedVmBridge({ timeout: config.bridgeTimeout, memoryLimit: config.bridgeMemoryLimit, compileCache: config.compileCache, logger: LoggerProxy }),
			maxCodeCacheSize: config.maxCodeCacheSize,
			poolSize: config.poolSize,
			hooks: expressionSandboxHooks,
			logger: LoggerProxy,
		});
		await evaluator.initialize();
		Object.assign(Expression, { vmEvaluator: evaluator });
		Expression.setExpressionEngine('vm');
		if (Expression.getActiveImplementation() !== 'vm') throw new Error('n8n-workflow no longer accepts the harness\'s expression evaluator; see startExpressionEngine.');
	})();
	return expressionEngineReady;
}
// The isolate pool would keep jest from exiting.
afterAll(() => Expression.disposeExpressionEngine());

/** The package prefix n8n gives our node types once the package is installed. */
export const PACKAGE = 'n8n-nodes-clawgate';

/** The node every harness workflow starts from; it emits the `input` items. */
export const INPUT_NODE_NAME = 'Input';
const INPUT_NODE_TYPE = 'clawgate-test.input';

/** Emits whatever the harness feeds it, standing in for a trigger without a trigger's lifecycle. */
class HarnessInput implements INodeType {
	description: INodeType['description'] = {
		displayName: 'Harness Input',
		name: 'input',
		group: ['input'],
		version: 1,
		description: 'Feeds the test items into the workflow',
		defaults: { name: INPUT_NODE_NAME },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [this.getInputData()];
	}
}

/** Node types by their full type name; add a line here when the package gains a node. */
export const nodeTypes: Record<string, INodeType | IVersionedNodeType> = {
	[INPUT_NODE_TYPE]: new HarnessInput(),
	[`${PACKAGE}.telegramSend`]: new TelegramSend(),
	[`${PACKAGE}.slackSend`]: new SlackSend(),
	[`${PACKAGE}.aiSession`]: new AiSession(),
	[`${PACKAGE}.discordSend`]: new DiscordSend(),
	[`${PACKAGE}.twilioSend`]: new TwilioSend(),
	[`${PACKAGE}.reply`]: new Reply(),
	[`${PACKAGE}.insights`]: new Insights(),
	[`${PACKAGE}.telegramTrigger`]: new TelegramTrigger(),
	[`${PACKAGE}.slackTrigger`]: new SlackTrigger(),
	[`${PACKAGE}.twilioTrigger`]: new TwilioTrigger(),
	[`${PACKAGE}.teamsSend`]: new TeamsSend(),
	[`${PACKAGE}.googleChatSend`]: new GoogleChatSend(),
};

/** n8n's built-in credential types our nodes use, with the fields n8n 2.40.7 gives them. */
const n8nOpenAiApi: ICredentialType = {
	name: 'openAiApi',
	displayName: 'OpenAI',
	properties: [
		{ displayName: 'API Key', name: 'apiKey', type: 'string', typeOptions: { password: true }, default: '' },
		{ displayName: 'Organization ID', name: 'organizationId', type: 'string', default: '' },
		{ displayName: 'Base URL', name: 'url', type: 'string', default: 'https://api.openai.com/v1' },
	],
};

// n8n's own `redis` and `postgres` credentials, with the fields the AI Session node reads.
const n8nRedis: ICredentialType = {
	name: 'redis',
	displayName: 'Redis',
	properties: [
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{ displayName: 'User', name: 'user', type: 'string', default: '' },
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost' },
		{ displayName: 'Port', name: 'port', type: 'number', default: 6379 },
		{ displayName: 'Database Number', name: 'database', type: 'number', default: 0 },
		{ displayName: 'SSL', name: 'ssl', type: 'boolean', default: false },
	],
};
const n8nPostgres: ICredentialType = {
	name: 'postgres',
	displayName: 'Postgres',
	properties: [
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost' },
		{ displayName: 'Database', name: 'database', type: 'string', default: 'postgres' },
		{ displayName: 'User', name: 'user', type: 'string', default: 'postgres' },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{ displayName: 'Ignore SSL Issues', name: 'allowUnauthorizedCerts', type: 'boolean', default: false },
		{ displayName: 'SSL', name: 'ssl', type: 'options', options: [{ name: 'Disable', value: 'disable' }], default: 'disable' },
		{ displayName: 'Port', name: 'port', type: 'number', default: 5432 },
	],
};
const nodeTypeRegistry: INodeTypes = {
	getByName(type) {
		const nodeType = nodeTypes[type];
		if (!nodeType) throw new Error(`The harness does not know the node type "${type}". Add it to nodeTypes in test/nodes/harness.ts.`);
		return nodeType;
	},
	getByNameAndVersion(type, version) {
		const nodeType = this.getByName(type);
		return 'nodeVersions' in nodeType ? nodeType.getNodeType(version) : nodeType;
	},
	getKnownTypes: () => ({}),
};

/** Credential types by name; their property defaults are applied as n8n does. */
export const credentialTypes: Record<string, ICredentialType> = {
	clawgateTelegramApi: new ClawgateTelegramApi(),
	clawgateDiscordApi: new ClawgateDiscordApi(),
	clawgateSlackApi: new ClawgateSlackApi(),
	clawgateTwilioApi: new ClawgateTwilioApi(),
	clawgateTeamsApi: new ClawgateTeamsApi(),
	clawgateGoogleChatApi: new ClawgateGoogleChatApi(),
	openAiApi: n8nOpenAiApi,
	redis: n8nRedis,
	postgres: n8nPostgres,
};

/**
 * Hands out the plain credential data a test gives, by credential type, with the type's
 * defaults filled in like n8n's own helper. n8n decrypts from its database here; everything a
 * node sees from `getCredentials()` onwards stays real.
 */
class PlainCredentialsHelper extends ICredentialsHelper {
	/** How often each credential type was read: in n8n each read costs an expression sandbox. */
	readonly reads: Record<string, number> = {};

	constructor(private readonly byType: Record<string, ICredentialDataDecryptedObject>) {
		super();
	}

	async getDecrypted(_additionalData: unknown, _nodeCredentials: unknown, type: string): Promise<ICredentialDataDecryptedObject> {
		this.reads[type] = (this.reads[type] ?? 0) + 1;
		const data = this.byType[type];
		if (!data) throw new Error(`The test gave no credential of type "${type}".`);
		const withDefaults = NodeHelpers.getNodeParameters(this.getCredentialsProperties(type), structuredClone(data) as INodeParameters, true, false, null, null);
		return withDefaults as ICredentialDataDecryptedObject;
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		const credentialType = credentialTypes[type];
		if (!credentialType) throw new Error(`The harness does not know the credential type "${type}". Add it to credentialTypes in test/nodes/harness.ts.`);
		return credentialType.properties;
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	// n8n's server implements this (generic header/query auth); no Clawgate node uses it yet, and
	// passing requests through unauthenticated would hide that.
	authenticate(): Promise<IHttpRequestOptions> {
		throw new Error('The node test harness does not implement httpRequestWithAuthentication.');
	}

	async preAuthentication(): Promise<undefined> {
		return undefined;
	}

	async runPreAuthentication(): Promise<undefined> {
		return undefined;
	}

	getCredentials(): Promise<ICredentials> {
		throw new Error('The harness stores no encrypted credentials; nodes read them through getCredentials().');
	}

	async updateCredentials(): Promise<void> {}

	async updateCredentialsOauthTokenData(): Promise<void> {}
}

function unsupported(what: string): () => never {
	return () => {
		throw new Error(`The node test harness does not support ${what}.`);
	};
}

export interface RunWorkflowOptions {
	/** The nodes under test; the harness adds its own "Input" node, which they connect from. */
	nodes: INode[];
	connections: IConnections;
	/** Plain credential data by credential type, e.g. `{ clawgateTelegramApi: { accessToken, baseUrl } }`. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	/** The `json` of the items the "Input" node emits. */
	input?: IDataObject[];
	/** Runs as a webhook execution whose response streams (n8n's Chat Trigger in Streaming mode): every chunk a node sends goes here. */
	onChunk?: (chunk: StructuredChunk) => void;
}

export interface WorkflowRun {
	run: IRun;
	runData: IRunData;
	/** Set when the execution failed (a node threw and did not continue on fail). */
	error?: ExecutionError;
	/** The items a node emitted on one output in its first run; throws if the node did not run. */
	outputOf(nodeName: string, outputIndex?: number): INodeExecutionData[];
	/** How often the nodes read (and n8n would decrypt) a credential of this type during the run. */
	credentialReads(type: string): number;
}

let executionCounter = 0;

export async function runWorkflow({ nodes, connections, credentials = {}, input = [{}], onChunk }: RunWorkflowOptions): Promise<WorkflowRun> {
	const inputNode: INode = {
		id: 'harness-input',
		name: INPUT_NODE_NAME,
		type: INPUT_NODE_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const workflowData = {
		id: 'harness-workflow',
		name: 'Harness workflow',
		nodes: [inputNode, ...nodes],
		connections,
		active: false,
		settings: { executionOrder: 'v1' as const },
	};
	const workflow = new Workflow({ ...workflowData, nodeTypes: nodeTypeRegistry });

	const executionId = String(++executionCounter);
	const mode = onChunk ? 'webhook' : 'trigger';
	const hooks = new ExecutionLifecycleHooks(mode, executionId, {
		...workflowData,
		activeVersionId: null,
		isArchived: false,
		createdAt: new Date(),
		updatedAt: new Date(),
	});
	const credentialsHelper = new PlainCredentialsHelper(credentials);
	const additionalData = {
		credentialsHelper,
		hooks,
		executionId,
		currentNodeExecutionIndex: 0,
		variables: {},
		restApiUrl: 'http://127.0.0.1/rest',
		instanceBaseUrl: 'http://127.0.0.1/',
		formBaseUrl: 'http://127.0.0.1/form',
		formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
		formTestBaseUrl: 'http://127.0.0.1/form-test',
		webhookBaseUrl: 'http://127.0.0.1/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1/webhook-test',
		mcpBaseUrl: 'http://127.0.0.1/mcp',
		mcpTestBaseUrl: 'http://127.0.0.1/mcp-test',
		executeWorkflow: unsupported('sub-workflows'),
		getRunExecutionData: unsupported('reading other executions'),
		getRuntimeCredential: unsupported('runtime credentials'),
		startRunnerTask: unsupported('the Code node task runner'),
		logAiEvent: () => {},
		streamingEnabled: onChunk !== undefined,
	} as unknown as IWorkflowExecuteAdditionalData;
	// As n8n's WorkflowRunner does for a streaming response.
	if (onChunk) hooks.addHandler('sendChunk', (chunk) => onChunk(chunk));

	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node: inputNode, data: { main: [input.map((json) => ({ json }))] }, source: null }],
		},
	});
	await startExpressionEngine();
	const run = await new WorkflowExecute(additionalData, mode, runExecutionData).processRunExecutionData(workflow);
	const runData = run.data.resultData.runData;

	return {
		run,
		runData,
		error: run.data.resultData.error,
		outputOf(nodeName, outputIndex = 0) {
			const task = runData[nodeName]?.[0];
			if (!task) throw new Error(`The node "${nodeName}" did not run. Ran: ${Object.keys(runData).join(', ') || 'nothing'}.`);
			return task.data?.main?.[outputIndex] ?? [];
		},
		credentialReads: (type) => credentialsHelper.reads[type] ?? 0,
	};
}

export interface WebhookRequest {
	/** Lower-case names, as Node gives them. */
	headers?: Record<string, string>;
	/** The parsed body (`getBodyData()`): JSON, or form fields. */
	body?: unknown;
	/** The bytes as received (`getRequestObject().rawBody`), which n8n keeps for signature checks. */
	rawBody?: Buffer;
}

export interface WebhookAnswer {
	/** What the node returned to n8n's webhook server. */
	result: IWebhookResponseData;
	/** What the node answered itself on the response object (null when it left that to n8n). */
	status: number | null;
	body: unknown;
	contentType: string | null;
}

/**
 * One trigger node of an active workflow, receiving webhook requests the way n8n's webhook
 * server hands them over: a fresh n8n-core WebhookContext per request, the request and response
 * in the additional data, credentials read through n8n-core's own path. `credentials` may be
 * changed between requests (a user editing the credential); `credentialReads` counts the reads.
 */
export class WebhookTrigger {
	readonly workflow: Workflow;
	private readonly credentialsHelper: PlainCredentialsHelper;

	constructor(
		readonly node: INode,
		readonly credentials: Record<string, ICredentialDataDecryptedObject>,
		workflowId = 'harness-webhook-workflow',
		/** Nodes after the trigger (a send node makes its delivery journal work), each fed by the one before. */
		downstream: INode[] = [],
	) {
		this.credentialsHelper = new PlainCredentialsHelper(credentials);
		const chain = [node, ...downstream];
		const connections = Object.fromEntries(chain.slice(0, -1).map((from, index) => [from.name, { main: [[{ node: chain[index + 1].name, type: 'main' as const, index: 0 }]] }]));
		this.workflow = new Workflow({ id: workflowId, name: 'Harness webhook workflow', nodes: chain, connections, active: true, nodeTypes: nodeTypeRegistry, settings: { executionOrder: 'v1' } });
	}

	credentialReads(type: string): number {
		return this.credentialsHelper.reads[type] ?? 0;
	}

	/** The node's production webhook URL, as n8n gives it (what a platform is told to call). */
	get url(): string {
		return `http://127.0.0.1/webhook/${this.node.webhookId}/webhook`;
	}

	async receive({ headers = {}, body = {}, rawBody }: WebhookRequest): Promise<WebhookAnswer> {
		await startExpressionEngine();
		const answer = { status: null as number | null, body: undefined as unknown, contentType: null as string | null };
		const response = {
			status(code: number) {
				answer.status = code;
				return response;
			},
			type(contentType: string) {
				answer.contentType = contentType;
				return response;
			},
			json(data: unknown) {
				answer.body = data;
				answer.contentType ??= 'application/json';
				return response;
			},
			send(data: unknown) {
				answer.body = data;
				return response;
			},
			end() {
				return response;
			},
		};
		const request = { method: 'POST', headers, body, rawBody, params: {}, query: {} };
		const additionalData = {
			credentialsHelper: this.credentialsHelper,
			httpRequest: request,
			httpResponse: response,
			variables: {},
			...LOOPBACK_URLS,
		} as unknown as IWorkflowExecuteAdditionalData;
		const nodeType = this.workflow.nodeTypes.getByNameAndVersion(this.node.type, this.node.typeVersion);
		const webhookDescription = nodeType.description.webhooks![0];
		const webhookData = {
			httpMethod: 'POST',
			node: this.node.name,
			path: `${this.node.webhookId}/webhook`,
			webhookDescription,
			workflowId: this.workflow.id,
			workflowExecuteAdditionalData: additionalData,
			webhookId: this.node.webhookId,
			isTest: false,
		} as unknown as IWebhookData;
		const context = new WebhookContext(this.workflow, this.node, additionalData, 'webhook', webhookData, [], null);
		const result = await nodeType.webhook!.call(context);
		return { result, ...answer };
	}
}

/** The URLs n8n's additional data carries, all on loopback (nothing in these tests is reached through them). */
export const LOOPBACK_URLS = {
	restApiUrl: 'http://127.0.0.1/rest',
	instanceBaseUrl: 'http://127.0.0.1/',
	webhookBaseUrl: 'http://127.0.0.1/webhook',
	webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
	webhookTestBaseUrl: 'http://127.0.0.1/webhook-test',
};

let nextEnvelopeMessageId = 1;

/** An item as a Clawgate trigger emits it: signed with this process's envelope key (see nodes/core/origin.ts). */
export function fromTrigger(json: IDataObject): IDataObject {
	return signEnvelope(json as unknown as Envelope, envelopeOriginKey()) as unknown as IDataObject;
}

/** The envelope a Telegram direct message from Ada to bot 777 normalises to, as the trigger signs it (message IDs count up unless given). */
/** An AI Session node (version 2) keeping its sessions in `sqliteFile`; `parameters.options` add to that. */
export function aiSessionTestNode(sqliteFile: string, parameters: IDataObject, credentials: INode['credentials'], extra: Partial<INode> = {}): INode {
	return {
		id: 'ai-session',
		name: 'AI Session',
		type: `${PACKAGE}.aiSession`,
		typeVersion: 2,
		position: [200, 0],
		parameters: { ...parameters, options: { sqliteFile, ...(parameters.options as IDataObject | undefined) } },
		credentials,
		...extra,
	};
}

export function telegramDmEnvelope(chatId: string, text: string, messageId = String(nextEnvelopeMessageId++)): IDataObject {
	return fromTrigger({
		sessionId: `telegram:777:dm:${chatId}`,
		channel: 'telegram',
		accountId: '777',
		chat: { id: chatId, type: 'dm', threadId: null, title: null },
		sender: { id: chatId, name: 'Ada', username: null, isBot: false },
		message: { id: messageId, text, replyToId: null, mentionsBot: false, command: null, attachments: [], timestamp: new Date().toISOString() },
		raw: {},
	});
}
