import { describe, expect, it } from '@jest/globals';
import { PeerLimits } from '../../src/server/PeerLimits.js';

const release = (admitted: ReturnType<PeerLimits['open']>) => {
  if (typeof admitted !== 'function') throw new Error(`refused: ${admitted.message}`);
  return admitted;
};

describe('PeerLimits', () => {
  it('counts streams per connection (address:port) up to the limit, and frees a place once released', () => {
    const peers = new PeerLimits(2, 10);
    const first = release(peers.open('10.0.0.1:5000'));
    release(peers.open('10.0.0.1:5000'));
    expect(peers.open('10.0.0.1:5000')).toMatchObject({ limit: 'streams_per_connection' });
    release(peers.open('10.0.0.1:5001'));
    first();
    first(); // safe twice: frees one place only
    release(peers.open('10.0.0.1:5000'));
    expect(peers.open('10.0.0.1:5000')).toMatchObject({ limit: 'streams_per_connection' });
  });

  it('counts connections per address, IPv4 and IPv6 alike, and forgets a connection whose last stream ended', () => {
    const peers = new PeerLimits(10, 2);
    for (const [a, b, c] of [
      ['10.0.0.1:1', '10.0.0.1:2', '10.0.0.1:3'],
      ['[::1]:1', '[::1]:2', '[::1]:3'],
      ['::ffff:10.0.0.2:1', '::ffff:10.0.0.2:2', '::ffff:10.0.0.2:3'],
    ] as const) {
      const one = release(peers.open(a));
      const two = release(peers.open(b));
      release(peers.open(a)); // a second stream on a counted connection
      const refusal = peers.open(c);
      expect(refusal).toMatchObject({ limit: 'connections_per_ip' });
      expect(typeof refusal !== 'function' && refusal.message).toMatch(/at most 2 connections/);
      two();
      release(peers.open(c));
      one(); // connection a still has a stream: still counted
      expect(peers.open(b)).toMatchObject({ limit: 'connections_per_ip' });
    }
    expect(release(peers.open('10.0.0.9:1'))).toBeInstanceOf(Function);
    expect(peers.connectionCount).toBe(7);
  });
});
