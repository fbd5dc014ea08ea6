import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** Print the minified and gzipped size of the browser build; fail past the 4 KB budget. */
const BUDGET = 4096;
const code = readFileSync(new URL('../dist/analytics.min.js', import.meta.url));
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(`dist/analytics.min.js: ${code.length} B minified, ${gzipped} B gzipped (budget ${BUDGET} B)`);
if (gzipped > BUDGET) {
  console.error('over budget');
  process.exit(1);
}
