/**
 * DNS records (components/dns.ts, config `dns.*`): with `dns.managedZone` the stack creates an A
 * record per host name in that zone, pointing at the reserved addresses, so the Google-managed
 * certificates (which need the domain to resolve to the load balancer:
 * https://cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs#update-dns)
 * provision without a manual step; without it the `dnsRecords` output lists the exact records.
 * Cloud DNS record names are fully qualified with a trailing dot (`@pulumi/gcp` dns/recordSet.d.ts,
 * checked below).
 *
 * The provider's create is authoritative: it deletes an existing record set of the same name and
 * type in the same change (hashicorp/terraform-provider-google@e03b7622
 * `google/services/dns/resource_dns_record_set.go` `resourceDnsRecordSetCreate`; the installed
 * SDK's own note is read below). So the stack judges what exists before it creates a record: at
 * `pulumi up` (the Dns component, run here like the language host runs a program:
 * tests/fixtures/dns-guard.ts) and in preflight's `dns` check (against the fake Google).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { rowFor } from "../bootstrap/permissionTable";
import { dnsRecords, judgeExistingRecords, type ExistingRecordSet } from "../components/dns";
import { ConfigError, validateConfig } from "../config";
import { emptyWorld, type FakeRecordSet, type FakeWorld } from "./lib/fakeGoogle";
import { loadStack, runChecks, type LoadedStack } from "./lib/preflightChecks";
import { ROOT } from "./helpers/platform";

const BASE = { "gcp:project": "acme-staging", "gcp:region": "europe-west1", "django-platform:domain": "app.example.com", "django-platform:image": "repo/app:1.0" };

describe("dnsRecords (pure)", () => {
    it("one A record for the domain, one for the CDN domain when there is one, FQDN with the trailing dot", () => {
        assert.deepEqual(dnsRecords({ domain: "www.example.com", ipAddress: "203.0.113.1", ttl: 60 }), [{ name: "www.example.com.", type: "A", ttl: 60, value: "203.0.113.1" }]);
        assert.deepEqual(dnsRecords({ domain: "www.example.com", ipAddress: "203.0.113.1", cdnDomain: "static.example.com", cdnIpAddress: "203.0.113.2" }).map((r) => [r.name, r.ttl, r.value]), [
            ["www.example.com.", 300, "203.0.113.1"],
            ["static.example.com.", 300, "203.0.113.2"],
        ]);
        const sdk = readFileSync(path.join(ROOT, "node_modules/@pulumi/gcp/dns/recordSet.d.ts"), "utf8");
        assert.match(sdk, /The DNS name this record set will apply to\./);
        assert.match(sdk, /dnsName: "prod\.mydomain\.com\."/);
    });

    it("config: dns.project without dns.managedZone is refused, naming both keys", () => {
        assert.throws(() => validateConfig({ ...BASE, "django-platform:dns": JSON.stringify({ project: "acme-dns" }) }, "staging"), (err: Error) => err instanceof ConfigError && err.problems[0] === "django-platform:dns.project is set (got \"acme-dns\") but django-platform:dns.managedZone is not, so no record would be created. Fix: `pulumi config set --path dns.managedZone <zone-name>`, or `pulumi config rm --path dns.project`.");
    });

    it("config: dns.replaceExisting without dns.managedZone is refused, naming both keys and the runbook", () => {
        assert.throws(
            () => validateConfig({ ...BASE, "django-platform:dns": JSON.stringify({ replaceExisting: true }) }, "staging"),
            (err: Error) =>
                err instanceof ConfigError &&
                err.problems[0] ===
                    "django-platform:dns.replaceExisting is true but django-platform:dns.managedZone is not set, so the stack creates no record that could replace another. Fix: `pulumi config set --path dns.managedZone <zone-name>` (docs/dns-cutover.md), or `pulumi config rm --path dns.replaceExisting`.",
        );
        assert.equal(validateConfig({ ...BASE, "django-platform:dns": JSON.stringify({ managedZone: "example-com" }) }, "staging").dns.replaceExisting, false, "off unless asked");
    });
});

describe("the provider replaces existing records on create", () => {
    it("the installed SDK says the record set is authoritative (existing records of the type are overwritten)", () => {
        const sdk = readFileSync(path.join(ROOT, "node_modules/@pulumi/gcp/dns/recordSet.d.ts"), "utf8");
        assert.match(sdk, /The provider treats this resource as an authoritative record set\. This means existing records \(including the default records\) for the given type will be overwritten when you create this resource/);
    });

    it("so the deployer's role holds dns.resourceRecordSets.delete for a create, and the program reads the zone first", () => {
        const recordSet = rowFor("gcp:dns/recordSet:RecordSet");
        assert.ok(recordSet?.create.includes("dns.resourceRecordSets.delete"), "the create's change deletes the replaced set");
        assert.ok(recordSet?.create.includes("dns.resourceRecordSets.list"));
        assert.deepEqual(rowFor("gcp:dns/getRecordSets:getRecordSets")?.read, ["dns.resourceRecordSets.list"]);
    });
});

describe("the certificate waits for DNS, and the runbook reads its status where GKE puts it", () => {
    it("a Google-managed certificate provisions only once the name points at the load balancer (installed SDK's note)", () => {
        const sdk = readFileSync(path.join(ROOT, "node_modules/@pulumi/gcp/compute/managedSslCertificate.d.ts"), "utf8").replace(/\s*\n\s*\*\s*/g, " ");
        assert.match(sdk, /The provisioning process can complete only when the domain name for which the certificate is created points to a target pool which, itself, points at the certificate/);
        assert.match(sdk, /may entail some downtime while the certificate provisions/);
    });

    it("docs/dns-cutover.md watches status.certificateStatus of the networking.gke.io/v1 ManagedCertificate the stack renders", () => {
        const schema = readFileSync(path.join(ROOT, "node_modules/@kubernetes-models/gke/networking.gke.io/v1/ManagedCertificate.d.ts"), "utf8");
        assert.match(schema, /"certificateStatus"\?: string/);
        assert.match(schema, /"domainStatus"\?: Array/);
        assert.match(readFileSync(path.join(ROOT, "components/networking.ts"), "utf8"), /apiVersion: "networking\.gke\.io\/v1",\s*kind: "ManagedCertificate"/);
        const runbook = readFileSync(path.join(ROOT, "docs/dns-cutover.md"), "utf8");
        assert.ok(runbook.includes("kubectl describe managedcertificate -n django-production"));
        assert.ok(runbook.includes("jsonpath='{.items[*].status.certificateStatus}'"));
        // The rollback forgets the record set the Dns component names <platform>-dns-site.
        assert.ok(runbook.includes("grep -o 'urn:[^ ]*::django-dns-site'"));
    });
});

