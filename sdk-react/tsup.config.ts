import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  target: 'es2019',
  dts: true,
  clean: true,
  // Hooks and context are client-side: let React Server Components frameworks know.
  banner: { js: '"use client";' },
});
