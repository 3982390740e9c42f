import type { INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { runCursorTrigger } from '../shared/cursor-poller';
import { listenerTriggerNode, runListenerTrigger } from '../shared/listener-trigger';
import { signalPlugin, type SignalCredential } from './signal.plugin';
import { signalPollSource } from './signal.poll';
import { startSignalListener } from './signal.socket';

const receiveThroughOptions = [
	{
		name: 'Polling (Normal or Native Mode)',
		value: 'polling',
		description: "For signal-cli-rest-api in native (or normal) mode. Messages wait on Signal's servers until n8n fetches them, so messages sent while n8n is down are answered once it is back.",
	},
	{
		name: 'WebSocket (JSON-RPC Mode)',
		value: 'webSocket',
		description: 'For signal-cli-rest-api in JSON-RPC mode. Messages arrive at once, but those sent while n8n is down are lost.',
	},
];

const receiveThrough = (defaultValue: 'polling' | 'webSocket', versions: number[]): INodeProperties => ({
	displayName: 'Receive Through',
	name: 'receiveThrough',
	type: 'options',
	options: receiveThroughOptions,
	default: defaultValue,
	description: 'How n8n gets messages from signal-cli-rest-api: this must match the MODE the container runs in',
	displayOptions: { show: { '@version': versions } },
});

const node = listenerTriggerNode(
	signalPlugin,
	{
		displayName: 'Signal',
		// Version 2 polls by default: only polling answers what was sent while n8n was down. Version 1 keeps its WebSocket.
		version: [1, 2],
		description: 'Starts the workflow when your Signal number gets a message, or is mentioned in a group, as a Clawgate envelope',
		setupNotice: 'While the workflow is active, n8n receives the messages of your Signal number from signal-cli-rest-api, in the way "Receive Through" names.',
		ids: { senders: '+4915112345678, +14155550123', chats: 'group.Q2xhd2dhdGU=...', hint: 'phone numbers with country code; group IDs as the API lists them (GET /v1/groups/<number>, "id")' },
	},
	async (context, { credential, settings }) => {
		const signal = credential as SignalCredential;
		if (context.getNodeParameter('receiveThrough', 'webSocket') === 'polling') {
			return await runCursorTrigger(context, signalPlugin, { credential, policy: settings.policy }, (log) => signalPollSource(signal, { ...settings, oneAtATime: context.getMode() === 'manual' }, log));
		}
		return await runListenerTrigger(context, signalPlugin, { credential, policy: settings.policy }, async (handlers) => await startSignalListener({ credential: signal, settings, log: context.logger, ...handlers }));
	},
);

const [setupNotice, ...otherProperties] = node.description.properties;

export class SignalTrigger implements INodeType {
	description: INodeTypeDescription = {
		...node.description,
		icon: { light: 'file:signal.svg', dark: 'file:signal.dark.svg' },
		subtitle: 'Messages to your Signal number',
		properties: [
			setupNotice,
			receiveThrough('webSocket', [1]),
			receiveThrough('polling', [2]),
			{
				displayName: "In json-rpc mode signal-cli-rest-api keeps nothing for a client that is not connected: messages sent while n8n is down (or the workflow is inactive) are not answered. Polling answers them once n8n is back.",
				name: 'webSocketNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { receiveThrough: ['webSocket'] } },
			},
			...otherProperties,
		],
	};

	trigger = node.trigger;
}
