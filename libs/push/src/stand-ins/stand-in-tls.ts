import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA and a server certificate it signed, for the providers' local stand-ins. */
export interface StandInTls {
  readonly ca: string;
  readonly key: string;
  readonly cert: string;
  /** The CA in a file (for settings that take a path). */
  readonly caFile: string;
  readonly dir: string;
  dispose(): void;
}

/** The names the stand-ins answer for: Apple's and Google's hosts, and the loopback. */
const NAMES = [
  'DNS:api.push.apple.com',
  'DNS:api.sandbox.push.apple.com',
  'DNS:fcm.googleapis.com',
  'DNS:oauth2.googleapis.com',
  'DNS:localhost',
  'IP:127.0.0.1',
];

/** Made with the openssl CLI (Node has no API to issue certificates). */
export function createStandInTls(): StandInTls {
  const dir = mkdtempSync(join(tmpdir(), 'll-push-tls-'));
  const at = (f: string) => join(dir, f);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('ca.key'));
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    at('ca.key'),
    '-subj',
    '/CN=Ledgerline push test CA',
    '-days',
    '2',
    '-out',
    at('ca.pem'),
  );
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('server.key'));
  openssl(
    'req',
    '-new',
    '-key',
    at('server.key'),
    '-subj',
    '/CN=push stand-in',
    '-out',
    at('server.csr'),
  );
  writeFileSync(at('ext.cnf'), `subjectAltName=${NAMES.join(',')}\nextendedKeyUsage=serverAuth\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    at('ext.cnf'),
    '-out',
    at('server.pem'),
  );
  return {
    ca: readFileSync(at('ca.pem'), 'utf8'),
    key: readFileSync(at('server.key'), 'utf8'),
    cert: readFileSync(at('server.pem'), 'utf8'),
    caFile: at('ca.pem'),
    dir,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
