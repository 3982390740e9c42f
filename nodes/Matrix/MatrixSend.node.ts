import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, editTextOperation, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation, typingOperation } from '../shared/send-node';
import { matrixPlugin } from './matrix.plugin';

const operations = [sendTextOperation(matrixPlugin), editTextOperation(matrixPlugin), typingOperation(matrixPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Matrix',
	description: 'Sends a message as your Matrix bot; by default answers the room (and thread) the item came from',
	operations,
	commonProperties: [chatIdProperty(matrixPlugin, 'a room ID !…:server')],
};

export class MatrixSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(matrixPlugin, declaration), icon: { light: 'file:matrix.svg', dark: 'file:matrix.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(matrixPlugin, operations);
}