const A = (name: string, ...rrdatas: string[]): FakeRecordSet => ({ name, type: "A", ttl: 3600, rrdatas });
const rec = (type: string, name: string, ...rrdatas: string[]): FakeRecordSet => ({ name, type, ttl: 300, rrdatas });

describe("judgeExistingRecords (pure)", () => {
    const ours = (a: string) => a === "203.0.113.10";
    const verdicts = (existing: ExistingRecordSet[], replace: boolean) => judgeExistingRecords(existing, ours, replace).map((v) => [v.record.type, v.verdict]);

    it("an A record elsewhere is refused unless replaceExisting; one at the stack's address is its own", () => {
        assert.deepEqual(verdicts([A("www.example.com.", "198.51.100.7")], false), [["A", "refuse"]]);
        assert.deepEqual(verdicts([A("www.example.com.", "198.51.100.7")], true), [["A", "replace"]]);
        assert.deepEqual(verdicts([A("www.example.com.", "203.0.113.10")], false), [["A", "ours"]]);
        assert.deepEqual(verdicts([A("www.example.com.", "203.0.113.10", "198.51.100.7")], false), [["A", "refuse"]], "one foreign address is enough");
    });

    it("a CNAME or AAAA record is refused either way; other types coexist", () => {
        for (const replace of [false, true]) {
            assert.deepEqual(verdicts([rec("CNAME", "www.example.com.", "old.example.net."), rec("AAAA", "www.example.com.", "2001:db8::1"), rec("TXT", "www.example.com.", '"v=spf1 -all"'), rec("CAA", "www.example.com.", '0 issue "pki.goog"')], replace), [
                ["CNAME", "refuse"],
                ["AAAA", "refuse"],
            ]);
        }
        const [cname] = judgeExistingRecords([rec("CNAME", "www.example.com.", "old.example.net.")], ours, true);
        assert.match(cname.reason, /CNAME www\.example\.com\. → old\.example\.net\. .*cannot share its name/);
    });
});

/** Runs the Dns component as a program in its own process (tests/fixtures/dns-guard.ts). */
function runGuard(existing: Record<string, ExistingRecordSet[]>, args: Record<string, unknown>): { code: number | null; error: string | null; recordSets: { name: string; rrdatas: string[] }[] } {
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "tests", "fixtures", "dns-guard.ts"), JSON.stringify({ existing, args })], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    assert.ok(line.startsWith("{"), `no report from the guard run: ${r.stdout}\n${r.stderr}`);
    return { code: r.status, ...(JSON.parse(line) as { error: string | null; recordSets: { name: string; rrdatas: string[] }[] }) };
}

