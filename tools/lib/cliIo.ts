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
