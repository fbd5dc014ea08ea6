// Bundles index.js as plotly.js's own build does (tasks/partial_bundle.mjs in the plotly.js
// repository, not shipped on npm): esbuild, an IIFE exposing the global `Plotly`, minified,
// with the attributes' documentation (description, hrName, requiredOpts, otherOpts) stripped
// as its tasks/compress_attributes.js does; nothing reads them at run time. The join pattern
// here also takes a `.join(' ')` split over lines, which plotly's own misses in 3.7.
'use strict';

const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const OUT = path.join(__dirname, '..', '..', 'static', 'vendor', 'plotly', 'plotly-analytics.min.js');
const VERSION = require('plotly.js/package.json').version;
const BANNER = `/**
* plotly.js (analytics: scatter, bar - minified) v${VERSION}
* Copyright 2012-2026, Plotly, Inc.
* All rights reserved.
* Licensed under the MIT license
*/`;

const SPACE = '\\s*';
const COMMA = ',?';
const DOCUMENTATION = [
  new RegExp(SPACE + "description: '.*'" + COMMA, 'g'),
  new RegExp(SPACE + 'description: \\[[\\s\\S]*?\\]\\.join\\([^)]*\\)' + COMMA, 'g'),
  new RegExp(SPACE + 'requiredOpts: \\[[\\s\\S]*?\\]' + COMMA, 'g'),
  new RegExp(SPACE + 'otherOpts: \\[[\\s\\S]*?\\]' + COMMA, 'g'),
  new RegExp(SPACE + "hrName: '.*'" + COMMA, 'g'),
];

const stripDocumentation = {
  name: 'strip-attribute-documentation',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]plotly\.js[\\/]src[\\/].*\.js$/ }, async (args) => {
      let contents = await fs.promises.readFile(args.path, 'utf8');
      for (const pattern of DOCUMENTATION) contents = contents.replace(pattern, '');
      return { contents, loader: 'js' };
    });
  },
};

esbuild
  .build({
    entryPoints: [path.join(__dirname, 'index.js')],
    outfile: OUT,
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    legalComments: 'none',
    banner: { js: BANNER },
    plugins: [stripDocumentation],
    // The one stylesheet plotly requires is maplibre's, for map subplots, which this bundle lacks.
    loader: { '.css': 'empty' },
    define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
    target: 'es2016',
    logLevel: 'info',
  })
  .catch(() => process.exit(1));
