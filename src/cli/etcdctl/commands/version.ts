/** `etcdctl version`: the etcdctl release whose behaviour this CLI reproduces, and its API version. */
import type { CommandSpec } from '../command.js';

export const ETCDCTL_VERSION = '3.4.23';
export const API_VERSION = '3.4';

export const versionCommand: CommandSpec = {
  path: ['version'],
  use: 'version',
  short: 'Prints the version of etcdctl',
  flags: [],
  async run(ctx) {
    ctx.out.stdout(`etcdctl version: ${ETCDCTL_VERSION}\nAPI version: ${API_VERSION}\n`);
  },
};
