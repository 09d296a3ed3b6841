/**
 * What a failed connection's grpc-js error most likely means for TLS, in the
 * user's words; undefined when it says nothing about TLS. grpc-js reports these
 * only as the underlying socket or OpenSSL error, e.g. a plaintext client whose
 * HTTP/2 preface a TLS server drops gets just "Failed to connect" (or "null").
 */
export function tlsHint(details: string, usesTls: boolean): string | undefined {
  if (!usesTls) return /Last error: (Failed to connect\b|null\.)/.test(details) ? 'the server closed the connection at once: it may serve TLS (connect with TLS: chat-tui --tls)' : undefined;
  if (/wrong version number|packet length too long/.test(details)) return 'the server does not speak TLS (connect without --tls)';
  if (/certificate required|handshake failure/.test(details)) return 'the server wants a client certificate it trusts (chat-tui --cert and --key)';
  if (/self[- ]signed certificate|unable to (get|verify)|certificate (has expired|is not yet valid)|Hostname\/IP does not match|ERR_TLS_CERT/.test(details)) {
    return "the server's certificate is not trusted: give the CA that signed it (chat-tui --ca) and connect by a name or address it is for";
  }
  return undefined;
}
