import type { Command } from 'commander';

/** Help wraps at the terminal's width; into a pipe, at $COLUMNS when set, else at commander's 80. */
function helpWidth(stream: NodeJS.WriteStream): number {
  if (stream.isTTY) return stream.columns;
  const columns = Number(process.env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : 80;
}

/** Help layout for a program; subcommands inherit it, so it is set before any is added. */
export function helpLayout(program: Command): Command {
  return (
    program
      .configureOutput({
        getOutHelpWidth: () => helpWidth(process.stdout),
        getErrHelpWidth: () => helpWidth(process.stderr),
      })
      // by default commander leaves a description unwrapped when fewer than 40 columns remain beside its term
      .configureHelp({ minWidthToWrap: 20 })
  );
}
