import { describe, expect, it } from '@jest/globals';
import { RoomSequencer } from '../../src/domain/RoomSequencer.js';

const alice = { userId: 'alice', displayName: 'Alice' };
const bob = { userId: 'bob', displayName: 'Bob' };
const message = (userId: string, clientMsgId: string) => ({ userId, displayName: userId, content: 'hi', clientMsgId, traceContext: {} });

describe('RoomSequencer: one room across nodes', () => {
  it('a user’s first session anywhere is its join; its JoinView lists it, with the seq before its notice', () => {
    const s = new RoomSequencer('lobby', 'E1');
    const first = s.join('n1', 's1', alice);
    expect(first.view).toEqual({ members: [alice], lastSeq: 0, epoch: 'E1' });
    expect(first.events).toEqual([{ kind: 'user_joined', room: 'lobby', seq: 1, ...alice }]);
    // A second session, on another node: no notice.
    const second = s.join('n2', 's7', alice);
    expect(second.events).toEqual([]);
    expect(second.view.lastSeq).toBe(1);
  });

  it('a user’s last session anywhere leaving is its leave; a retried join or leave changes nothing', () => {
    const s = new RoomSequencer('lobby', 'E1');
    s.join('n1', 's1', alice);
    s.join('n1', 's1', alice);
    s.join('n2', 's2', alice);
    expect(s.leave('n1', 's1', 'alice')).toEqual([]);
    expect(s.leave('n1', 's1', 'alice')).toEqual([]);
    expect(s.leave('n2', 's2', 'alice')).toEqual([{ kind: 'user_left', room: 'lobby', seq: 2, ...alice }]);
    expect(s.memberCount).toBe(0);
    expect(s.leave('n2', 's2', 'alice')).toEqual([]);
  });

  it('a dead node’s users leave, except those with a session on a live node', () => {
    const s = new RoomSequencer('lobby', 'E1');
    s.join('n1', 's1', alice);
    s.join('n1', 's2', bob);
    s.join('n2', 's3', bob);
    expect(s.nodes()).toEqual(new Set(['n1', 'n2']));
    expect(s.dropNode('n1')).toEqual([{ kind: 'user_left', room: 'lobby', seq: 3, ...alice }]);
    expect(s.nodes()).toEqual(new Set(['n2']));
    expect(s.memberCount).toBe(1);
  });

  it('sequences members’ messages only, and a retried (user, client_msg_id) gets the seq it already has', () => {
    const s = new RoomSequencer('lobby', 'E1', undefined, () => 1234);
    s.join('n1', 's1', alice);
    expect(s.publish(message('mallory', 'm1'))).toBeUndefined();
    const sent = s.publish(message('alice', 'm1'))!;
    expect(sent.seq).toBe(2);
    expect(sent.event).toEqual({ kind: 'message', message: { room: 'lobby', seq: 2, timestampUtc: 1234, ...message('alice', 'm1') } });
    expect(s.publish(message('alice', 'm1'))).toEqual({ seq: 2 });
    // Without a client_msg_id nothing can be recognized: each is new.
    expect(s.publish(message('alice', ''))!.seq).toBe(3);
    expect(s.publish(message('alice', ''))!.seq).toBe(4);
  });

  it('a node taking the room over goes on from the stored seq, with the members of the presence records and the recent client_msg_ids', () => {
    const s = new RoomSequencer('lobby', 'E1', {
      seq: 41,
      holders: [
        { node: 'n1', session: 's1', ...alice },
        { node: 'n2', session: 's9', ...bob },
      ],
      recent: [{ userId: 'alice', clientMsgId: 'm40', seq: 40 }],
    });
    expect(s.lastSeq).toBe(41);
    expect(s.memberCount).toBe(2);
    expect(s.publish(message('alice', 'm40'))).toEqual({ seq: 40 });
    expect(s.publish(message('bob', 'b1'))!.seq).toBe(42);
    // Bob is already a member: his session on a third node announces nothing.
    expect(s.join('n3', 's5', bob).events).toEqual([]);
  });
});
