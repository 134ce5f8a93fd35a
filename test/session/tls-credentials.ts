import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyPin } from '../../src/session/tls.js';

export interface TlsCredentials {
  dir: string;
  key: Buffer;
  cert: Buffer;
  /** The certificate's public key pin (roam's `pinnedKey`). */
  pin: string;
}

/** A self-signed P-256 certificate for 127.0.0.1, made with openssl in a fresh temp folder. */
export function selfSignedCertificate(): TlsCredentials {
  const dir = mkdtempSync(join(tmpdir(), 'roam-tls-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=roam-test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certPath);
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return { dir, key: readFileSync(keyPath), cert, pin: publicKeyPin(spki) };
}

/** Reads credentials that selfSignedCertificate() wrote to `dir` (in another process). */
export function readCredentials(dir: string): { key: Buffer; cert: Buffer } {
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}
