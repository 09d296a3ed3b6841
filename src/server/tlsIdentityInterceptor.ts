import { type Metadata, ResponderBuilder, ServerInterceptingCall, type ServerInterceptor, ServerListenerBuilder } from '@grpc/grpc-js';

/**
 * The metadata key under which a call carries its verified client certificate's
 * subject CN ('' when it has none). Only tlsIdentityInterceptor sets it: whatever
 * a client sends under it is dropped first.
 */
export const TLS_USER_KEY = 'chat-tls-user';

/**
 * Hands the handler the user a verified client certificate names (mTLS).
 * nice-grpc's CallContext has no way to the grpc-js call, and grpc-js only shows
 * the peer certificate there (getAuthContext: only for a certificate the client
 * CA verified), so this interceptor copies its subject CN into the metadata.
 */
export const tlsIdentityInterceptor: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withStart((next) =>
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata: Metadata, pass) => {
              metadata.remove(TLS_USER_KEY);
              const certificate = call.getAuthContext().sslPeerCertificate;
              if (certificate !== undefined) {
                const cn: unknown = certificate.subject?.CN;
                // Several CNs name no one user.
                metadata.set(TLS_USER_KEY, typeof cn === 'string' ? cn : '');
              }
              pass(metadata);
            })
            .build(),
        ),
      )
      .build(),
  );
