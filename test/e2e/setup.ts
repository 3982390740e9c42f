const installer = require('../../scripts/n8n-install.js');

jest.setTimeout(300_000);

// Every n8n and n8n CLI process a test starts reuses the compiled code of n8n's modules, as `npm start`
// does (Node's compile cache, one per n8n version): a test run starts dozens of them.
process.env.NODE_COMPILE_CACHE = installer.n8nCompileCacheDir();
