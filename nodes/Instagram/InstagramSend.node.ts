import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { messagingSendDeclaration } from '../Meta/meta.nodes';
import { sendExecutor, sendNodeDescription } from '../shared/send-node';
import { instagramPlugin } from './instagram.plugin';

const { operations, declaration } = messagingSendDeclaration(instagramPlugin, 'Sends a direct message from your Instagram professional account; by default answers the person the item came from', 'an Instagram-scoped ID (IGSID)');

export class InstagramSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(instagramPlugin, declaration), icon: { light: 'file:instagram.svg', dark: 'file:instagram.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(instagramPlugin, operations);
}
