import { RoamError } from '../../errors.js';
import type { GatewayConfig } from '../config/model.js';
import { GatewayRoutingCode, interfaceAddress } from '../routing/system.js';

/** An uplink's address and link state at start. */
export interface UplinkAddressNow {
  /** undefined: no address yet (a modem not connected): the uplink starts down. */
  readonly source: string | undefined;
  readonly prefixLen: number;
  readonly up: boolean;
}

/**
 * The LAN address (where the engine listens) and every uplink's address, from the
 * interfaces as they are now. A missing interface is a configuration error
 * (ROAM_GATEWAY_UPLINK); an uplink without an address is not.
 */
export async function discoverInterfaces(
  config: GatewayConfig,
): Promise<{ lanIp: string; addresses: UplinkAddressNow[] }> {
  const lan = await interfaceAddress(config.lan.interface);
  const lanIp = lan?.addresses[0]?.ip;
  if (!lanIp) {
    throw new RoamError(
      GatewayRoutingCode.Uplink,
      `LAN interface ${config.lan.interface} does not exist or has no IPv4 address`,
    );
  }
  const addresses: UplinkAddressNow[] = [];
  for (const u of config.uplinks) {
    const info = await interfaceAddress(u.interface);
    if (!info) {
      throw new RoamError(
        GatewayRoutingCode.Uplink,
        `uplink ${u.name}: interface ${u.interface} does not exist`,
      );
    }
    const found = u.source ? info.addresses.find((a) => a.ip === u.source) : info.addresses[0];
    addresses.push({
      source: found?.ip,
      prefixLen: found?.prefixLen ?? 32,
      up: info.up && found !== undefined,
    });
  }
  return { lanIp, addresses };
}
