/** A stream refused by PeerLimits: which limit (chat.limits.refused's chat.limit), its code (chat.errors) and the status message. */
export interface PeerRefusal {
  limit: 'streams_per_connection' | 'connections_per_ip';
  code: 'TOO_MANY_STREAMS' | 'TOO_MANY_CONNECTIONS';
  message: string;
}

/**
 * Channel streams open per connection and connections (with streams open) per IP
 * address, counted by the peer grpc-js reports (`address:port`): the port tells a
 * connection from another of the same address. grpc-js does not expose the HTTP/2
 * session to handlers, so a connection without an open Channel stream is not counted.
 */
export class PeerLimits {
  /** Open streams per peer (connection). */
  private readonly streams = new Map<string, number>();
  /** Peers with open streams per address. */
  private readonly connections = new Map<string, number>();

  constructor(
    private readonly maxStreamsPerConnection: number,
    private readonly maxConnectionsPerIp: number,
  ) {}

  /** Counts a new stream of `peer`: the way to uncount it (call once), or why it is refused. */
  open(peer: string): (() => void) | PeerRefusal {
    const address = addressOf(peer);
    const streams = this.streams.get(peer) ?? 0;
    if (streams >= this.maxStreamsPerConnection) {
      return { limit: 'streams_per_connection', code: 'TOO_MANY_STREAMS', message: `TOO_MANY_STREAMS: a connection may have at most ${this.maxStreamsPerConnection} Channel streams open` };
    }
    const connections = this.connections.get(address) ?? 0;
    if (streams === 0 && connections >= this.maxConnectionsPerIp) {
      return { limit: 'connections_per_ip', code: 'TOO_MANY_CONNECTIONS', message: `TOO_MANY_CONNECTIONS: ${address} may have at most ${this.maxConnectionsPerIp} connections with Channel streams open` };
    }
    this.streams.set(peer, streams + 1);
    if (streams === 0) this.connections.set(address, connections + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.close(peer, address);
    };
  }

  /** Connections with open streams now (for tests and logs). */
  get connectionCount(): number {
    return this.streams.size;
  }

  private close(peer: string, address: string): void {
    const streams = (this.streams.get(peer) ?? 1) - 1;
    if (streams > 0) {
      this.streams.set(peer, streams);
      return;
    }
    this.streams.delete(peer);
    const connections = (this.connections.get(address) ?? 1) - 1;
    if (connections > 0) this.connections.set(address, connections);
    else this.connections.delete(address);
  }
}

/** `1.2.3.4:5678` → `1.2.3.4`, `[::1]:5678` or `::1:5678` → `::1`; anything else is its own address. */
function addressOf(peer: string): string {
  const colon = peer.lastIndexOf(':');
  if (colon <= 0 || !/^\d+$/.test(peer.slice(colon + 1))) return peer;
  return peer.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
}
