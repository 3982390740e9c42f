/**
 * Facebook Messenger (a Page's conversations) as a Clawgate channel plugin: Meta's webhook scheme
 * with `object: "page"` and the Send API with the Page access token, through the Messenger model
 * shared with Instagram (nodes/Meta/meta.messaging.ts). https://developers.facebook.com/docs/messenger-platform
 */
import { idOrNull } from '../core/payload';
import { callGraph } from '../Meta/meta.graph';
import { messagingPlugin } from '../Meta/meta.messaging';

export const MESSENGER_PUBLIC_API = 'https://graph.facebook.com';

export interface MessengerCredential {
	pageAccessToken: string;
	appSecret: string;
	verifyToken: string;
	baseUrl?: string;
}

export const messengerPlugin = messagingPlugin<MessengerCredential>({
	name: 'Messenger',
	object: 'page',
	publicApi: MESSENGER_PUBLIC_API,
	tokenOf: (credential) => credential.pageAccessToken,
	tokenAdvice: 'Generate a Page access token in the Meta App Dashboard (Messenger → Messenger API Settings → Access Tokens) and paste it into the Clawgate Messenger credential.',
	// "Text must be UTF-8 and has a 2000 character limit." https://developers.facebook.com/docs/messenger-platform/reference/send-api/
	textLimit: 2000,
	// A Page token's /me is the Page: its ID is the recipient of every message to it.
	accountIdOf: async (client) => idOrNull((await callGraph(client, 'GET', '/me?fields=id,name')).id),
	// 2018278: "This message is sent outside of allowed window."
	windowClosedSubcode: 2018278,
	// RESPONSE: an answer within the 24-hour window that the person's message opened.
	messageFields: { messaging_type: 'RESPONSE' },
});
