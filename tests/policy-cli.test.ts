/**
 * `npm run policy` end to end: the real CLI in its own process (`node --import tsx cli/policy.ts`,
 * the same TypeScript loader `npm run policy`'s `tsx` uses), once per exit code: 1 on an insecure
 * export (the whole pack, loaded and run in a fresh process), 2 on a non-JSON file, 0 for --help.
 * Everything else, the clean export included, through the CLI's `main()` in this process, which is
 * what the real command runs (`main(process.argv)`, its return value the exit code).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { main } from "../cli/policy";
import { secureStack } from "./fixtures/policy/secureStack";

const ROOT = path.resolve(__dirname, "..");
const INSECURE = path.join("tests", "fixtures", "policy", "insecure-export.json");

interface Result { code: number; stdout: string; stderr: string }

/** Runs `node --import tsx cli/policy.ts <args>` in the project. */
function policyCli(...args: string[]): Promise<Result> {
    return new Promise((resolve) => {
        execFile(process.execPath, ["--import", "tsx", "cli/policy.ts", ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
    });
}

/** Runs the CLI's `main()` in-process. */
async function policyMain(...args: string[]): Promise<Result> {
    let stdout = "";
    let stderr = "";
    const code = await main(["node", "policy", ...args], {
        stdout: (text) => { stdout += `${text}\n`; },
        stderr: (text) => { stderr += `${text}\n`; },
    });
    return { code, stdout, stderr };
}

describe("npm run policy", () => {
    let dir: string;
    let spawned: Record<"insecure" | "help" | "notJson", Promise<Result>>;
    before(() => {
        dir = mkdtempSync(path.join(tmpdir(), "policy-cli-"));
        writeFileSync(path.join(dir, "clean.json"), JSON.stringify(secureStack()));
        writeFileSync(path.join(dir, "not-json.json"), "this is not JSON\n");
        writeFileSync(path.join(dir, "bad-config.json"), JSON.stringify({ "sql-instance-requires-ssl": { allowedSslModes: "ENCRYPTED_ONLY" } }));
        writeFileSync(path.join(dir, "relaxed.json"), JSON.stringify({ all: "advisory" }));
        // The real command, started at once so the Node start-ups overlap.
        spawned = {
            insecure: policyCli(INSECURE, "--json"),
            help: policyCli("--help"),
            notJson: policyCli(path.join(dir, "not-json.json")),
        };
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("exits 1 on the insecure export and lists every mandatory violation by policy and resource", async () => {
        const { code, stdout, stderr } = await spawned.insecure;
        assert.equal(code, 1);
        assert.equal(stderr, "", "loading and running the pack in a fresh process prints nothing else");
        const { violations } = JSON.parse(stdout) as { violations: { policyName: string; enforcementLevel: string; urn: string; message: string }[] };
        for (const v of violations) {
            assert.deepEqual(Object.keys(v), ["policyName", "enforcementLevel", "urn", "message"]);
        }
        const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName} ${v.urn.slice(v.urn.lastIndexOf("::") + 2)}`);
        assert.deepEqual([...new Set(mandatory)].sort(), [
            "deployment-has-pod-disruption-budget django-web",
            "hpa-target-omits-replicas django-web",
            "pod-disables-service-account-token-automount django-web",
            "pod-drops-all-capabilities django-web",
            "pod-forbids-literal-secrets-in-env django-web",
            "pod-forbids-privilege-escalation django-web",
            "pod-forbids-privileged-containers django-web",
            "pod-pins-image-tags django-web",
            "pod-runs-as-non-root django-web",
            "pod-sets-seccomp-profile django-web",
            "pod-uses-read-only-root-filesystem django-web",
            "sql-instance-disables-public-ip django-db",
            "sql-instance-forbids-open-authorized-networks django-db",
            "sql-instance-requires-ssl django-db",
            "storage-bucket-allows-public-read-only-on-statics django-media-public",
            "storage-bucket-enforces-public-access-prevention django-media-bucket",
            "storage-bucket-forbids-public-listing django-media-public",
            "workload-has-default-deny-network-policy django-web",
        ]);
        assert.ok(violations.some((v) => v.enforcementLevel === "advisory"));
    });
    it("exits 0 on a clean export", async () => {
        assert.deepEqual(await policyMain(path.join(dir, "clean.json")), { code: 0, stdout: "No policy violations.\n", stderr: "" });
    });
    it("the real command exits 0 with its usage on stdout for --help", async () => {
        const { code, stdout, stderr } = await spawned.help;
        assert.equal(code, 0);
        assert.equal(stderr, "");
        assert.match(stdout, /^Usage: policy \[options\] <stack-export>\n/);
        assert.match(stdout, /\nExit codes: 0 no mandatory violation; 1 mandatory violations; 2 unreadable input or bad config\.\n$/);
    });
    it("exits 2 with a clear message on a file that is not JSON", async () => {
        const { code, stdout, stderr } = await spawned.notJson;
        assert.equal(code, 2);
        assert.equal(stdout, "");
        assert.match(stderr, /^policy: .*not-json\.json is not valid JSON \(.*\)\. Pass the file written by `pulumi stack export --file <f>` or `npm run synth -- --out out\/` \(out\/stack-export\.json\)\.\n$/);
    });
    it("prints policy, level, URN and message per violation and a summary", async () => {
        const { code, stdout } = await policyMain(INSECURE);
        assert.equal(code, 1);
        assert.match(stdout, /^MANDATORY {2}pod-forbids-privileged-containers\n {4}urn:pulumi:staging::django-platform::django-platform:index:DjangoPlatform\$kubernetes:apps\/v1:Deployment::django-web\n {4}container "web" sets securityContext\.privileged: true; remove it\.$/m);
        assert.match(stdout, /^advisory {3}sql-instance-enables-query-insights$/m);
        assert.match(stdout, /\n\d+ policy violation\(s\): 20 mandatory, \d+ advisory\.\n$/);
    });
    it("exits 0 when the config makes every policy advisory", async () => {
        const { code, stdout } = await policyMain(INSECURE, "--config", path.join(dir, "relaxed.json"), "--json");
        assert.equal(code, 0);
        assert.ok((JSON.parse(stdout) as { violations: { enforcementLevel: string }[] }).violations.every((v) => v.enforcementLevel === "advisory"));
    });
    it("exits 2 when the file is missing", async () => {
        const { code, stderr } = await policyMain(path.join(dir, "missing.json"));
        assert.equal(code, 2);
        assert.match(stderr, /^policy: cannot read the stack export .*missing\.json: ENOENT\n$/);
    });
    it("exits 2 on bad policy config, naming the file, the policy and the setting", async () => {
        const { code, stderr } = await policyMain(INSECURE, "--config", path.join(dir, "bad-config.json"));
        assert.equal(code, 2);
        assert.equal(stderr, `policy: bad policy config in ${path.join(dir, "bad-config.json")}: "sql-instance-requires-ssl": allowedSslModes must be array. See docs/policies.md for every policy and its settings.\n`);
    });
    it("exits 2 without an export file, and 0 for --help", async () => {
        const none = await policyMain();
        assert.equal(none.code, 2);
        assert.match(none.stderr, /missing required argument 'stack-export'/);
        const help = await policyMain("--help");
        assert.equal(help.code, 0);
        assert.match(help.stdout, /Exit codes: 0 no mandatory violation; 1 mandatory violations; 2 unreadable input or bad config\./);
    });
});
