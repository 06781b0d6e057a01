import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** One DNS record, as the `dnsRecords` stack output lists it. */
export interface DnsRecord {
    /** Fully qualified name with the trailing dot (`www.example.com.`). */
    readonly name: string;
    readonly type: "A";
    readonly ttl: number;
    /** The reserved global address it points at. */
    readonly value: pulumi.Input<string>;
}

/** Arguments of {@link Dns}. */
export interface DnsArgs {
    /**
     * Cloud DNS managed zone (its name, not its DNS name) that holds the records. Unset: nothing is
     * created and {@link Dns.records} says what to create by hand. @default undefined
     */
    readonly managedZone?: string;
    /** Project of the managed zone (it may live in a shared DNS project). @default the stack's project */
    readonly project: string;
    /** The site's host name and the address of its load balancer (networking.ts). */
    readonly domain: string;
    readonly ipAddress: pulumi.Input<string>;
    /** The CDN's host name and address (statics.ts), when the CDN is on. @default undefined */
    readonly cdnDomain?: string;
    readonly cdnIpAddress?: pulumi.Input<string>;
    /** TTL of the records, seconds. @default 300 */
    readonly ttl?: number;
    /**
     * Replace an existing A record of the same name that points elsewhere (config
     * `dns.replaceExisting`, a planned cutover: docs/dns-cutover.md). Unset, such a record stops
     * `pulumi up` before the record set is created. @default false
     */
    readonly replaceExisting?: boolean;
}

/** The A records the site needs: the domain, and the CDN domain when there is one. Pure. */
export function dnsRecords(args: Pick<DnsArgs, "domain" | "ipAddress" | "cdnDomain" | "cdnIpAddress" | "ttl">): DnsRecord[] {
    const ttl = args.ttl ?? 300;
    const records: DnsRecord[] = [{ name: `${args.domain}.`, type: "A", ttl, value: args.ipAddress }];
    if (args.cdnDomain !== undefined && args.cdnIpAddress !== undefined) {
        records.push({ name: `${args.cdnDomain}.`, type: "A", ttl, value: args.cdnIpAddress });
    }
    return records;
}

/** A record set that already exists in the zone (Cloud DNS `ResourceRecordSet`). */
export interface ExistingRecordSet {
    readonly name: string;
    readonly type: string;
    readonly ttl?: number;
    readonly rrdatas: readonly string[];
}

/** What an existing record set at a name the stack creates means for the stack. */
export interface ExistingRecordVerdict {
    /**
     * `ours`: an A record pointing only at the stack's own address(es); `replace`: an A record
     * elsewhere that `dns.replaceExisting` lets the provider replace; `refuse`: stop.
     */
    readonly verdict: "ours" | "replace" | "refuse";
    readonly record: ExistingRecordSet;
    /** Why, in one sentence naming the record, for error and preflight messages. */
    readonly reason: string;
}

/** `A www.example.com. → 198.51.100.7 (TTL 3600)`. */
export function describeRecordSet(r: ExistingRecordSet): string {
    return `${r.type} ${r.name} → ${r.rrdatas.join(", ")}${r.ttl !== undefined ? ` (TTL ${r.ttl})` : ""}`;
}

/**
 * Judges the record sets that exist at the name of a record the stack is about to create, as
 * Cloud DNS and the provider would treat them. Pure; used by {@link Dns} at `pulumi up` and by
 * preflight's `dns` check.
 *
 * - The provider's create is authoritative: it lists the zone and deletes every record set of the
 *   same name and type in the same change that adds its own
 *   (hashicorp/terraform-provider-google@e03b7622 `google/services/dns/resource_dns_record_set.go`,
 *   `resourceDnsRecordSetCreate`), without a diff that shows the old values. So an A record
 *   elsewhere is replaced silently: refused unless `replaceExisting`.
 * - A CNAME cannot share its name with any other data (RFC 1034 §3.6.2, RFC 2181 §10.1): the
 *   provider deletes nothing of another type, so adding the A record next to it fails. Refused.
 * - The load balancer has an IPv4 address only; an AAAA record would keep IPv6 clients on
 *   whatever it points at. Refused (delete it at the cutover).
 * - Other types (TXT, MX, CAA, …) coexist with an A record and are left alone.
 *
 * @param isOurs whether an address is the stack's own (its reserved global address(es)).
 */
