/**
 * node:test glue: start a member before a suite, kill it after (also when tests fail), and
 * print the tail of its log the first time a test in the suite fails.
 */
import { after, afterEach, before } from 'node:test';
import { Cluster, type ClusterOptions } from './cluster.js';

export interface ClusterRef {
  /** The running member; throws if `before` has not run (or failed). */
  readonly c: Cluster;
}

/** Call inside a describe(): one member for the whole suite. */
export function useCluster(opts: ClusterOptions = {}): ClusterRef {
  let cluster: Cluster | undefined;
  let printed = false;
  before(async () => {
    cluster = await Cluster.start(opts);
  });
  after(async () => {
    await cluster?.close();
  });
  afterEach((t) => {
    // TestContext.passed exists since Node 21.7; @types/node may not declare it yet.
    if ((t as { passed?: boolean }).passed !== false || cluster === undefined) return;
    if (printed) {
      process.stderr.write(`[${t.name}] failed; server log: ${cluster.logFile}\n`);
      return;
    }
    printed = true;
    reportServerLog(cluster, t.name);
  });
  return {
    get c(): Cluster {
      if (cluster === undefined) throw new Error('cluster not started');
      return cluster;
    },
  };
}

export function reportServerLog(cluster: Cluster, testName: string): void {
  process.stderr.write(
    `\n--- test "${testName}" failed against ${cluster.describe()}\n--- server log tail ---\n${cluster.logTail(60)}\n--- end of server log ---\n`,
  );
}