describe("pulumi up refuses to replace records it does not own", () => {
    const args = { managedZone: "example-com", project: "acme-dns", domain: "www.example.com", ipAddress: "203.0.113.10", cdnDomain: "static.example.com", cdnIpAddress: "203.0.113.20", ttl: 300 };

    it("a live A record at the name stops the program, naming it and the fix, and no record set is created for it", () => {
        const run = runGuard({ "www.example.com.": [A("www.example.com.", "198.51.100.7")] }, args);
        assert.equal(run.code, 1);
        assert.match(run.error ?? "", /dns\.managedZone example-com \(project acme-dns\): A www\.example\.com\. → 198\.51\.100\.7 \(TTL 3600\) exists and points elsewhere; pulumi up would replace it silently/);
        assert.match(run.error ?? "", /Fix: plan the cutover \(docs\/dns-cutover\.md\), then `pulumi config set --path dns\.replaceExisting true`/);
        assert.deepEqual(run.recordSets.map((r) => r.name), ["static.example.com."], "only the name with nothing in the way is registered");
    });

    it("with replaceExisting it creates the records; a record already at the stack's address is its own", () => {
        const run = runGuard({ "www.example.com.": [A("www.example.com.", "198.51.100.7")], "static.example.com.": [A("static.example.com.", "203.0.113.20")] }, { ...args, replaceExisting: true });
        assert.equal(run.code, 0, run.error ?? "");
        assert.deepEqual(run.recordSets.map((r) => [r.name, r.rrdatas]), [
            ["www.example.com.", ["203.0.113.10"]],
            ["static.example.com.", ["203.0.113.20"]],
        ]);
    });

    it("a CNAME at the name stops the program even with replaceExisting, with the delete command", () => {
        const run = runGuard({ "static.example.com.": [rec("CNAME", "static.example.com.", "c.storage.googleapis.com.")] }, { ...args, replaceExisting: true });
        assert.equal(run.code, 1);
        assert.match(run.error ?? "", /CNAME static\.example\.com\. → c\.storage\.googleapis\.com\. .*cannot share its name with the A record/);
        assert.match(run.error ?? "", /gcloud dns record-sets delete static\.example\.com\. --type=CNAME --zone=example-com --project=acme-dns/);
    });
});

