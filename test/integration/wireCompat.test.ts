import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

// A client generated at run time from the ORIGINAL chat.v1 (the Go server's proto),
// with the plain grpc-js stack: it knows none of our added fields.
const fixture = fileURLToPath(new URL('../fixtures/original/chat.proto', import.meta.url));
const definition = loadSync(fixture, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
const chatV1 = (grpc.loadPackageDefinition(definition) as any).chat.v1;

interface OriginalEvent {
  event: 'joined' | 'broadcast' | 'notice';
  joined?: { user_id: string; room: string; welcome_message: string };
  broadcast?: { user_id: string; room: string; content: string; timestamp_utc: number };
  notice?: { type: string; message: string; user_id: string; room: string };
}

function originalClient(address: string) {
  const client = new chatV1.ChatService(address, grpc.credentials.createInsecure());
  const call: grpc.ClientDuplexStream<unknown, OriginalEvent> = client.Channel();
  const events: OriginalEvent[] = [];
  let status: grpc.StatusObject | undefined;
  call.on('data', (event: OriginalEvent) => events.push(event));
  call.on('status', (s: grpc.StatusObject) => (status = s));
  call.on('error', () => {}); // the status event carries it
  return { client, call, events, status: () => status };
}

describe('wire compatibility with the original chat.v1', () => {
  let t: TestServer;
  let clients: Array<{ close(): void }> = [];
  beforeEach(async () => (t = await TestServer.start()));
  afterEach(async () => {
    for (const c of clients) c.close();
    clients = [];
    await t.stop();
  });

  it('a client built from the original proto joins, chats with a new client, leaves and half-closes to OK', async () => {
    const old = originalClient(t.address);
    clients.push(old.client);
    old.call.write({ join: { user_id: 'gopher', room: 'lobby', display_name: 'Gopher' } });
    await waitFor(() => old.events.find((e) => e.event === 'joined'), { what: 'original JoinAck' });
    const ack = old.events.find((e) => e.event === 'joined')!.joined!;
    expect(ack).toMatchObject({ user_id: 'gopher', room: 'lobby' });
    expect(ack.welcome_message).toContain('lobby');

    const modern = await t.joined({ userId: 'ts', displayName: 'TypeScript' }, 'lobby');
    await waitFor(
      () => old.events.find((e) => e.event === 'notice' && e.notice!.type === 'TYPE_USER_JOINED' && e.notice!.user_id === 'ts'),
      { what: 'the original client to see the new user join' },
    );

    const before = Date.now();
    old.call.write({ chat: { user_id: 'gopher', room: 'lobby', content: 'hello from Go', timestamp_utc: 1 } });
    modern.session.send('lobby', 'hello from TS');
    await waitFor(() => old.events.filter((e) => e.event === 'broadcast').length >= 2, { what: 'two broadcasts' });
    const received = old.events.filter((e) => e.event === 'broadcast').map((e) => e.broadcast!);
    expect(received.map((m) => [m.user_id, m.content])).toEqual([
      ['gopher', 'hello from Go'],
      ['ts', 'hello from TS'],
    ]);
    // The server stamps the time; the client's value is ignored.
    expect(received[0]!.timestamp_utc).toBeGreaterThanOrEqual(before);

    const fromGo = await modern.waitFor((e) => e.type === 'message' && e.message.userId === 'gopher', 'message from Go');
    expect(fromGo.type === 'message' && fromGo.message.displayName).toBe('Gopher');

    old.call.write({ leave: { user_id: 'gopher', room: 'lobby' } });
    await modern.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'gopher', 'Go client leaving');
    old.call.end();
    await waitFor(() => old.status(), { what: 'original stream status' });
    expect(old.status()!.code).toBe(grpc.status.OK);
    modern.session.close();
    await modern.waitEnd();
  });

  it('an original client sees errors as TYPE_ERROR notices it can read', async () => {
    const old = originalClient(t.address);
    clients.push(old.client);
    old.call.write({ join: { user_id: 'gopher', room: 'lobby', display_name: '' } });
    old.call.write({ chat: { user_id: 'gopher', room: 'elsewhere', content: 'hi' } });
    await waitFor(() => old.events.find((e) => e.event === 'notice' && e.notice!.type === 'TYPE_ERROR'), {
      what: 'an error notice',
    });
    const notice = old.events.find((e) => e.event === 'notice' && e.notice!.type === 'TYPE_ERROR')!.notice!;
    expect(notice.room).toBe('elsewhere');
    expect(notice.message).toMatch(/not in #elsewhere/);
    old.call.end();
    await waitFor(() => old.status(), { what: 'original stream status' });
  });
});
