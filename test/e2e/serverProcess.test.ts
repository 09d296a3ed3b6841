import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition, HealthCheckResponse_ServingStatus } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import reflectionGrpc from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_grpc_pb.js';
import reflectionPb from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';
import { ChatClient } from '../../src/client/ChatClient.js';
import { EventLog } from '../helpers/EventLog.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { settings } from '../../src/server/settings.js';

describe('the server process (npm start)', () => {
  let proc: ServerProcess | undefined;
  const closers: Array<() => void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await proc?.kill();
    proc = undefined;
  });

  it('--help prints the flags and every variable, and exits 0', async () => {
    proc = ServerProcess.spawn(['--help']);
    expect((await proc.waitExit()).code).toBe(0);
    const out = proc.stdout.join('\n');
    for (const flag of ['--host', '--port', '--help']) expect(out).toContain(flag);
    for (const s of settings) expect(out).toContain(s.env);
  });

  it('a bad setting stops start-up with a message naming the variable, the value and what is allowed', async () => {
    proc = ServerProcess.spawn([], { CHAT_QUEUE_EVENTS: 'lots' });
    expect((await proc.waitExit()).code).toBe(2);
    expect(proc.stderr.join('\n')).toMatch(/CHAT_QUEUE_EVENTS="lots" is not allowed: expected a whole number from \d+ to \d+/);
  });

  it('an unknown flag stops start-up with the usage', async () => {
    proc = ServerProcess.spawn(['--prot', '1']);
    expect((await proc.waitExit()).code).toBe(2);
    expect(proc.stderr.join('\n')).toMatch(/--prot/);
    expect(proc.stderr.join('\n')).toMatch(/Usage/);
  });

  it('serves health and reflection, logs each stream, and drains on SIGTERM: SERVER_SHUTDOWN, UNAVAILABLE, exit 0', async () => {
    proc = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], { CHAT_DRAIN_GRACE_MS: '3000' });
    const address = `127.0.0.1:${await proc.port()}`;

    const channel = createChannel(address);
    closers.push(() => channel.close());
    const health = createClient(HealthDefinition, channel);
    expect((await health.check({ service: 'chat.v1.ChatService' })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);

    const services = await listServices(address);
    expect(services).toEqual(expect.arrayContaining(['chat.v1.ChatService', 'grpc.health.v1.Health']));

    const client = new ChatClient(address);
    closers.push(() => client.close());
    const alice = new EventLog(client.openSession({ userId: 'alice' }));
    alice.session.join('general');
    await alice.joined('general');
    // A second stream that never reads must not hold the drain up past the grace period.
    const idle = client.openSession({ userId: 'idle' });
    idle.join('general');
    // nice-grpc starts a call when it is first read: read the JoinAck, then nothing more.
    await idle[Symbol.asyncIterator]().next();
    await alice.waitFor((e) => e.type === 'user_joined' && e.notice.userId === 'idle', 'idle to join');

    const started = Date.now();
    proc.child.kill('SIGTERM');
    const shutdown = await alice.waitFor((e) => e.type === 'notice' && e.notice.code === 'SERVER_SHUTDOWN', 'SERVER_SHUTDOWN');
    expect(shutdown.type).toBe('notice');
    expect((await alice.waitEnd()).code).toBe(grpc.status.UNAVAILABLE);
    expect((await proc.waitExit(10000)).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000 + 2000);

    const logs = proc.logs();
    const starts = logs.filter((l) => l.event === 'stream_start');
    const ends = logs.filter((l) => l.event === 'stream_end');
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(ends.map((l) => l.user)).toEqual(expect.arrayContaining(['alice']));
    expect(String(ends.find((l) => l.user === 'alice')!.reason)).toMatch(/UNAVAILABLE: SERVER_SHUTDOWN/);
    expect(logs.some((l) => l.event === 'drain_end')).toBe(true);
  });
});

/** Lists the services over grpc.reflection.v1 (what grpcurl does first). */
function listServices(address: string): Promise<string[]> {
  const Client = grpc.makeGenericClientConstructor(reflectionGrpc.ServerReflectionService, 'ServerReflection');
  const client = new Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      reflectionGrpc.ServerReflectionService.serverReflectionInfo.path,
      reflectionGrpc.ServerReflectionService.serverReflectionInfo.requestSerialize,
      reflectionGrpc.ServerReflectionService.serverReflectionInfo.responseDeserialize,
    );
    call.on('data', (response: InstanceType<typeof reflectionPb.ServerReflectionResponse>) => {
      resolve(response.getListServicesResponse()!.getServiceList().map((s) => s.getName()));
      call.end();
      client.close();
    });
    call.on('error', reject);
    call.write(new reflectionPb.ServerReflectionRequest().setListServices('*'));
  });
}
