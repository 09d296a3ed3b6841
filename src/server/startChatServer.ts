import { createServer, Status } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';
import { pino, type Logger } from 'pino';
import { ChatServiceDefinition, ListRoomsResponse } from '../../gen/chat/v1/chat.js';
import { Hub } from '../domain/Hub.js';
import { withTimeout } from '../lib/withTimeout.js';
import { authMiddleware } from './authMiddleware.js';
import { channelHandler } from './channel.js';
import { ChatTelemetry } from './ChatTelemetry.js';
import { tracingMiddleware } from './tracingMiddleware.js';
import { chatWireDefinition } from './chatWireDefinition.js';
import type { ServerConfig } from './config.js';
import { encodeBatch } from './encodeBatch.js';
import { encodeEvent } from './encodeEvent.js';
import { FramedWrite } from './FramedWrite.js';
import { frameMessages } from './frameMessages.js';
import { loadDescriptorSet } from './loadDescriptorSet.js';
import { PeerLimits } from './PeerLimits.js';
import { MAX_WRITE_BYTES } from './sessionWrites.js';
import { createTerminator } from './terminator.js';
import { tlsIdentityInterceptor } from './tlsIdentityInterceptor.js';
import { TlsCertificates } from './TlsCertificates.js';

/**
 * grpc.reflection.v1alpha, which grpcurl before 1.8.8 and other tools still ask
 * for: the same messages as v1 under the older package name, so v1's service
 * answers it as it is.
 */
