import { createHash } from 'node:crypto';
import {
  connect as tlsConnect,
  type ConnectionOptions,
  type SecureContextOptions,
  type TLSSocket,
} from 'node:tls';
import { isIP, connect as netConnect } from 'node:net';
import { RoamError } from '../errors.js';
import type { SocketFactory } from './options.js';

/**
 * TLS 1.3 flowpaths (node:tls). The client verifies the server either the usual way (a CA,
 * the server name) or by a pinned public key: the SHA-256 of the server certificate's
 * SubjectPublicKeyInfo, base64 — what `openssl x509 -pubkey | openssl pkey -pubin -outform der
 * | openssl dgst -sha256 -binary | base64` prints — so a self-signed certificate works
 * without a CA.
 */
export interface ClientTlsOptions {
  /** Trusted CA certificates (PEM); without `pinnedKey`, the server must chain to one. */
  ca?: string | Buffer | (string | Buffer)[];
  /** The name the certificate must carry; defaults to the host connected to. */
  servername?: string;
  /** base64 SHA-256 of the server's public key (SPKI DER). */
  pinnedKey?: string;
}

export type ServerTlsOptions = Pick<SecureContextOptions, 'key' | 'cert' | 'ca' | 'passphrase'>;

export function publicKeyPin(spkiDer: Buffer): string {
  return createHash('sha256').update(spkiDer).digest('base64');
}

export function tlsSocketFactory(opts: ClientTlsOptions): SocketFactory {
  return (to) => {
    const options: ConnectionOptions = {
      // The TCP connection is made here so that it can be bound to a local address (a path).
      socket: netConnect({ host: to.host, port: to.port, localAddress: to.localAddress }),
      host: to.host,
      minVersion: 'TLSv1.3',
      ca: opts.ca,
      servername: opts.servername ?? (isIP(to.host) ? undefined : to.host),
      // With a pin, the pin is the check (done on secureConnect); the CA chain is not needed.
      rejectUnauthorized: opts.pinnedKey === undefined,
    };
    return tlsConnect(options);
  };
}

/** Checks the pin of an established TLS flowpath; throws ROAM_TLS_PIN when it differs. */
export function checkPin(socket: TLSSocket, pinnedKey: string | undefined): void {
  if (pinnedKey === undefined) return;
  const cert = socket.getPeerX509Certificate();
  const pin = cert
    ? publicKeyPin(cert.publicKey.export({ type: 'spki', format: 'der' }))
    : undefined;
  if (pin !== pinnedKey) {
    socket.destroy();
    throw new RoamError(
      'ROAM_TLS_PIN',
      `the server's public key (${pin ?? 'none'}) is not the pinned one (${pinnedKey})`,
    );
  }
}
