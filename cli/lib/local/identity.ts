/**
 * Workload Identity on this machine: a metadata-server stand-in per Kubernetes ServiceAccount, and
 * the IAM Credentials `signBlob` method, both answering as Google's would for what the app's
 * libraries ask.
 *
 * google-auth finds the metadata server through `GCE_METADATA_HOST` (host[:port] of
 * `http://…/computeMetadata/v1/`) and checks that it is there with a GET of `http://$GCE_METADATA_IP/`
 * that must answer 200 with `Metadata-Flavor: Google` (google/auth/compute_engine/_metadata.py,
 * `_get_metadata_root`, `_get_metadata_ip_root`, `ping`); a credential refresh reads
 * `instance/service-accounts/default/?recursive=true` (the email) and
 * `instance/service-accounts/default/token` (`access_token`, `expires_in`). Each pod gets the
 * stand-in of its own ServiceAccount, so each answers with the Google service account that the
 * ServiceAccount's `iam.gke.io/gcp-service-account` annotation names — and only when that account
 * grants the ServiceAccount `roles/iam.workloadIdentityUser`, as GKE's metadata server requires
 * (https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity). A ServiceAccount
 * without the annotation gets the pool's federated identity, which can sign nothing.
 *
 * `signBlob` (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/signBlob)
 * takes the caller's bearer token, and signs with the account's own RSA key (RSASSA-PKCS1-v1_5,
 * SHA-256) only when the caller holds a role with `iam.serviceAccounts.signBlob` on that account —
 * a signer signing as itself needs it too, which is why the IAM step binds the bootstrap's URL
 * signer role (signBlob and nothing else) on each signing account, to itself (iam/stackIam.ts).
 * The GCS stand-in verifies signed URLs with the matching public keys ({@link WorkloadIdentities.publicKey}).
 */
import { createHash, generateKeyPair, randomBytes, sign, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SIGN_BLOB, WORKLOAD_IDENTITY_USER, allows, type StackIam } from "./stackIam";

/** A Kubernetes ServiceAccount and the Google service account it is annotated with. */
export interface ServiceAccountRef {
    readonly namespace: string;
    readonly name: string;
    /** `iam.gke.io/gcp-service-account`, if any. */
    readonly gsa?: string;
}

/** What one metadata stand-in answers. */
export interface MetadataEndpoint {
    readonly ksa: ServiceAccountRef;
    /** host:port for GCE_METADATA_HOST and GCE_METADATA_IP. */
    readonly host: string;
    /** The email it answers with (the federated pool's name when the ServiceAccount has no usable Google account). */
    readonly email: string;
    /** Why the annotated account is not used, when it is not. */
    readonly refused?: string;
}

/** Counters for the status table. */
export interface IdentityStats {
    tokens: number;
    signed: number;
    readonly refusals: string[];
}

interface Key {
    readonly privateKey: KeyObject;
    readonly publicKey: KeyObject;
    readonly keyId: string;
}

const METADATA_HEADERS = { "Metadata-Flavor": "Google", Server: "GKE Metadata Server (django-platform local stand-in)" };
const SCOPES = ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email"];

/** The project of a service account email (`name@project.iam.gserviceaccount.com`). */
export function projectOfAccount(email: string): string {
    return /@([a-z0-9-]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1] ?? "local-project";
}

/** Metadata stand-ins, tokens, keys and signBlob for one or more local runs. */
export class WorkloadIdentities {
    private readonly keys = new Map<string, Promise<Key>>();
    private readonly tokens = new Map<string, string>();
    private readonly servers: Server[] = [];
    readonly stats: IdentityStats = { tokens: 0, signed: 0, refusals: [] };

