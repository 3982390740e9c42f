import type { TriggerDeclaration } from '../shared/webhook-trigger';

/** What the GoogleChat trigger node says about itself and how it is set up. */
export const googleChatTriggerDeclaration: TriggerDeclaration = {
	displayName: 'Google Chat',
	version: [1],
	description: 'Starts the workflow when someone messages your Google Chat app, or @mentions it in a space, as a Clawgate envelope',
	setupNotice:
		'In the <a href="https://console.cloud.google.com/apis/api/chat.googleapis.com/hangouts-chat" target="_blank">Google Chat API configuration</a> of your project, choose <b>HTTP endpoint URL</b> and paste the <b>Production URL</b> above (public https://). Set <b>Authentication Audience</b> to the value in the credential\'s Audience (the project number, or this URL). In spaces, Google Chat delivers only messages that @mention the app.',
	ids: { senders: 'users/1234567890..., users/9876543210...', chats: 'spaces/AAAAbcd..., spaces/AAAAxyz...', hint: "users are users/…, spaces spaces/…; the trigger's sender.id and chat.id show them" },
};
