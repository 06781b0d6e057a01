/**
 * The backing services of local runs, started once and shared by the runs that use them one after
 * the other (the tests run several stacks on one set): PostgreSQL (for Cloud SQL), the GCS
 * emulator and its front, the Workload Identity stand-ins, the HTTPS egress stand-in for Google's
 * APIs with its CA, and the run directory with the read-only copy of the project.
 *
 * Each failure to start names the service and what to do ({@link ServiceError}); whatever had
 * started is stopped again.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_DIR } from "../appPython";
import { LocalCa } from "./certificates";
import { GoogleApisEgress } from "./egress";
import { LocalGcs } from "./gcs";
import { WorkloadIdentities } from "./identity";
import { LocalPostgres } from "./postgres";
import { detectIsolation, setWritable, type Isolation } from "./sandbox";
import type { StackIam } from "./stackIam";

/** A backing service that did not start: its name, the fix, and its last output. */
export class ServiceError extends Error {
    constructor(
        readonly service: string,
        readonly fix: string,
        readonly detail: string,
    ) {
        super(`${service} did not start: ${detail.trim().split("\n").filter(Boolean).at(-1) ?? "no output"}. ${fix}`);
    }
}

/** The host the IAM Credentials stand-in answers for (google-cloud-storage signs through it). */
export const IAM_CREDENTIALS_HOST = "iamcredentials.googleapis.com";

/** Options of {@link LocalServices.start}. */
export interface ServicesOptions {
    /** fake-gcs-server's binary. */
    readonly fakeGcsServer: string;
    /**
     * Paths the run directory must not be under: the app containers' emptyDir mount paths (`/tmp`),
     * which hide what is below them inside the container's filesystem.
     */
    readonly avoid?: readonly string[];
    /** Output of the services (for --logs). */
    readonly onOutput?: (service: string, text: string) => void;
    /** PostgreSQL server settings (`-c name=value`), e.g. a Cloud SQL tier's `max_connections`. */
    readonly postgresSettings?: Readonly<Record<string, string>>;
}

/** Where the run directory goes: the first of the OS temp dir, /var/tmp and .scratch/ that no emptyDir hides. */
export function runBase(avoid: readonly string[]): string {
    const hidden = (dir: string) => avoid.some((p) => dir === p || dir.startsWith(p.endsWith("/") ? p : `${p}/`));
    const base = [tmpdir(), "/var/tmp"].find((dir) => !hidden(dir) && existsSync(dir));
    if (base) return base;
    const scratch = join(REPO_DIR, ".scratch");
    if (hidden(scratch)) throw new Error(`no directory for the run outside ${avoid.join(", ")}`);
    mkdirSync(scratch, { recursive: true });
    return scratch;
}

/** The shared services. */
export class LocalServices {
    /** The IAM of the stack being run (signBlob and Workload Identity check it). */
    iam: StackIam | undefined;
    private memorystoreCa: Promise<LocalCa> | undefined;
    private readonly appCopies = new Map<string, Promise<string>>();

    private constructor(
        /** The run directory (removed by {@link close}). */
        readonly root: string,
        readonly postgres: LocalPostgres,
        readonly gcs: LocalGcs,
        readonly identities: WorkloadIdentities,
        readonly egress: GoogleApisEgress,
        /** Stands in for the public CAs of Google's API endpoints. */
        readonly googleCa: LocalCa,
        readonly isolation: Isolation,
    ) {}

    /** Starts everything; on a failure stops what started and throws a {@link ServiceError}. */
    static async start(options: ServicesOptions): Promise<LocalServices> {
        const root = mkdtempSync(join(runBase(options.avoid ?? []), "django-local-"));
        // PostgreSQL runs as the postgres user when this runs as root: it must reach its directory.
        chmodSync(root, 0o711);
        const identities = new WorkloadIdentities();
        let services: LocalServices | undefined;
        const out = (service: string) => (options.onOutput ? (text: string) => options.onOutput?.(service, text) : undefined);
        const settled = await Promise.allSettled([
            LocalPostgres.create({ ssl: true, parent: root, settings: options.postgresSettings }).catch((e: Error) => {
                throw new ServiceError("PostgreSQL", "Is the postgresql package installed (bash maint/install-deps.sh)? Its output is above.", e.message);
            }),
            LocalGcs.start(options.fakeGcsServer, (email) => identities.publicKey(email), out("fake-gcs-server")).catch((e: Error) => {
                throw new ServiceError("fake-gcs-server", "Rebuild it with `bash maint/install-deps.sh`.", e.message);
            }),
            LocalCa.create(join(root, "google-ca"), "django-platform local stand-in for Google's public CAs").then(async (ca) => {
                const egress = await GoogleApisEgress.start(ca, {
                    [IAM_CREDENTIALS_HOST]: (req, res) => identities.signBlob(req, res, () => services?.iam),
                });
                return { ca, egress };
            }).catch((e: Error) => {
                throw new ServiceError("the HTTPS stand-in for Google's APIs", "It needs the openssl command (bash maint/install-deps.sh).", e.message);
            }),
            detectIsolation(),
        ] as const);
        const [pg, gcs, tls, isolation] = settled;
        if (pg.status === "rejected" || gcs.status === "rejected" || tls.status === "rejected" || isolation.status === "rejected") {
            await Promise.allSettled([
                pg.status === "fulfilled" ? pg.value.destroy() : undefined,
                gcs.status === "fulfilled" ? gcs.value.close() : undefined,
                tls.status === "fulfilled" ? tls.value.egress.close() : undefined,
                identities.close(),
            ]);
            rmSync(root, { recursive: true, force: true });
            const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
            throw failed?.reason;
        }
        services = new LocalServices(root, pg.value, gcs.value, identities, tls.value.egress, tls.value.ca, isolation.value);
        return services;
    }

    /** The CA standing in for a Memorystore instance's own server CA (made on first use). */
    memorystoreServerCa(): Promise<LocalCa> {
        this.memorystoreCa ??= LocalCa.create(join(this.root, "memorystore-ca"), "django-platform local stand-in for the Memorystore server CA");
        return this.memorystoreCa;
    }

    /**
     * The read-only copy of a project (the image's /app), made once per source directory by
     * `prepare(dest)`: the runs that share these services run the same image.
     */
    appCopy(source: string, prepare: (dest: string) => Promise<void>): Promise<string> {
        let copy = this.appCopies.get(source);
        if (!copy) {
            const dest = join(this.root, `app-${this.appCopies.size + 1}`);
            copy = prepare(dest).then(() => dest);
            this.appCopies.set(source, copy);
        }
        return copy;
    }

    /** Stops every service and removes the run directory. */
    async close(): Promise<void> {
        await Promise.allSettled([this.postgres.destroy(), this.gcs.close(), this.egress.close(), this.identities.close()]);
        setWritable(this.root, true);
        rmSync(this.root, { recursive: true, force: true });
    }
}
