/**
 * pgdump-sanitize — turns a plain-text `pg_dump --no-owner` into a file Cloud SQL for PostgreSQL
 * imports (`gcloud sql import sql`), and reports what it removed.
 *
 *   npx tsx cli/pgdump-sanitize.ts dump.sql -o dump.cloudsql.sql --report report.json
 *   pg_dump --no-owner --format=plain mydb | npx tsx cli/pgdump-sanitize.ts - > clean.sql
 *
 * It streams: memory use does not grow with the dump. `.gz` input and output names are
 * (de)compressed on the fly. Removal works on pg_dump's table-of-contents entries, whose headers
 * (`-- Name: …; Type: …; Schema: …; Owner: …`) pg_dump writes before every object, so lines inside
 * function bodies or COPY data are never mistaken for statements. Removed:
 *
 * - the `plpgsql` extension and every `COMMENT ON EXTENSION` (Cloud SQL's import user does not
 *   own extensions it did not create; the comments are the extensions' defaults anyway);
 * - ACL entries (GRANT/REVOKE, default privileges) — like `pg_dump --no-acl`, since the old
 *   server's roles do not exist in Cloud SQL;
 * - psql's `\restrict`/`\unrestrict` lines (pg_dump 17.6/16.10/15.14 and later) and
 *   `SET transaction_timeout` (pg_dump 17), which older psql builds and servers reject.
 *
 * It refuses, with the fix in the message, dumps made without `--no-owner` or with `--create`,
 * custom-format archives and truncated dumps.
 */
