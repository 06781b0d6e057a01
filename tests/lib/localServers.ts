/**
 * Real PostgreSQL and Redis servers and processes on loopback for tests: the tools' own
 * (cli/lib/local/), re-exported, plus what a test process does on Ctrl-C or SIGTERM: kill every
 * process group still running, then exit.
 */
import { killGroupsOnSignals } from "../../cli/lib/local/processes";
import { postgresBin } from "../../cli/lib/local/postgres";

export {
  GroupProcess,
  freePort,
  randomPassword,
  run,
  tempDir,
  waitFor,
  type RunOptions,
  type RunResult,
  type WaitOptions,
} from "../../cli/lib/local/processes";
export { LocalPostgres, quoteIdent, quoteLiteral, type PostgresOptions } from "../../cli/lib/local/postgres";
export { LocalRedis, REDIS_CLI, REDIS_SERVER } from "../../cli/lib/local/redis";

/** Debian's server binaries of the newest installed PostgreSQL (15 on Debian 12, 17 on 13). */
export const PG_BIN = postgresBin();

killGroupsOnSignals();
