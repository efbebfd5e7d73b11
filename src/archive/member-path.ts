import { InvalidParameterError } from '../errors';

/**
 * A tar member name as a rel path inside the layer: `./a//b/` → `a/b`, `./` → `''`.
 * Absolute names and names whose `..` climb above the root are refused with InvalidParameter.
 */
export function memberRelPath(name: string, what = 'tar member'): string {
  if (name.startsWith('/')) throw new InvalidParameterError(`${what} "${name}": absolute paths are not allowed in a layer`);
  if (name.includes('\0')) throw new InvalidParameterError(`${what} "${name}": NUL byte in path`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new InvalidParameterError(`${what} "${name}" is outside of the layer`);
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

/**
 * Refuse a relative symlink target that climbs out of the layer from the link's directory
 * (Docker's "invalid symlink" rule); absolute targets resolve inside the container's root.
 */
export function checkSymlinkTarget(linkRel: string, target: string): void {
  if (target === '') throw new InvalidParameterError(`symlink "${linkRel}" has an empty target`);
  if (target.startsWith('/')) return;
  const dirParts = linkRel.split('/').slice(0, -1);
  let depth = dirParts.length;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') depth--;
    else depth++;
    if (depth < 0) throw new InvalidParameterError(`invalid symlink "${linkRel}" -> "${target}": it points outside of the layer`);
  }
}
