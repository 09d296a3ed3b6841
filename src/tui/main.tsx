import { startTelemetry, TelemetryConfigError } from '../telemetry/startTelemetry.js';
import { parseTuiArgs, type TuiOptions, UsageError, USAGE, version } from './args.js';

/**
 * `chat-tui`: flags first, then telemetry (when OTEL_* variables or --otel ask
 * for it), then everything else, loaded after the SDK.
 */
async function main(): Promise<number> {
  let options: TuiOptions | 'help' | 'version';
  try {
    options = parseTuiArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chat-tui: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') return void process.stdout.write(`${USAGE}\n`), 0;
  if (options === 'version') return void process.stdout.write(`${version()}\n`), 0;

  // --otel: export to a collector on this machine unless an endpoint is set.
  if (options.otel) process.env.OTEL_EXPORTER_OTLP_ENDPOINT ||= 'http://localhost:4318';
  let telemetry;
  try {
    telemetry = await startTelemetry(process.env, 'chat-tui');
  } catch (error) {
    if (!(error instanceof TelemetryConfigError)) throw error;
    process.stderr.write(`chat-tui: ${error.message}\n`);
    return 2;
  }
  const { runChatTui } = await import('./runChatTui.js');
  try {
    return await runChatTui(options, { telemetry: telemetry !== undefined });
  } finally {
    // The last spans (the final sends) go out before the process ends.
    await telemetry?.shutdown();
  }
}

process.exitCode = await main();
