/**
 * Preflight: checks a real Google Cloud project before the first `pulumi up` of a stack — APIs,
 * the deploying identity's permissions, the stack's service accounts (the IAM step's), organisation policies, Compute Engine quota, existing DNS
 * records at the stack's names, the secrets key, the state bucket and the app image — by asking
 * Google's REST APIs. It only reads (plus
 * testIamPermissions, a throw-away KMS encrypt and, with --principal, a short-lived token): it never
 * creates, changes or deletes anything. See docs/preflight.md.
 *
 *   npm run preflight -- --stack staging
 *   npm run preflight -- --config-file path/Pulumi.mystack.yaml --json
 *   npm run preflight -- --stack production --principal serviceAccount:gh-deploy-production@acme-django-ci.iam.gserviceaccount.com --backend gs://acme-django-ci-pulumi-state
 *
 * Credentials: GOOGLE_OAUTH_ACCESS_TOKEN, else `gcloud auth print-access-token`.
 *
 * A check that cannot read what it needs (a permission or an API it lacks) fails, naming what it
 * lacked; `--partial` reports it as SKIP instead and exits 4.
 *
 * Exit codes: 0 every check passes (warnings allowed); 1 a check fails; 2 config or usage error;
 * 3 no credentials, a refused token, or Google unreachable; 4 (only with --partial) nothing failed
 * but at least one check could not look.
 */
import { Command, Option } from "commander";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { CliIo, processIo, runCli, parseCli } from "./lib/cliIo";
import { StackFileError, loadStackConfig, type StackConfig } from "./lib/stackConfig";
import { impersonate, memberForEmail, principalServiceAccount, PrincipalError, resolveToken, tokenInfo, type Runner } from "./lib/preflight/credentials";
import { API_BASE_ENV, ApiBaseError, AuthError, checkApiBase, GoogleClient, UnreachableError } from "./lib/preflight/google";
import { renderModel, type StackModel, type ValidatedConfig } from "./lib/preflight/model";
import { CHECK_IDS, type Check, type CheckContext, type CheckId, type CheckResult, type Identity } from "./lib/preflight/types";
import { PROJECT_DIR as PROJECT_ROOT } from "./lib/projectDir";

/** The project's root: where `index.ts` and `Pulumi.yaml` live (cli/lib/projectDir.ts). */
export const PROJECT_DIR = PROJECT_ROOT;

/**
 * The checks, by id, in output order. Loaded on first use: some modules pull in Pulumi, which a
 * usage error should not wait for.
 */
export const CHECKS: Readonly<Record<CheckId, Check>> = {
    apis: async (ctx) => (await import("./lib/preflight/apis")).checkApis(ctx),
    permissions: async (ctx) => (await import("./lib/preflight/permissions")).checkPermissions(ctx),
    accounts: async (ctx) => (await import("./lib/preflight/accounts")).checkAccounts(ctx),
    "org-policies": async (ctx) => (await import("./lib/preflight/orgPolicies")).checkOrgPolicies(ctx),
    quotas: async (ctx) => (await import("./lib/preflight/quotas")).checkQuotas(ctx),
    dns: async (ctx) => (await import("./lib/preflight/dns")).checkDns(ctx),
    kms: async (ctx) => (await import("./lib/preflight/kms")).checkKms(ctx),
    state: async (ctx) => (await import("./lib/preflight/state")).checkState(ctx),
    image: async (ctx) => (await import("./lib/preflight/image")).checkImage(ctx),
};

/** Options of {@link preflight}. */
export interface PreflightOptions {
    readonly stack?: string;
    readonly configFile?: string;
    readonly json?: boolean;
    /** Check as this service account (impersonated) instead of the caller. */
    readonly principal?: string;
    /** Pulumi backend URL; default `PULUMI_BACKEND_URL`. */
    readonly backend?: string;
    /** The image about to be deployed, instead of the stack file's `image` (what a release pins). */
    readonly image?: string;
    /** The program to render. @default the project's index.ts */
    readonly program?: string;
    /**
     * Report checks that cannot read what they need as SKIP (exit 4) instead of failing them.
     * @default false: strict, what CI runs
     */
    readonly partial?: boolean;
}

/** Exit code of a partial run: nothing failed, but some checks could not look. */
export const EXIT_PARTIAL = 4;

/** What preflight reads from its surroundings; tests pass their own. */
export interface PreflightEnvironment {
    readonly env: Readonly<Record<string, string | undefined>>;
    /** Runs `gcloud`. @default spawns it with `env` as its environment (so `env.PATH` finds it) */
    readonly runner?: Runner;
}

