/**
 * Throw-away certificate authorities for the local stand-ins, made with the openssl command
 * (P-256 keys, valid for two days): one CA stands in for the Memorystore instance's own server CA
 * (the TLS Redis), another for the public CAs that sign Google's API endpoints (the HTTPS egress
 * stand-in for `iamcredentials.googleapis.com`). Each issues server certificates with the
 * subjectAltNames Python's ssl module checks.
 */
import { readFileSync, writeFileSync, mkdirSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { run } from "./processes";

/** A server certificate and its key, as files and PEM text. */
export interface ServerCertificate {
    readonly certFile: string;
    readonly keyFile: string;
    readonly cert: string;
    readonly key: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A certificate authority in a directory of its own. */
export class LocalCa {
    private serial = 1;

    private constructor(
        /** Directory holding the CA's key, certificate and what it issued. */
        readonly dir: string,
        /** The CA certificate, PEM. */
        readonly pem: string,
    ) {}

    /** The CA certificate's file (what REQUESTS_CA_BUNDLE or `--tls-ca-cert-file` names). */
    get certFile(): string {
        return join(this.dir, "ca.pem");
    }

    /** Creates a CA named `commonName` in `dir` (created, mode 0700). */
    static async create(dir: string, commonName: string): Promise<LocalCa> {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        await openssl(dir, [
            "req", "-x509", ...EC, "-days", "2", "-subj", `/CN=${commonName}`, "-keyout", "ca.key", "-out", "ca.pem",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        return new LocalCa(dir, readFileSync(join(dir, "ca.pem"), "utf8"));
    }

    /** Issues a server certificate for `names` (DNS names and IP addresses; the first is the subject CN). */
    async issue(names: readonly string[]): Promise<ServerCertificate> {
        const id = `server-${this.serial++}`;
        const ext = join(this.dir, `${id}.ext`);
        const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
        writeFileSync(ext, [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=serverAuth",
            `subjectAltName=${san}`,
            "authorityKeyIdentifier=keyid",
            "subjectKeyIdentifier=hash",
            "",
        ].join("\n"));
        await openssl(this.dir, ["req", ...EC, "-subj", `/CN=${names[0] ?? "localhost"}`, "-keyout", `${id}.key`, "-out", `${id}.csr`]);
        await openssl(this.dir, ["x509", "-req", "-in", `${id}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", String(this.serial), "-days", "2", "-extfile", ext, "-out", `${id}.pem`]);
        const keyFile = join(this.dir, `${id}.key`);
        chmodSync(keyFile, 0o600);
        const certFile = join(this.dir, `${id}.pem`);
        return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
    }
}

function openssl(cwd: string, args: readonly string[]): Promise<unknown> {
    return run("openssl", args, { cwd, env: { PATH: "/usr/bin:/bin" }, timeoutMs: 20_000 });
}
