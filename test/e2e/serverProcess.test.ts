import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { JsonValue } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition, HealthCheckResponse_ServingStatus } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import { ChatClient } from '../../src/client/ChatClient.js';
import { EventLog } from '../helpers/EventLog.js';
import { ReflectionClient } from '../helpers/ReflectionClient.js';
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

    const reflection = new ReflectionClient(address);
    closers.push(() => reflection.close());
    const services = await reflection.list();
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

  /**
   * grpcurl, through reflection alone, as docs/operating.md shows it. Debian has
   * no grpcurl package, so ReflectionClient takes its steps with nothing of
   * chat.v1 compiled in: list, fetch the defining files, build the messages from
   * JSON, print protojson. Every command of the docs' transcript is run and its
   * output compared, with only the random epoch and the clock left out.
   */
  it.each(['v1', 'v1alpha'] as const)("grpcurl's transcript in docs/operating.md holds, over reflection %s", async (version) => {
    proc = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], { CHAT_DRAIN_GRACE_MS: '500' });
    const address = `127.0.0.1:${await proc.port()}`;
    const chat = new ChatClient(address);
    closers.push(() => chat.close());
    const alice = new EventLog(chat.openSession({ userId: 'alice' }));
    alice.session.join('general');
    await alice.joined('general');

    const grpcurl = new ReflectionClient(address, version);
    closers.push(() => grpcurl.close());
    const service = (await grpcurl.registryFor('chat.v1.ChatService')).getService('chat.v1.ChatService')!;
    expect(service.methods.map((m) => [m.name, m.methodKind, m.input.typeName, m.output.typeName])).toEqual([
      ['Channel', 'bidi_streaming', 'chat.v1.ClientEnvelope', 'chat.v1.ServerEvent'],
      ['ListRooms', 'unary', 'chat.v1.ListRoomsRequest', 'chat.v1.ListRoomsResponse'],
    ]);

    const transcript = grpcurlTranscript();
    expect(transcript.map((step) => step.method)).toEqual(['list', 'chat.v1.ChatService/Channel', 'chat.v1.ChatService/ListRooms', 'grpc.health.v1.Health/Check']);
    for (const step of transcript) {
      let printed: string;
      if (step.method === 'list') printed = (await grpcurl.list()).join('\n');
      else if (step.stdin) {
        const answer = await grpcurl.stream(step.method, step.stdin);
        expect(answer.status.code).toBe(grpc.status.OK);
        printed = answer.printed;
      } else printed = await grpcurl.invoke(step.method, step.data ?? {});
      expect({ command: step.command, output: unclocked(printed) }).toEqual({ command: step.command, output: unclocked(step.output) });
    }
    await alice.waitFor((e) => e.type === 'message' && e.message.content === 'hello from grpcurl', "curl's line");
  });
});

/** One `$ grpcurl …` line of the docs' transcript, with what it printed. */
interface GrpcurlStep {
  command: string;
  method: string;
  data?: JsonValue;
  stdin?: JsonValue[];
  output: string;
}

/** The transcript between docs/operating.md's grpcurl markers. */
function grpcurlTranscript(): GrpcurlStep[] {
  const doc = readFileSync(new URL('../../docs/operating.md', import.meta.url), 'utf8');
  const block = /<!-- grpcurl[^>]*-->\s*```console\n([\s\S]*?)```\s*<!-- \/grpcurl -->/.exec(doc)?.[1];
  if (block === undefined) throw new Error('docs/operating.md has no grpcurl transcript between <!-- grpcurl --> and <!-- /grpcurl -->');
  return block.split(/^\$ /m).filter(Boolean).map((chunk) => {
    const [command, ...output] = chunk.trimEnd().split('\n') as [string, ...string[]];
    const stdin = /^printf '%s\\n' (.*) \| grpcurl -plaintext -d @ 127\.0\.0\.1:50051 (\S+)$/.exec(command);
    if (stdin) return { command, method: stdin[2]!, stdin: [...stdin[1]!.matchAll(/'([^']*)'/g)].map((m) => JSON.parse(m[1]!) as JsonValue), output: output.join('\n') };
    const call = /^grpcurl -plaintext (?:-d '([^']*)' )?127\.0\.0\.1:50051 (\S+)$/.exec(command);
    if (!call) throw new Error(`not a grpcurl command the test knows: ${command}`);
    return { command, method: call[2]!, data: call[1] === undefined ? undefined : (JSON.parse(call[1]) as JsonValue), output: output.join('\n') };
  });
}

/** Output without what differs run to run: the room's random epoch and the server's clock. */
function unclocked(printed: string): string {
  return printed.replace(/("epoch": )"[^"]*"/g, '$1"…"').replace(/("timestampUtc": )"\d+"/g, '$1"…"');
}
