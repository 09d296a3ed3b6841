import * as net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { HELP } from '../../src/tui/commands.js';
import { version } from '../../src/tui/args.js';
import { LineClient } from '../helpers/LineClient.js';
import { ServerProcess } from '../helpers/serverProcess.js';

/** A short drain, so a SIGTERM'd server is gone quickly. */
const serverEnv = { CHAT_DRAIN_GRACE_MS: '500' };

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `[HH:MM:SS] #room <name> text`: a message. */
const message = (room: string, name: string, text: string) => new RegExp(`^\\[\\d{2}:\\d{2}:\\d{2}\\] #${room} <${name}> ${escape(text)}$`);
/** `[HH:MM:SS] #room * text`: a notice (or `*` alone: the client's own line with no room shown). */
const notice = (room: string, text: string) => new RegExp(`^\\[\\d{2}:\\d{2}:\\d{2}\\] ${room === '' ? '\\*' : `#${room}`} \\* ${escape(text)}$`);
/** `[HH:MM:SS] #room ! text`: an error. */
const error = (room: string, text: string) => new RegExp(`^\\[\\d{2}:\\d{2}:\\d{2}\\] #${room} ! ${escape(text)}$`);

describe('chat-tui line mode, on pipes, against a server process', () => {
  let server: ServerProcess;
  let address: string;
  const servers: ServerProcess[] = [];
  const clients: LineClient[] = [];

  const client = (args: string[], env: Record<string, string> = {}) => {
    const c = LineClient.spawn([...args, '--server', address], env);
    clients.push(c);
    return c;
  };
  /** A --plain client with a name in one room, once its JoinAck is shown. */
  const joined = async (name: string, room = 'lobby') => {
    const c = client(['--plain', '--name', name, '--room', room]);
    await c.waitForLine(notice(room, `Welcome to #${room}, ${name}!`));
    return c;
  };

  beforeEach(async () => {
    server = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], serverEnv);
    servers.push(server);
    address = `127.0.0.1:${await server.port()}`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.kill()));
    await Promise.all(servers.splice(0).map((s) => s.kill()));
  });

  it('two clients in a room see each other come in and talk, one line per event', async () => {
    const alice = await joined('alice');
    expect(alice.stdout[0]).toMatch(/^\[\d{2}:\d{2}:\d{2}\] \* ● connected$/);
    const bob = await joined('bob');
    await alice.waitForLine(notice('lobby', 'bob joined'));

    alice.say('hello bob');
    await bob.waitForLine(message('lobby', 'alice', 'hello bob'));
    await alice.waitForLine(message('lobby', 'alice', 'hello bob'));
    bob.say('hi alice');
    await alice.waitForLine(message('lobby', 'bob', 'hi alice'));
    // `//` sends a line that starts with a slash.
    bob.say('//not a command');
    await alice.waitForLine(message('lobby', 'bob', '/not a command'));

    // Every line is stamped and placed: [HH:MM:SS] then the room (or * for the client itself).
    for (const line of [...alice.stdout, ...bob.stdout]) expect(line).toMatch(/^\[\d{2}:\d{2}:\d{2}\] (#[\w.-]+|\*) /);
  });

  it('messages piped with an immediate end of input still go out before it leaves (like `printf hi | chat-tui`)', async () => {
    const bob = await joined('bob');
    const alice = client(['--plain', '--name', 'alice', '--room', 'lobby']);
    // Written and closed at once: the lines arrive before the JoinAck, the EOF right after them.
    alice.say('first');
    alice.say('second');
    alice.end();
    await bob.waitForLine(message('lobby', 'alice', 'first'));
    await bob.waitForLine(message('lobby', 'alice', 'second'));
    await bob.waitForLine(notice('lobby', 'alice left'));
    expect((await alice.waitExit()).code).toBe(0);
  });

  it('answers /who, /rooms, /help, /join, /leave and an unknown command on stdout', async () => {
    const alice = await joined('alice');
    const bob = await joined('bob');
    await alice.waitForLine(notice('lobby', 'bob joined'));

    alice.say('/who');
    await alice.waitForLine(notice('lobby', '2 in #lobby: alice, bob'));

    alice.say('/rooms');
    const rooms = await alice.waitForLine(notice('lobby', '1 room on the server:'));
    await alice.waitForLine(/^\[\d{2}:\d{2}:\d{2}\] #lobby \* {3}#lobby: 2 members, \d+ events$/, { from: rooms });

    alice.say('/help');
    const help = alice.stdout.length;
    for (const line of HELP) await alice.waitForLine(notice('lobby', line), { from: help });

    alice.say('/bogus');
    await alice.waitForLine(error('lobby', 'unknown command /bogus: /help lists them'));
    alice.say('/join');
    await alice.waitForLine(error('lobby', 'usage: /join ROOM'));

    // /join shows the new room: what is typed next goes there, not to #lobby.
    alice.say('/join annex');
    await alice.waitForLine(notice('annex', 'Welcome to #annex, alice!'));
    alice.say('in the annex');
    await alice.waitForLine(message('annex', 'alice', 'in the annex'));
    alice.say('/rooms');
    const twoRooms = await alice.waitForLine(notice('annex', '2 rooms on the server:'));
    await alice.waitForLine(/ \* {3}#annex: 1 member, \d+ events$/, { from: twoRooms });
    await alice.waitForLine(/ \* {3}#lobby: 2 members, \d+ events$/, { from: twoRooms });

    // /leave with no room leaves the one shown; #lobby is shown again.
    alice.say('/leave');
    await alice.waitForLine(notice('lobby', 'left #annex'));
    alice.say('/leave nowhere');
    await alice.waitForLine(error('lobby', 'not in #nowhere'));
    alice.say('back in the lobby');
    await bob.waitForLine(message('lobby', 'alice', 'back in the lobby'));
    expect(bob.stdout.some((line) => line.includes('in the annex'))).toBe(false);

    // Leaving the last room: nothing is shown, and a message has nowhere to go.
    alice.say('/leave lobby');
    await bob.waitForLine(notice('lobby', 'alice left'));
    await alice.waitForLine(/^\[\d{2}:\d{2}:\d{2}\] \* \* left #lobby$/);
    alice.say('anyone?');
    await alice.waitForLine(/^\[\d{2}:\d{2}:\d{2}\] \* ! not in a room: \/join one first$/);
  });

  it('end of input leaves (the other sees "alice left") and exits 0', async () => {
    const alice = await joined('alice');
    const bob = await joined('bob');
    await alice.waitForLine(notice('lobby', 'bob joined'));

    alice.end();
    await bob.waitForLine(notice('lobby', 'alice left'));
    expect(await alice.waitExit()).toEqual({ code: 0, signal: null });
  });

  it('/quit leaves and exits 0 with stdin still open', async () => {
    const alice = await joined('alice');
    const bob = await joined('bob');
    await alice.waitForLine(notice('lobby', 'bob joined'));

    alice.say('/quit');
    await bob.waitForLine(notice('lobby', 'alice left'));
    expect(await alice.waitExit()).toEqual({ code: 0, signal: null });
  });

  it('without --name the first stdin line is the name and the second the room (empty: general)', async () => {
    const carol = client([]);
    carol.say('carol');
    carol.say('');
    await carol.waitForLine(notice('general', 'Welcome to #general, carol!'));
    expect(carol.stderrText).toContain('Your name: ');
    expect(carol.stderrText).toContain('Room [general]: ');

    const dave = client([]);
    dave.say('dave');
    dave.say('den');
    await dave.waitForLine(notice('den', 'Welcome to #den, dave!'));
    dave.say('hello den');
    await dave.waitForLine(message('den', 'dave', 'hello den'));
    expect(carol.stdout.some((line) => line.includes('hello den'))).toBe(false);
  });

  it('an empty name exits 0 even with stdin still open', async () => {
    const nobody = client([]);
    nobody.say('');
    expect(await nobody.waitExit()).toEqual({ code: 0, signal: null });
  });

  it('end of input before a name is given exits 0 without connecting', async () => {
    const nobody = client([]);
    nobody.end();
    expect(await nobody.waitExit()).toEqual({ code: 0, signal: null });
    expect(nobody.stdout.filter((line) => line !== '')).toEqual([]);
  });

  it('uses line mode without --plain when stdout is not a terminal', async () => {
    const bob = await joined('bob');
    // CI=0: not the CI switch, the pipe is what makes it line mode.
    const alice = client(['--name', 'alice', '--room', 'lobby'], { CI: '0', TERM: 'xterm-256color' });
    await alice.waitForLine(notice('lobby', 'Welcome to #lobby, alice!'));
    await bob.waitForLine(notice('lobby', 'alice joined'));
    alice.say('piped');
    await bob.waitForLine(message('lobby', 'alice', 'piped'));
    // No escape sequences from Ink: plain lines only.
    expect(alice.stdout.join('\n')).not.toMatch(/\u001b\[/);
  });

  it('survives a server restart on the same port: reconnecting, "the server restarted", then messages flow again', async () => {
    const port = Number(address.split(':')[1]);
    const alice = await joined('alice');

    server.child.kill('SIGTERM');
    await alice.waitForLine(notice('lobby', 'the server is shutting down; reconnect and resume'), { timeoutMs: 15000 });
    const down = await alice.waitForLine(/^\[\d{2}:\d{2}:\d{2}\] \* ◌ reconnecting in \d+s \(attempt \d+\)$/, { timeoutMs: 15000 });
    expect((await server.waitExit()).code).toBe(0);

    // The client cannot get back before this: its "connected" below is the new server's.
    const restarted = ServerProcess.spawn(['--host', '127.0.0.1', '--port', String(port)], serverEnv);
    servers.push(restarted);
    expect(await restarted.port()).toBe(port);
    await alice.waitForLine(/^\[\d{2}:\d{2}:\d{2}\] \* ● connected$/, { from: down, timeoutMs: 15000 });
    await alice.waitForLine(error('lobby', 'back: the server restarted, so messages from before are gone'), { from: down, timeoutMs: 15000 });

    const carol = await joined('carol');
    await alice.waitForLine(notice('lobby', 'carol joined'), { from: down });
    alice.say('after the restart');
    await carol.waitForLine(message('lobby', 'alice', 'after the restart'));
    // The restart's history is gone, and the client does not also claim nothing was missed.
    expect(alice.stdout.filter((line) => line.includes('nothing was missed'))).toEqual([]);
  });
});

describe('chat-tui flags', () => {
  const clients: LineClient[] = [];
  const run = async (args: string[]) => {
    const c = LineClient.spawn(args);
    clients.push(c);
    c.end();
    return { ...(await c.waitExit()), stdout: c.stdout.join('\n'), stderr: c.stderrText };
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.kill()));
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: chat-tui \[options\]/);
    for (const flag of ['--server', '--name', '--user', '--room', '--history', '--plain', '--help', '--version']) expect(stdout).toContain(flag);
  });

  it('--version prints the package version and exits 0', async () => {
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(version());
  });

  it('an unknown flag exits 2 with the problem and the usage on stderr', async () => {
    const { code, stdout, stderr } = await run(['--bogus']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^chat-tui: .*--bogus/);
    expect(stderr).toContain('Usage: chat-tui');
    expect(stdout).toBe('');
  });

  it('end of input while the server is unreachable exits 0 at once, not after a connect deadline', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const alice = LineClient.spawn(['--plain', '--name', 'alice', '--server', `127.0.0.1:${port}`]);
    clients.push(alice);
    await alice.waitForLine(/^\[\d{2}:\d{2}:\d{2}\] \* ◌ reconnecting in \d+s \(attempt 1\)$/);
    alice.end();
    expect(await alice.waitExit(5000)).toEqual({ code: 0, signal: null });
  });

  it('a bad --server or --history exits 2 saying what is wrong', async () => {
    const server = await run(['--server', 'nowhere']);
    expect(server.code).toBe(2);
    expect(server.stderr).toContain('chat-tui: --server must be HOST:PORT, not "nowhere"');
    const history = await run(['--history', 'lots', '--server', '127.0.0.1:1']);
    expect(history.code).toBe(2);
    expect(history.stderr).toContain('chat-tui: --history must be a whole number from 0 to 1000, not "lots"');
  });
});