/** Spawns commands with `env` as their environment; for the CLI that is process.env, spawnSync's own default. */
function runnerIn(env: Readonly<Record<string, string | undefined>>): Runner {
    return (command, args) => {
        const r = spawnSync(command, args, { encoding: "utf8", timeout: 60_000, env: env as NodeJS.ProcessEnv });
        return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error as NodeJS.ErrnoException | undefined };
    };
}

/** The program failed under mocks for a reason other than its config. */
class RenderError extends Error {}

const isConfigError = (err: unknown): boolean => (err as Error)?.name === "ConfigError";

/**
 * The results as the run reports them: strict (the default) fails every check that could not read
 * what it needs, saying so; `--partial` keeps them `unchecked`.
 */
export function applyMode(results: readonly CheckResult[], partial: boolean): CheckResult[] {
    return results.map((r) => (r.status === "unchecked" && !partial ? { ...r, status: "fail", message: `could not check: ${r.message} (run with --partial to accept that)` } : r));
}

/** The exit code of a run's (mode-applied) results. */
export function exitCode(results: readonly CheckResult[]): number {
    if (results.some((r) => r.status === "fail")) {
        return 1;
    }
    return results.some((r) => r.status === "unchecked") ? EXIT_PARTIAL : 0;
}

const LABELS: Record<CheckResult["status"], string> = { pass: "PASS", fail: "FAIL", warn: "WARN", unchecked: "SKIP" };

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The readable report: one line per check, the fix under each failure, warning and skip, a summary. */
export function formatResults(results: readonly CheckResult[]): string {
    const width = Math.max(...CHECK_IDS.map((id) => id.length));
    const lines: string[] = [];
    for (const r of results) {
        lines.push(`${LABELS[r.status]}  ${r.id.padEnd(width)}  ${r.message}`);
        if (r.fix && r.status !== "pass") {
            lines.push(`${" ".repeat(6 + width)}  fix: ${r.fix}`);
        }
    }
    const count = (s: CheckResult["status"]) => results.filter((r) => r.status === s).length;
    const failed = count("fail");
    const skipped = count("unchecked");
    lines.push(
        failed > 0
            ? `FAILED: ${plural(failed, "check")} failed, ${plural(count("warn"), "warning")}, ${count("pass")} passed${skipped > 0 ? `, ${skipped} could not look` : ""}.`
            : skipped > 0
              ? `PARTIAL: ${plural(skipped, "check")} could not look (${results.filter((r) => r.status === "unchecked").map((r) => r.id).join(", ")}), ${count("pass")} passed, ${plural(count("warn"), "warning")}.`
              : `OK: ${count("pass")} passed, ${plural(count("warn"), "warning")}.`,
    );
    return lines.join("\n");
}

