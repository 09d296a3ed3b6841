import { describe, expect, it } from '@jest/globals';
import type { ConnectionEvent } from '../../src/client/ConnectionEvent.js';
import { ChatModel, MAX_LINES, type ViewLine } from '../../src/tui/ChatModel.js';
import { error, generic, joined, message, modelWith, payload, presence } from './events.js';

const ESC = '\x1b';
const texts = (lines: ViewLine[]) => lines.map((l) => l.text);
const lastText = (lines: ViewLine[]) => lines.at(-1)?.text;

describe('ChatModel', () => {
  describe('joined', () => {
    it('takes the members, the history in order and then the welcome, and shows the first room joined', () => {
      const model = modelWith(
        joined('lobby', {
          members: [{ userId: 'me', displayName: 'Me' }, { userId: 'bob', displayName: 'Bob' }, { userId: 'carol', displayName: '' }],
          history: [payload('lobby', { content: 'old one' }), payload('lobby', { content: 'old two', userId: 'me', displayName: 'Me' })],
          welcomeMessage: 'Welcome to #lobby, 3 here',
        }),
      );
      expect(model.active).toBe('lobby');
      const room = model.activeRoom!;
      expect([...room.members]).toEqual([['me', 'Me'], ['bob', 'Bob'], ['carol', 'carol']]);
      expect(room.lines.map((l) => [l.kind, l.sender, l.text])).toEqual([
        ['message', 'Bob', 'old one'],
        ['own', 'Me', 'old two'],
        ['notice', '', 'Welcome to #lobby, 3 here'],
      ]);
      expect(room.unread).toBe(0);
    });

    it('says "joined #room" when the server sends no welcome', () => {
      const model = modelWith(joined('lobby', { welcomeMessage: '' }));
      expect(texts(model.shownLines)).toEqual(['joined #lobby']);
    });

    it('keeps history timestamps from the server', () => {
      const model = modelWith(joined('lobby', { history: [payload('lobby', { timestampUtc: 1_700_000_000_000 })] }));
      expect(model.shownLines[0]!.at).toBe(1_700_000_000_000);
    });

    it('on a rejoin (after a reconnect) refreshes the members without repeating history or welcome', () => {
      const model = modelWith(joined('lobby', { history: [payload('lobby', { content: 'once' })] }));
      const before = texts(model.shownLines);
      model.apply(joined('lobby', { members: [{ userId: 'me', displayName: 'Me' }, { userId: 'dan', displayName: 'Dan' }], history: [payload('lobby', { content: 'once' })] }));
      expect(texts(model.shownLines)).toEqual(before);
      expect([...model.activeRoom!.members.values()]).toEqual(['Me', 'Dan']);
    });

    it('keeps showing the first room when another is joined, unless /join asked to show it', () => {
      const model = modelWith(joined('lobby'), joined('annex'));
      expect(model.active).toBe('lobby');
      expect([...model.rooms.keys()]).toEqual(['lobby', 'annex']);

      model.showWhenJoined('third');
      expect(model.target).toBe('third');
      model.apply(joined('third'));
      expect(model.active).toBe('third');
      expect(model.target).toBe('third');
    });
  });

  describe('messages', () => {
    it('adds messages from others and own copies, in order', () => {
      const model = modelWith(joined('lobby'), message('lobby', { content: 'hi' }), message('lobby', { userId: 'me', displayName: 'Me', content: 'hello' }));
      expect(model.shownLines.slice(-2).map((l) => [l.kind, l.senderId, l.sender, l.text])).toEqual([
        ['message', 'bob', 'Bob', 'hi'],
        ['own', 'me', 'Me', 'hello'],
      ]);
    });

    it('names a sender without a display name by their user id', () => {
      const model = modelWith(joined('lobby'), message('lobby', { userId: 'eve', displayName: '' }));
      expect(model.shownLines.at(-1)!.sender).toBe('eve');
    });

    it('ignores messages for rooms it does not know', () => {
      const model = modelWith(joined('lobby'));
      const before = model.shownLines.length;
      model.apply(message('elsewhere'));
      expect(model.shownLines).toHaveLength(before);
      expect(model.rooms.has('elsewhere')).toBe(false);
    });

    it('shows a send as pending until the server’s copy with the same client_msg_id arrives', () => {
      const model = modelWith(joined('lobby'));
      model.apply({ type: 'pending', room: 'lobby', clientMsgId: 'c1', content: 'on its way' });
      const pending = [...model.activeRoom!.pending.values()];
      expect(pending.map((l) => [l.kind, l.sender, l.text])).toEqual([['pending', 'Me', 'on its way']]);
      expect(texts(model.shownLines)).not.toContain('on its way');

      model.apply(message('lobby', { userId: 'me', displayName: 'Me', content: 'on its way', clientMsgId: 'c1' }));
      expect(model.activeRoom!.pending.size).toBe(0);
      expect(model.shownLines.at(-1)).toMatchObject({ kind: 'own', text: 'on its way' });
    });

    it('drops a pending send the server refused, and says why in that room', () => {
      const model = modelWith(joined('lobby'));
      model.apply({ type: 'pending', room: 'lobby', clientMsgId: 'c2', content: 'too fast' });
      model.apply(error('lobby', 'RATE_LIMITED', 'slow down', 'c2'));
      expect(model.activeRoom!.pending.size).toBe(0);
      expect(model.shownLines.at(-1)).toMatchObject({ kind: 'error', text: 'RATE_LIMITED: slow down' });
    });
  });

  describe('unread counts', () => {
    it('counts messages in rooms not shown, and resets when the room is shown', () => {
      const model = modelWith(joined('lobby'), joined('annex'));
      model.apply(message('annex'));
      model.apply(message('annex'));
      model.apply(message('lobby'));
      expect(model.rooms.get('annex')!.unread).toBe(2);
      expect(model.rooms.get('lobby')!.unread).toBe(0);

      model.show('annex');
      expect(model.rooms.get('annex')!.unread).toBe(0);
      model.apply(message('lobby'));
      expect(model.rooms.get('lobby')!.unread).toBe(1);
    });

    it('does not count notices as unread', () => {
      const model = modelWith(joined('lobby'), joined('annex'));
      model.apply(presence('user_joined', 'annex', 'dan', 'Dan'));
      expect(model.rooms.get('annex')!.unread).toBe(0);
    });
  });

  describe('presence', () => {
    it('adds and removes members and says so in the room', () => {
      const model = modelWith(joined('lobby'));
      model.apply(presence('user_joined', 'lobby', 'dan', 'Dan'));
      expect(model.activeRoom!.members.get('dan')).toBe('Dan');
      expect(lastText(model.shownLines)).toBe('Dan joined');

      model.apply(presence('user_left', 'lobby', 'dan', 'Dan'));
      expect(model.activeRoom!.members.has('dan')).toBe(false);
      expect(lastText(model.shownLines)).toBe('Dan left');
    });

    it('uses the user id when the notice has no display name', () => {
      const model = modelWith(joined('lobby'), presence('user_joined', 'lobby', 'dan'));
      expect(lastText(model.shownLines)).toBe('dan joined');
    });

    it('ignores presence in rooms it does not know', () => {
      const model = modelWith(joined('lobby'));
      const before = model.shownLines.length;
      model.apply(presence('user_joined', 'elsewhere', 'dan', 'Dan'));
      expect(model.shownLines).toHaveLength(before);
    });
  });

  describe('errors and notices', () => {
    it('puts an error about a joined room in that room, even when another is shown', () => {
      const model = modelWith(joined('lobby'), joined('annex'));
      model.apply(error('annex', 'NOT_JOINED', 'not in annex'));
      expect(lastText(model.rooms.get('annex')!.lines)).toBe('NOT_JOINED: not in annex');
      expect(texts(model.rooms.get('lobby')!.lines)).not.toContain('NOT_JOINED: not in annex');
    });

    it('puts an error about a room not joined in the room shown, naming the room', () => {
      const model = modelWith(joined('lobby'), error('x'.repeat(70), 'INVALID_ROOM', 'room is longer than 64 characters'));
      const line = model.shownLines.at(-1)!;
      expect(line.kind).toBe('error');
      expect(line.text).toMatch(/^INVALID_ROOM \(#x+…\): room is longer than 64 characters$/);
    });

    it('does not name the room for a stream-wide error, and says ERROR when there is no code', () => {
      const model = modelWith(joined('lobby'), error('', '', 'something broke'));
      expect(lastText(model.shownLines)).toBe('ERROR: something broke');
    });

    it('keeps errors in its own lines while no room is shown', () => {
      const model = modelWith(error('bad', 'INVALID_ROOM', 'no'));
      expect(model.activeRoom).toBeUndefined();
      expect(model.shownLines).toBe(model.system);
      expect(model.system.map((l) => [l.kind, l.text])).toEqual([['error', 'INVALID_ROOM (#bad): no']]);
    });

    it('after a refused /join, sends go to the room shown again, not the refused one', () => {
      const model = modelWith(joined('lobby'));
      model.showWhenJoined('bad');
      expect(model.target).toBe('bad');
      model.apply(error('bad', 'INVALID_ROOM', 'room may hold only letters'));
      expect(model.target).toBe('lobby');
    });

    it('puts a generic notice in its room', () => {
      const model = modelWith(joined('lobby'));
      model.apply(generic('lobby', 'server says hi'));
      expect(model.shownLines.at(-1)).toMatchObject({ kind: 'notice', text: 'server says hi' });
    });
  });

  describe('reconnects', () => {
    it('says the connection was lost (once per outage) and why', () => {
      const model = modelWith(joined('lobby'));
      model.apply({ type: 'state', state: { kind: 'reconnecting', attempt: 1, at: Date.now() + 1000, reason: 'UNAVAILABLE: gone', address: 'a:1' } });
      model.apply({ type: 'state', state: { kind: 'reconnecting', attempt: 2, at: Date.now() + 2000, reason: 'UNAVAILABLE: still gone', address: 'b:2' } });
      const lost = model.shownLines.filter((l) => l.text.startsWith('connection lost'));
      expect(lost.map((l) => [l.kind, l.text])).toEqual([['error', 'connection lost (UNAVAILABLE: gone); reconnecting']]);
      expect(model.connection).toMatchObject({ kind: 'reconnecting', attempt: 2 });
    });

    it('says so again after the next outage', () => {
      const model = modelWith(joined('lobby'));
      for (const kind of ['reconnecting', 'connecting', 'connected', 'reconnecting'] as const) {
        model.apply({ type: 'state', state: kind === 'reconnecting' ? { kind, attempt: 1, at: 0, reason: 'r', address: 'a:1' } : { kind, address: 'a:1' } });
      }
      expect(model.shownLines.filter((l) => l.text.startsWith('connection lost'))).toHaveLength(2);
    });

    it('keeps the server each state names (the one in use or tried next), and the last one once closed', () => {
      const model = modelWith(joined('lobby'));
      expect(model.server).toBe('');
      model.apply({ type: 'state', state: { kind: 'connected', address: 'a:1' } });
      expect(model.server).toBe('a:1');
      model.apply({ type: 'state', state: { kind: 'reconnecting', attempt: 1, at: 0, reason: 'r', address: 'b:2' } });
      expect(model.server).toBe('b:2');
      model.apply({ type: 'state', state: { kind: 'closed' } });
      expect(model.server).toBe('b:2');
    });

    it('says when it is disconnected for good, and not when closed by the user', () => {
      const model = modelWith(joined('lobby'));
      model.apply({ type: 'state', state: { kind: 'closed' } });
      expect(model.shownLines.some((l) => l.text.startsWith('disconnected'))).toBe(false);
      model.apply({ type: 'state', state: { kind: 'closed', reason: 'INVALID_ARGUMENT: bad user id' } });
      expect(model.shownLines.at(-1)).toMatchObject({ kind: 'error', text: 'disconnected for good: INVALID_ARGUMENT: bad user id' });
    });

    it('says how many missed messages a resume restored', () => {
      const model = modelWith(joined('lobby'));
      model.apply({ type: 'resumed', room: 'lobby', restored: 3, complete: true });
      expect(lastText(model.shownLines)).toBe('back: 3 missed messages restored');
      model.apply({ type: 'resumed', room: 'lobby', restored: 1, complete: true });
      expect(lastText(model.shownLines)).toBe('back: 1 missed message restored');
      model.apply({ type: 'resumed', room: 'lobby', restored: 0, complete: true });
      expect(lastText(model.shownLines)).toBe('back: nothing was missed');
      expect(model.shownLines.at(-1)!.kind).toBe('notice');
    });

    it('after an incomplete resume it never says nothing was missed, only what still came back', () => {
      const model = modelWith(joined('lobby'));
      model.apply({ type: 'missed', room: 'lobby', missed: 0, restarted: true });
      const before = model.shownLines.length;
      model.apply({ type: 'resumed', room: 'lobby', restored: 0, complete: false });
      expect(model.shownLines).toHaveLength(before);
      model.apply({ type: 'resumed', room: 'lobby', restored: 2, complete: false });
      expect(lastText(model.shownLines)).toBe('back: 2 messages the server still held restored');
      expect(model.shownLines.some((l) => l.text === 'back: nothing was missed')).toBe(false);
    });

    it('reports lost events, or a server restart, as errors', () => {
      const model = modelWith(joined('lobby'));
      model.apply({ type: 'missed', room: 'lobby', missed: 7, restarted: false });
      expect(model.shownLines.at(-1)).toMatchObject({ kind: 'error', text: 'back: 7 events were lost while away (no longer held by the server)' });
      model.apply({ type: 'missed', room: 'lobby', missed: 1, restarted: false });
      expect(lastText(model.shownLines)).toBe('back: 1 event was lost while away (no longer held by the server)');
      model.apply({ type: 'missed', room: 'lobby', missed: 0, restarted: true });
      expect(lastText(model.shownLines)).toBe('back: the server restarted, so messages from before are gone');
    });

    it('ignores resumed and missed for rooms it does not know', () => {
      const model = modelWith(joined('lobby'));
      const before = model.shownLines.length;
      model.apply({ type: 'resumed', room: 'other', restored: 2, complete: true });
      model.apply({ type: 'missed', room: 'other', missed: 2, restarted: false });
      expect(model.shownLines).toHaveLength(before);
      expect(model.system).toHaveLength(0);
    });
  });

  describe('rooms', () => {
    it('cycles through rooms in join order, both ways, wrapping around', () => {
      const model = modelWith(joined('a'), joined('b'), joined('c'));
      const seen: Array<string | undefined> = [];
      for (let i = 0; i < 4; i++) {
        model.cycle(1);
        seen.push(model.active);
      }
      expect(seen).toEqual(['b', 'c', 'a', 'b']);
      model.cycle(-1);
      model.cycle(-1);
      expect(model.active).toBe('c');
    });

    it('shows another room when the one shown is left, and none when the last is', () => {
      const model = modelWith(joined('a'), joined('b'));
      model.remove('a');
      expect(model.active).toBe('b');
      model.remove('b');
      expect(model.active).toBeUndefined();
      expect(model.shownLines).toBe(model.system);
    });

    it('says its own lines in the room shown', () => {
      const model = modelWith(joined('lobby'));
      model.say('hello from the client');
      model.say('that went wrong', 'error');
      expect(model.shownLines.slice(-2).map((l) => [l.kind, l.text])).toEqual([
        ['notice', 'hello from the client'],
        ['error', 'that went wrong'],
      ]);
    });
  });

  it('changes its version whenever something visible changed', () => {
    const model = new ChatModel({ userId: 'me' });
    const versions = [model.version];
    model.apply(joined('lobby'));
    versions.push(model.version);
    model.apply(message('lobby'));
    versions.push(model.version);
    model.say('x');
    versions.push(model.version);
    model.show('lobby');
    versions.push(model.version);
    expect(new Set(versions).size).toBe(versions.length);
  });

  it(`keeps at most ${MAX_LINES} lines per room, dropping the oldest`, () => {
    const model = modelWith(joined('lobby', { welcomeMessage: 'first line' }));
    for (let i = 0; i < MAX_LINES + 10; i++) model.apply(message('lobby', { content: `m${i}` }));
    const lines = model.shownLines;
    expect(lines).toHaveLength(MAX_LINES);
    expect(lines[0]!.text).toBe('m10');
    expect(lines.at(-1)!.text).toBe(`m${MAX_LINES + 9}`);
  });

  it(`keeps at most ${MAX_LINES} of its own lines too`, () => {
    const model = new ChatModel({ userId: 'me' });
    for (let i = 0; i < MAX_LINES + 3; i++) model.say(`s${i}`);
    expect(model.system).toHaveLength(MAX_LINES);
    expect(model.system[0]!.text).toBe('s3');
  });

  it('sanitizes every name and text from the network: no escape character reaches a line', () => {
    const hostile = `${ESC}[2J${ESC}]0;pwned\x07\x9b31m\u202Eevil\u200B`;
    const model = new ChatModel({ userId: 'me', displayName: `me${ESC}[5m` });
    const events: ConnectionEvent[] = [
      joined('lobby', { members: [{ userId: 'x', displayName: hostile }], history: [payload('lobby', { displayName: hostile, content: hostile })], welcomeMessage: hostile }),
      message('lobby', { displayName: hostile, content: `${hostile}\nsecond line` }),
      presence('user_joined', 'lobby', 'y', hostile),
      error('lobby', 'X', hostile),
      error(`room${ESC}[2J`, 'INVALID_ROOM', hostile),
      generic('lobby', hostile),
      { type: 'pending', room: 'lobby', clientMsgId: 'p', content: hostile },
      { type: 'state', state: { kind: 'reconnecting', attempt: 1, at: 0, reason: hostile, address: 'a:1' } },
      { type: 'state', state: { kind: 'closed', reason: hostile } },
    ];
    for (const event of events) model.apply(event);

    const room = model.activeRoom!;
    const everything = [
      ...room.lines.flatMap((l) => [l.text, l.sender]),
      ...[...room.pending.values()].flatMap((l) => [l.text, l.sender]),
      ...room.members.values(),
    ];
    expect(everything.length).toBeGreaterThan(10);
    for (const text of everything) {
      expect(text).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u200b]/);
    }
    // Still readable: the escape shows as ␛, the newline as ␊.
    expect(room.lines.some((l) => l.text.includes('␛[2J') && l.text.includes('␊second line'))).toBe(true);
  });
});
