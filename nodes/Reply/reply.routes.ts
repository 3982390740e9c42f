import type { ReplyRoute } from '../core/reply-route';
import { discordReplyRoute } from '../Discord/discord.reply';
import { slackReplyRoute } from '../Slack/slack.reply';
import { telegramReplyRoute } from '../Telegram/telegram.reply';
import { twilioReplyRoute } from '../Twilio/twilio.reply';

/** Every platform the Reply node can answer on; a new channel adds its route here. */
export const replyRoutes: readonly ReplyRoute<never>[] = [telegramReplyRoute, discordReplyRoute, slackReplyRoute, twilioReplyRoute] as ReplyRoute<never>[];

export function replyRouteFor(channel: unknown): ReplyRoute<never> | null {
	return replyRoutes.find((route) => typeof channel === 'string' && route.channels.includes(channel)) ?? null;
}
