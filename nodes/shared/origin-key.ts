/**
 * The key Clawgate signs envelopes with, derived from n8n's encryption key: every main and worker
 * of one n8n instance holds the same one (n8n needs it to decrypt credentials), and nobody who
 * writes to a bot does. n8n takes it from N8N_ENCRYPTION_KEY, else from the `config` file it
 * writes in its user folder on first start; this reads the same two places, once per process.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

let key: Buffer | undefined;

function n8nEncryptionKey(): string | null {
	if (process.env.N8N_ENCRYPTION_KEY) return process.env.N8N_ENCRYPTION_KEY;
	const folder = join(process.env.N8N_USER_FOLDER || homedir(), '.n8n');
	try {
		const config = JSON.parse(readFileSync(join(folder, 'config'), 'utf8')) as { encryptionKey?: unknown };
		return typeof config.encryptionKey === 'string' && config.encryptionKey !== '' ? config.encryptionKey : null;
	} catch {
		return null;
	}
}

export function envelopeOriginKey(): Buffer {
	if (!key) {
		const secret = n8nEncryptionKey();
		// Without n8n's key (not an n8n process), envelopes verify only within this process.
		key = createHmac('sha256', secret ?? randomBytes(32)).update('clawgate envelope origin v1').digest();
	}
	return key;
}
