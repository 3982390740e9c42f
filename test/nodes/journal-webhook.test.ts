/**
 * A webhook trigger with a delivery journal acknowledges a message only once the journal holds it:
 * when the journal cannot be written, the platform is told to deliver again (503), and that
 * redelivery must then be taken and emitted, not dropped as "already received". (Found in the
 * queue-mode kill runs: a trigger that remembered the delivery before journaling it answered the
 * platform's redelivery 200 and started nothing, so the message was acknowledged and never answered.)
 * Real Redis behind a TCP proxy that is cut and restored, n8n-core's WebhookContext.
 */
import type { INode } from 'n8n-workflow';
import { Redis } from 'ioredis';

import { closeSessionStores } from '../../nodes/shared/session-stores';
import { deriveWebhookSecret } from '../../nodes/Telegram/telegram.adapter';
import { TelegramEmulator } from '../emulators/telegram';
import { TcpProxy } from '../reliability/tcp-proxy';
import { PACKAGE, WebhookTrigger } from './harness';

const REDIS = { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };

describe('Telegram Trigger with its journal in Redis', () => {
	const telegram = new TelegramEmulator({ username: 'JournalHookBot' });
	const proxy = new TcpProxy(REDIS);
	let trigger: WebhookTrigger;
	let secret: string;

	beforeAll(async () => {
		await Promise.all([telegram.start(), proxy.start()]);
		const credentials = { telegram: { id: 'journal-hook-telegram', name: 'Telegram' }, redis: { id: 'journal-hook-redis', name: 'Redis' } };
		const node: INode = {
			id: 'journal-hook-trigger',
			name: 'Telegram Trigger',
			type: `${PACKAGE}.telegramTrigger`,
			typeVersion: 2,
			position: [0, 0],
			parameters: { mode: 'webhook', deliveryGuarantee: 'journal', journalStore: 'redis' },
			webhookId: '0c1d2e3f-0000-4000-8000-00000000abcd',
			credentials: { clawgateTelegramApi: credentials.telegram, redis: credentials.redis },
		};
		const send: INode = {
			id: 'journal-hook-send',
			name: 'Telegram Send',
			type: `${PACKAGE}.telegramSend`,
			typeVersion: 1,
			position: [200, 0],
			parameters: { receiptStore: 'redis' },
			credentials: { clawgateTelegramApi: credentials.telegram, redis: credentials.redis },
		};
		trigger = new WebhookTrigger(
			node,
			{ clawgateTelegramApi: { accessToken: telegram.token, baseUrl: telegram.apiRoot }, redis: { host: '127.0.0.1', port: proxy.port } },
			`journal-hook-${telegram.bot.id}`,
			[send],
		);
		secret = deriveWebhookSecret(telegram.token, { workflowId: String(trigger.workflow.id), nodeId: node.id, webhookId: node.webhookId! });
	});

	afterAll(async () => {
		const redis = new Redis({ ...REDIS, lazyConnect: true });
		try {
			const keys = await redis.keys(`clawgate:journal:*${telegram.bot.id}*`);
			if (keys.length > 0) await redis.del(...keys);
		} finally {
			redis.disconnect();
		}
		// The proxy first: a QUIT sent through it can wait for ever once the test is done.
		await proxy.stop();
		await closeSessionStores();
		await telegram.stop();
	});

	test('a delivery refused 503 while the journal is unreachable is taken and emitted when the platform delivers it again; a third delivery starts nothing', async () => {
		const update = telegram.textUpdate({ text: 'are you there?', chatId: 4242 });
		const deliver = () => trigger.receive({ headers: { 'x-telegram-bot-api-secret-token': secret }, body: update });

		await proxy.cut();
		const refused = await deliver();
		expect(refused.status).toBe(503);
		expect(refused.result.workflowData).toBeUndefined();

		await proxy.restore();
		const taken = await deliver();
		expect(taken.status).toBe(200);
		expect(taken.result.workflowData?.[0]).toHaveLength(1);
		expect(taken.result.workflowData?.[0][0].json).toMatchObject({ channel: 'telegram', message: { text: 'are you there?' }, delivery: { journal: 'redis', attempt: 1 } });

		const again = await deliver();
		expect(again.status).toBe(200);
		expect(again.result.workflowData).toBeUndefined();
	}, 60_000);
});
