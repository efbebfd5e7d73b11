import { AppletContext, type Applet } from '../context';
import { BUSYBOX_BANNER } from './args';

/**
 * busybox [APPLET [ARG]...]: runs the applet named by argv[0]'s basename (when the binary is
 * invoked through a link) or by argv[1]; alone, lists the applets.
 */
export const busybox: Applet = async (ctx) => {
  const applets = ctx.machine.applets;
  const invoked = ctx.name;
  if (invoked !== 'busybox' && applets.has(invoked)) return applets.get(invoked)!(ctx);
  const [name, ...rest] = ctx.argv.slice(1);
  if (invoked !== 'busybox') {
    await ctx.stderr.write(`${invoked}: applet not found\n`);
    return 127;
  }
  const names = [...applets.keys()].filter((n) => !n.startsWith('tsdocker') && n !== 'hello').sort();
  if (name === undefined || name === '--help') {
    await ctx.stdout.write(`${BUSYBOX_BANNER}\n\nUsage: busybox [function [arguments]...]\n   or: function [arguments]...\n\nCurrently defined functions:\n\t${names.join(', ')}\n`);
    return 0;
  }
  if (name === '--list') {
    await ctx.stdout.write(names.map((n) => `${n}\n`).join(''));
    return 0;
  }
  const applet = applets.get(name);
  if (!applet || name === 'busybox') {
    await ctx.stderr.write(`${name}: applet not found\n`);
    return 127;
  }
  ctx.proc.argv = [name, ...rest];
  return applet(new AppletContext(ctx.machine, ctx.proc, [name, ...rest], ctx.stdio, ctx.run));
};
