import { build } from 'esbuild';
import { pathToFileURL } from 'node:url';

/** The script-tag build: one minified IIFE that defines `window.Analytics`. */
export const browserBuild = {
  entryPoints: { 'analytics.min': 'src/browser.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'iife',
  globalName: 'Analytics',
  target: 'es2018',
  minify: true,
  legalComments: 'none',
};

/** Build it in memory and return the code (for the tests). */
export async function buildBrowserBundle() {
  const result = await build({ ...browserBuild, write: false });
  return result.outputFiles[0].text;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await build(browserBuild);
  console.log('dist/analytics.min.js');
}
