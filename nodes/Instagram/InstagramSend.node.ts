import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { messagingSendOperations } from '../Meta/meta.nodes';
import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { instagramPlugin } from './instagram.plugin';

const operations = [sendTextOperation(instagramPlugin), ...messagingSendOperations(instagramPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Instagram',
	description: 'Sends a direct message from your Instagram professional account; by default answers the person the item came from',
	operations,
	commonProperties: [chatIdProperty(instagramPlugin, 'an Instagram-scoped ID (IGSID)')],
};

export class InstagramSend implements INodeType {
	description: INodeTypeDescription = {
		...sendNodeDescription(instagramPlugin, declaration),
		icon: { light: 'file:instagram.svg', dark: 'file:instagram.dark.svg' },
		subtitle: '={{ $parameter["operation"] }}',
		usableAsTool: true,
	};

	execute = sendExecutor(instagramPlugin, operations);
}
