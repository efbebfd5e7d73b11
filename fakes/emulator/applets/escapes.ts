/**
 * Backslash escapes as `echo -e`, `printf` formats and `%b` interpret them. With
 * `stopAtC`, `\c` ends all output (reported through `stopped`).
 */
export function interpretEscapes(text: string, opts: { octalNeedsZero?: boolean } = {}): { text: string; stopped: boolean } {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\' || i === text.length - 1) {
      out += c;
      continue;
    }
    const n = text[++i]!;
    switch (n) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'e': out += '\x1b'; break;
      case '\\': out += '\\'; break;
      case 'c': return { text: out, stopped: true };
      case 'x': {
        const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 1));
        if (m) {
          out += String.fromCharCode(parseInt(m[0], 16));
          i += m[0].length;
        } else out += '\\x';
        break;
      }
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        if (opts.octalNeedsZero && n !== '0') {
          out += `\\${n}`;
          break;
        }
        const start = opts.octalNeedsZero ? i + 1 : i;
        const m = /^[0-7]{1,3}/.exec(text.slice(start));
        const digits = m?.[0] ?? '';
        out += String.fromCharCode(parseInt(digits || '0', 8) & 255);
        i = start + digits.length - 1;
        break;
      }
      default:
        out += `\\${n}`;
    }
  }
  return { text: out, stopped: false };
}
