import { readFileSync } from 'node:fs';

/** TLS for a client's connections: the server is checked against `ca`, and `cert`/`key` are shown to it (mTLS). */
export interface ClientTls {
  /** PEM CA the server's certificate must chain to; none: the system's roots. */
  ca?: Buffer;
  /** PEM client certificate (mTLS; the server takes the user from its subject CN), with `key`. */
  cert?: Buffer;
  /** PEM private key of `cert`. */
  key?: Buffer;
}

/** Where ClientTls's PEM files are. */
export interface ClientTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * Reads the files of a ClientTls; throws an Error naming a file that cannot be
 * read, or a certificate given without its key (or the other way round).
 */
export function readClientTls({ caFile, certFile, keyFile }: ClientTlsFiles): ClientTls {
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new Error(certFile === undefined ? `a client key ("${keyFile}") needs its certificate too` : `a client certificate ("${certFile}") needs its key too`);
  }
  const read = (what: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`the ${what} "${file}" cannot be read: ${(error as Error).message}`);
    }
  };
  return { ca: read('CA file', caFile), cert: read('client certificate', certFile), key: read('client key', keyFile) };
}