/** Runs the checks and returns the exit code. Expected failures are printed, never thrown. */
export async function preflight(options: PreflightOptions, io: CliIo = processIo, environment: PreflightEnvironment = { env: process.env }): Promise<number> {
    const { env } = environment;
    let stack: StackConfig;
    let config: ValidatedConfig;
    let base: string | undefined;
    let serviceAccount: string | undefined;
    try {
        base = env[API_BASE_ENV] ? checkApiBase(env[API_BASE_ENV] as string) : undefined;
        serviceAccount = options.principal ? principalServiceAccount(options.principal) : undefined;
        stack = loadStackConfig({ stack: options.stack, configFile: options.configFile, projectDir: PROJECT_DIR });
        const { platformNamespace, validateConfig } = await import("../config");
        // A consumer project's own namespace (`shop:image`) reads as django-platform's.
        stack = { ...stack, config: platformNamespace(stack.config, stack.project) };
        if (options.image !== undefined) {
            // Validated below like the stack file's own value.
            stack = { ...stack, config: { ...stack.config, "django-platform:image": options.image } };
        }
        config = validateConfig(stack.config, stack.stack);
    } catch (err) {
        if (err instanceof ApiBaseError || err instanceof PrincipalError || err instanceof StackFileError || isConfigError(err)) {
            io.stderr(`preflight: ${(err as Error).message}`);
            return 2;
        }
        throw err;
    }

    try {
        const token = resolveToken(env, environment.runner ?? runnerIn(env));
        let client = new GoogleClient(token.token, { base, quotaProject: env.GOOGLE_CLOUD_QUOTA_PROJECT || undefined });
        const info = await tokenInfo(client, token.token);
        let identity: Identity = { member: info.email ? memberForEmail(info.email) : undefined, source: token.source };
        if (serviceAccount) {
            client = client.withToken(await impersonate(client, serviceAccount, identity));
            identity = { member: `serviceAccount:${serviceAccount}`, source: `impersonated by ${identity.member ?? "the caller"}, whose token is from ${token.source}` };
        }
        io.stderr(`preflight: stack ${stack.stack} → project ${config.project} (${config.region}), as ${identity.member ?? "the token's owner (tokeninfo named none)"} (${identity.source})`);

        let rendered: Promise<StackModel> | undefined;
        const program = path.resolve(options.program ?? path.join(PROJECT_DIR, "index.ts"));
        const model = (): Promise<StackModel> =>
            (rendered ??= renderModel(stack, program).catch((err: unknown) => {
                throw isConfigError(err) ? err : new RenderError(`the program failed under mocks: ${(err as Error)?.message ?? String(err)}. Run \`npm run synth -- --stack ${stack.stack}\` for details.`);
            }));
        const ctx: CheckContext = { client, stack, config, model, identity, backendUrl: options.backend ?? (env.PULUMI_BACKEND_URL || undefined) };
        const settled = await Promise.allSettled(CHECK_IDS.map((id) => CHECKS[id](ctx)));
        const errors = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
        const fatal = errors.find((e) => e instanceof AuthError) ?? errors.find((e) => e instanceof UnreachableError) ?? errors.find((e) => e instanceof RenderError || isConfigError(e)) ?? errors[0];
        if (fatal) {
            throw fatal;
        }
        const results = applyMode(settled.map((s) => (s as PromiseFulfilledResult<CheckResult>).value), options.partial ?? false);
        io.stdout(options.json ? JSON.stringify({ partial: options.partial ?? false, checks: results }, null, 2) : formatResults(results));
        return exitCode(results);
    } catch (err) {
        if (err instanceof AuthError) {
            io.stderr(`preflight: ${err.message}`);
            return 3;
        }
        if (err instanceof UnreachableError) {
            io.stderr(`preflight: Google is unreachable: ${err.message}. Check the network (and ${API_BASE_ENV}, when set), then run preflight again.`);
            return 3;
        }
        if (err instanceof RenderError || isConfigError(err)) {
            io.stderr(`preflight: ${(err as Error).message}`);
            return 2;
        }
        throw err;
    }
}

/** Parses the command line and runs preflight; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo, environment: PreflightEnvironment = { env: process.env }): Promise<number> {
    const program = new Command()
        .name("preflight")
        .description("Check a Google Cloud project before the first pulumi up of a stack: APIs, permissions, organisation policies, quotas, existing DNS records, the secrets key, the state bucket and the image. Reads only.")
        .option("-s, --stack <name>", "stack name: reads Pulumi.yaml and Pulumi.<name>.yaml in the project")
        .option("-c, --config-file <path>", "any stack file (Pulumi.yaml is read from beside it, else from the project)")
        .option("--json", 'print {"partial","checks":[{"id","status","message","fix","lacks"?}]} instead of the readable report')
        .option("--principal <member>", "check as this service account (serviceAccount:<email>), by impersonating it; default: the caller")
        .option("--backend <url>", "Pulumi backend whose state bucket to check (gs://<bucket>); default: $PULUMI_BACKEND_URL")
        .option("--image <ref>", "the image about to be deployed (e.g. the digest a release pins); default: the stack's image")
        .option("--partial", "report a check that cannot read what it needs (a permission or API it lacks) as SKIP and exit 4, instead of failing it")
        .addOption(new Option("--program <path>", "render another program (tests)").hideHelp())
        .addHelpText(
            "after",
            "\nCredentials: GOOGLE_OAUTH_ACCESS_TOKEN, else `gcloud auth print-access-token`.\nExit codes: 0 all pass (warnings allowed); 1 a check fails (or could not look, without --partial); 2 config or usage error; 3 no credentials or Google unreachable; 4 --partial and some checks could not look.",
        );
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = program.opts<PreflightOptions>();
    if (!opts.stack && !opts.configFile) {
        io.stderr("preflight: pass --stack <name> or --config-file <path>. Try --help.");
        return 2;
    }
    return preflight(opts, io, environment);
}

if (require.main === module) {
    runCli("preflight", () => main(process.argv), 3);
}
