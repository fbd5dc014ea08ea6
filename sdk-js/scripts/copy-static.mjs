import { copyFileSync, mkdirSync } from 'node:fs';

/** Copy the browser build to ../static/sdk/, where the service serves it as /static/sdk/analytics.min.js. */
const from = new URL('../dist/analytics.min.js', import.meta.url);
const dir = new URL('../../static/sdk/', import.meta.url);
mkdirSync(dir, { recursive: true });
copyFileSync(from, new URL('analytics.min.js', dir));
console.log('static/sdk/analytics.min.js');
