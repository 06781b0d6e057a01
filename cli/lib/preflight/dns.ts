/**
 * `dns`: with `dns.managedZone`, is it the public zone of the stack's names, and would creating the
 * stack's A records take over, or collide with, records that already exist in the zone?
 *
 * The provider's record set create is authoritative: it deletes every record set of the same name
 * and type in the change that adds its own (hashicorp/terraform-provider-google@e03b7622
 * `google/services/dns/resource_dns_record_set.go`, `resourceDnsRecordSetCreate`), so a live
 * site's A record would be replaced without a diff showing it; a CNAME at the name makes the create
 * fail. components/dns.ts `judgeExistingRecords` decides (the same function the program runs at
 * `pulumi up`); an A record pointing only at a global address reserved in the stack's project is
 * the stack's own (a later deploy). Only the records in `dns.managedZone` are asked for: the
 * records of a zone the stack creates itself (the private `googleapis.com` zone of a created VPC,
 * components/network.ts) cannot exist before it.
 *
 * - Cloud DNS `managedZones.get` (https://cloud.google.com/dns/docs/reference/rest/v1/managedZones/get):
 *   GET https://dns.googleapis.com/dns/v1/projects/<p>/managedZones/<zone> → `{"dnsName", "visibility", …}`;
 *   a missing zone answers 404. A valid zone name can still be the wrong zone (another domain's, or
 *   a private one): "The managed zone holds DNS records for the same DNS name suffix", and "a
 *   private zone is visible only from one or more VPC networks that you specify"
 *   (https://cloud.google.com/dns/docs/overview). Needs dns.managedZones.get on the zone's project.
 * - Cloud DNS `resourceRecordSets.list`
 *   (https://cloud.google.com/dns/docs/reference/rest/v1/resourceRecordSets/list):
 *   GET https://dns.googleapis.com/dns/v1/projects/<p>/managedZones/<zone>/rrsets?name=<fqdn>
 *   → `{"rrsets": [{"name", "type", "ttl", "rrdatas"}], "nextPageToken"?}`; a missing zone answers
 *   404. Needs dns.resourceRecordSets.list on the zone's project.
 * - Compute Engine `globalAddresses.list`
 *   (https://cloud.google.com/compute/docs/reference/rest/v1/globalAddresses/list):
 *   GET https://compute.googleapis.com/compute/v1/projects/<p>/global/addresses
 *   → `{"items": [{"name", "address", …}], "nextPageToken"?}`, only asked when an A record exists.
 *   Needs compute.globalAddresses.list.
 * Both are in the bootstrap's preflight role (bootstrap/preflightReads.ts).
 */
import { permissionOf } from "../../../bootstrap/preflightReads";
import { describeRecordSet, existingRecordsFix, judgeExistingRecords, type ExistingRecordSet } from "../../../components/dns";
import { deniedPermission, describeError, disabledService, type GoogleResponse } from "./google";
import { ofType } from "./model";
import { unchecked, type CheckContext, type CheckResult } from "./types";

/** The record sets the rendered stack creates: zone, project and name of each. */
interface PlannedRecord {
    readonly zone: string;
    readonly project: string;
    readonly name: string;
}

/** GETs every page of a list (`nextPageToken` → `pageToken`). */
async function allPages<T>(ctx: CheckContext, url: string, query: Record<string, string>, items: (body: Record<string, unknown> | undefined) => T[]): Promise<{ items: T[] } | { error: GoogleResponse }> {
    const out: T[] = [];
    let pageToken: string | undefined;
    do {
        const res = await ctx.client.get<Record<string, unknown>>(url, { ...query, ...(pageToken ? { pageToken } : {}) });
        if (!res.ok) {
            return { error: res };
        }
        out.push(...items(res.body));
        pageToken = typeof res.body?.nextPageToken === "string" ? res.body.nextPageToken : undefined;
    } while (pageToken);
    return { items: out };
}

