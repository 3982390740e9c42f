/**
 * The trigger options every channel shares, with one name each across channels (the access
 * policy and per-user sessions), and how a node's options become the policy. Older node
 * versions named these differently; their names are still read, so shared workflow JSON keeps
 * its behaviour.
 */
import type { INodeProperties } from 'n8n-workflow';

import { parseIdList, type AccessPolicy, type DmPolicy, type GroupActivation } from '../core/access-policy';
import type { AnyChannelPlugin, ReceiveSettings } from '../core/channel';

export interface IdExamples {
	/** A placeholder of sender IDs as the platform writes them. */
	senders: string;
	/** A placeholder of group chat IDs. */
	chats: string;
	/** Where a user finds the IDs. */
	hint: string;
}

const GROUP_OPTIONS = new Set(['allowedGroupChatIds', 'groupActivation', 'includeBots', 'perUserSessions']);

/** The shared options of a trigger's Options collection; platforms without groups (SMS) leave out the group ones. */
export function accessPolicyOptions(plugin: AnyChannelPlugin, ids: IdExamples, groups = true): INodeProperties[] {
	const options: INodeProperties[] = [
		{
			displayName: 'Allowed Chats',
			name: 'allowedGroupChatIds',
			type: 'string',
			default: '',
			placeholder: ids.chats,
			description: `Only group chats with these IDs start the workflow (comma-separated; ${ids.hint}). Empty allows every group the bot is in. Direct messages follow the DM Policy.`,
		},
		{
			displayName: 'Allowed Senders',
			name: 'allowedSenderIds',
			type: 'string',
			default: '',
			placeholder: ids.senders,
			description: `Only these people start the workflow, in direct messages and groups (comma-separated; ${ids.hint}). Empty allows everyone the DM Policy allows.`,
		},
		{
			displayName: 'DM Policy',
			name: 'dmPolicy',
			type: 'options',
			default: 'open',
			options: [
				{ name: 'Open', value: 'open', description: `Anyone who writes to the bot on ${plugin.name} (within Allowed Senders, when set)` },
				{ name: 'Allowlist', value: 'allowlist', description: 'Only the people in Allowed Senders' },
				{
					name: 'Pairing',
					value: 'pairing',
					description:
						'People in Allowed Senders, and people you approve: anyone else gets a one-time code (valid 1 hour) and nothing reaches the workflow. Approve by sending "/pair CODE" to the bot as someone in Allowed Senders, or add their ID to Allowed Senders.',
				},
				{ name: 'Disabled', value: 'disabled', description: 'Direct messages start nothing' },
			],
			description:
				'Who may talk to the bot in direct messages. A public bot answers anyone by default and spends your model budget on them: use Allowlist or Pairing for a private bot.',
		},
		{
			displayName: 'In Groups, React To',
			name: 'groupActivation',
			type: 'options',
			default: 'mentions',
			options: [
				{ name: 'Mentions, Replies and Commands', value: 'mentions', description: 'Messages that mention the bot, reply to one of its messages, or are a command (/new)' },
				{ name: 'Every Message', value: 'all', description: 'Every message the bot can read in the group' },
			],
			description: 'Which group messages start the workflow. Commands for another bot never do.',
		},
		{
			displayName: 'Include Other Bots',
			name: 'includeBots',
			type: 'boolean',
			default: false,
			description: "Whether messages of other bots start the workflow. The bot's own messages never do.",
		},
		{
			displayName: 'Session Per User in Groups',
			name: 'perUserSessions',
			type: 'boolean',
			default: false,
			description: 'Whether each member of a group gets a conversation of their own instead of one shared by the group',
		},
	];
	return groups ? options : options.filter((option) => !GROUP_OPTIONS.has(option.name));
}

const DM_POLICIES: readonly DmPolicy[] = ['open', 'allowlist', 'pairing', 'disabled'];

function dmPolicyOf(options: Record<string, unknown>): DmPolicy {
	if (DM_POLICIES.includes(options.dmPolicy as DmPolicy)) return options.dmPolicy as DmPolicy;
	// Discord Trigger v1: "Direct Messages" on/off.
	return options.directMessages === false ? 'disabled' : 'open';
}

function groupActivationOf(options: Record<string, unknown>): GroupActivation {
	if (options.groupActivation === 'all' || options.groupActivation === 'mentions') return options.groupActivation;
	// v1 names: Telegram "In Groups, React To", Slack "Channel Messages", Discord "All Server Messages".
	return options.groupMessages === 'all' || options.channelMessages === true || options.allGuildMessages === true ? 'all' : 'mentions';
}

/** The access policy and session scope a trigger's options ask for. */
export function receiveSettingsFrom(plugin: AnyChannelPlugin, options: Record<string, unknown>): ReceiveSettings {
	const policy: AccessPolicy = {
		dmPolicy: dmPolicyOf(options),
		groupActivation: groupActivationOf(options),
		// Telegram v1 had "Ignore Other Bots" (on by default).
		includeBots: typeof options.includeBots === 'boolean' ? options.includeBots : options.ignoreBots === false,
		// v1 names: Telegram/Slack/Discord "Allowed User IDs", Twilio "Allowed Senders".
		allowedSenderIds: parseIdList(options.allowedSenderIds ?? options.allowedUserIds ?? options.allowedSenders, plugin.idReading),
		// v1 names: Slack/Discord "Allowed Channel IDs"; Telegram "Only These Chats", which held DMs too.
		allowedChatIds: parseIdList(options.allowedGroupChatIds ?? options.allowedChatIds ?? options.allowedChannelIds, plugin.idReading),
		allowedChatsCoverDms: options.allowedGroupChatIds === undefined && options.allowedChatIds !== undefined,
	};
	return { policy, sessionScope: options.perUserSessions === true ? 'user' : 'chat' };
}
