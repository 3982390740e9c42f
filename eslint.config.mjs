import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import tseslint from 'typescript-eslint';

const packageFiles = ['nodes/**/*.ts', 'credentials/**/*.ts', 'package.json'];

export default [
	{ ignores: ['dist/**', 'node_modules/**', 'coverage/**', '*.js', 'scripts/**'] },
	...tseslint.configs.recommended.map((config) => ({ ...config, files: ['**/*.ts'] })),
	{ files: packageFiles, ...n8nCommunityNodesPlugin.configs.recommendedWithoutN8nCloudSupport },
	{ files: ['package.json'], languageOptions: { parser: tseslint.parser } },
	{
		files: packageFiles,
		rules: {
			// A chat gateway needs platform SDKs at run time (DESIGN.md: plain dependencies, no native
			// addons, no install scripts); n8n Cloud's no-dependency rule does not apply to self-hosted installs.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		// nodes/core has no n8n imports by design (DESIGN.md "Layers"); node classes turn its errors
		// into NodeApiError/NodeOperationError at the boundary.
		files: ['nodes/core/**/*.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	{
		// Tests load the CommonJS scripts that `npm start` uses, and built files of the installed package.
		files: ['test/**/*.ts'],
		rules: { '@typescript-eslint/no-require-imports': 'off' },
	},
];