describe("preflight's dns check (production: dns.managedZone example-com, www and static)", () => {
    const ALICE = "alice@example.com";
    let production: LoadedStack;
    let staging: LoadedStack;
    before(async () => {
        production = await loadStack("production");
        staging = await loadStack("staging");
    });
    const world = (records: FakeRecordSet[] | undefined, addresses: string[] = []): FakeWorld => {
        const w = emptyWorld();
        w.tokens = { t: ALICE };
        w.projects = { "acme-django-prod": "210987654321" };
        if (records) {
            w.dnsZones["acme-django-prod/example-com"] = records;
        }
        w.globalAddresses["acme-django-prod"] = addresses;
        return w;
    };
    const dns = async (w: FakeWorld, config: Record<string, unknown> = {}) => {
        const runs = await runChecks(production, w, "t", `user:${ALICE}`, ["dns"], { config: { dns: { ...production.config.dns, ...config } } as never });
        return runs.dns;
    };

    it("asks Cloud DNS for each name the stack creates; an empty zone passes", async () => {
        // The names docs/dns-cutover.md's rollback forgets.
        const recordSets = production.model.resources.filter((r) => r.type === "gcp:dns/recordSet:RecordSet");
        assert.deepEqual(recordSets.filter((r) => r.inputs.managedZone === "example-com").map((r) => r.name).sort(), ["django-dns-cdn", "django-dns-site"]);
        // The private googleapis.com zone's records are in a zone the stack creates: nothing to ask (below, only two requests).
        assert.deepEqual(recordSets.filter((r) => r.inputs.managedZone !== "example-com").map((r) => r.name).sort(), ["django-network-googleapis-private", "django-network-googleapis-wildcard"]);
        const run = await dns(world([]));
        assert.equal(run.result.status, "pass", run.result.message);
        assert.match(run.result.message, /no A, AAAA or CNAME record at static\.example\.com\., www\.example\.com\./);
        assert.deepEqual(run.requests.map((r) => `${r.host}${r.path}${r.query.get("name") ? `?name=${r.query.get("name")}` : ""}`), [
            "dns.googleapis.com/dns/v1/projects/acme-django-prod/managedZones/example-com",
            "dns.googleapis.com/dns/v1/projects/acme-django-prod/managedZones/example-com/rrsets?name=static.example.com.",
            "dns.googleapis.com/dns/v1/projects/acme-django-prod/managedZones/example-com/rrsets?name=www.example.com.",
        ]);
    });

    it("fails when dns.managedZone is a real zone of another domain (valid name, wrong zone), naming the zone's DNS name and how to find the right one", async () => {
        const w = world([]);
        w.dnsZoneInfo["acme-django-prod/example-com"] = { dnsName: "marketing.example.org.", visibility: "public" };
        const run = await dns(w);
        assert.equal(run.result.status, "fail", run.result.message);
        assert.match(run.result.message, /zone example-com in acme-django-prod holds marketing\.example\.org\., so it cannot hold static\.example\.com\., www\.example\.com\./);
        assert.match(run.result.fix ?? "", /gcloud dns managed-zones list --project acme-django-prod --format='table\(name,dnsName,visibility\)'/);
        assert.match(run.result.fix ?? "", /pulumi config set --path dns\.managedZone <name>/);
        assert.ok(!run.requests.some((r) => r.path.endsWith("/rrsets")), "no record is looked up in the wrong zone");
    });

    it("fails when the zone is private (only VPC networks would see the records)", async () => {
        const w = world([]);
        w.dnsZoneInfo["acme-django-prod/example-com"] = { dnsName: "example.com.", visibility: "private" };
        const run = await dns(w);
        assert.equal(run.result.status, "fail", run.result.message);
        assert.match(run.result.message, /zone example-com in acme-django-prod is private: only the VPC networks it is attached to see its records/);
    });

    it("fails on a live A record (printing its value for the rollback) and on a CNAME, with their fixes", async () => {
        const run = await dns(world([A("www.example.com.", "198.51.100.7"), rec("CNAME", "static.example.com.", "c.storage.googleapis.com."), rec("MX", "example.com.", "10 mx.example.com.")]));
        assert.equal(run.result.status, "fail");
        assert.match(run.result.message, /A www\.example\.com\. → 198\.51\.100\.7 \(TTL 3600\) exists and points elsewhere/);
        assert.match(run.result.message, /CNAME static\.example\.com\. → c\.storage\.googleapis\.com\./);
        assert.match(run.result.message, /Keep these values: they are what a rollback restores/);
        assert.match(run.result.fix ?? "", /pulumi config set --path dns\.replaceExisting true/);
        assert.match(run.result.fix ?? "", /gcloud dns record-sets delete static\.example\.com\. --type=CNAME --zone=example-com --project=acme-django-prod/);
    });

    it("warns, with the runbook, when dns.replaceExisting asks for the takeover", async () => {
        const run = await dns(world([A("www.example.com.", "198.51.100.7")]), { replaceExisting: true });
        assert.equal(run.result.status, "warn", run.result.message);
        assert.match(run.result.message, /will be replaced by the stack's record \(dns\.replaceExisting\)/);
        assert.match(run.result.fix ?? "", /docs\/dns-cutover\.md/);
    });

    it("passes records that point at an address reserved in the stack's project (a later deploy)", async () => {
        const run = await dns(world([A("www.example.com.", "203.0.113.10"), A("static.example.com.", "203.0.113.20")], ["203.0.113.10", "203.0.113.20", "10.99.0.0"]));
        assert.equal(run.result.status, "pass", run.result.message);
        assert.match(run.result.message, /A www\.example\.com\. → 203\.0\.113\.10 \(TTL 3600\) already points at this stack's address/);
        assert.ok(run.requests.some((r) => r.host === "compute.googleapis.com" && r.path === "/compute/v1/projects/acme-django-prod/global/addresses"));
    });

    it("fails when the zone does not exist, and cannot look (unchecked) without dns.resourceRecordSets.list", async () => {
        const missing = await dns(world(undefined));
        assert.equal(missing.result.status, "fail");
        assert.match(missing.result.message, /Cloud DNS has no managed zone example-com in acme-django-prod/);
        const w = world([]);
        w.grants[ALICE] = ["compute.globalAddresses.list", "dns.managedZones.get"];
        const blind = await dns(w);
        assert.equal(blind.result.status, "unchecked");
        assert.deepEqual(blind.result.lacks, ["dns.resourceRecordSets.list"]);
        const w2 = world([]);
        w2.grants[ALICE] = ["compute.globalAddresses.list", "dns.resourceRecordSets.list"];
        const noZone = await dns(w2);
        assert.equal(noZone.result.status, "unchecked");
        assert.deepEqual(noZone.result.lacks, ["dns.managedZones.get"]);
    });

    it("asks nothing when the stack manages no records (staging)", async () => {
        const runs = await runChecks(staging, world([]), "t", `user:${ALICE}`, ["dns"]);
        assert.equal(runs.dns.result.status, "pass");
        assert.deepEqual(runs.dns.requests, []);
    });
});
