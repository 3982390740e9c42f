/**
 * Every channel plugin Clawgate ships: Reply derives its routes and credentials from this list.
 * A new channel adds its plugin here, one line.
 */
import type { AnyChannelPlugin } from '../core/channel';
import { discordPlugin } from '../Discord/discord.plugin';
import { linePlugin } from '../Line/line.plugin';
import { mattermostPlugin } from '../Mattermost/mattermost.plugin';
import { nextcloudTalkPlugin } from '../NextcloudTalk/nextcloudTalk.plugin';
import { rocketChatPlugin } from '../RocketChat/rocketChat.plugin';
import { synologyChatPlugin } from '../SynologyChat/synologyChat.plugin';
import { slackPlugin } from '../Slack/slack.plugin';
import { telegramPlugin } from '../Telegram/telegram.plugin';
import { twilioPlugin } from '../Twilio/twilio.plugin';

export const channelPlugins: readonly AnyChannelPlugin[] = [telegramPlugin, discordPlugin, slackPlugin, twilioPlugin, linePlugin, mattermostPlugin, rocketChatPlugin, nextcloudTalkPlugin, synologyChatPlugin];

/** The plugin that answers an item: by `via` (the integration that received it), else by `channel` for items made before `via`. */
export function pluginForItem(item: { via?: unknown; channel?: unknown }): AnyChannelPlugin | null {
	return (
		channelPlugins.find((plugin) => plugin.id === item.via) ??
		channelPlugins.find((plugin) => typeof item.channel === 'string' && plugin.channels.includes(item.channel)) ??
		null
	);
}
