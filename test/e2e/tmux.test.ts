import { fileURLToPath } from 'node:url';
import stringWidth from 'string-width';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ServerProcess } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/waitFor.js';
import { Tmux } from '../helpers/Tmux.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** A short drain, so a SIGTERM'd server is gone quickly. */
const serverEnv = { CHAT_DRAIN_GRACE_MS: '500' };
/** Ink draws live only when CI is not set to true (CI sets it). */
const clientEnv = { CI: '0', TERM: 'xterm-256color', LANG: 'C.UTF-8' };
/** The header (first row) once the client is connected. */
const connected = /^chat-grpc \S+ ● connected as /;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('chat-tui (the Ink UI) in tmux, against a server process', () => {
  let tmux: Tmux;
  let server: ServerProcess;
  let address: string;
  const servers: ServerProcess[] = [];
  const sessions: string[] = [];
  let run = 0;

  /** Starts chat-tui as `name` in `room` in a 100×30 tmux window; returns its session name. */
  const client = (name: string, room = 'lobby') => {
    const session = `${name}-${++run}`;
    tmux.start(session, [process.execPath, 'bin/chat-tui.js', '--name', name, '--room', room, '--server', address], clientEnv, { width: 100, height: 30, cwd: root });
    sessions.push(session);
    return session;
  };
  /** alice and bob in #lobby, each seeing the other in the members pane. */
  const pair = async () => {
    const alice = client('alice');
    await tmux.waitForText(alice, connected);
    await tmux.waitForText(alice, 'Welcome to #lobby, alice!');
    const bob = client('bob');
    await tmux.waitForText(bob, 'Welcome to #lobby, bob!');
    await tmux.waitForText(alice, 'Members (2)');
    return { alice, bob };
  };
  /** Types a line, waits for it in the input line, then presses Enter. */
  const enter = async (session: string, text: string) => {
    tmux.type(session, text);
    await tmux.waitForText(session, new RegExp(`^(#\\S+ )?> ${escape(text)}`, 'm'));
    tmux.sendKeys(session, 'Enter');
  };

  beforeAll(() => {
    // Fails (not skips) without tmux: CI installs it.
    tmux = new Tmux();
  });
  afterAll(() => tmux?.kill());
  beforeEach(async () => {
    server = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], serverEnv);
    servers.push(server);
    address = `127.0.0.1:${await server.port()}`;
  });
  afterEach(async () => {
    for (const session of sessions.splice(0)) tmux.killSession(session);
    await Promise.all(servers.splice(0).map((s) => s.kill()));
  });

  it('two clients see each other in the members pane, and what one types shows on the other', async () => {
    const { alice, bob } = await pair();
    for (const [session, me, other] of [[alice, 'alice', 'bob'], [bob, 'bob', 'alice']] as const) {
      const screen = await tmux.waitForText(session, 'Members (2)');
      expect(screen).toContain(`${me} (you)`);
      expect(screen).toMatch(new RegExp(`│${other} +│`));
    }
    await tmux.waitForText(alice, 'bob joined');

    await enter(alice, 'hello from alice');
    await tmux.waitForText(bob, /\d{2}:\d{2} alice +hello from alice/);
    await tmux.waitForText(alice, /\d{2}:\d{2} alice +hello from alice/);
    await enter(bob, 'hi alice');
    await tmux.waitForText(alice, /\d{2}:\d{2} bob +hi alice/);
  });

  it('follows a resize: every row fits the new width, and a narrow window drops the members pane, then the rooms pane', async () => {
    const { alice } = await pair();
    const rows = (screen: string) => screen.trimEnd().split('\n');
    /** Resizes, then waits for a whole redraw at that size: a bottom border exactly that wide, and no row wider. */
    const resized = (width: number, height: number) => {
      tmux.resize(alice, width, height);
      const bottom = new RegExp(`^╰.{${width - 2}}╯$`, 'm');
      return waitFor(
        () => {
          const screen = tmux.capture(alice);
          const lines = rows(screen);
          // One whole frame: the header on top, the panes' bottom border just above the input and hint lines.
          const whole = (lines[0] ?? '').startsWith('chat-grpc ') && bottom.test(lines[height - 3] ?? '') && lines.length <= height;
          // Nothing left of an older, wider frame: between the header and the bottom border, only pane rows.
          const clean = lines.slice(1, height - 3).every((row) => /^[╭│]/.test(row) && !row.includes('╰'));
          return whole && clean && lines.every((row) => stringWidth(row) <= width) && screen;
        },
        { what: `a redraw at ${width}×${height}` },
      );
    };

    let screen = await resized(80, 24);
    expect(rows(screen).length).toBeLessThanOrEqual(24);
    expect(screen).toContain('Members (2)');

    screen = await resized(50, 20);
    expect(screen).not.toContain('Members (');
    expect(screen).toContain('Rooms');

    screen = await resized(40, 16);
    expect(screen).not.toContain('Rooms');
    expect(screen).toContain('#lobby');

    // Shorter only, then larger again: Ink itself clears only when the width shrinks.
    await resized(40, 12);
    screen = await resized(100, 30);
    expect(screen).toContain('Members (2)');
  });

  it('/join annex shows the new room; Tab switches back; the rooms pane lists both and marks the active one', async () => {
    const { alice, bob } = await pair();
    await enter(alice, '/join annex');
    let screen = await tmux.waitForText(alice, '›#annex');
    expect(screen).toMatch(/│ #lobby +│/);
    await tmux.waitForText(alice, 'Welcome to #annex, alice!');
    await tmux.waitForText(alice, 'Members (1)');
    await tmux.waitForText(alice, /^#annex >/m);

    tmux.sendKeys(alice, 'Tab');
    screen = await tmux.waitForText(alice, '›#lobby');
    expect(screen).toMatch(/│ #annex +│/);
    expect(screen).toContain('Members (2)');
    await tmux.waitForText(alice, /^#lobby >/m);

    // What is typed goes to the room shown.
    await enter(alice, 'back in the lobby');
    await tmux.waitForText(bob, /alice +back in the lobby/);
  });

  it('a server restart shows "reconnecting in", then "connected", and a message sent afterwards arrives', async () => {
    const { alice, bob } = await pair();
    const port = Number(address.split(':')[1]);

    server.child.kill('SIGTERM');
    // No server can take the port before both have shown the countdown, so they cannot skip it.
    await tmux.waitForText(alice, /^chat-grpc \S+ ◌ reconnecting in \d+s/, 15000);
    await tmux.waitForText(bob, /^chat-grpc \S+ ◌ reconnecting in \d+s/, 15000);
    expect((await server.waitExit()).code).toBe(0);

    const restarted = ServerProcess.spawn(['--host', '127.0.0.1', '--port', String(port)], serverEnv);
    servers.push(restarted);
    expect(await restarted.port()).toBe(port);
    for (const session of [alice, bob]) {
      await tmux.waitForText(session, connected, 15000);
      await tmux.waitForText(session, 'back: the server restarted', 15000);
    }
    await tmux.waitForText(alice, 'Members (2)', 15000);

    await enter(alice, 'after the restart');
    await tmux.waitForText(bob, /alice +after the restart/);
  });

  it('the setup prompts take an Enter sent with the text, as a paste or `send-keys "Bob" Enter` does', async () => {
    const session = `setup-${++run}`;
    tmux.start(session, [process.execPath, 'bin/chat-tui.js', '--server', address], clientEnv, { width: 100, height: 30, cwd: root });
    sessions.push(session);
    await tmux.waitForText(session, 'Your name: ');
    // One send-keys call: the text and its Enter reach the client as one chunk.
    tmux.sendKeys(session, 'Bob', 'Enter');
    await tmux.waitForText(session, 'Room [general]: ');
    tmux.sendKeys(session, 'annex', 'Enter');
    await tmux.waitForText(session, connected);
    await tmux.waitForText(session, 'Welcome to #annex, Bob!');
  });

  it('Ctrl+C exits the client cleanly: its program ends with 0, the other sees "alice left"', async () => {
    const { alice, bob } = await pair();
    tmux.sendKeys(alice, 'C-c');
    expect(await tmux.waitExit(alice)).toBe(0);
    await tmux.waitForText(bob, 'alice left');
    await tmux.waitForText(bob, 'Members (1)');
  });
});