    /**
     * Starts the metadata stand-in of a ServiceAccount on a free loopback port. `iam` is the
     * stack's IAM (undefined when only manifests are known: the annotation is then trusted).
     */
    async metadataServer(ksa: ServiceAccountRef, iam: StackIam | undefined, project: string): Promise<MetadataEndpoint> {
        const pool = `${project}.svc.id.goog`;
        let email = pool;
        let refused: string | undefined;
        if (ksa.gsa) {
            const member = `serviceAccount:${pool}[${ksa.namespace}/${ksa.name}]`;
            const bound = iam === undefined || iam.accountBindings.some((b) => b.account === ksa.gsa && b.role === WORKLOAD_IDENTITY_USER && b.member.endsWith(`.svc.id.goog[${ksa.namespace}/${ksa.name}]`));
            if (bound) email = ksa.gsa;
            else refused = `${member} does not hold ${WORKLOAD_IDENTITY_USER} on ${ksa.gsa}`;
        }
        const server = createServer((req, res) => this.answerMetadata(req, res, email, project));
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve());
        });
        this.servers.push(server);
        const { port } = server.address() as AddressInfo;
        return { ksa, host: `127.0.0.1:${port}`, email, refused };
    }

    /** The public key the account signs with, once it has signed something. */
    async publicKey(email: string): Promise<KeyObject | undefined> {
        const key = this.keys.get(email);
        return key ? (await key).publicKey : undefined;
    }

    /** Handles `POST /v1/projects/-/serviceAccounts/{email}:signBlob` of the IAM Credentials API. */
    async signBlob(req: IncomingMessage, res: ServerResponse, iam: () => StackIam | undefined): Promise<void> {
        const match = /^\/v1\/projects\/-\/serviceAccounts\/([^/:?]+):signBlob(?:\?.*)?$/.exec(req.url ?? "");
        const body = await readBody(req);
        if (req.method !== "POST" || !match) return googleError(res, 404, "NOT_FOUND", `local IAM Credentials stand-in: no method ${req.method} ${req.url}`);
        const account = decodeURIComponent(match[1] as string);
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        const caller = token ? this.tokens.get(token) : undefined;
        if (!caller) return googleError(res, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.");
        const stackIam = iam();
        const allowed = stackIam ? allows(stackIam, `serviceAccount:${caller}`, SIGN_BLOB, account) : caller === account;
        if (!allowed) {
            this.stats.refusals.push(`signBlob as ${account} by ${caller}: no role with ${SIGN_BLOB} on it`);
            return googleError(res, 403, "PERMISSION_DENIED", `Permission 'iam.serviceAccounts.signBlob' denied on resource (or it may not exist).`);
        }
        let payload: Buffer;
        try {
            payload = Buffer.from(String((JSON.parse(body) as { payload?: unknown }).payload ?? ""), "base64");
        } catch {
            return googleError(res, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
        }
        const key = await this.keyOf(account);
        this.stats.signed += 1;
        res.writeHead(200, { "Content-Type": "application/json; charset=UTF-8" });
        res.end(JSON.stringify({ keyId: key.keyId, signedBlob: sign("sha256", payload, key.privateKey).toString("base64") }));
    }

    /** Closes every metadata stand-in. */
    async close(): Promise<void> {
        await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
        for (const s of this.servers) s.closeAllConnections();
        this.servers.length = 0;
    }

    private keyOf(email: string): Promise<Key> {
        let key = this.keys.get(email);
        if (!key) {
            key = new Promise<Key>((resolve, reject) =>
                generateKeyPair("rsa", { modulusLength: 2048 }, (error, publicKey, privateKey) => {
                    if (error) reject(error);
                    else resolve({ publicKey, privateKey, keyId: createHash("sha1").update(publicKey.export({ type: "spki", format: "der" })).digest("hex") });
                }),
            );
            this.keys.set(email, key);
        }
        return key;
    }

    private answerMetadata(req: IncomingMessage, res: ServerResponse, email: string, project: string): void {
        const url = new URL(req.url ?? "/", "http://metadata");
        const send = (status: number, body: string, type = "application/text") => {
            res.writeHead(status, { ...METADATA_HEADERS, "Content-Type": type });
            res.end(body);
        };
        if (req.headers["metadata-flavor"] !== "Google") return send(403, "Missing required header \"Metadata-Flavor\": \"Google\"\n", "text/html");
        if (req.headers["x-forwarded-for"]) return send(403, "Request denied: X-Forwarded-For\n", "text/html");
        const path = url.pathname;
        if (path === "/") return send(200, "computeMetadata/\n");
        const account = /^\/computeMetadata\/v1\/instance\/service-accounts\/([^/]+)\/(.*)$/.exec(path);
        if (account) {
            const [, which, rest] = account as unknown as [string, string, string];
            if (which !== "default" && which !== email) return send(404, "Not Found\n", "text/html");
            if (rest === "" && url.searchParams.get("recursive") === "true") {
                return send(200, JSON.stringify({ aliases: ["default"], email, scopes: SCOPES }), "application/json");
            }
            if (rest === "email") return send(200, email);
            if (rest === "scopes") return send(200, `${SCOPES.join("\n")}\n`);
            if (rest === "token") {
                const token = `ya29.local-${randomBytes(24).toString("base64url")}`;
                this.tokens.set(token, email);
                this.stats.tokens += 1;
                return send(200, JSON.stringify({ access_token: token, expires_in: 3599, token_type: "Bearer" }), "application/json");
            }
            return send(404, "Not Found\n", "text/html");
        }
        if (path === "/computeMetadata/v1/instance/service-accounts/") return send(200, `default/\n${email}/\n`);
        if (path === "/computeMetadata/v1/project/project-id") return send(200, project);
        if (path === "/computeMetadata/v1/project/numeric-project-id") return send(200, "123456789012");
        if (path === "/computeMetadata/v1/universe/universe-domain") return send(200, "googleapis.com");
        return send(404, "Not Found\n", "text/html");
    }
}

/** Reads a request body (small JSON bodies only). */
export function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

/** A Google API error body (`{"error": {code, message, status}}`). */
export function googleError(res: ServerResponse, code: number, status: string, message: string): void {
    res.writeHead(code, { "Content-Type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify({ error: { code, message, status } }));
}
