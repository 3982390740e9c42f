import {
	assessWebhookHealth,
	createTelegramApi,
	deleteWebhook,
	describeBotTaken,
	isRegisteredAs,
	isWebhookOfNode,
	readWebhookInfo,
	registerWebhook,
	webhookUrlProblem,
} from '../../nodes/Telegram/telegram.adapter';
import { TelegramEmulator } from '../emulators/telegram';

const WEBHOOK_ID = '6d0b8c1e-5a3f-4c2b-8e7d-1f9a2b3c4d01';

describe('one bot, one webhook', () => {
	test('a webhook URL is recognised as this node\'s by its webhook ID, even after WEBHOOK_URL changed', () => {
		expect(isWebhookOfNode(`https://n8n.example.com/webhook/${WEBHOOK_ID}/webhook`, WEBHOOK_ID)).toBe(true);
		expect(isWebhookOfNode(`https://new-tunnel.example.net/hooks/webhook/${WEBHOOK_ID}/webhook/`, WEBHOOK_ID)).toBe(true);
		expect(isWebhookOfNode('https://n8n.example.com/webhook/another-id/webhook', WEBHOOK_ID)).toBe(false);
		expect(isWebhookOfNode('', WEBHOOK_ID)).toBe(false);
		expect(isWebhookOfNode('not a url', WEBHOOK_ID)).toBe(false);
	});

	test('the refusal names another workflow of the same n8n, or another program, and the way out', () => {
		const own = `https://n8n.example.com/webhook/${WEBHOOK_ID}/webhook`;
		const sameN8n = describeBotTaken('https://n8n.example.com/webhook/0b1c/webhook', { ownUrl: own, purpose: 'webhook' });
		expect(sameN8n).toContain('already delivers to https://n8n.example.com/webhook/0b1c/webhook (another active workflow of this n8n)');
		expect(sameN8n).toContain('Telegram sends a bot\'s messages to one place only');
		expect(sameN8n).toContain('"Take Over Webhook"');

		const program = describeBotTaken('https://bots.example.org/telegram', { ownUrl: own, purpose: 'webhook' });
		expect(program).toContain('(another workflow or program)');
		expect(describeBotTaken('https://bots.example.org/telegram', { purpose: 'polling' })).toContain('receive its messages here by long polling');
		expect(describeBotTaken('https://bots.example.org/telegram', { purpose: 'test' })).toMatch(/To test here, deactivate the other workflow/);
	});

	test('webhook mode needs https with Telegram\'s public API; a self-hosted Bot API server (base URL set) also takes http', () => {
		const publicApi = { accessToken: '1:x', baseUrl: '' };
		const ownServer = { accessToken: '1:x', baseUrl: 'http://127.0.0.1:8081' };
		expect(webhookUrlProblem('https://n8n.example.com/webhook/x/webhook', publicApi)).toBeNull();
		expect(webhookUrlProblem('http://localhost:5678/webhook/x/webhook', publicApi)).toMatch(
			/only delivers webhooks to public HTTPS addresses, and this n8n's webhook URL is http:\/\/localhost:5678.*"Long Polling"/,
		);
		expect(webhookUrlProblem('http://localhost:5678/webhook/x/webhook', ownServer)).toBeNull();
		expect(webhookUrlProblem('http://localhost:5678/webhook/x/webhook', { accessToken: '1:x', baseUrl: 'https://api.telegram.org/' })).not.toBeNull();
	});
});

describe('webhook registration against the Bot API emulator', () => {
	const telegram = new TelegramEmulator({ username: 'ClawgateBot' });
	const api = () => createTelegramApi({ accessToken: telegram.token, baseUrl: telegram.apiRoot });
	const url = `https://n8n.example.com/webhook/${WEBHOOK_ID}/webhook`;

	beforeAll(() => telegram.start());
	afterAll(() => telegram.stop());

	test('asks Telegram for exactly the update types the trigger emits, and sees when they differ', async () => {
		await registerWebhook(api(), url, 'secret_1', ['message', 'callback_query']);
		expect(telegram.webhook).toEqual({ url, secretToken: 'secret_1', allowedUpdates: ['message', 'callback_query'] });
		const info = await readWebhookInfo(api());
		expect(isRegisteredAs(info, url, ['callback_query', 'message'])).toBe(true);
		expect(isRegisteredAs(info, url, ['message'])).toBe(false);
		expect(isRegisteredAs(info, 'https://elsewhere.example.com/hook', ['message', 'callback_query'])).toBe(false);
	});

	test('removing the webhook keeps pending updates for whoever receives next', async () => {
		await deleteWebhook(api());
		telegram.queueUpdate(telegram.textUpdate({ text: 'waiting' }));
		await registerWebhook(api(), 'http://127.0.0.1:9/unreachable', 's');
		await deleteWebhook(api());
		expect(telegram.calls('deleteWebhook').at(-1)?.body).toEqual({ drop_pending_updates: false });
		expect(telegram.pendingUpdateIds).toHaveLength(1);
	});

	test('Telegram\'s delivery errors with messages waiting become a warning a user can act on', async () => {
		// Updates left by the test before would be pushed to this (unreachable) URL and overwrite the scripted error.
		await api().deleteWebhook({ drop_pending_updates: true });
		await registerWebhook(api(), url, 'secret_1');
		telegram.webhookInfo = { pending_update_count: 12, last_error_date: 1_700_000_000, last_error_message: 'Connection timed out' };
		const health = assessWebhookHealth(await readWebhookInfo(api()), url, 5);
		expect(health.pendingUpdateCount).toBe(12);
		expect(health.warning).toContain(`Telegram cannot deliver messages to ${url}: "Connection timed out"`);
		expect(health.warning).toContain('12 message(s) are waiting, up from 5 at the last check');
		expect(health.warning).toContain('reachable from the internet over HTTPS');
		expect(health.warning).toContain('"Long Polling"');
	});

	test('an old delivery error with nothing waiting, or for another URL, is no warning', async () => {
		telegram.webhookInfo = { pending_update_count: 0, last_error_date: 1_700_000_000, last_error_message: 'Connection timed out' };
		expect(assessWebhookHealth(await readWebhookInfo(api()), url).warning).toBeNull();
		telegram.webhookInfo = { pending_update_count: 3, last_error_message: 'Connection timed out' };
		expect(assessWebhookHealth(await readWebhookInfo(api()), 'https://elsewhere.example.com/hook').warning).toBeNull();
	});

	test('a webhook Telegram refuses to set explains the public HTTPS rule', async () => {
		telegram.failNext('setWebhook', { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: bad webhook: HTTPS url must be provided for webhook' } });
		await expect(registerWebhook(api(), 'http://n8n.local/webhook/x/webhook', 's')).rejects.toThrow(
			/bad webhook.*only delivers to a public HTTPS address: set WEBHOOK_URL.*Long Polling/,
		);
	});
});
