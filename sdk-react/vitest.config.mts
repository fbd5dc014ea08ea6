import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The peer dependency, from this repository's sdk-js (built) rather than a registry.
    alias: { '@analytics-service/sdk': fileURLToPath(new URL('../sdk-js', import.meta.url)) },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
