/**
 * The connection a listener trigger holds (IRC, XMPP), written once: messages it hears go through
 * the shared admission in arrival order, it reconnects with backoff, and while it is up a send node
 * in the same n8n process speaks through it instead of logging in a second time.
 */
import type { AccessFacts } from '../core/access-policy';
import type { Envelope } from '../core/envelope';
import { keepConnected, type OpenConnection } from '../core/keep-connected';
import type { ChannelListenerInput, RunningListener } from './listener-trigger';

/** A message a connection read, normalised by its plugin. */
export interface HeardMessage {
	envelope: Envelope;
	facts: AccessFacts;
}

export interface HeldConnectionSpec<Connection extends OpenConnection> {
	/** What the log calls it: "IRC irc.libera.chat:6697". */
	name: string;
	/** The account the credential speaks for: the key under which send nodes find the connection. */
	account: string;
	/** The platform's live connections in this process, by account. */
	live: Map<string, Connection>;
	/** Opens one connection that calls `hear` for every message it reads. */
	open(hear: (message: HeardMessage) => void): Promise<Connection>;
}

export async function holdConnection<Connection extends OpenConnection>(input: ChannelListenerInput<unknown>, spec: HeldConnectionSpec<Connection>): Promise<RunningListener> {
	let queue = Promise.resolve();
	const hear = ({ envelope, facts }: HeardMessage) => {
		queue = queue
			.then(async () => {
				if (await input.admit(envelope, facts)) input.onEnvelope(envelope);
			})
			.catch((error: unknown) => input.logger.warn(`${spec.name}: could not handle a message from ${envelope.sender.id}: ${(error as Error).message}`));
	};
	let current: Connection | null = null;
	const kept = await keepConnected({
		name: spec.name,
		log: input.logger,
		onFatalError: input.onFatalError,
		connect: async () => {
			current = await spec.open(hear);
			spec.live.set(spec.account, current);
			return current;
		},
	});
	return {
		async close() {
			if (current && spec.live.get(spec.account) === current) spec.live.delete(spec.account);
			await kept.close();
		},
	};
}

/** How long a send node's own connection stays open after its last use (more chunks or items may follow). */
const OWN_CONNECTION_IDLE_MS = 3_000;

/** What a send node talks through: the trigger's live connection in this process, else one of its own, closed soon after its last use. */
export class BorrowedConnection<Connection extends OpenConnection> {
	private own: Promise<Connection> | null = null;
	private idleTimer: NodeJS.Timeout | null = null;

	constructor(
		private readonly live: Map<string, Connection>,
		private readonly account: string,
		private readonly open: () => Promise<Connection>,
	) {}

	async get(): Promise<{ connection: Connection; borrowed: boolean }> {
		const live = this.live.get(this.account);
		if (live) return { connection: live, borrowed: true };
		const own = (this.own ??= this.open());
		own.catch(() => (this.own = null));
		if (this.idleTimer) clearTimeout(this.idleTimer);
		this.idleTimer = setTimeout(() => {
			this.own = null;
			void own.then((connection) => connection.close()).catch(() => undefined);
		}, OWN_CONNECTION_IDLE_MS);
		return { connection: await own, borrowed: false };
	}
}
