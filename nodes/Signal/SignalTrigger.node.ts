import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { listenerTriggerNode, runListenerTrigger } from '../shared/listener-trigger';
import { signalPlugin, type SignalCredential } from './signal.plugin';
import { startSignalListener } from './signal.socket';

const node = listenerTriggerNode(
	signalPlugin,
	{
		displayName: 'Signal',
		version: [1],
		description: 'Starts the workflow when your Signal number gets a message, or is mentioned in a group, as a Clawgate envelope',
		setupNotice:
			'While the workflow is active, n8n holds a WebSocket to your signal-cli-rest-api, which must run with MODE=json-rpc. That API keeps no messages for a client that is not connected: messages sent while n8n is down are not answered.',
		ids: { senders: '+4915112345678, +14155550123', chats: 'group.Q2xhd2dhdGU=...', hint: 'phone numbers with country code; group IDs as the API lists them (GET /v1/groups/<number>, "id")' },
	},
	async (context, { credential, settings }) =>
		await runListenerTrigger(context, signalPlugin, { credential, policy: settings.policy }, async (handlers) =>
			await startSignalListener({ credential: credential as SignalCredential, settings, log: context.logger, ...handlers }),
		),
);

export class SignalTrigger implements INodeType {
	description: INodeTypeDescription = { ...node.description, icon: { light: 'file:signal.svg', dark: 'file:signal.dark.svg' }, subtitle: 'Messages to your Signal number' };

	trigger = node.trigger;
}
