/**
 * cli/pgdump-sanitize.ts: unit tests on hand-made dumps, then the real migration path —
 * pg_dump a database on one PostgreSQL server, show that Cloud SQL-like restrictions make the raw
 * dump fail, sanitize it with the CLI, restore it with `psql -v ON_ERROR_STOP=1` as a
 * non-superuser on a second server (Cloud SQL has no superuser), and compare the data.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Readable, Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { DumpSanitizeError, DumpSanitizer, sanitizeStream, type SanitizeReport } from "../cli/pgdump-sanitize";
import { LocalPostgres, PG_BIN, randomPassword, run, tempDir } from "./lib/localServers";

const REPO = resolve(__dirname, "..");

/** Runs the sanitizer over `text`, fed in chunks of `chunkSize` bytes. */
async function sanitize(text: string, chunkSize = 64 * 1024): Promise<{ output: string; report: SanitizeReport }> {
  const bytes = Buffer.from(text, "utf8");
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const collected: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      collected.push(chunk);
      callback();
    },
  });
  const report = await sanitizeStream(Readable.from(chunks), sink);
  return { output: Buffer.concat(collected).toString("utf8"), report };
}

const header = (name: string, type: string, schema = "-", owner = "-") => `--\n-- Name: ${name}; Type: ${type}; Schema: ${schema}; Owner: ${owner}\n--\n`;

/** The lines pg_dump 9.x/10 (old RDS dumps) wrote and Cloud SQL rejects. */
const LEGACY_PLPGSQL = [
  header("plpgsql", "EXTENSION"),
  "CREATE EXTENSION IF NOT EXISTS plpgsql WITH SCHEMA pg_catalog;\n\n\n",
  header("EXTENSION plpgsql", "COMMENT"),
  "COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language';\n\n\n",
].join("");

const PREAMBLE = "--\n-- PostgreSQL database dump\n--\n\n\\restrict Ab12\n\nSET statement_timeout = 0;\nSET transaction_timeout = 0;\nSET client_encoding = 'UTF8';\n\n";
const EPILOGUE = "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict Ab12\n\n";

const TABLE = [
  header("notes", "TABLE", "public"),
  "CREATE TABLE public.notes (\n    body text\n);\n\n\n",
  header("grant_reporting()", "FUNCTION", "public"),
  "CREATE FUNCTION public.grant_reporting() RETURNS void\n    LANGUAGE plpgsql\n    AS $$\nBEGIN\nGRANT SELECT ON public.notes TO reporting;\nEND\n$$;\n\n\n",
  "--\n-- Data for Name: notes; Type: TABLE DATA; Schema: public; Owner: -\n--\n\n",
  "COPY public.notes (body) FROM stdin;\nGRANT SELECT ON TABLE public.notes TO reporting;\n--\n-- Name: notes; Type: ACL; Schema: public; Owner: -\n--\n\\restrict Zz99\n\\.\n\n\n",
  header("TABLE notes", "ACL", "public"),
  "GRANT SELECT ON TABLE public.notes TO reporting;\n\n\n",
].join("");

