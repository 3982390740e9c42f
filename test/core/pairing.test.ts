import {
	approvePairing,
	emptyPairingState,
	MAX_PENDING_PAIRINGS,
	newPairingCode,
	PAIRING_CODE_ALPHABET,
	PAIRING_CODE_TTL_MS,
	PAIRING_WELCOME_MESSAGE,
	readPairingState,
	requestPairing,
	settlePairing,
	type PairingState,
	type PairingWork,
} from '../../nodes/core/pairing';

const T0 = Date.UTC(2026, 10, 26, 7, 0, 0);
const minutes = (n: number) => n * 60_000;
const strangerTarget = (id: string) => ({ chatId: `dm-${id}`, threadId: null, accountId: 'bot-1' });
const ask = (state: PairingState, senderId: string, now = T0) => requestPairing(state, { senderId, senderName: `Person ${senderId}`, target: strangerTarget(senderId) }, now);

describe('pairing codes', () => {
	test('a code is 8 characters of an alphabet without 0/O and 1/I', () => {
		for (let i = 0; i < 200; i++) expect(newPairingCode()).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
		expect(PAIRING_CODE_ALPHABET).not.toMatch(/[01IO]/);
	});

	test('codes are drawn with the random source given (crypto.randomInt by default)', () => {
		const draws: number[] = [];
		const code = newPairingCode((max) => {
			draws.push(max);
			return 0;
		});
		expect(code).toBe('AAAAAAAA');
		expect(draws).toEqual(Array(8).fill(PAIRING_CODE_ALPHABET.length));
	});
});

describe('requestPairing: a stranger writes to the bot', () => {
	test('the first message issues a code for that sender and where to tell them', () => {
		const { state, result } = ask(emptyPairingState(), '7');
		expect(result).toMatchObject({ kind: 'issued', pending: { senderId: '7', senderName: 'Person 7', target: strangerTarget('7'), createdAt: T0, lastNotifiedAt: T0 } });
		expect(state.pending).toHaveLength(1);
	});

	test('the same stranger writing again gets the same code, and is not told again within a minute', () => {
		const first = ask(emptyPairingState(), '7');
		const code = first.state.pending[0].code;
		const soon = ask(first.state, '7', T0 + 30_000);
		expect(soon.result).toEqual({ kind: 'quiet', pending: expect.objectContaining({ code }) });
		const later = ask(soon.state, '7', T0 + minutes(2));
		expect(later.result).toEqual({ kind: 'reminded', pending: expect.objectContaining({ code, lastNotifiedAt: T0 + minutes(2) }) });
		expect(later.state.pending).toHaveLength(1);
		// Reminded at 2 minutes: quiet again until 3.
		expect(ask(later.state, '7', T0 + minutes(2.5)).result.kind).toBe('quiet');
	});

	test(`at most ${MAX_PENDING_PAIRINGS} codes are pending: a fourth stranger gets nothing until one expires`, () => {
		let state = emptyPairingState();
		for (const id of ['1', '2', '3']) state = ask(state, id, T0 + Number(id)).state;
		const fourth = ask(state, '4', T0 + minutes(10));
		expect(fourth.result).toEqual({ kind: 'full' });
		expect(fourth.state.pending.map((entry) => entry.senderId)).toEqual(['1', '2', '3']);
		// The first code (issued at T0 + 1 ms) is gone an hour later; the fourth stranger gets its place.
		const afterAnHour = ask(state, '4', T0 + 1 + PAIRING_CODE_TTL_MS);
		expect(afterAnHour.result.kind).toBe('issued');
		expect(afterAnHour.state.pending.map((entry) => entry.senderId)).toEqual(['2', '3', '4']);
	});

	test('a code expires after 1 hour: writing again then issues a new one', () => {
		const first = ask(emptyPairingState(), '7');
		expect(ask(first.state, '7', T0 + PAIRING_CODE_TTL_MS - 1).result.kind).toBe('reminded');
		const again = ask(first.state, '7', T0 + PAIRING_CODE_TTL_MS);
		expect(again.result).toMatchObject({ kind: 'issued', pending: { createdAt: T0 + PAIRING_CODE_TTL_MS } });
		expect(again.state.pending).toHaveLength(1);
	});

	test('two pending codes never collide', () => {
		let calls = 0;
		// The first code is all A; the second draw starts with A again, then moves on.
		const draw = () => (calls++ < 12 ? 0 : 1);
		const first = requestPairing(emptyPairingState(), { senderId: '1', senderName: null, target: strangerTarget('1') }, T0, draw);
		const second = requestPairing(first.state, { senderId: '2', senderName: null, target: strangerTarget('2') }, T0, draw);
		expect(first.state.pending[0].code).toBe('AAAAAAAA');
		expect(second.state.pending[1].code).not.toBe('AAAAAAAA');
	});
});

