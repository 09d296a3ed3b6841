import fc from 'fast-check';

/** One step a client (or the transport) can take against a Hub; `s` picks an open session by index; room `*` is one the session is in; user `@` is the session's own (or, unbound, a valid one). */
export type HubCommand =
  | { op: 'open'; node: number; reader: boolean }
  | { op: 'join'; s: number; user: string; room: string; afterSeq: number; epoch: 'none' | 'known' | 'stale'; history: number }
  | { op: 'publish'; s: number; user: string; room: string; content: 'ok' | 'empty' | 'long' | 'control' }
  | { op: 'leave'; s: number; user: string; room: string }
  | { op: 'close'; s: number }
  | { op: 'read'; s: number };

/** Valid ones, the empty one (means "me" once bound), and ones the text rules refuse. */
export const USERS = ['alice', 'bob', 'carol', '', 'not valid!', 'u'.repeat(65)];
export const ROOMS = ['r1', 'r2', 'r3', '', 'no room!'];

const s = fc.nat({ max: 7 });
// Mostly valid, so that sessions get bound and rooms fill; sometimes refused.
const user = fc.oneof({ arbitrary: fc.constantFrom(...USERS.slice(0, 3)), weight: 8 }, { arbitrary: fc.constant(''), weight: 3 }, { arbitrary: fc.constantFrom(...USERS.slice(4)), weight: 1 });
/** After the first join an empty user_id means "me": mostly that, sometimes someone else. */
const self = fc.oneof({ arbitrary: fc.constant(''), weight: 8 }, { arbitrary: fc.constantFrom(...USERS.slice(0, 3)), weight: 2 }, { arbitrary: fc.constantFrom(...USERS.slice(4)), weight: 1 });
/** A busy room, a quieter one, a third (a stream may be in two), and names refused. */
const room = fc.oneof({ arbitrary: fc.constant('r1'), weight: 6 }, { arbitrary: fc.constant('r2'), weight: 3 }, { arbitrary: fc.constant('r3'), weight: 1 }, { arbitrary: fc.constantFrom(...ROOMS.slice(3)), weight: 1 });
/** For a publish or leave: mostly a room the session is in (`*`, resolved when applied), else any. */
const ownRoom = fc.oneof({ arbitrary: fc.constant('*'), weight: 4 }, { arbitrary: room, weight: 1 });

/** Sequences of commands; opens are frequent enough that most commands find a session. `nodes`: hubs to open sessions on. */
export function hubCommands(nodes: number, maxLength = 80): fc.Arbitrary<HubCommand[]> {
  const command: fc.Arbitrary<HubCommand> = fc.oneof(
    { arbitrary: fc.record({ op: fc.constant('open' as const), node: fc.nat({ max: nodes - 1 }), reader: fc.boolean() }), weight: 3 },
    {
      arbitrary: fc.record({
        op: fc.constant('join' as const),
        s,
        user: fc.oneof({ arbitrary: fc.constant('@'), weight: 3 }, { arbitrary: user, weight: 1 }),
        room,
        afterSeq: fc.oneof(fc.constant(0), fc.nat({ max: 30 })),
        epoch: fc.constantFrom('none' as const, 'known' as const, 'stale' as const),
        history: fc.nat({ max: 5 }),
      }),
      weight: 5,
    },
    { arbitrary: fc.record({ op: fc.constant('publish' as const), s, user: self, room: ownRoom, content: fc.constantFrom('ok' as const, 'ok' as const, 'ok' as const, 'ok' as const, 'empty' as const, 'long' as const, 'control' as const) }), weight: 10 },
    { arbitrary: fc.record({ op: fc.constant('leave' as const), s, user: self, room: ownRoom }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant('close' as const), s }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('read' as const), s }), weight: 2 },
  );
  return fc.array(command, { minLength: 1, maxLength, size: 'max' });
}
