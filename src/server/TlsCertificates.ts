import { experimental, type ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import { readTlsFiles, type TlsFiles } from './config.js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/**
 * The server's certificate, key and client CA, read from their files now and
 * again on reload(). A grpc-js certificate provider: grpc-js hands each update
 * to the listening socket's setSecureContext, so new connections get the new
 * certificate and open ones (and their streams) keep the one they started with.
 */
export class TlsCertificates implements experimental.CertificateProvider {
  private current: ReturnType<typeof readTlsFiles>;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  /** Throws an Error naming the file when one cannot be read or used. */
  constructor(readonly files: TlsFiles) {
    this.current = readTlsFiles(files);
  }

  /**
   * The credentials to listen with; `interceptors` see every call. grpc-js's
   * createCertificateProviderServerCredentials takes the identity provider first
   * (whatever its d.ts names the parameters): see its server-credentials.ts.
   */
  credentials(interceptors: ServerInterceptor[]): ServerCredentials {
    const ca = this.files.clientCaFile === undefined ? null : this;
    const credentials = experimental.createCertificateProviderServerCredentials(this, ca, this.files.requireClientCert === true);
    return experimental.createServerCredentialsWithInterceptors(credentials, interceptors);
  }

  /**
   * Reads the files again. Only a set that loads (a certificate and its key, a
   * PEM CA) replaces the current one: grpc-js refuses every new connection after
   * an update it cannot use, so a half-written file must not reach it. Throws
   * (keeping the current certificates) when the files cannot be used.
   */
  reload(): void {
    const next = readTlsFiles(this.files);
    this.current = next;
    for (const listener of this.identityListeners) listener({ certificate: next.cert, privateKey: next.key });
    if (next.ca !== undefined) for (const listener of this.caListeners) listener({ caCertificate: next.ca });
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // Later, not now: grpc-js subscribes before it adds the watcher that applies updates.
    process.nextTick(() => this.current.ca !== undefined && this.caListeners.has(listener) && listener({ caCertificate: this.current.ca }));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => this.identityListeners.has(listener) && listener({ certificate: this.current.cert, privateKey: this.current.key }));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}
