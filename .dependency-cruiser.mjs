// The boundaries of docs/architecture.md ("Boundaries"), one rule per line there: each
// folder of src/ imports only the folders listed for it, so the folder graph has no cycle,
// and no module cycle is allowed anywhere. `npm run lint` runs it (test/lint checks it bites).
import { existsSync } from 'node:fs';

/** A folder of src/ may import only these (errors.ts, package-root.ts and clock/ are for everyone). */
const allowed = {
  clock: [],
  'host-state': [],
  log: [],
  input: [],
  net: [],
  stream: [],
  native: [],
  tun: ['native'],
  wire: [],
  lab: ['log', 'input', 'net', 'native', 'tun'],
  multipath: ['stream'],
  names: ['log', 'input'],
  mobility: ['log', 'multipath', 'names'],
  session: ['log', 'input', 'wire', 'stream', 'multipath', 'names', 'mobility'],
  gateway: ['log', 'input', 'net', 'native', 'host-state'],
  tunnel: ['log', 'input', 'net', 'native', 'tun', 'host-state'],
  terminal: [],
  demo: ['log', 'terminal', 'lab', 'session', 'mobility', 'multipath'],
};

const folderRules = Object.entries(allowed).map(([folder, may]) => ({
  name: `${folder}-imports`,
  comment: `src/${folder}/ imports only ${may.length ? may.join(', ') : 'nothing of roam'} (and errors.ts, clock/)`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: {
    path: '^src/',
    pathNot: [`^src/(${[folder, 'clock', ...may].join('|')})/`, '^src/(errors|package-root)\\.ts$'],
  },
}));

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycle between modules',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...folderRules,
    {
      name: 'wire-is-pure',
      comment: 'src/wire/ uses from Node only node:buffer and node:net (isIP): no I/O',
      severity: 'error',
      from: { path: '^src/wire/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?(buffer|net)$' },
    },
    {
      name: 'multipath-knows-no-sockets',
      comment: 'src/multipath/ gets flowpaths as SenderPath: no sockets, timers of its own or I/O',
      severity: 'error',
      from: { path: '^src/multipath/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(net|tls|dgram|fs|child_process)$' },
    },
    {
      name: 'only-session-names-knows-names',
      comment: 'within src/session/, only session/names/ knows the name service',
      severity: 'error',
      from: { path: '^src/session/', pathNot: '^src/session/names/' },
      to: { path: '^src/names/' },
    },
    {
      name: 'nothing-imports-cli',
      comment: 'src/cli/ only parses arguments and prints: nothing else imports it',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli/|index\\.ts$)' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'src-stands-alone',
      comment: 'src/ never imports tests or benchmarks',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a boundary is about what a module knows.
    tsPreCompilationDeps: true,
    ...(existsSync('tsconfig.json') ? { tsConfig: { fileName: 'tsconfig.json' } } : {}),
  },
};
