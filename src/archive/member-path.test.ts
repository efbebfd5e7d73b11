import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../errors';
import { checkSymlinkTarget, memberRelPath } from './member-path';
import { devMajor, devMinor, makedev } from './tree';

describe('memberRelPath', () => {
  it('normalizes names inside the layer', () => {
    expect(memberRelPath('./a//b/')).toBe('a/b');
    expect(memberRelPath('a/./b/../c')).toBe('a/c');
    expect(memberRelPath('./')).toBe('');
  });

  it('refuses absolute names and names that climb out', () => {
    for (const name of ['/etc/passwd', '../x', 'a/../../x', './..']) {
      expect(() => memberRelPath(name)).toThrow(InvalidParameterError);
    }
  });

  it('never yields a path with .. or a leading slash (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '.', '..', ''), { maxLength: 8 }), (parts) => {
        let rel: string;
        try {
          rel = memberRelPath(parts.join('/'));
        } catch (e) {
          return e instanceof InvalidParameterError;
        }
        return !rel.startsWith('/') && !rel.split('/').includes('..');
      }),
    );
  });
});

describe('checkSymlinkTarget', () => {
  it('allows absolute targets and relative ones that stay inside', () => {
    expect(() => checkSymlinkTarget('usr/bin/sh', '/bin/busybox')).not.toThrow();
    expect(() => checkSymlinkTarget('usr/bin/sh', '../../bin/busybox')).not.toThrow();
  });

  it('refuses relative targets that climb out of the layer', () => {
    expect(() => checkSymlinkTarget('usr/bin/sh', '../../../etc')).toThrow(InvalidParameterError);
    expect(() => checkSymlinkTarget('x', '')).toThrow(InvalidParameterError);
  });
});

describe('device numbers', () => {
  it('round-trip through makedev', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 0xfffff }), (major, minor) => {
        const dev = makedev(major, minor);
        return devMajor(dev) === major && devMinor(dev) === minor;
      }),
    );
    expect(makedev(1, 3)).toBe(259);
  });
});
