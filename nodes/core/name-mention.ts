/**
 * Platforms where a bot is addressed by writing its name (IRC, XMPP rooms): "clawbot: hi",
 * "clawbot, hi", or the name as a word anywhere. One reading for all of them.
 */

const NAME_CHAR = 'A-Za-z0-9_\\-\\[\\]\\\\^{}|`';

/** Whether `text` addresses `name`, and the text without a leading `name:` / `name,`. Linear in the text. */
export function nameMention(text: string, name: string): { mentions: boolean; text: string } {
	if (!name) return { mentions: false, text };
	const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	const prefix = new RegExp(`^\\s*${escaped}[:,]\\s*`, 'i').exec(text);
	if (prefix) return { mentions: true, text: text.slice(prefix[0].length) };
	return { mentions: new RegExp(`(^|[^${NAME_CHAR}])${escaped}($|[^${NAME_CHAR}])`, 'i').test(text), text };
}
