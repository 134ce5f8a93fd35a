import { readFileSync } from 'node:fs';

const IFF_UP = 0x1;

/**
 * Whether sysfs says the interface is down right now (administratively, or no carrier): a
 * synchronous read of two small files, for acting on a link event before `ip` could even
 * start. False when it cannot tell (interface gone, no sysfs): the full read decides then.
 */
export function linkDownNow(ifname: string, sysfs = '/sys/class/net'): boolean {
  try {
    const flags = Number.parseInt(readFileSync(`${sysfs}/${ifname}/flags`, 'utf8').trim(), 16);
    if (Number.isFinite(flags) && (flags & IFF_UP) === 0) return true;
    const operstate = readFileSync(`${sysfs}/${ifname}/operstate`, 'utf8').trim();
    return operstate === 'down' || operstate === 'lowerlayerdown';
  } catch {
    return false;
  }
}
