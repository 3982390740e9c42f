import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

import { chatIdProperty, type SendDeclaration, sendExecutor, sendNodeDescription, type SendOperation, sendTextOperation } from '../shared/send-node';
import { emailPlugin } from './email.plugin';

const operations = [sendTextOperation(emailPlugin)] as SendOperation<never>[];

const declaration: SendDeclaration = {
	displayName: 'Email',
	description: 'Sends a mail over SMTP; by default answers the mail the item came from, in its thread ("Re:" subject, In-Reply-To, References, the original quoted below)',
	operations,
	commonProperties: [chatIdProperty(emailPlugin, 'an address like ada@example.org')],
};

export class EmailSend implements INodeType {
	description: INodeTypeDescription = { ...sendNodeDescription(emailPlugin, declaration), icon: { light: 'file:email.svg', dark: 'file:email.dark.svg' }, subtitle: '={{ $parameter["operation"] }}', usableAsTool: true };

	execute = sendExecutor(emailPlugin, operations);
}
