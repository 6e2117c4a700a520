/**
 * The flag table's `effective` marking matches what the code reads (issue 14).
 *
 * Rule: a flag is effective iff the server acts on its value. For most flags that means
 * some code outside src/config reads its ServerConfig field as `cfg.<field>` or
 * `config.<field>` (also `this.cfg.<field>`, `serverConfig.<field>`: the names the code gives
 * a ServerConfig), or destructures it from one, on a line that is not a log
 * call (a value that is only logged is not acted on). A few flags act inside src/config
 * itself (the parser, the bootstrap checks, the logger options): they are listed in
 * ACTS_IN_CONFIG with the exact code that acts on them, and that code must exist.
 *
 * When this test fails after you wire a flag: set `effective: true` in src/config/flags.ts,
 * change its row in docs/configuration.md to `yes`, and add a process test for it.
 * When it fails because a flag marked effective is read nowhere: mark it `effective: false`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FLAGS, type FlagSpec } from '../../../src/config/flags.js';
import { formatHelp } from '../../../src/config/help.js';

// Compiled to dist/test/unit/config/: four levels up is the repository root.
const ROOT = new URL('../../../../', import.meta.url).pathname;
const SRC = join(ROOT, 'src');

/**
 * Flags not read as `cfg.<field>`: those acted on in src/config, and those that reach the code
 * through a helper there. flag → [file under src/, code that acts on it].
 */
const ACTS_IN_CONFIG: Readonly<Record<string, readonly [string, string]>> = {
  'config-file': ['config/flag-parser.ts', "'config-file'"],
  help: ['cli/etcd/startup.ts', 'config.help'],
  version: ['cli/etcd/startup.ts', 'config.version'],
  logger: ['config/config.ts', "str('logger') === 'capnslog'"],
  'log-outputs': ['config/config.ts', 'outputs: cfg.logOutputs'],
  // The client TLS flags reach the listeners through tlsFlags(cfg.flags) (config/tls-flags.ts);
  // cli/etcd/listeners.ts builds the client port's ServerTls from them.
  'cert-file': ['cli/etcd/listeners.ts', 'let certFile = c.certFile'],
  'key-file': ['cli/etcd/listeners.ts', 'let keyFile = c.keyFile'],
  'client-cert-auth': ['cli/etcd/listeners.ts', 'clientCertAuth: auto ? false : c.clientCertAuth'],
  'client-crl-file': ['cli/etcd/listeners.ts', "crlFile: auto ? '' : c.crlFile"],
  'client-cert-allowed-hostname': ['cli/etcd/listeners.ts', 'allowedHostnames: c.allowedHostnames'],
  'trusted-ca-file': ['cli/etcd/listeners.ts', "trustedCaFile: auto ? '' : c.trustedCaFile"],
  'auto-tls': ['cli/etcd/listeners.ts', 'if (c.autoTls && !haveFiles)'],
  'self-signed-cert-validity': ['cli/etcd/listeners.ts', 'validityYears: t.selfSignedCertValidityYears'],
  'cipher-suites': ['cli/etcd/listeners.ts', 'ciphers: t.ciphers'],
  'tls-min-version': ['cli/etcd/listeners.ts', 'minVersion: t.minVersion'],
  'tls-max-version': ['cli/etcd/listeners.ts', 'maxVersion: t.maxVersion'],
  // The peer TLS flags reach the peer transport through tlsFlags(cfg.flags).peer: peer-tls.ts
  // builds the listener and dialing contexts, cli/etcd/peer-listener.ts hands them to the transport.
  'peer-cert-file': ['api/tls/peer-tls.ts', 'let certFile = p.certFile'],
  'peer-key-file': ['api/tls/peer-tls.ts', 'let keyFile = p.keyFile'],
  'peer-client-cert-auth': ['api/tls/peer-tls.ts', 'clientCertAuth: auto ? false : p.clientCertAuth'],
  'peer-trusted-ca-file': ['api/tls/peer-tls.ts', "trustedCaFile: auto ? '' : p.trustedCaFile"],
  'peer-crl-file': ['api/tls/peer-tls.ts', "crlFile: auto ? '' : p.crlFile"],
  'peer-cert-allowed-cn': ['api/tls/peer-tls.ts', 'allowedCn: p.allowedCn'],
  'peer-cert-allowed-hostname': ['api/tls/peer-tls.ts', 'allowedHostnames: p.allowedHostnames'],
  'peer-auto-tls': ['api/tls/peer-tls.ts', 'const auto = p.autoTls && !haveFiles'],
  'peer-client-cert-file': ['api/tls/peer-tls.ts', "p.clientCertFile !== ''"],
  'peer-client-key-file': ['api/tls/peer-tls.ts', "p.clientKeyFile !== ''"],
};

