// One project per test layer (DESIGN.md "Tests"); `npm test` selects all but e2e.
// Type checking is done once by `npm run lint` (tsc --noEmit), so ts-jest only transpiles.
const layer = (name, extra = {}) => ({
	displayName: name,
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
	testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
	...extra,
});

module.exports = {
	projects: [
		layer('core'),
		// Tests that hold formatting to a time bar run on their own, after the others (npm test), so the
		// bar measures the code rather than three test workers sharing two cores.
		layer('platforms', { testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/platforms/format-and-chunk.test.ts'] }),
		{ ...layer('platforms'), displayName: 'timed', testMatch: ['<rootDir>/test/platforms/format-and-chunk.test.ts'] },
		layer('nodes'),
		// A real n8n takes tens of seconds to start and to install the package.
		layer('e2e', { setupFilesAfterEnv: ['<rootDir>/test/e2e/setup.ts'] }),
		// Figures with bars (scripts/reliability.js prints them); real n8n processes, Redis, Postgres.
		layer('reliability', { setupFilesAfterEnv: ['<rootDir>/test/e2e/setup.ts'] }),
	],
};