export function judgeExistingRecords(existing: readonly ExistingRecordSet[], isOurs: (address: string) => boolean, replaceExisting: boolean): ExistingRecordVerdict[] {
    const out: ExistingRecordVerdict[] = [];
    for (const record of existing) {
        const shown = describeRecordSet(record);
        if (record.type === "A") {
            if (record.rrdatas.length > 0 && record.rrdatas.every(isOurs)) {
                out.push({ verdict: "ours", record, reason: `${shown} already points at this stack's address` });
            } else if (replaceExisting) {
                out.push({ verdict: "replace", record, reason: `${shown} will be replaced by the stack's record (dns.replaceExisting)` });
            } else {
                out.push({
                    verdict: "refuse",
                    record,
                    reason: `${shown} exists and points elsewhere; pulumi up would replace it silently (the provider's create deletes a record set of the same name and type)`,
                });
            }
        } else if (record.type === "CNAME") {
            out.push({ verdict: "refuse", record, reason: `${shown} exists; a CNAME cannot share its name with the A record the stack creates, so the change would fail` });
        } else if (record.type === "AAAA") {
            out.push({ verdict: "refuse", record, reason: `${shown} exists; the load balancer has no IPv6 address, so IPv6 clients would keep reaching that host` });
        }
    }
    return out;
}

/** The fix that goes with refused records (config key, runbook, the delete command for CNAME/AAAA). */
export function existingRecordsFix(refused: readonly ExistingRecordVerdict[], zone: string, project: string): string {
    const fixes = new Set<string>();
    for (const v of refused) {
        if (v.record.type === "A") {
            fixes.add("plan the cutover (docs/dns-cutover.md), then `pulumi config set --path dns.replaceExisting true`");
        } else {
            fixes.add(`delete it at the cutover (docs/dns-cutover.md): \`gcloud dns record-sets delete ${v.record.name} --type=${v.record.type} --zone=${zone} --project=${project}\``);
        }
    }
    return [...fixes].join("; ");
}

/**
 * The site's DNS: with a managed zone, one `gcp.dns.RecordSet` (A) per record in that zone, so
 * Google-managed certificates, which need the domain to resolve to the load balancer, provision
 * without a manual step (https://cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs#update-dns).
 * Without one, `records` lists exactly what to create at the DNS provider.
 *
 * Before each record set is created, the zone's record sets of that name are read
 * (`gcp.dns.getRecordSets`) and judged by {@link judgeExistingRecords}: a record the stack would
 * silently replace, or one that makes the create fail, stops `pulumi up` with a message naming it,
 * unless `replaceExisting` allows an A record to be replaced. The judgement needs the stack's
 * address, so on a first deploy (address not reserved yet) it happens during `pulumi up`, just
 * after the address is reserved and before the record set; preflight's `dns` check asks the same
 * question before anything is created.
 */
export class Dns extends pulumi.ComponentResource {
    /** The records (created here when `managedZone` is set). */
    public readonly records: pulumi.Output<{ name: string; type: string; ttl: number; value: string }[]>;
    /** Whether the records are managed by this stack. */
    public readonly managed: boolean;

    constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:dns:Dns", name, {}, opts);
        const records = dnsRecords(args);
        this.managed = args.managedZone !== undefined;
        if (args.managedZone !== undefined) {
            const zone = args.managedZone;
            records.forEach((record, i) => {
                const role = i === 0 ? "site" : "cdn";
                const existing = gcp.dns.getRecordSetsOutput({ project: args.project, managedZone: zone, name: record.name }, { parent: this });
                const address = pulumi.all([existing.rrsets, record.value]).apply(([rrsets, value]) => {
                    const refused = judgeExistingRecords(rrsets ?? [], (a) => a === value, args.replaceExisting ?? false).filter((v) => v.verdict === "refuse");
                    if (refused.length > 0) {
                        throw new pulumi.ResourceError(
                            `dns.managedZone ${zone} (project ${args.project}): ${refused.map((v) => v.reason).join("; ")}. Fix: ${existingRecordsFix(refused, zone, args.project)}.`,
                            this,
                        );
                    }
                    return value;
                });
                new gcp.dns.RecordSet(`${name}-${role}`, {
                    project: args.project,
                    managedZone: zone,
                    name: record.name,
                    type: record.type,
                    ttl: record.ttl,
                    rrdatas: [address],
                }, { parent: this });
            });
        }
        this.records = pulumi.output(records.map((r) => ({ ...r, value: r.value })));
        this.registerOutputs({ records: this.records });
    }
}