describe('approvePairing: the owner approves a code', () => {
	test("the code's sender becomes approved and the code is used up", () => {
		const { state } = ask(emptyPairingState(), '7');
		const code = state.pending[0].code;
		const approved = approvePairing(state, code.toLowerCase(), T0 + minutes(5));
		expect(approved.result).toMatchObject({ kind: 'approved', pending: { senderId: '7' } });
		expect(approved.state).toEqual({ approvedSenderIds: ['7'], pending: [] });
		expect(approvePairing(approved.state, code, T0 + minutes(6)).result).toEqual({ kind: 'unknown' });
	});

	test('an unknown code approves nobody', () => {
		const { state } = ask(emptyPairingState(), '7');
		expect(approvePairing(state, 'ZZZZZZZZ', T0)).toEqual({ state, result: { kind: 'unknown' } });
	});

	test('an expired code approves nobody', () => {
		const { state } = ask(emptyPairingState(), '7');
		const late = approvePairing(state, state.pending[0].code, T0 + PAIRING_CODE_TTL_MS);
		expect(late.result).toEqual({ kind: 'unknown' });
		expect(late.state.approvedSenderIds).toEqual([]);
	});

	test('an approved sender asks for nothing more', () => {
		const { state } = ask(emptyPairingState(), '7');
		const approved = approvePairing(state, state.pending[0].code, T0).state;
		expect(ask(approved, '7').result).toEqual({ kind: 'approved' });
	});
});

describe('settlePairing: what a delivery changes and sends', () => {
	const owner = { chatId: 'dm-owner', threadId: null, accountId: 'bot-1' };
	const request = (id: string) => ({ envelope: {} as never, reason: 'not approved', senderId: id, senderName: null, target: strangerTarget(id) });
	const command = (code: string) => ({ envelope: {} as never, code, ownerId: 'owner', target: owner });

	test('a stranger is sent their code and how the owner approves it', () => {
		const settled = settlePairing(emptyPairingState(), { requests: [request('7')], commands: [] }, T0);
		const { code } = settled.state.pending[0];
		expect(settled.notices).toEqual([{ target: strangerTarget('7'), text: expect.stringContaining(code) }]);
		expect(settled.notices[0].text).toContain(`/pair ${code}`);
		expect(settled.log).toEqual([expect.stringContaining(`sender 7 was given pairing code ${code}`)]);
	});

	test('an approval answers the owner and tells the stranger they can now talk to the bot', () => {
		const issued = settlePairing(emptyPairingState(), { requests: [request('7')], commands: [] }, T0);
		const work: PairingWork = { requests: [], commands: [command(issued.state.pending[0].code)] };
		const settled = settlePairing(issued.state, work, T0 + minutes(1));
		expect(settled.state).toEqual({ approvedSenderIds: ['7'], pending: [] });
		expect(settled.notices).toEqual([
			{ target: owner, text: 'Approved 7.' },
			{ target: strangerTarget('7'), text: PAIRING_WELCOME_MESSAGE },
		]);
	});

	test('an unknown code or a bare /pair is answered to the owner only', () => {
		const settled = settlePairing(emptyPairingState(), { requests: [], commands: [command('ZZZZZZZZ'), command('')] }, T0);
		expect(settled.notices.map((notice) => notice.target)).toEqual([owner, owner]);
		expect(settled.notices[0].text).toContain('No pending pairing code ZZZZZZZZ');
		expect(settled.state).toEqual(emptyPairingState());
	});

	test('a stranger flooding the bot is told once; a fourth stranger is told nothing', () => {
		let state = emptyPairingState();
		const sent: string[] = [];
		for (let i = 0; i < 20; i++) {
			const settled = settlePairing(state, { requests: [request('7'), request('8'), request('9'), request('10')], commands: [] }, T0 + i * 1000);
			state = settled.state;
			sent.push(...settled.notices.map((notice) => notice.target.chatId));
		}
		expect(sent.sort()).toEqual(['dm-7', 'dm-8', 'dm-9']);
	});
});

describe('readPairingState: static data as stored', () => {
	test('a missing or foreign value is an empty state', () => {
		expect(readPairingState(undefined)).toEqual(emptyPairingState());
		expect(readPairingState('x')).toEqual(emptyPairingState());
		expect(readPairingState({ approvedSenderIds: 'nope', pending: [{ code: 1 }] })).toEqual(emptyPairingState());
	});

	test('a stored state reads back as written, within its bounds', () => {
		const { state } = ask(emptyPairingState(), '7');
		expect(readPairingState(JSON.parse(JSON.stringify(state)))).toEqual(state);
		const crowded = { approvedSenderIds: ['1', '1', '2'], pending: [...state.pending, ...state.pending, ...state.pending, ...state.pending] };
		expect(readPairingState(crowded)).toMatchObject({ approvedSenderIds: ['1', '2'], pending: expect.any(Array) });
		expect(readPairingState(crowded).pending).toHaveLength(MAX_PENDING_PAIRINGS);
	});
});
