// A tiny require hook so `node -r ./scripts/ts-register.js some.ts` runs the project's TypeScript
// without a build (benchmarks, one-off scripts). Each .ts file is transpiled to CommonJS when it is
// first required; types are not checked (`npm run lint` does that).
const fs = require('node:fs');
const ts = require('typescript');

// The same module settings as tsconfig.json; isolatedModules there makes per-file transpiling safe.
const compilerOptions = {
	module: ts.ModuleKind.CommonJS,
	target: ts.ScriptTarget.ES2022,
	esModuleInterop: true,
	inlineSourceMap: true, // right file and line in stack traces under `node --enable-source-maps`
};

// Registering the extension is enough for extensionless imports too (`require('../core/envelope')`):
// Node's CommonJS resolver tries every key of require.extensions. Node 24's built-in type stripping
// is no substitute: it resolves no extensionless imports and rejects parameter properties and enums.
require.extensions['.ts'] = (module, filename) => {
	const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions, fileName: filename });
	module._compile(outputText, filename);
};
