/** The SQLite store's file on disk: conversations are private to the user n8n runs as. */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SqliteSessionStore } from '../../nodes/core/stores/sqlite.store';

const folder = mkdtempSync(join(tmpdir(), 'clawgate-sqlite-file-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const permissionsOf = (path: string) => statSync(path).mode & 0o777;

test('a new database file is readable and writable by its owner only, and so is a folder the store creates', async () => {
	const previousUmask = process.umask(0o022);
	try {
		const filename = join(folder, 'new-folder', 'sessions.sqlite');
		const store = new SqliteSessionStore({ filename });
		await store.appendTurns('telegram:1:dm:1', [{ role: 'user', content: 'secret', tokens: 3 }]);
		expect(permissionsOf(filename)).toBe(0o600);
		expect(permissionsOf(`${filename}-wal`)).toBe(0o600);
		expect(permissionsOf(join(folder, 'new-folder'))).toBe(0o700);
		await store.close();
	} finally {
		process.umask(previousUmask);
	}
});

test('an existing database file readable by others is made private when the store opens it', async () => {
	const filename = join(folder, 'existing.sqlite');
	writeFileSync(filename, '');
	chmodSync(filename, 0o644);
	const store = new SqliteSessionStore({ filename });
	expect(permissionsOf(filename)).toBe(0o600);
	await store.close();
});
