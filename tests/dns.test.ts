/**
 * DNS records (components/dns.ts, config `dns.*`): with `dns.managedZone` the stack creates an A
 * record per host name in that zone, pointing at the reserved addresses, so the Google-managed
 * certificates (which need the domain to resolve to the load balancer:
 * https://cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs#update-dns)
 * provision without a manual step; without it the `dnsRecords` output lists the exact records.
 * Cloud DNS record names are fully qualified with a trailing dot (`@pulumi/gcp` dns/recordSet.d.ts,
 * checked below).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { dnsRecords } from "../components/dns";
import { ConfigError, validateConfig } from "../config";
import { ROOT } from "./helpers/platform";


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
        assert.throws(() => validateConfig({
            "gcp:project": "acme-staging", "gcp:region": "europe-west1", "django-platform:domain": "app.example.com", "django-platform:image": "repo/app:1.0",
            "django-platform:dns": JSON.stringify({ project: "acme-dns" }),
        }, "staging"), (err: Error) => err instanceof ConfigError && err.problems[0] === "django-platform:dns.project is set (got \"acme-dns\") but django-platform:dns.managedZone is not, so no record would be created. Fix: `pulumi config set --path dns.managedZone <zone-name>`, or `pulumi config rm --path dns.project`.");
    });
});

// The rendered stacks (production with dns.managedZone, staging without) are checked in
// tests/edge.test.ts, which renders them anyway: one render fewer per stack for the suite.