const ServerReflectionV1alpha = {
  serverReflectionInfo: { ...ServerReflectionService.serverReflectionInfo, path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo' },
};

/** A running chat server. */
export interface ChatServer {
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /** The rooms and sessions, for inspection. */
  readonly hub: Hub;
  /**
   * Graceful drain: health goes NOT_SERVING, new streams are refused, every
   * stream gets SERVER_SHUTDOWN then UNAVAILABLE once its events are written;
   * after drainGraceMs whatever is still open is closed by force.
   */
  drain(): Promise<void>;
  /**
   * After drain, for a process that goes on (tests, embedders): stops reporting
   * this server's counts to the meter provider. The entry point skips it, so
   * the final export still has them.
   */
  dispose(): void;
  /**
   * Reads the TLS files again (SIGHUP): new connections get the new certificate,
   * open ones keep theirs. When the files cannot be used it logs why and keeps
   * the old ones (false); without TLS it does nothing (false).
   */
  reloadCertificates(): boolean;
}

const SERVICE = ChatServiceDefinition.fullName;

/** How the server is observed. */
export interface ServerOptions {
  /** Logs here instead of a pino logger at the configured level. */
  logger?: Logger;
  /** Record traces and metrics through @opentelemetry/api (the entry point started the SDK). */
  telemetry?: boolean;
  /**
   * This process is worker N of `--workers`: its log lines carry `worker: N`, and it
   * logs `worker_listening`, since its primary logs the one `listening` line for all.
   */
  worker?: number;
}

export async function startChatServer(config: ServerConfig, { logger, telemetry: observed = false, worker }: ServerOptions = {}): Promise<ChatServer> {
  const root = logger ?? pino({ level: config.logLevel });
  const log = worker === undefined ? root : root.child({ worker });
  // Coalesced writes need the grpc-js hook; without it (turned off, or a grpc-js
  // it was not checked against) every event is its own write, as grpc-js does.
  const refusal = config.coalesceWrites ? FramedWrite.install() : 'turned off (CHAT_COALESCE_WRITES=0)';
  const coalesce = refusal === undefined;
  if (config.coalesceWrites && !coalesce) log.warn({ event: 'coalesced_writes_off', reason: refusal });
  // With telemetry on, the encoders also time each event from sequenced to written.
  const packed = (pack: (frames: Uint8Array[]) => Uint8Array) => (observed ? (frames: Uint8Array[]) => telemetry.packed(pack(frames), frames) : pack);
  // Several servers share rooms through NATS JetStream; else every room lives here (and the NATS client is not even loaded).
  const backplane =
    config.natsServers &&
    (await (await import('./nats/NatsBackplane.js')).NatsBackplane.start({ servers: config.natsServers, replicas: config.natsReplicas, ttlMs: config.nodeTtlMs, historyEvents: config.limits.historyEvents, log }));
  const hub: Hub = new Hub({
    backplane,
    limits: config.limits,
    encode: observed ? (event) => telemetry.encoded(encodeEvent(event), event.kind === 'message') : encodeEvent,
    // A room's events packed once for all its members: one batch event for clients that
    // take batches, framed gRPC messages for the others; framed, so each stream writes
    // the shared bytes as they are.
    encodeBatch: packed(coalesce ? (frames) => frameMessages([encodeBatch(frames)]) : encodeBatch),
    encodeRun: coalesce ? packed(frameMessages) : undefined,
    maxRunBytes: MAX_WRITE_BYTES,
    onCutOff: observed ? (_session, cause) => telemetry.cutOff(cause) : undefined,
    onPause: observed ? (scope) => telemetry.paused(scope) : undefined,
  });
  const telemetry = new ChatTelemetry(observed, hub, config.traceDeliveries);
  const gate = { draining: false };
  const terminator = createTerminator();
  const health = HealthState();

  const plain = createServer({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxSendMessageBytes,
    // Ping idle connections and close those that do not answer, so a peer that
    // vanished without a FIN (half-open) has its streams ended and sessions freed
    // within keepaliveTimeMs + keepaliveTimeoutMs.
    'grpc.keepalive_time_ms': config.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': config.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
  });
  // The RPC span comes first, so everything below (our chat.* spans, log lines) happens inside it.
  const server = observed ? plain.use(tracingMiddleware) : plain;

  // Token auth on Channel and ListRooms only: health probes and reflection stay open. jose is loaded only with auth on.
  const verifier = config.auth && new (await import('./TokenVerifier.js')).TokenVerifier(config.auth);
  const chat = verifier ? server.with(authMiddleware(verifier, log)) : server;
  if (config.auth) log.info({ event: 'auth_on', key: config.auth.keyFrom, issuer: config.auth.issuer, audience: config.auth.audience });
  chat.add(chatWireDefinition, {
    channel: channelHandler(hub, gate, log, telemetry, { coalesce, tlsIdentity: config.tls !== undefined, verifier }, new PeerLimits(config.maxStreamsPerConnection, config.maxConnectionsPerIp)),
    async listRooms() {
      const started = performance.now();
      const response = ListRoomsResponse.fromPartial({ rooms: hub.listRooms() });
      telemetry.unary('ListRooms', performance.now() - started, Status.OK);
      return response;
    },
  });
  // Health watches and reflection streams stay open until the client ends them.
  server.with(terminator.middleware).add(HealthDefinition, HealthServiceImpl(health));
  const reflection = ServerReflection(loadDescriptorSet(), [SERVICE, 'grpc.health.v1.Health']);
  server.with(terminator.middleware).add(ServerReflectionService, reflection);
  server.with(terminator.middleware).add(ServerReflectionV1alpha, reflection);
  health.setStatus('healthy');
  health.setStatus('healthy', SERVICE);

  // Without TLS no interceptor (nor its cost per message), and the handler reads no identity from the metadata.
  const certificates = config.tls && new TlsCertificates(config.tls);
  const port = await server.listen(`${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`, certificates?.credentials([tlsIdentityInterceptor]));
  const tls = config.tls && (config.tls.clientCaFile === undefined ? 'on' : config.tls.requireClientCert ? 'mtls_required' : 'mtls_optional');
  log.info({ event: worker === undefined ? 'listening' : 'worker_listening', host: config.host, port, coalescedWrites: coalesce, tls: tls ?? 'off' });

  let drained: Promise<void> | undefined;
  async function drain(): Promise<void> {
    gate.draining = true;
    health.setStatus('unhealthy');
    health.setStatus('unhealthy', SERVICE);
    log.info({ event: 'drain_start', streams: hub.sessionCount, graceMs: config.drainGraceMs });
    const deadline = Date.now() + config.drainGraceMs;
    hub.drain();
    await withTimeout(hub.whenIdle(), config.drainGraceMs);
    // Its sessions' leaves are forwarded; then the rooms it owns go to other nodes.
    await backplane?.close();
    terminator.terminate();
    const closed = await withTimeout(server.shutdown(), Math.max(0, deadline - Date.now()));
    if (!closed) server.forceShutdown();
    hub.dispose();
    log.info({ event: 'drain_end', forced: !closed, streamsLeft: hub.sessionCount, backpressure: hub.backpressure });
  }

  return {
    port,
    hub,
    drain: () => (drained ??= drain()),
    dispose: () => telemetry.dispose(),
    reloadCertificates() {
      if (certificates === undefined) return false;
      try {
        certificates.reload();
      } catch (error) {
        log.error({ event: 'tls_reload_failed', error: (error as Error).message, keeping: 'the certificates loaded before' });
        return false;
      }
      log.info({ event: 'tls_reloaded', certFile: config.tls!.certFile });
      return true;
    },
  };
}
