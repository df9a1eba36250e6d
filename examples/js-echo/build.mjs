// Builds js-echo.wasm next to this script (or at the path given as argument).
// Needs: npm ci (installs @bytecodealliance/componentize-js, pinned in package-lock.json).
//
// `jco componentize` cannot read the WIT directory on this toolchain
// ("failed to get path metadata ... os error 44"), so this calls the
// componentize-js library directly.
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? `${here}/js-echo.wasm`);

const { component } = await componentize({
  sourcePath: resolve(here, 'echo.js'),
  witPath: resolve(here, '../../wit'),
  worldName: 'handler',
  // The handler world needs neither wasi:http nor the fetch-event API.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
console.log(`wrote ${out} (${component.length} bytes)`);
