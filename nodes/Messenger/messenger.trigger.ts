import { messagingTriggerDeclaration } from '../Meta/meta.nodes';

/** What the Messenger trigger node says about itself and how it is set up. */
export const messengerTriggerDeclaration = messagingTriggerDeclaration(
	'Messenger',
	'Starts the workflow when someone messages your Facebook Page on Messenger, as a Clawgate envelope',
	'Messenger → Messenger API Settings',
	{ senders: '6945123456789012, 7023456789012345', chats: '', hint: 'page-scoped IDs (PSIDs); the trigger\'s sender.id shows them' },
);
