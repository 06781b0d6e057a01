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

/**
 * The site's DNS: with a managed zone, one `gcp.dns.RecordSet` (A) per record in that zone, so
 * Google-managed certificates, which need the domain to resolve to the load balancer, provision
 * without a manual step (https://cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs#update-dns).
 * Without one, `records` lists exactly what to create at the DNS provider.
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
            records.forEach((record, i) => {
                new gcp.dns.RecordSet(`${name}-${i === 0 ? "site" : "cdn"}`, {
                    project: args.project,
                    managedZone: args.managedZone!,
                    name: record.name,
                    type: record.type,
                    ttl: record.ttl,
                    rrdatas: [record.value],
                }, { parent: this });
            });
        }
        this.records = pulumi.output(records.map((r) => ({ ...r, value: r.value })));
        this.registerOutputs({ records: this.records });
    }
}
