import { describe, expect, it } from '@jest/globals';
import { ClientError, Status } from 'nice-grpc';
import { streamEnd } from '../../src/client/streamEnd.js';

const ended = (code: Status, details: string) => streamEnd(new ClientError('/chat.v1.ChatService/Channel', code, details));

describe('streamEnd', () => {
  it('takes a RESOURCE_EXHAUSTED without a known code as a refused envelope (over the size limit)', () => {
    expect(ended(Status.RESOURCE_EXHAUSTED, 'Received message larger than max (20000 vs. 16384)')).toMatchObject({ fatal: false, oversized: true });
  });

  it('takes a slow-consumer cut-off and the connection limits as retryable ends that refuse no message', () => {
    for (const details of [
      'SLOW_CONSUMER: no write progress for 10000 ms; resume with after_seq',
      'TOO_MANY_STREAMS: a connection may have at most 1000 Channel streams open',
      'TOO_MANY_CONNECTIONS: 10.0.0.1 may have at most 1000 connections with Channel streams open',
    ]) {
      expect(ended(Status.RESOURCE_EXHAUSTED, details)).toEqual({ fatal: false, oversized: false, text: `RESOURCE_EXHAUSTED: ${details}` });
    }
  });
});
