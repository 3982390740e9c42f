/**
 * Instagram direct messages (a professional account, Instagram API with Instagram Login) as a
 * Clawgate channel plugin: Meta's webhook scheme with `object: "instagram"` and the Send API on
 * graph.instagram.com, through the Messenger model (nodes/Meta/meta.messaging.ts).
 * https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api
 */
import { idOrNull } from '../core/payload';
import { plainRenderer, type TextRenderer } from '../core/text/renderer';
import { callGraph } from '../Meta/meta.graph';
import { messagingPlugin } from '../Meta/meta.messaging';

export const INSTAGRAM_PUBLIC_API = 'https://graph.instagram.com';

export interface InstagramCredential {
	accessToken: string;
	appSecret: string;
	verifyToken: string;
	baseUrl?: string;
}

/** Instagram counts a text message in UTF-8 bytes: "text … must be UTF-8 and less than 1000 bytes". */
const instagramRenderer: TextRenderer = { ...plainRenderer, name: 'plain text (UTF-8 bytes)', measure: (text) => Buffer.byteLength(text, 'utf8') };

export const instagramPlugin = messagingPlugin<InstagramCredential>({
	name: 'Instagram',
	object: 'instagram',
	publicApi: INSTAGRAM_PUBLIC_API,
	tokenOf: (credential) => credential.accessToken,
	tokenAdvice: 'Generate an access token for the Instagram account in the Meta App Dashboard (Instagram → API setup with Instagram login) and paste it into the Clawgate Instagram credential.',
	textLimit: 1000,
	renderer: instagramRenderer,
	// user_id is the Instagram professional account ID that webhooks name (recipient.id); id is app-scoped.
	accountIdOf: async (client) => idOrNull((await callGraph(client, 'GET', '/me?fields=user_id,username')).user_id),
	// 2534022: "This message is sent outside of allowed window."
	windowClosedSubcode: 2534022,
	messageFields: {},
});
