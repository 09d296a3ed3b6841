import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientTls } from '../../src/client/ClientTls.js';

/** A certificate and its key, as files. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
}

/**
 * Certificates made with the real openssl in a temp directory of their own: a CA,
 * server certificates for 127.0.0.1 and localhost, client certificates with a
 * user as subject CN. `remove()` deletes the directory.
 */
export class TestCertificates {
  readonly dir = mkdtempSync(join(tmpdir(), 'chat-tls-'));
  private made = 0;

  /** A self-signed CA named `name`. */
  ca(name = 'Test CA'): CertFiles {
    const files = this.paths(name);
    this.openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', files.keyFile, '-out', files.certFile]);
    return files;
  }

  /** A server certificate for 127.0.0.1 and localhost, signed by `ca`. */
  server(ca: CertFiles, name = 'chat-server'): CertFiles {
    return this.signed(ca, `/CN=${name}`, ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth']);
  }

  /** A client certificate signed by `ca`, subject `subject` (e.g. /CN=alice). */
  client(ca: CertFiles, subject: string): CertFiles {
    return this.signed(ca, subject, ['extendedKeyUsage=clientAuth']);
  }

  /** Reads PEM files into a ClientTls: `ca` checks the server, `identity` is shown to it. */
  tls(ca: CertFiles, identity?: CertFiles): ClientTls {
    return { ca: readFileSync(ca.certFile), ...(identity && { cert: readFileSync(identity.certFile), key: readFileSync(identity.keyFile) }) };
  }

  /** The certificate's serial number in upper-case hex without leading zeros (as serialOf gives it). */
  serial(files: CertFiles): string {
    return serialOf(this.openssl(['x509', '-in', files.certFile, '-noout', '-serial']).trim().replace(/^serial=/, ''));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private signed(ca: CertFiles, subject: string, extensions: string[]): CertFiles {
    const files = this.paths(subject.replace(/\W+/g, '_'));
    const csr = `${files.certFile}.csr`;
    const ext = `${files.certFile}.ext`;
    execFileSync('sh', ['-c', `printf '%s\\n' "$@" > ${ext}`, 'sh', ...extensions]);
    this.openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject, '-keyout', files.keyFile, '-out', csr]);
    this.openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', files.certFile]);
    return files;
  }

  private paths(name: string): CertFiles {
    const base = join(this.dir, `${++this.made}-${name.replace(/\W+/g, '_')}`);
    return { certFile: `${base}.crt`, keyFile: `${base}.key` };
  }

  private openssl(args: string[]): string {
    return execFileSync('/usr/bin/openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

/** A serial number in one form: upper-case hex without leading zeros (openssl and node:tls differ on those). */
export function serialOf(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}
