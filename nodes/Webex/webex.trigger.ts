import type { TriggerDeclaration } from '../shared/webhook-trigger';

/** What the Webex trigger node says about itself and how it is set up. */
export const webexTriggerDeclaration: TriggerDeclaration = {
	displayName: 'Webex',
	version: [1],
	description: 'Starts the workflow when someone messages your Webex bot, or mentions it in a space, as a Clawgate envelope',
	setupNotice:
		'Activating this workflow registers the <b>Production URL</b> above as a Webex webhook for new messages to your bot (Webex must reach it from the internet; listening for a test event registers the Test URL). Deactivating removes it. In spaces, Webex shows a bot only the messages that mention it.',
	ids: { senders: 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS9m...', chats: 'Y2lzY29zcGFyazovL3VzL1JPT00v...', hint: 'Webex person and room IDs, as the trigger\'s sender.id and chat.id show them' },
};