describe("sanitizer on hand-made dumps", () => {
  test("removes plpgsql, extension comments, ACLs and psql-only lines; keeps function bodies and COPY data", async () => {
    const { output, report } = await sanitize(PREAMBLE + LEGACY_PLPGSQL + TABLE + EPILOGUE);
    assert.equal(
      output,
      "--\n-- PostgreSQL database dump\n--\n\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n" +
        TABLE.slice(0, TABLE.indexOf("--\n-- Name: TABLE notes; Type: ACL")) +
        "--\n-- PostgreSQL database dump complete\n--\n\n\n",
    );
    assert.deepEqual(report.removed, {
      "plpgsql-extension": 1,
      "extension-comment": 1,
      acl: 1,
      "default-acl": 0,
      "psql-restrict": 2,
      "transaction-timeout": 1,
    });
    assert.equal(report.copyBlocks, 1);
    assert.deepEqual(report.warnings, []);
    assert.deepEqual(report.details[0], { rule: "psql-restrict", line: 5, text: "\\restrict Ab12" });
  });

  test("gives the same output whatever the chunk boundaries", async () => {
    const dump = PREAMBLE + LEGACY_PLPGSQL + TABLE + EPILOGUE;
    assert.equal((await sanitize(dump, 1)).output, (await sanitize(dump)).output);
    assert.equal((await sanitize(dump, 7)).output, (await sanitize(dump)).output);
  });

  test("refuses a dump made without --no-owner", async () => {
    const dump = PREAMBLE + header("notes", "TABLE", "public", "rdsadmin") + "CREATE TABLE public.notes (body text);\n";
    await assert.rejects(sanitize(dump), {
      name: "DumpSanitizeError",
      message:
        'line 12: TABLE notes is owned by "rdsadmin": the dump was made without --no-owner. ' +
        "Dump again with pg_dump --no-owner (Cloud SQL cannot give objects to roles it does not have).",
    });
  });

  test("refuses a dump made with --create", async () => {
    await assert.rejects(sanitize(PREAMBLE + header("legacy", "DATABASE") + "CREATE DATABASE legacy;\n"), /pg_dump --create\/-C\). Dump again without --create/);
  });

  test("refuses custom-format archives and unexpected lines in removed entries", async () => {
    await assert.rejects(sanitize("PGDMP\u0001\u000e\u0000binary"), /custom-format archive, not SQL\. Convert it with `pg_restore/);
    await assert.rejects(
      sanitize(PREAMBLE + header("TABLE notes", "ACL", "public") + "GRANT SELECT\n  ON TABLE public.notes TO reporting;\n"),
      (error: Error) => error instanceof DumpSanitizeError && /line 14: unexpected line in the ACL entry "TABLE notes": GRANT SELECT/.test(error.message),
    );
  });

  test("detects truncated dumps", async () => {
    await assert.rejects(sanitize(PREAMBLE + TABLE.slice(0, TABLE.indexOf("\\.\n"))), /ends inside COPY data .*truncated/);
    const { report } = await sanitize(PREAMBLE + TABLE);
    assert.match(report.warnings.join("\n"), /may be truncated/);
  });

  test("a DumpSanitizer on its own is line based and byte preserving", () => {
    const sanitizer = new DumpSanitizer();
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // not valid UTF-8: must come out unchanged
    assert.deepEqual(sanitizer.line(latin1), [latin1]);
  });
});

describe("real pg_dump → sanitize → psql restore as a non-superuser", () => {
  let source: LocalPostgres;
  let target: LocalPostgres;
  const work = tempDir("pgdump-");
  const importerPassword = randomPassword();

  before(async () => {
    [source, target] = await Promise.all([LocalPostgres.create(), LocalPostgres.create()]);
    await source.createDatabase("legacy", "appuser", randomPassword());
    await source.sql(
      `CREATE ROLE reporting NOLOGIN;
       CREATE EXTENSION pg_trgm;
       CREATE TABLE public.notes (body text);
       INSERT INTO public.notes VALUES
         ('GRANT SELECT ON TABLE public.notes TO reporting;'), ('--'),
         ('-- Name: notes; Type: ACL; Schema: public; Owner: -'), (E'\\\\restrict abc'),
         (E'two\\nlines\\twith tab'), ('unicode ✓ żółć');
       CREATE INDEX notes_body_trgm ON public.notes USING gin (body gin_trgm_ops);
       CREATE TABLE public.demo_visit (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
                                       served_by varchar(255) NOT NULL);
       INSERT INTO public.demo_visit (served_by) SELECT 'pod-' || g FROM generate_series(1, 5000) AS g;
       CREATE FUNCTION public.grant_reporting() RETURNS void LANGUAGE plpgsql AS $$
       BEGIN
       GRANT SELECT ON public.notes TO reporting;
       END
       $$;
       GRANT SELECT ON public.demo_visit TO reporting;
       ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reporting;`,
      "legacy",
    );
    // Cloud SQL stand-in: the import user owns its database but is not a superuser.
    await target.sql(`CREATE ROLE importer LOGIN NOSUPERUSER PASSWORD '${importerPassword}';`);
    for (const db of ["raw", "legacy_raw", "djangoappdb"]) await target.sql(`CREATE DATABASE ${db} OWNER importer;`);
  });

  after(async () => {
    await Promise.all([source?.destroy(), target?.destroy()]);
    rmSync(work, { recursive: true, force: true });
  });

  /** psql as the import user over TCP, stopping at the first error (as an import would). */
  const restore = (file: string, database: string) =>
    run(join(PG_BIN, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", target.host, "-p", String(target.port), "-U", "importer", "-d", database, "-f", file], {
      env: { PATH: "/usr/bin:/bin", PGPASSWORD: importerPassword, HOME: work },
      check: false,
    });

  const snapshot = (pg: LocalPostgres, database: string) =>
    pg.sql(
      `SELECT json_build_object(
         'visits', (SELECT count(*) FROM public.demo_visit),
         'notes', (SELECT string_agg(body, '|' ORDER BY body) FROM public.notes),
         'sequence', (SELECT last_value FROM public.demo_visit_id_seq),
         'function', (SELECT prosrc FROM pg_proc WHERE proname = 'grant_reporting'),
         'trgm', (SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'),
         'indexes', (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'))`,
      database,
    );

  test("the raw dump fails on Cloud SQL-like permissions; the sanitized one restores with the same data", async () => {
    const dump = (await source.client("pg_dump", ["--no-owner", "--format=plain", "legacy"])).stdout;
    const rawFile = join(work, "dump.sql");
    writeFileSync(rawFile, dump);
    const firstEntry = dump.indexOf("--\n-- Name: ");
    const legacyFile = join(work, "legacy.sql");
    writeFileSync(legacyFile, dump.slice(0, firstEntry) + LEGACY_PLPGSQL + dump.slice(firstEntry));

    const raw = await restore(rawFile, "raw");
    assert.notEqual(raw.code, 0, "the unsanitized dump should fail");
    assert.match(raw.stderr, /role "reporting" does not exist/);
    const legacy = await restore(legacyFile, "legacy_raw");
    assert.notEqual(legacy.code, 0, "the legacy dump should fail");
    assert.match(legacy.stderr, /must be owner of extension plpgsql/);

    const cleanFile = join(work, "clean.sql");
    const reportFile = join(work, "report.json");
    const cli = await run(process.execPath, ["--import", "tsx", join(REPO, "cli", "pgdump-sanitize.ts"), legacyFile, "-o", cleanFile, "--report", reportFile], {
      cwd: REPO,
    });
    assert.match(cli.stderr, /removed:\n {2}1 x plpgsql-extension/);
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as SanitizeReport;
    assert.deepEqual(report.removed, {
      "plpgsql-extension": 1,
      "extension-comment": 2,
      acl: 1,
      "default-acl": 1,
      "psql-restrict": 2,
      "transaction-timeout": 0,
    });
    assert.deepEqual(report.keptExtensions, ["pg_trgm"]);
    assert.equal(report.copyBlocks, 2);

    const restored = await restore(cleanFile, "djangoappdb");
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(restored.stderr, "");
    const [original, copy] = await Promise.all([snapshot(source, "legacy"), snapshot(target, "djangoappdb")]);
    assert.deepEqual(JSON.parse(copy), JSON.parse(original));
    assert.equal((JSON.parse(original) as { visits: number }).visits, 5000);
  });

  test(".gz in and out stream through the same sanitizer", async () => {
    const legacyFile = join(work, "legacy.sql");
    writeFileSync(`${legacyFile}.gz`, gzipSync(readFileSync(legacyFile)));
    await run(process.execPath, ["--import", "tsx", join(REPO, "cli", "pgdump-sanitize.ts"), `${legacyFile}.gz`, "-o", join(work, "clean.sql.gz")], {
      cwd: REPO,
    });
    assert.equal(gunzipSync(readFileSync(join(work, "clean.sql.gz"))).toString("utf8"), readFileSync(join(work, "clean.sql"), "utf8"));
  });

  test("a refused dump leaves no output file and exits 1 with the fix", async () => {
    const owned = join(work, "owned.sql");
    writeFileSync(owned, PREAMBLE + header("notes", "TABLE", "public", "rdsadmin"));
    const result = await run(process.execPath, ["--import", "tsx", join(REPO, "cli", "pgdump-sanitize.ts"), owned, "-o", join(work, "owned.clean.sql")], {
      cwd: REPO,
      check: false,
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /made without --no-owner/);
    assert.throws(() => readFileSync(join(work, "owned.clean.sql")), { code: "ENOENT" });
    assert.throws(() => readFileSync(join(work, "owned.clean.sql.partial")), { code: "ENOENT" });
  });
});
