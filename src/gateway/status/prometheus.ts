import { UPLINK_STATES } from '../health/state-machine.js';
import type { GatewayStatus } from './model.js';

const label = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The Prometheus text exposition format (0.0.4) of a status. Pure. */
export function formatPrometheus(s: GatewayStatus): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: string,
    help: string,
    samples: Array<[string, number]>,
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  const gw = `gateway="${label(s.name)}"`;
  const per = (fn: (u: GatewayStatus['uplinks'][number]) => number): Array<[string, number]> =>
    s.uplinks.map((u) => [`{${gw},uplink="${label(u.name)}"}`, fn(u)]);
  metric(
    'roam_gateway_uplink_up',
    'gauge',
    'Uplink usable for new flows (up or suspect).',
    per((u) => (u.state === 'up' || u.state === 'suspect' ? 1 : 0)),
  );
  metric(
    'roam_gateway_uplink_state',
    'gauge',
    'Uplink health state (1 for the current one).',
    s.uplinks.flatMap((u) =>
      UPLINK_STATES.map((st): [string, number] => [
        `{${gw},uplink="${label(u.name)}",state="${st}"}`,
        u.state === st ? 1 : 0,
      ]),
    ),
  );
  metric(
    'roam_gateway_uplink_rtt_seconds',
    'gauge',
    'Smoothed probe connect time.',
    per((u) => (u.rttMs ?? Number.NaN) / 1000),
  );
  metric(
    'roam_gateway_uplink_loss_ratio',
    'gauge',
    'Share of the last 20 probes unanswered.',
    per((u) => u.loss),
  );
  metric(
    'roam_gateway_uplink_receive_bits_per_second',
    'gauge',
    'Interface receive rate over the last second.',
    per((u) => u.rxBps),
  );
  metric(
    'roam_gateway_uplink_transmit_bits_per_second',
    'gauge',
    'Interface transmit rate over the last second.',
    per((u) => u.txBps),
  );
  metric(
    'roam_gateway_uplink_flows',
    'gauge',
    'HTTP and forwarded flows on the uplink.',
    per((u) => u.flows),
  );
  metric(
    'roam_gateway_uplink_failures_total',
    'counter',
    'Non-transient failures (entries into down).',
    per((u) => u.failures),
  );
  metric(
    'roam_gateway_uplink_transients_total',
    'counter',
    'Transient troubles (suspect, then up again).',
    per((u) => u.transients),
  );
  metric('roam_gateway_http_flows', 'gauge', 'Intercepted HTTP client connections.', [
    [`{${gw}}`, s.http.length],
  ]);
  metric(
    'roam_gateway_migrations_total',
    'counter',
    'HTTP responses moved to another uplink (last 100 kept).',
    [[`{${gw}}`, s.migrations.length]],
  );
  metric('roam_gateway_forwarded_flows', 'gauge', 'Forwarded (not intercepted) connections.', [
    [`{${gw}}`, s.forwarded.length],
  ]);
  metric('roam_gateway_resets_total', 'counter', 'Connections reset because their uplink failed.', [
    [`{${gw}}`, s.resets],
  ]);
  return `${lines.join('\n')}\n`;
}
