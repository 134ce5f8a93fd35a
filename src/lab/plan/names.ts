import { randomBytes } from 'node:crypto';

/**
 * Everything a lab creates carries its id, `rl` + 6 hex digits, so that two labs (two test
 * files running at once) never collide and `roam lab down --all` can find leftovers.
 * Host namespaces are `<id>-<host>`; a link's hidden wire namespace is `<id>_<link>` (host
 * names cannot contain `_`, so the two never clash).
 */
export const LAB_ID_PATTERN = /^rl[0-9a-f]{6}$/;
export const LAB_NAMESPACE_PATTERN = /^(rl[0-9a-f]{6})[-_]/;

export function newLabId(): string {
  return `rl${randomBytes(3).toString('hex')}`;
}

export interface LabNames {
  id: string;
  hostNs(host: string): string;
  linkNs(link: string): string;
}

export function labNames(id: string): LabNames {
  return {
    id,
    hostNs: (host) => `${id}-${host}`,
    linkNs: (link) => `${id}_${link}`,
  };
}

/** Interfaces inside a wire namespace: the veth ends toward each host, their bridges and taps. */
export const WIRE_DEVICES = {
  vethA: 'va',
  vethB: 'vb',
  bridgeA: 'bra',
  bridgeB: 'brb',
  tapA: 'ta',
  tapB: 'tb',
} as const;
