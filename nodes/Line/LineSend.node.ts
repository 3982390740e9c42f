import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation, stringParameter } from '../shared/send-node';
import { describeLineError, linePlugin, startLoadingAnimation, type LineClient } from './line.plugin';

const showLoading: SendOperation<LineClient> = {
	name: 'Show Loading',
	value: 'showLoading',
	action: 'Show a loading animation',
	description: 'Show the "typing" animation in a one-on-one chat until the next message of the bot, or for the seconds set',
	properties: [
		{
			displayName: 'Seconds',
			name: 'loadingSeconds',
			type: 'number',
			typeOptions: { minValue: 5, maxValue: 60, numberStepSize: 5 },
			default: 20,
			displayOptions: { show: { operation: ['showLoading'] } },
			description: 'How long the animation shows at most (5 to 60, in steps of 5). It ends earlier when the bot sends a message.',
		},
	],
	async run({ client, itemIndex, json }) {
		const chatId = stringParameter(this, 'chatId', itemIndex) || String((json.chat as { id?: unknown } | undefined)?.id ?? '');
		const seconds = Number(this.getNodeParameter('loadingSeconds', itemIndex, 20));
		await startLoadingAnimation(client, chatId, seconds).catch((error: unknown) => {
			throw describeLineError(error, 'show the loading animation');
		});
		return { chatId, messageIds: [] };
	},
};

const operations = [sendTextOperation(linePlugin), showLoading] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'LINE',
	description: 'Sends a message with your LINE Official Account (push API); by default answers the chat the item came from',
	operations,
	commonProperties: [chatIdProperty(linePlugin, 'a user ID U…, group ID C… or room ID R…')],
};

export class LineSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(linePlugin, declaration), icon: { light: 'file:line.svg', dark: 'file:line.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(linePlugin, operations);
}
