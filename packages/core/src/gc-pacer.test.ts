import { describe, expect, test } from 'bun:test';
import { GcPacer } from './gc-pacer.ts';

describe('GcPacer', () => {
  test('collects once per interval of written bytes, counting across calls', () => {
    let collections = 0;
    const pacer = new GcPacer(100, () => collections++);
    pacer.note(60);
    expect(collections).toBe(0);
    pacer.note(39);
    expect(collections).toBe(0);
    pacer.note(1);
    expect(collections).toBe(1);
    for (let i = 0; i < 10; i++) pacer.note(50);
    expect(collections).toBe(6);
  });

  test('one large write collects once, not once per interval it spans', () => {
    let collections = 0;
    const pacer = new GcPacer(100, () => collections++);
    pacer.note(1000);
    expect(collections).toBe(1);
    pacer.note(99);
    expect(collections).toBe(1);
  });
});
