import { type Command, Option } from 'commander';
import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import { loadGatewayConfig } from '../gateway/config/index.js';
import { fetchGatewayStatus, runningGatewayName } from '../gateway/control/client.js';
import { Gateway } from '../gateway/daemon/gateway.js';
import { gatewayDown, gatewayDownAll } from '../gateway/routing/restore.js';
import { pidAlive, readGatewayState, recordedGateways } from '../gateway/routing/state.js';
import { formatPrometheus } from '../gateway/status/prometheus.js';
import { formatStatusText } from '../gateway/status/text.js';
import { type GatewayUpFlags, gatewayConfigFromFlags } from './gateway-config.js';
import { jsonOption, output, printJson } from './output.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new RoamError(
      'ROAM_NOT_ROOT',
      `roam gateway ${what} changes routing and iptables: run it as root`,
    );
  }
}

export function registerGateway(program: Command): void {
  const gw = program
    .command('gateway')
    .description(
      'multi-uplink gateway for unmodified LAN clients: NAT, balancing, HTTP splice (root)',
    );

  gw.command('up')
    .description('run the gateway in the foreground; SIGINT/SIGTERM restore the host')
    .option('--config <file>', 'config file (YAML or JSON); flags below override it')
    .option('--name <name>', 'gateway name (state folder, iptables chains)')
    .option('--lan <ifname>', 'LAN interface (without --config)')
    .option(
      '--uplink <spec>',
      'name=a,interface=IF,gateway=IP[,source=IP][,weight=N][,cost=N] (repeat)',
      collect,
      [],
    )
    .option('--probe <host:port>', 'probe target (repeat)', collect, [])
    .option('--probe-interval-ms <ms>', 'probe interval per uplink')
    .option('--stall-ms <ms>', 'declare a silent stall after this long')
    .option('--http-port <port>', "the HTTP engine's port")
    .option('--no-intercept', 'do not intercept port 80 (plain NAT)')
    .option('--no-splice', 'do not migrate HTTP responses when an uplink fails')
    .option('--no-fast-reset', 'do not reset other TCP flows on a failed uplink')
    .action(async (o: GatewayUpFlags) => {
      const config = gatewayConfigFromFlags(o);
      requireRoot('up');
      const gateway = await Gateway.start(config);
      const log = rootLogger();
      process.stdout.write(
        `${JSON.stringify({ event: 'ready', name: config.name, port: gateway.port, pid: process.pid })}\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          log.warn({ signal }, 'stopping gateway');
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          void gateway.stop().then(resolve, (err: unknown) => {
            log.error({ err: (err as Error).message }, 'stop failed');
            resolve();
          });
        };
        const onInt = (): void => stop('SIGINT');
        const onTerm = (): void => stop('SIGTERM');
        process.on('SIGINT', onInt);
        process.on('SIGTERM', onTerm);
      });
      process.stdout.write(`${JSON.stringify({ event: 'stopped', name: config.name })}\n`);
    });

  gw.command('status')
    .addOption(jsonOption())
    .description("a running gateway's uplinks, flows and migrations")
    .option('--name <name>', 'which gateway, when several run')
    .addOption(new Option('--prometheus', 'Prometheus text format').conflicts('json'))
    .action(async (o: { name?: string; prometheus?: boolean }) => {
      const status = await fetchGatewayStatus(runningGatewayName(o.name));
      if (o.prometheus) process.stdout.write(formatPrometheus(status));
      else if (output.json) printJson(status);
      else process.stdout.write(formatStatusText(status));
    });

  gw.command('down')
    .addOption(jsonOption())
    .description('stop a gateway if it runs and restore what it changed (also after a crash)')
    .option('--name <name>', 'which gateway (default: the only one recorded)')
    .option('--all', 'every recorded gateway', false)
    .action((o: { name?: string; all: boolean }) => {
      requireRoot('down');
      const results = o.all
        ? gatewayDownAll()
        : (() => {
            const r = gatewayDown(o.name ?? runningOrRecorded());
            return r ? [r] : [];
          })();
      if (output.json) printJson(results);
      else if (results.length === 0) process.stdout.write('nothing to restore\n');
      else
        for (const r of results) {
          process.stdout.write(
            `gateway ${r.name}: restored${r.stoppedPid ? ` (stopped pid ${r.stoppedPid})` : ''}\n`,
          );
        }
    });

  gw.command('validate')
    .addOption(jsonOption())
    .description('check a config file (no root needed)')
    .argument('<file>', 'config file')
    .action((file: string) => {
      const c = loadGatewayConfig(file);
      if (output.json) printJson(c);
      else process.stdout.write(`${file}: ok (gateway ${c.name}, ${c.uplinks.length} uplinks)\n`);
    });
}

/**
 * `down` without --name: the only recorded gateway that is no longer running (a crash's
 * leftovers). A running gateway is stopped only when named: on a shared machine, another
 * user's gateway must not be taken down by accident.
 */
function runningOrRecorded(): string {
  const recorded = recordedGateways();
  const crashed = recorded.filter((n) => {
    const st = readGatewayState(n);
    return st === undefined || !pidAlive(st.pid);
  });
  if (crashed.length === 1 && crashed[0] !== undefined) return crashed[0];
  throw new RoamError(
    'ROAM_BAD_INPUT',
    recorded.length === 0
      ? 'no gateway is recorded in the state folder: nothing to restore'
      : `name the gateway with --name (recorded: ${recorded.join(', ')}), or use --all`,
  );
}
