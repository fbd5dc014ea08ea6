import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Fail early, and say what to do, when the linked ../sdk-js has not been built yet. */
let built = false;
try {
  const entry = createRequire(import.meta.url).resolve('@analytics-service/sdk');
  built = existsSync(entry);
} catch {
  built = false;
}
if (!built) {
  console.error('@analytics-service/sdk is not built: run `npm ci && npm run build` in ../sdk-js first, then `npm ci` here.');
  process.exit(1);
}
