import { messagingTriggerDeclaration } from '../Meta/meta.nodes';

/** What the Instagram trigger node says about itself and how it is set up. */
export const instagramTriggerDeclaration = messagingTriggerDeclaration(
	'Instagram',
	'Starts the workflow when someone sends your Instagram professional account a direct message, as a Clawgate envelope',
	'Instagram → API setup with Instagram login',
	{ senders: '1234567890123456, 2345678901234567', chats: '', hint: 'Instagram-scoped IDs (IGSIDs); the trigger\'s sender.id shows them' },
);
