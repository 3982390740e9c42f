import type { IDataObject, INodeType, INodeTypeDescription, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

import { listenerTriggerDescription, runListenerTrigger } from '../shared/listener-trigger';
import { receiveSettingsFrom } from '../shared/trigger-settings';
import { signalPlugin, type SignalCredential } from './signal.plugin';
import { startSignalListener } from './signal.socket';

export class SignalTrigger implements INodeType {
	description: INodeTypeDescription = {
		...listenerTriggerDescription(signalPlugin, {
			displayName: 'Signal',
			description: 'Starts the workflow when your Signal number gets a message, or is mentioned in a group, as a Clawgate envelope',
			subtitle: 'Messages to your Signal number',
			notice:
				'While the workflow is active, n8n holds a WebSocket to your signal-cli-rest-api, which must run with MODE=json-rpc. That API keeps no messages for a client that is not connected: messages sent while n8n is down are not answered.',
			ids: { senders: '+4915112345678, +14155550123', chats: 'group.Q2xhd2dhdGU=...', hint: 'phone numbers with country code; group IDs as the API lists them (GET /v1/groups/<number>, "id")' },
		}),
		icon: { light: 'file:signal.svg', dark: 'file:signal.dark.svg' },
		subtitle: 'Messages to your Signal number',
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const credential = (await this.getCredentials('clawgateSignalApi')) as unknown as SignalCredential;
		const settings = receiveSettingsFrom(signalPlugin, this.getNodeParameter('options', {}) as IDataObject);
		return await runListenerTrigger(this, signalPlugin, { credential, policy: settings.policy }, async (handlers) =>
			await startSignalListener({ credential, settings, log: this.logger, ...handlers }),
		);
	}
}
