import type { Command } from "commander";

/** Where a command-line tool prints; tests pass their own to capture the output. */
export interface CliIo {
    stdout(text: string): void;
    stderr(text: string): void;
}

/** The process's own stdout and stderr, one line per call. */
export const processIo: CliIo = {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
};

/**
 * Runs a CLI's `main` when its file is executed directly: the resolved number becomes the exit
 * code; an unexpected error is printed with its stack, as `<name>: …`, and exits with `crashCode`.
 */
export function runCli(name: string, main: () => Promise<number>, crashCode: number): void {
    main().then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`${name}: ${(err as Error)?.stack ?? String(err)}\n`);
            process.exitCode = crashCode;
        },
    );
}

/**
 * Parses `argv` with a commander program that prints through `io` instead of exiting: returns
 * `undefined` when the command should go on, else its exit code (0 after --help, 2 for a usage
 * error, which commander has already printed).
 */
export function parseCli(program: Command, argv: readonly string[], io: CliIo): number | undefined {
    program.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s.trimEnd()), writeErr: (s) => io.stderr(s.trimEnd()) });
    try {
        program.parse([...argv], { from: "node" });
        return undefined;
    } catch (err) {
        return (err as { exitCode?: number }).exitCode === 0 ? 0 : 2;
    }
}