import { Command } from "commander";
import { createReadStream, createWriteStream, renameSync, rmSync, writeFileSync } from "node:fs";
import { Transform, type Readable, type Writable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";

/** Why a line was removed. */
export type Rule = "plpgsql-extension" | "extension-comment" | "acl" | "default-acl" | "psql-restrict" | "transaction-timeout";

/** What each rule removes and why Cloud SQL needs it gone. */
export const RULES: Readonly<Record<Rule, string>> = {
  "plpgsql-extension": "CREATE EXTENSION plpgsql — Cloud SQL has it already and the import user does not own it",
  "extension-comment": "COMMENT ON EXTENSION — needs ownership of the extension; the text is the extension's default",
  acl: "GRANT/REVOKE (like pg_dump --no-acl) — the source server's roles do not exist in Cloud SQL; grant again there",
  "default-acl": "ALTER DEFAULT PRIVILEGES (like pg_dump --no-acl) — names roles of the source server",
  "psql-restrict": "\\restrict/\\unrestrict — psql-only lines that older psql builds reject",
  "transaction-timeout": "SET transaction_timeout — pg_dump 17 setting unknown to PostgreSQL 16 and older",
};

/** One removed line. */
export interface Removal {
  readonly rule: Rule;
  /** 1-based line number in the input. */
  readonly line: number;
  /** The pg_dump entry the line belonged to, e.g. `ACL TABLE notes`. */
  readonly entry?: string;
  /** The removed text (shortened). */
  readonly text: string;
}

/** What a run did. */
export interface SanitizeReport {
  linesRead: number;
  linesWritten: number;
  /** COPY … FROM stdin blocks, passed through byte for byte. */
  copyBlocks: number;
  /** Removed lines per rule. */
  removed: Record<Rule, number>;
  /** The first {@link MAX_DETAILS} removals. */
  details: Removal[];
  /** Removals beyond {@link MAX_DETAILS}, counted but not listed. */
  detailsOmitted: number;
  /** Extensions the dump creates; make sure Cloud SQL supports each. */
  keptExtensions: string[];
  /** Things that may still fail in Cloud SQL; review them. */
  warnings: string[];
}

/** Removals listed one by one in the report; the rest are only counted. */
export const MAX_DETAILS = 1000;

/** A dump the sanitizer refuses; the message says how to make an acceptable one. */
export class DumpSanitizeError extends Error {
  override name = "DumpSanitizeError";
}

/** Entry types whose objects need superuser in stock PostgreSQL (Cloud SQL gives no superuser). */
const SUPERUSER_TYPES = new Set(["EVENT TRIGGER", "SUBSCRIPTION", "FOREIGN DATA WRAPPER"]);

const HEADER = /^-- (?:Data for )?Name: (.+?); Type: ([^;]+); Schema: ([^;]*); Owner: ([^;]*)(?:; Tablespace: .*)?$/;
const RESTRICT = /^\\(?:un)?restrict [A-Za-z0-9]+$/;
const COPY_START = /^COPY .+ FROM stdin;$/;
const SESSION_SETTING = /^(SET [a-z_]+ = .*;|SELECT pg_catalog\.set_config\(.*\);)$/;
const END_MARKER = "-- PostgreSQL database dump complete";

interface Entry {
  readonly name: string;
  readonly type: string;
  /** Rule and statement pattern when the entry is removed. */
  readonly removal?: { readonly rule: Rule; readonly statement: RegExp };
}

function classify(name: string, type: string, owner: string, lineNumber: number): Entry {
  if (owner !== "-") {
    throw new DumpSanitizeError(
      `line ${lineNumber}: ${type} ${name} is owned by "${owner}": the dump was made without --no-owner. ` +
        `Dump again with pg_dump --no-owner (Cloud SQL cannot give objects to roles it does not have).`,
    );
  }
  if (type === "DATABASE" || type === "DATABASE PROPERTIES") {
    throw new DumpSanitizeError(
      `line ${lineNumber}: the dump creates database ${name} (pg_dump --create/-C). Dump again without --create; ` +
        `create the database in Cloud SQL and name it with gcloud sql import sql --database.`,
    );
  }
  if (type === "EXTENSION" && name === "plpgsql") {
    return { name, type, removal: { rule: "plpgsql-extension", statement: /^CREATE EXTENSION IF NOT EXISTS plpgsql WITH SCHEMA [^;]+;$/ } };
  }
  if (type === "COMMENT" && name.startsWith("EXTENSION ")) {
    return { name, type, removal: { rule: "extension-comment", statement: /^COMMENT ON EXTENSION \S+ IS '.*';$/ } };
  }
  if (type === "ACL") return { name, type, removal: { rule: "acl", statement: /^(GRANT|REVOKE) .*;$/ } };
  if (type === "DEFAULT ACL") return { name, type, removal: { rule: "default-acl", statement: /^ALTER DEFAULT PRIVILEGES .*;$/ } };
  return { name, type };
}

/**
 * Line-by-line state machine over a plain pg_dump. Feed it lines without their `\n`; it returns
 * the lines to keep. Bytes are never re-encoded: kept lines are the input buffers.
 */
export class DumpSanitizer {
  private lineNumber = 0;
  private entry: Entry | undefined;
  private inCopy = false;
  private pendingDash: Buffer | undefined;
  private dropClosingDash = false;
  private sawEndMarker = false;
  private readonly result: SanitizeReport = {
    linesRead: 0,
    linesWritten: 0,
    copyBlocks: 0,
    removed: Object.fromEntries(Object.keys(RULES).map((rule) => [rule, 0])) as Record<Rule, number>,
    details: [],
    detailsOmitted: 0,
    keptExtensions: [],
    warnings: [],
  };

  /** Processes one input line (without its newline) and returns the lines to write. */
  line(raw: Buffer): Buffer[] {
    this.lineNumber += 1;
    this.result.linesRead += 1;
    const out: Buffer[] = [];
    if (this.inCopy) {
      if (raw.length === 2 && raw[0] === 0x5c && raw[1] === 0x2e) this.inCopy = false; // "\."
      return this.keep(out, raw);
    }
    const text = raw.toString("utf8").replace(/\r$/, "");
    if (this.lineNumber === 1) this.checkFormat(raw);
    if (this.pendingDash !== undefined) {
      const dash = this.pendingDash;
      this.pendingDash = undefined;
      const header = HEADER.exec(text);
      if (header) return this.startEntry(out, dash, raw, header);
      this.keep(out, dash);
    }
    if (text === "--") {
      if (this.dropClosingDash) {
        this.dropClosingDash = false;
        return out;
      }
      this.pendingDash = raw;
      return out;
    }
    this.dropClosingDash = false;
    return this.body(out, raw, text);
  }

  /** Flushes held lines at end of input and checks the dump was complete. */
  finish(): Buffer[] {
    if (this.inCopy) {
      throw new DumpSanitizeError(`the dump ends inside COPY data (line ${this.lineNumber}): it is truncated; dump again.`);
    }
    if (!this.sawEndMarker) {
      this.result.warnings.push(`no "${END_MARKER}" line: the dump may be truncated; compare it with the source.`);
    }
    const out: Buffer[] = [];
    if (this.pendingDash !== undefined) this.keep(out, this.pendingDash);
    this.pendingDash = undefined;
    return out;
  }

  /** The report so far (complete after {@link finish}). */
  report(): SanitizeReport {
    return this.result;
  }

  private checkFormat(raw: Buffer): void {
    if (raw.subarray(0, 5).toString("latin1") === "PGDMP") {
      throw new DumpSanitizeError(
        "this is a pg_dump custom-format archive, not SQL. Convert it with `pg_restore --no-owner --no-acl -f dump.sql archive.dump`, " +
          "or dump again with --format=plain.",
      );
    }
    if (raw[0] === 0x1f && raw[1] === 0x8b) {
      throw new DumpSanitizeError("the input is gzip-compressed: give it a .gz file name or pipe it through `gunzip -c`.");
    }
  }

  private startEntry(out: Buffer[], dash: Buffer, raw: Buffer, header: RegExpExecArray): Buffer[] {
    const [, name = "", type = "", , owner = ""] = header;
    const entry = classify(name, type, owner, this.lineNumber);
    this.entry = entry;
    if (type === "EXTENSION" && !entry.removal) this.result.keptExtensions.push(name);
    if (SUPERUSER_TYPES.has(type)) {
      this.result.warnings.push(`line ${this.lineNumber}: ${type} ${name} needs superuser in PostgreSQL; Cloud SQL may reject it.`);
    }
    if (entry.removal) {
      this.dropClosingDash = true;
      return out;
    }
    this.keep(out, dash);
    return this.keep(out, raw);
  }

  private body(out: Buffer[], raw: Buffer, text: string): Buffer[] {
    if (text === END_MARKER) {
      this.sawEndMarker = true;
      this.entry = undefined;
    }
    if (RESTRICT.test(text)) return this.remove(out, "psql-restrict", text);
    if (text.startsWith("\\connect ")) {
      throw new DumpSanitizeError(
        `line ${this.lineNumber}: "${text}" — the dump switches databases (made with --create or pg_dumpall). ` +
          "Dump one database with pg_dump --no-owner, without --create.",
      );
    }
    if (this.entry === undefined && /^SET transaction_timeout = /.test(text)) return this.remove(out, "transaction-timeout", text);
    const removal = this.entry?.removal;
    if (removal) {
      if (text.trim() === "") return out;
      if (removal.statement.test(text)) return this.remove(out, removal.rule, text);
      // Session settings pg_dump emits before the next entry, and plain comments, stay.
      if (SESSION_SETTING.test(text) || text.startsWith("--")) return this.keep(out, raw);
      throw new DumpSanitizeError(
        `line ${this.lineNumber}: unexpected line in the ${this.entry?.type} entry "${this.entry?.name}": ${shorten(text)}. ` +
          "The sanitizer removes that entry and will not guess; edit the dump by hand or report the pg_dump version.",
      );
    }
    if (this.entry?.type === "TABLE DATA" && COPY_START.test(text)) {
      this.inCopy = true;
      this.result.copyBlocks += 1;
    }
    return this.keep(out, raw);
  }

  private keep(out: Buffer[], raw: Buffer): Buffer[] {
    out.push(raw);
    this.result.linesWritten += 1;
    return out;
  }

  private remove(out: Buffer[], rule: Rule, text: string): Buffer[] {
    this.result.removed[rule] += 1;
    if (this.result.details.length < MAX_DETAILS) {
      const entry = this.entry ? `${this.entry.type} ${this.entry.name}` : undefined;
      this.result.details.push({ rule, line: this.lineNumber, ...(entry ? { entry } : {}), text: shorten(text) });
    } else {
      this.result.detailsOmitted += 1;
    }
    return out;
  }
}

function shorten(text: string): string {
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** A Transform that splits its input on `\n` and passes the lines through a {@link DumpSanitizer}. */
export function sanitizeTransform(sanitizer: DumpSanitizer): Transform {
  let rest: Buffer = Buffer.alloc(0);
  let first = true;
  const write = (lines: Buffer[], push: (chunk: Buffer) => void) => {
    if (lines.length === 0) return;
    const parts: Buffer[] = [];
    for (const line of lines) {
      if (!first) parts.push(NEWLINE);
      parts.push(line);
      first = false;
    }
    push(Buffer.concat(parts));
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        const data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        const lines: Buffer[] = [];
        let start = 0;
        for (let newline = data.indexOf(0x0a, start); newline !== -1; newline = data.indexOf(0x0a, start)) {
          lines.push(...sanitizer.line(data.subarray(start, newline)));
          start = newline + 1;
        }
        rest = Buffer.from(data.subarray(start));
        write(lines, (part) => this.push(part));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        // A final line without newline is still a line; the output ends with a newline either way.
        const lines = rest.length ? sanitizer.line(rest) : [];
        lines.push(...sanitizer.finish());
        write(lines, (part) => this.push(part));
        if (!first) this.push(NEWLINE);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

const NEWLINE = Buffer.from("\n");

/** Streams `input` through the sanitizer into `output` and resolves with the report. */
export async function sanitizeStream(input: Readable, output: Writable): Promise<SanitizeReport> {
  const sanitizer = new DumpSanitizer();
  await pipeline(input, sanitizeTransform(sanitizer), output);
  return sanitizer.report();
}

/** Human-readable summary of a report, for stderr. */
export function formatReport(report: SanitizeReport): string {
  const lines = [
    `pgdump-sanitize: ${report.linesRead} lines read, ${report.linesWritten} written, ` +
      `${report.copyBlocks} COPY data blocks passed through unchanged`,
  ];
  const removed = (Object.keys(RULES) as Rule[]).filter((rule) => report.removed[rule] > 0);
  lines.push(removed.length ? "removed:" : "removed: nothing");
  for (const rule of removed) lines.push(`  ${report.removed[rule]} x ${rule}: ${RULES[rule]}`);
  if (report.keptExtensions.length) {
    lines.push(`kept extensions (check Cloud SQL supports them): ${report.keptExtensions.join(", ")}`);
  }
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return lines.join("\n");
}

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name("pgdump-sanitize")
    .description("Make a plain pg_dump --no-owner importable by Cloud SQL for PostgreSQL.")
    .argument("[input]", "plain-format dump (.gz is decompressed); - for stdin", "-")
    .option("-o, --output <file>", "sanitized dump (.gz is compressed); - for stdout", "-")
    .option("--report <file>", "also write the full report as JSON")
    .parse(argv);
  const input = program.args[0] ?? "-";
  const { output, report: reportPath } = program.opts<{ output: string; report?: string }>();

  const source: Readable = input === "-" ? process.stdin : createReadStream(input);
  const partial = `${output}.partial`;
  const streams: Array<Readable | Writable | Transform> = [source];
  if (input.endsWith(".gz")) streams.push(createGunzip());
  const sanitizer = new DumpSanitizer();
  streams.push(sanitizeTransform(sanitizer));
  if (output.endsWith(".gz")) streams.push(createGzip());
  streams.push(output === "-" ? process.stdout : createWriteStream(partial));
  try {
    await pipeline(streams);
  } catch (error) {
    if (output !== "-") rmSync(partial, { force: true });
    throw error;
  }
  // Only a complete file gets the requested name, so a failed run never leaves an importable half.
  if (output !== "-") renameSync(partial, output);
  const report = sanitizer.report();
  if (reportPath) writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`${formatReport(report)}\n`);
}

if (require.main === module) {
  main(process.argv).catch((error: Error) => {
    process.stderr.write(`pgdump-sanitize: ${error instanceof DumpSanitizeError ? error.message : error.stack ?? error.message}\n`);
    process.exitCode = 1;
  });
}
