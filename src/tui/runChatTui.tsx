import { createInterface } from 'node:readline';
import { render } from 'ink';
import { ChatConnection } from '../client/ChatConnection.js';
import { tokenClaims } from '../client/tokenClaims.js';
import { type TuiOptions, userIdFrom } from './args.js';
import { App } from './components/App.js';
import { Setup } from './components/Setup.js';
import { lineMode } from './lineMode.js';

const ALT_SCREEN_ON = '\u001b[?1049h';
const ALT_SCREEN_OFF = '\u001b[?1049l';

/** Runs chat-tui with parsed options: the Ink client, or line mode with --plain or when stdin/stdout is not a terminal. */
export async function runChatTui(options: TuiOptions, { telemetry = false } = {}): Promise<number> {
  const plain = options.plain || !process.stdout.isTTY || !process.stdin.isTTY;
  // Line mode reads stdin as lines once: the questions and then the chat share it.
  const reader = plain ? createInterface({ input: process.stdin, terminal: false }) : undefined;
  try {
    return await run(options, reader?.[Symbol.asyncIterator](), telemetry);
  } finally {
    // Leaving the loop (/quit, an empty name) does not close readline: an open stdin would keep the process alive.
    reader?.close();
  }
}

async function run(options: TuiOptions, lines: AsyncIterator<string> | undefined, telemetry: boolean): Promise<number> {
  // With a token the server binds the stream to its sub and may take the name from it: no need to ask.
  const claims = typeof options.token === 'string' ? tokenClaims(options.token) : typeof options.token === 'function' ? tokenClaims(await options.token()) : {};
  let { name = claims.name ?? claims.subject, rooms } = options;
  if (name === undefined) {
    const answers = lines ? await askOnStdin(lines) : await askInInk();
    if (answers === undefined) return 0;
    ({ name } = answers);
    if (rooms.length === 0) rooms = [answers.room];
  }
  if (rooms.length === 0) rooms = ['general'];

  const connection = new ChatConnection({
    address: options.servers,
    identity: { userId: options.user ?? claims.subject ?? userIdFrom(name), displayName: name },
    history: options.history,
    // Notice a dead connection in seconds, not the library's default half-minute.
    client: { keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 5_000, telemetry, tls: options.tls, token: options.token },
  });
  for (const room of rooms) connection.join(room);

  if (lines) {
    return await lineMode(connection, { [Symbol.asyncIterator]: () => lines }, process.stdout);
  }
  // A full-screen app draws on the alternate screen, so the shell's own screen and
  // scrollback come back untouched when it exits.
  process.stdout.write(ALT_SCREEN_ON);
  try {
    const app = render(<App connection={connection} onQuit={() => {}} />, { exitOnCtrlC: false });
    await app.waitUntilExit();
  } finally {
    process.stdout.write(ALT_SCREEN_OFF);
  }
  return 0;
}

/** The original CLI's questions, on stdin: a name, then a room (general when empty). */
async function askOnStdin(lines: AsyncIterator<string>): Promise<{ name: string; room: string } | undefined> {
  process.stderr.write('Your name: ');
  const name = ((await lines.next()).value as string | undefined)?.trim();
  if (!name) return undefined;
  process.stderr.write('Room [general]: ');
  const room = ((await lines.next()).value as string | undefined)?.trim();
  return { name, room: room || 'general' };
}

/** The same questions as an Ink form. */
function askInInk(): Promise<{ name: string; room: string } | undefined> {
  return new Promise((resolve) => {
    let answered: { name: string; room: string } | undefined;
    const form = render(
      <Setup
        onDone={(answers) => {
          answered = answers;
          form.unmount();
        }}
      />,
      { exitOnCtrlC: false },
    );
    void form.waitUntilExit().then(() => resolve(answered));
  });
}

