/**
 * Every channel plugin Clawgate ships: Reply derives its routes and credentials from this list.
 * A new channel adds its plugin here, one line.
 */
import type { AnyChannelPlugin } from '../core/channel';
import { discordPlugin } from '../Discord/discord.plugin';
import { emailPlugin } from '../Email/email.plugin';
import { googleChatPlugin } from '../GoogleChat/googleChat.plugin';
import { instagramPlugin } from '../Instagram/instagram.plugin';
import { ircPlugin } from '../Irc/irc.plugin';
import { linePlugin } from '../Line/line.plugin';
import { matrixPlugin } from '../Matrix/matrix.plugin';
import { mattermostPlugin } from '../Mattermost/mattermost.plugin';
import { messengerPlugin } from '../Messenger/messenger.plugin';
import { nextcloudTalkPlugin } from '../NextcloudTalk/nextcloudTalk.plugin';
import { rocketChatPlugin } from '../RocketChat/rocketChat.plugin';
import { signalPlugin } from '../Signal/signal.plugin';
import { slackPlugin } from '../Slack/slack.plugin';
import { synologyChatPlugin } from '../SynologyChat/synologyChat.plugin';
import { teamsPlugin } from '../Teams/teams.plugin';
import { telegramPlugin } from '../Telegram/telegram.plugin';
import { twilioPlugin } from '../Twilio/twilio.plugin';
import { viberPlugin } from '../Viber/viber.plugin';
import { webexPlugin } from '../Webex/webex.plugin';
import { whatsAppPlugin } from '../WhatsApp/whatsapp.plugin';
import { xmppPlugin } from '../Xmpp/xmpp.plugin';
import { zulipPlugin } from '../Zulip/zulip.plugin';

export const channelPlugins: readonly AnyChannelPlugin[] = [
	telegramPlugin,
	discordPlugin,
	slackPlugin,
	twilioPlugin,
	linePlugin,
	whatsAppPlugin,
	messengerPlugin,
	instagramPlugin,
	viberPlugin,
	teamsPlugin,
	googleChatPlugin,
	webexPlugin,
	matrixPlugin,
	zulipPlugin,
	signalPlugin,
	ircPlugin,
	xmppPlugin,
	emailPlugin,
	mattermostPlugin,
	rocketChatPlugin,
	nextcloudTalkPlugin,
	synologyChatPlugin,
];

/** The plugin that answers an item: by `via` (the integration that received it), else by `channel` for items made before `via`. */
export function pluginForItem(item: { via?: unknown; channel?: unknown }): AnyChannelPlugin | null {
	return (
		channelPlugins.find((plugin) => plugin.id === item.via) ??
		channelPlugins.find((plugin) => typeof item.channel === 'string' && plugin.channels.includes(item.channel)) ??
		null
	);
}
