import { describe, expect, it } from 'vitest';
import { ArgsError, parseLoadArgs } from '../../bench/load/args.ts';

const parse = (line: string) => parseLoadArgs(line.split(' '), {});

describe('npm run load -- --scenario hostile', () => {
  it('takes the hostile caller options only when given, bounded', () => {
    expect(parse('--scenario hostile --duration 30')).not.toHaveProperty('hostileStalls');
    expect(parse('--scenario hostile --duration 30 --hostile-stalls 40 --hostile-flood 0')).toMatchObject({
      scenario: 'hostile',
      hostileStalls: 40,
      hostileFlood: 0,
    });
    expect(() => parse('--scenario hostile --duration 30 --hostile-stalls 5000')).toThrow(ArgsError);
    expect(() => parse('--scenario hostile --duration 30 --hostile-flood -1')).toThrow(ArgsError);
    expect(() => parse('--scenario hostile')).toThrow(/bounded/);
  });
});
