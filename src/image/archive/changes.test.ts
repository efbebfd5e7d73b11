import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../errors';
import { applyChanges, expandWord, parseGoDuration, shellWords } from './changes';

describe('applyChanges', () => {
  it('takes CMD and ENTRYPOINT in exec and shell form', () => {
    expect(applyChanges(['CMD ["sh", "-c", "x"]'])).toEqual({ Cmd: ['sh', '-c', 'x'] });
    expect(applyChanges(['cmd echo $HOME && ls'])).toEqual({ Cmd: ['/bin/sh', '-c', 'echo $HOME && ls'] });
    expect(applyChanges(['CMD [not json'])).toEqual({ Cmd: ['/bin/sh', '-c', '[not json'] });
    expect(applyChanges(['ENTRYPOINT ["/app"]'])).toEqual({ Entrypoint: ['/app'], Cmd: null });
    expect(applyChanges(['CMD ["a"]', 'ENTRYPOINT ["/app"]'])).toEqual({ Entrypoint: ['/app'], Cmd: ['a'] });
  });

  it('sets ENV in both forms, replacing and expanding', () => {
    const c = applyChanges(['ENV A=1 B="x y"', 'ENV C ${A}-$B', 'ENV A=2 D=${A:-none} E=${Z:-dflt} F=${A:+set}']);
    expect(c.Env).toEqual(['B=x y', 'C=1-x y', 'A=2', 'D=1', 'E=dflt', 'F=set']);
  });

  it('sets LABEL, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL, ONBUILD', () => {
    const c = applyChanges([
      'LABEL a=1 "b"="two words"',
      'EXPOSE 80 53/udp 8000-8002/TCP',
      'USER nobody',
      'WORKDIR /srv',
      'WORKDIR app',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache',
      'STOPSIGNAL SIGQUIT',
      'ONBUILD RUN echo hi',
    ]);
    expect(c.Labels).toEqual({ a: '1', b: 'two words' });
    expect(Object.keys(c.ExposedPorts!)).toEqual(['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
    expect(c.User).toBe('nobody');
    expect(c.WorkingDir).toBe('/srv/app');
    expect(c.Volumes).toEqual({ '/data': {}, '/logs': {}, '/cache': {} });
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(c.OnBuild).toEqual(['RUN echo hi']);
  });

  it('parses HEALTHCHECK', () => {
    expect(applyChanges(['HEALTHCHECK NONE']).Healthcheck).toEqual({ Test: ['NONE'] });
    expect(applyChanges(['HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/']).Healthcheck).toEqual({ Interval: 5e9, Retries: 3, Test: ['CMD-SHELL', 'curl -f http://x/'] });
    expect(applyChanges(['HEALTHCHECK --timeout=1m30s CMD ["true"]']).Healthcheck).toEqual({ Timeout: 90e9, Test: ['CMD', 'true'] });
  });

  it('joins continued lines and skips comments', () => {
    expect(applyChanges(['# a comment', 'ENV A=1 \\\n B=2'])).toEqual({ Env: ['A=1', 'B=2'] });
  });

  it.each([
    ['RUN echo hi', 'run is not a valid change command'],
    ['FROM busybox', 'from is not a valid change command'],
    ['EXPOSE 80/foo', 'Invalid proto: foo'],
    ['EXPOSE abc', 'Invalid containerPort: abc'],
    ['STOPSIGNAL SIGNOPE', 'Invalid signal: SIGNOPE'],
    ['ENV =x', 'ENV names can not be blank'],
    ['ENV A', 'ENV must have two arguments'],
    ['LABEL a=1 b', `Syntax error - can't find = in "b". Must be of the form: name=value`],
    ['USER', 'USER requires exactly one argument'],
    ['ONBUILD FROM x', "FROM isn't allowed as an ONBUILD trigger"],
    ['ENV A="unterminated', 'unexpected end of statement while looking for matching "'],
    ['HEALTHCHECK --interval=1x CMD true', 'time: invalid duration "1x"'],
  ])('refuses %j', (change, message) => {
    expect(() => applyChanges([change])).toThrow(InvalidParameterError);
    expect(() => applyChanges([change])).toThrow(message);
  });
});

describe('shell words', () => {
  const env = new Map([['A', 'x y']]);
  it('splits on unquoted blanks and keeps quoted ones', () => {
    expect(shellWords(`a 'b c' "d $A" e\\ f $A`, env)).toEqual(['a', 'b c', 'd x y', 'e f', 'x y']);
    expect(expandWord(`'$A' "\\$A" \${A}`, env)).toBe('$A $A x y');
  });
  it('parses Go durations', () => {
    expect(parseGoDuration('1h2m3s')).toBe(3723e9);
    expect(parseGoDuration('1.5s')).toBe(1.5e9);
    expect(parseGoDuration('250ms')).toBe(250e6);
  });
});