export async function checkDns(ctx: CheckContext): Promise<CheckResult> {
    const { config } = ctx;
    if (config.dns.managedZone === undefined) {
        return { id: "dns", status: "pass", message: "dns.managedZone is not set: the stack creates no record (the dnsRecords output lists the records to create at your DNS provider)", fix: null };
    }
    const model = await ctx.model();
    const planned: PlannedRecord[] = ofType(model, "gcp:dns/recordSet:RecordSet").filter((r) => r.inputs.managedZone === config.dns.managedZone).map((r) => ({
        zone: String(r.inputs.managedZone),
        project: String(r.inputs.project ?? config.project),
        name: String(r.inputs.name),
    })).sort((a, b) => a.name.localeCompare(b.name));
    // Each zone first: it must exist, be public, and hold the names.
    for (const zoneKey of [...new Set(planned.map((r) => `${r.project}/${r.zone}`))]) {
        const [project, zone] = zoneKey.split("/");
        const res = await ctx.client.get<{ dnsName?: string; visibility?: string }>(`https://dns.googleapis.com/dns/v1/projects/${project}/managedZones/${zone}`);
        const find = `gcloud dns managed-zones list --project ${project} --format='table(name,dnsName,visibility)' (then \`pulumi config set --path dns.managedZone <name>\` with the public zone whose DNS name holds them, or \`pulumi config set --path dns.project <project>\`)`;
        if (!res.ok) {
            const disabled = disabledService(res);
            if (disabled) {
                return unchecked("dns", `cannot read zone ${zone} of ${project}: ${disabled} is disabled there (${describeError(res)})`, [`api:${disabled}`], `gcloud services enable dns.googleapis.com --project ${project}`);
            }
            if (res.status === 404) {
                return {
                    id: "dns",
                    status: "fail",
                    message: `Cloud DNS has no managed zone ${zone} in ${project} (${describeError(res)}): dns.managedZone is the zone's name (not its DNS name), in dns.project or gcp:project`,
                    fix: `gcloud dns managed-zones list --project ${project} (then \`pulumi config set --path dns.managedZone <name>\`, or \`pulumi config set --path dns.project <project>\`)`,
                };
            }
            const permission = permissionOf("dns.managedZones.get");
            if (res.status === 403) {
                return unchecked(
                    "dns",
                    `cannot read zone ${zone} in ${project} (${describeError(res)})`,
                    [deniedPermission(res) ?? permission],
                    `gcloud projects add-iam-policy-binding ${project} --member=${ctx.identity.member ?? "<member>"} --role=roles/dns.reader${project === config.project ? ` (or re-run the bootstrap, whose preflight role holds ${permission})` : ""}`,
                );
            }
            return { id: "dns", status: "unchecked", message: `managedZones.get of zone ${zone} failed (${describeError(res)})`, fix: null };
        }
        const dnsName = String(res.body?.dnsName ?? "");
        const names = planned.filter((r) => r.project === project && r.zone === zone).map((r) => r.name);
        const outside = names.filter((n) => !(dnsName !== "" && (n === dnsName || n.endsWith(`.${dnsName}`))));
        if (outside.length > 0) {
            return {
                id: "dns",
                status: "fail",
                message: `zone ${zone} in ${project} holds ${dnsName || "no DNS name"}, so it cannot hold ${outside.join(", ")}: dns.managedZone names another domain's zone, and Cloud DNS would refuse the records at pulumi up`,
                fix: find,
            };
        }
        if (res.body?.visibility === "private") {
            return {
                id: "dns",
                status: "fail",
                message: `zone ${zone} in ${project} is private: only the VPC networks it is attached to see its records, so browsers would never resolve ${names.join(", ")}`,
                fix: find,
            };
        }
    }

    const existing: { record: PlannedRecord; sets: ExistingRecordSet[] }[] = [];
    for (const record of planned) {
        const listed = await allPages(ctx, `https://dns.googleapis.com/dns/v1/projects/${record.project}/managedZones/${record.zone}/rrsets`, { name: record.name }, (body) =>
            ((body?.rrsets as ExistingRecordSet[] | undefined) ?? []).filter((s) => s.name === record.name),
        );
        if ("error" in listed) {
            const res = listed.error;
            const disabled = disabledService(res);
            if (disabled) {
                return unchecked("dns", `cannot read zone ${record.zone} of ${record.project}: ${disabled} is disabled there (${describeError(res)})`, [`api:${disabled}`], `gcloud services enable dns.googleapis.com --project ${record.project}`);
            }
            if (res.status === 404) {
                return {
                    id: "dns",
                    status: "fail",
                    message: `Cloud DNS has no managed zone ${record.zone} in ${record.project} (${describeError(res)}): dns.managedZone is the zone's name (not its DNS name), in dns.project or gcp:project`,
                    fix: `gcloud dns managed-zones list --project ${record.project} (then \`pulumi config set --path dns.managedZone <name>\`, or \`pulumi config set --path dns.project <project>\`)`,
                };
            }
            const permission = permissionOf("dns.resourceRecordSets.list");
            if (res.status === 403) {
                return unchecked(
                    "dns",
                    `cannot read the record sets of zone ${record.zone} in ${record.project} (${describeError(res)})`,
                    [deniedPermission(res) ?? permission],
                    `gcloud projects add-iam-policy-binding ${record.project} --member=${ctx.identity.member ?? "<member>"} --role=roles/dns.reader${record.project === config.project ? ` (or re-run the bootstrap, whose preflight role holds ${permission})` : ""}`,
                );
            }
            return { id: "dns", status: "unchecked", message: `resourceRecordSets.list on zone ${record.zone} failed (${describeError(res)})`, fix: null };
        }
        existing.push({ record, sets: listed.items });
    }

    let ours = new Set<string>();
    if (existing.some((e) => e.sets.some((s) => s.type === "A"))) {
        const listed = await allPages(ctx, `https://compute.googleapis.com/compute/v1/projects/${config.project}/global/addresses`, {}, (body) =>
            ((body?.items as { address?: string }[] | undefined) ?? []).map((a) => a.address).filter((a): a is string => typeof a === "string"),
        );
        if ("error" in listed) {
            const res = listed.error;
            const disabled = disabledService(res);
            const permission = permissionOf("compute.globalAddresses.list");
            return unchecked(
                "dns",
                `A records exist at the stack's names (${existing.flatMap((e) => e.sets.filter((s) => s.type === "A").map(describeRecordSet)).join("; ")}), but the project's reserved addresses could not be listed to tell whether they are the stack's own (${describeError(res)})`,
                [disabled ? `api:${disabled}` : (deniedPermission(res) ?? permission)],
                disabled ? `gcloud services enable compute.googleapis.com --project ${config.project}` : `gcloud projects add-iam-policy-binding ${config.project} --member=${ctx.identity.member ?? "<member>"} --role=roles/compute.viewer (or re-run the bootstrap, whose preflight role holds ${permission})`,
            );
        }
        ours = new Set(listed.items);
    }

    const verdicts = existing.flatMap((e) => judgeExistingRecords(e.sets, (a) => ours.has(a), config.dns.replaceExisting).map((v) => ({ ...v, zone: e.record.zone, project: e.record.project })));
    const refused = verdicts.filter((v) => v.verdict === "refuse");
    const names = planned.map((r) => r.name).join(", ");
    if (refused.length > 0) {
        const byZone = new Map(refused.map((v) => [`${v.project}/${v.zone}`, v]));
        return {
            id: "dns",
            status: "fail",
            message: `zone ${config.dns.managedZone}: ${refused.map((v) => v.reason).join("; ")}. Keep these values: they are what a rollback restores`,
            fix: [...byZone.values()].map((v) => existingRecordsFix(refused.filter((r) => r.zone === v.zone && r.project === v.project), v.zone, v.project)).join("; "),
        };
    }
    const replaced = verdicts.filter((v) => v.verdict === "replace");
    if (replaced.length > 0) {
        return {
            id: "dns",
            status: "warn",
            message: `zone ${config.dns.managedZone}: ${replaced.map((v) => v.reason).join("; ")}; traffic moves to this stack as soon as pulumi up creates the record, and HTTPS works once the managed certificate is Active (up to 60 minutes later)`,
            fix: "follow docs/dns-cutover.md (lower the TTL first; watch `kubectl describe managedcertificate`); remove dns.replaceExisting after the cutover",
        };
    }
    const own = verdicts.filter((v) => v.verdict === "ours");
    return {
        id: "dns",
        status: "pass",
        message: own.length > 0 ? `zone ${config.dns.managedZone}: ${own.map((v) => v.reason).join("; ")}` : `zone ${config.dns.managedZone} has no A, AAAA or CNAME record at ${names}: the stack creates them`,
        fix: null,
    };
}
