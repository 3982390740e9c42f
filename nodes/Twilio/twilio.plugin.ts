/**
 * Twilio (WhatsApp and SMS) as a Clawgate channel plugin, built from the Twilio adapter.
 */
import type { ChannelPlugin } from '../core/channel';
import { plainRenderer } from '../core/text/renderer';
import {
	checkTwilioAuthToken,
	createTwilioClient,
	describeTwilioError,
	EMPTY_TWIML,
	pairAddresses,
	parseTwilioParams,
	phoneNumberOf,
	twilioCapabilities,
	twilioEnvelopeOf,
	twilioMissingSignature,
	validateTwilioSignature,
	whyTwilioWebhookIsNoMessage,
	type TwilioChannel,
	type TwilioClient,
	type TwilioCredential,
	type TwilioParams,
} from './twilio.adapter';

/** The URL Twilio signed: the one pasted into Twilio when the trigger sits behind a proxy, else n8n's own. */
function signedUrlOf(url: string, options: Record<string, unknown>): string {
	return String(options.publicUrl ?? '').trim() || url;
}

export const twilioPlugin: ChannelPlugin<TwilioCredential, TwilioClient> = {
	id: 'twilio',
	name: 'Twilio',
	channels: ['whatsapp', 'sms'],
	credentialType: 'clawgateTwilioApi',
	capabilities: {
		textLimit: twilioCapabilities.textLimit,
		captionLimit: null,
		renderer: plainRenderer,
		edit: false,
		typing: false,
		threads: false,
		media: true,
		quote: 'never',
		inbound: ['webhook'],
	},
	createClient: (credential) => createTwilioClient(credential),
	// One account SID serves every number of the account; the envelope names the number.
	accountOf: async () => null,
	idReading: { separators: /[,;\n]+/, normalize: phoneNumberOf },
	webhook: {
		missingProof: (request) => twilioMissingSignature(request.headers['x-twilio-signature']),
		disproof(request, credential, context) {
			const check = validateTwilioSignature({
				authToken: credential.authToken ?? '',
				url: signedUrlOf(request.url, context.options),
				params: request.body as TwilioParams,
				signature: request.headers['x-twilio-signature'],
			});
			return check.valid ? null : check.reason;
		},
		async receive(request, _credential, context) {
			const params = parseTwilioParams(request.body);
			const channels = Array.isArray(context.options.channels) ? (context.options.channels as TwilioChannel[]) : [];
			const skipped = whyTwilioWebhookIsNoMessage(params, channels);
			const envelope = skipped === null ? twilioEnvelopeOf(params, context.now) : null;
			return {
				kind: 'events',
				events: [{ envelope, skipped: skipped ?? undefined, facts: { fromSelf: false, senderListedAs: phoneNumberOf(params.From) }, dedupeKey: params.MessageSid }],
			};
		},
		refusal: (status, reason) => ({ status, body: reason, contentType: 'text/plain' }),
		// Twilio waits at most 15 s; an empty TwiML document tells it not to send an automatic reply.
		acknowledgement: { status: 200, body: EMPTY_TWIML, contentType: 'text/xml' },
		// Twilio's number configuration is left to the user (the URL is pasted into the Console).
		checkCredential: (credential) => checkTwilioAuthToken(credential),
	},
	outbound: {
		async postMessage(client, { chatId, text, accountId }) {
			// Answers go from the number that received the message, on the same channel (WhatsApp or SMS).
			const sent = await client.messages.create({ ...pairAddresses(accountId ?? '', chatId), body: text });
			return [sent.sid];
		},
	},
	retryAfterMs: () => null,
	describeError: (error, action) => describeTwilioError(error, action),
};

