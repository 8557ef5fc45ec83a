import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * The web page each browser of the group-call e2e test opens: an HTML shell loading one script,
 * `browser/group-call.ts` (the realtime protocol client and the SFU engine clients of
 * `browser/sfu-clients.ts`, mediasoup-client among them) bundled for the browser by esbuild when
 * the test starts. Served from the test's own HTTP server (see call-browsers.ts).
 */
export const GROUP_CALL_SCRIPT_PATH = '/group-call.js';

export const GROUP_CALL_PAGE = /* HTML */ `<!doctype html>
  <html>
    <head>
      <meta charset="utf-8" />
      <title>Ledgerline group call</title>
    </head>
    <body>
      <script src="${GROUP_CALL_SCRIPT_PATH}"></script>
    </body>
  </html>`;

/** The page's script: browser/group-call.ts and what it imports, in one IIFE for Chromium. */
export async function bundleGroupCallScript(): Promise<string> {
  const result = await build({
    entryPoints: [join(__dirname, 'browser', 'group-call.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
    tsconfig: join(__dirname, 'browser', 'tsconfig.json'),
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no bundle for the group-call page');
  return output.text;
}
