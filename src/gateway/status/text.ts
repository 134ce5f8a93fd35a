import type { GatewayStatus } from './model.js';

const ms = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} ms`);
const rate = (bps: number): string =>
  bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbit/s` : `${(bps / 1e3).toFixed(0)} kbit/s`;

/** The human form of `roam gateway status`. Pure. */
export function formatStatusText(s: GatewayStatus): string {
  const out: string[] = [];
  out.push(
    `gateway ${s.name} (pid ${s.pid}, since ${s.startedAt}): intercept ${s.settings.intercept ? `on, port ${s.settings.port}` : 'off'}, splice ${s.settings.splice ? 'on' : 'off'}, fast reset ${s.settings.fastReset ? 'on' : 'off'}`,
  );
  out.push('uplinks:');
  for (const u of s.uplinks) {
    out.push(
      `  ${u.name} (${u.interface} ${u.source ?? 'no address'} via ${u.gateway}, weight ${u.weight}): ${u.state} since ${u.since}; rtt ${ms(u.rttMs)}, loss ${(u.loss * 100).toFixed(0)}%, rx ${rate(u.rxBps)}, tx ${rate(u.txBps)}, ${u.flows} flows, ${u.failures} failures, ${u.transients} transients`,
    );
  }
  out.push(`http flows: ${s.http.length}`);
  for (const f of s.http) {
    out.push(
      `  #${f.id} ${f.client} → ${f.server} via ${f.uplink ?? '-'}: ${f.state}, ${f.bytesToClient} bytes to client, ${f.migrations} migrations${f.error ? `, ${f.error.code}` : ''}`,
    );
  }
  out.push(`forwarded flows: ${s.forwarded.length}`);
  for (const f of s.forwarded) {
    out.push(`  ${f.protocol} ${f.client} → ${f.server} via ${f.uplink}: ${f.bytes} bytes`);
  }
  out.push(`migrations: ${s.migrations.length}, resets: ${s.resets}`);
  const shown = s.migrations.slice(-10);
  if (shown.length < s.migrations.length) out.push(`  … the last ${shown.length} (all: --json)`);
  for (const m of shown) {
    out.push(
      `  flow #${m.flow} ${m.from ?? '-'} → ${m.to} at byte ${m.offset} (${m.at}): ${m.kind ?? 'pending'}, recovery ${ms(m.recoveryMs)}`,
    );
  }
  return `${out.join('\n')}\n`;
}
