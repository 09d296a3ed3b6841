import { describe, expect, it } from '@jest/globals';
import { Addresses } from '../../src/client/Addresses.js';

/** Fails `times` attempts in a row; for each, the address tried next and the backoff round owed (0: none). */
function failures(addresses: Addresses, times: number): Array<[string, number]> {
  return Array.from({ length: times }, () => {
    const rounds = addresses.failed();
    return [addresses.current, rounds];
  });
}

describe('Addresses.parse', () => {
  it('takes one address, a list, or one string separated by commas, trimming spaces', () => {
    expect(Addresses.parse('a:1')).toEqual(['a:1']);
    expect(Addresses.parse(' a:1 , b:2,c:3 ')).toEqual(['a:1', 'b:2', 'c:3']);
    expect(Addresses.parse(['a:1', ' b:2,c:3'])).toEqual(['a:1', 'b:2', 'c:3']);
  });

  it('refuses empty entries and empty lists, saying which', () => {
    expect(() => Addresses.parse('a:1,,b:2')).toThrow('the server address list "a:1,,b:2" has an empty entry (number 2 of 3)');
    expect(() => Addresses.parse('a:1,')).toThrow('has an empty entry (number 2 of 2)');
    expect(() => Addresses.parse(['a:1', ' '])).toThrow('has an empty entry (number 2 of 2)');
    for (const empty of ['', ' ', ',', []]) expect(() => Addresses.parse(empty)).toThrow('the server address list is empty');
  });
});

describe('Addresses: the rotation', () => {
  it('starts on the first address and moves to the next at once, waiting only after a full round of failures', () => {
    const addresses = new Addresses('a:1,b:2,c:3');
    expect(addresses.current).toBe('a:1');
    expect(failures(addresses, 7)).toEqual([
      ['b:2', 0],
      ['c:3', 0],
      ['a:1', 1],
      ['b:2', 0],
      ['c:3', 0],
      ['a:1', 2],
      ['b:2', 0],
    ]);
  });

  it('starts a new round from the address that worked: its end moves on at once', () => {
    const addresses = new Addresses(['a:1', 'b:2']);
    failures(addresses, 3); // a, b, a failed; now on b
    addresses.worked();
    expect(failures(addresses, 4)).toEqual([
      ['a:1', 0],
      ['b:2', 1],
      ['a:1', 0],
      ['b:2', 2],
    ]);
  });

  it('with one address, waits after every failure, one more round each time (the backoff as before)', () => {
    const addresses = new Addresses('a:1');
    expect(failures(addresses, 3)).toEqual([
      ['a:1', 1],
      ['a:1', 2],
      ['a:1', 3],
    ]);
    addresses.worked();
    expect(failures(addresses, 1)).toEqual([['a:1', 1]]);
  });
});
