import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../errors';
import { parseCreateBody, pruneScope } from './volumes';

const v141 = { version: '1.41', explicit: true };
const v142 = { version: '1.42', explicit: true };

describe('parseCreateBody', () => {
  it('takes the four fields and leaves absent or null ones out', () => {
    expect(parseCreateBody({ Name: 'x1', Driver: 'local', DriverOpts: { o: 'bind' }, Labels: { a: '' }, Other: 1 })).toEqual({ Name: 'x1', Driver: 'local', DriverOpts: { o: 'bind' }, Labels: { a: '' } });
    expect(parseCreateBody({ Labels: null })).toEqual({ Name: undefined, Driver: undefined, DriverOpts: null, Labels: null });
  });

  it('refuses wrong types with encoding/json\'s words, and a missing body as dockerd does', () => {
    const cases: [unknown, string][] = [
      [undefined, 'got EOF while reading request body'],
      [[1], 'json: cannot unmarshal array into Go value of type volume.VolumeCreateBody'],
      [{ Name: 5 }, 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Name of type string'],
      [{ Driver: true }, 'json: cannot unmarshal bool into Go struct field VolumeCreateBody.Driver of type string'],
      [{ Labels: ['a'] }, 'json: cannot unmarshal array into Go struct field VolumeCreateBody.Labels of type map[string]string'],
      [{ DriverOpts: { o: {} } }, 'json: cannot unmarshal object into Go struct field VolumeCreateBody.DriverOpts of type string'],
    ];
    for (const [body, message] of cases) {
      expect(() => parseCreateBody(body), message).toThrow(InvalidParameterError);
      expect(() => parseCreateBody(body)).toThrow(message);
    }
  });
});

describe('pruneScope', () => {
  it('prunes every unused volume before API 1.42 and leaves `all` to be refused as unknown', () => {
    expect(pruneScope(v141, { label: ['a'] })).toEqual({ filters: { label: ['a'] }, all: true });
    expect(pruneScope(v141, { all: ['true'] })).toEqual({ filters: { all: ['true'] }, all: true });
  });

  it('from API 1.42 prunes anonymous volumes unless `all` is true', () => {
    expect(pruneScope(v142, { label: ['a'] })).toEqual({ filters: { label: ['a'] }, all: false });
    expect(pruneScope(v142, { all: ['1'], label: ['a'] })).toEqual({ filters: { label: ['a'] }, all: true });
    expect(pruneScope(v142, { all: ['false'] })).toEqual({ filters: {}, all: false });
    expect(() => pruneScope(v142, { all: ['true', 'false'] })).toThrow("invalid filter 'all=[true false]': only one value is expected");
    expect(() => pruneScope(v142, { all: ['maybe'] })).toThrow(InvalidParameterError);
  });
});
