import { existsSync, readFileSync } from 'node:fs';

/** Fail early, and say what to do, when ../sdk-js, which the tests, types and build use, is not built. */
const sdk = new URL('../../sdk-js/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', sdk), 'utf8'));
const entries = [manifest.main, manifest.module, manifest.types];
if (!entries.every((entry) => existsSync(new URL(entry, sdk)))) {
  console.error('@analytics-service/sdk is not built: run `npm ci && npm run build` in ../sdk-js first.');
  process.exit(1);
}
