/**
 * Everything Telegram-specific, behind one import for the node classes (DESIGN.md "Layers"):
 * - `telegram.client`: the Bot API client from a credential, flood-control waits, errors;
 * - `telegram.webhook`: webhook secret and verification, who owns the bot's webhook, health;
 * - `telegram.polling`: long polling with Telegram-kept offsets, the test listener;
 * - `telegram.inbound`: updates → envelope, what the trigger emits, file downloads;
 * - `telegram.outbound`: text, photos, documents, typing and edits.
 */
export * from './telegram.client';
export * from './telegram.inbound';
export * from './telegram.outbound';
export * from './telegram.polling';
export * from './telegram.webhook';
