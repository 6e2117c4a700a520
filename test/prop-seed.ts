/**
 * One seed for the property tests of a file (issue 14): FC_SEED (or SEED) replays a run,
 * otherwise the clock picks one. Every fc.assert without its own seed uses it (fast-check's
 * global configuration), fast-check's failure message prints it with the shrink path, and a
 * failing file prints how to replay it. Import this first in every file with properties:
 *
 *   FC_SEED=123 [FC_PATH="4:1:0"] node --test --test-name-pattern='<test>' dist/test/<file>.test.js
 */
import fc from 'fast-check';

export const PROP_SEED: number = Number(process.env['FC_SEED'] ?? process.env['SEED'] ?? Date.now() % 2 ** 31);
const path = process.env['FC_PATH'];

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: PROP_SEED, ...(path !== undefined ? { path } : {}) });

process.on('exit', (code) => {
  if (code !== 0) console.error(`property tests here ran with seed ${PROP_SEED}: replay with FC_SEED=${PROP_SEED} (add FC_PATH=<path from the failure> to skip to the shrunk case)`);
});