function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The ServerConfig field a flag sets: its own camelCase name, or its etcd 3.6 name's for a replaced --experimental-* flag. */
function fieldOf(spec: FlagSpec): string {
  const newer = FLAGS.find((f) => f.replaces === spec.name);
  return camel(newer?.name ?? spec.name);
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Lines of src/ outside src/config that are not log calls. */
const codeLines: { file: string; line: string }[] = walk(SRC)
  .filter((f) => !f.startsWith(join(SRC, 'config') + '/'))
  .flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/\b(logger|lg|log)\.(debug|info|warn|error|log)\(/.test(line))
      .map((line) => ({ file: file.slice(ROOT.length), line })),
  );

function readsOf(field: string): string[] {
  // `cfg.x`, `config.x`, `this.cfg.x`, `opts.config.x`, `serverConfig.x`, `ServerConfig['x']` is not used.
  const read = new RegExp(`(cfg|[cC]onfig)\\.${field}\\b`);
  const destructured = new RegExp(`\\{[^}]*\\b${field}\\b[^}]*\\}\\s*=\\s*(cfg|config)\\b`);
  return codeLines.filter(({ line }) => read.test(line) || destructured.test(line)).map(({ file, line }) => `${file}: ${line.trim()}`);
}

test('every flag marked effective is acted on by the code, and no flag marked "not yet" is read', () => {
  const wrong: string[] = [];
  for (const spec of FLAGS) {
    const inConfig = ACTS_IN_CONFIG[spec.name];
    if (inConfig !== undefined) {
      const [file, code] = inConfig;
      const text = readFileSync(join(SRC, file), 'utf8');
      assert.ok(text.includes(code), `ACTS_IN_CONFIG: src/${file} no longer contains ${JSON.stringify(code)} (--${spec.name}); update the table`);
      if (!spec.effective) wrong.push(`--${spec.name}: acted on in src/${file} (${code}) but marked not yet effective`);
      continue;
    }
    const reads = readsOf(fieldOf(spec));
    if (spec.effective && reads.length === 0) {
      wrong.push(`--${spec.name}: marked effective, but nothing outside src/config reads cfg.${fieldOf(spec)} (other than to log it)`);
    }
    if (!spec.effective && reads.length > 0) {
      wrong.push(`--${spec.name}: marked not yet effective, but the code reads it:\n      ${reads.join('\n      ')}`);
    }
  }
  assert.deepEqual(wrong, [], `the flag table's \`effective\` marking does not match the code:\n  ${wrong.join('\n  ')}`);
});

test('the scan sees a read when there is one (it can fail)', () => {
  // Fields the code is known to read, and a name nothing reads.
  assert.ok(readsOf('maxTxnOps').length > 0);
  assert.ok(readsOf('walBatchMaxBytes').length > 0);
  assert.deepEqual(readsOf('noSuchConfigField'), []);
  // A log-only mention does not count: main.ts logs cfg.listenClientUrls, and that line is not a read.
  assert.ok(!readsOf('listenClientUrls').some((r) => r.includes('logger.info')));
});

test('--help marks exactly the flags that are not yet effective', () => {
  const help = formatHelp().split('\n');
  for (const spec of FLAGS) {
    if (spec.group === 'Command') continue; // --help lists the command flags in its usage block
    const i = help.findIndex((l) => l.startsWith(`  --${spec.name} `));
    assert.ok(i >= 0, `--help has no line for --${spec.name}`);
    const marked = help[i + 1]!.includes('[not yet effective]');
    assert.equal(marked, !spec.effective, `--help marks --${spec.name} ${marked ? 'not yet effective' : 'effective'}, the table says the opposite`);
  }
});
