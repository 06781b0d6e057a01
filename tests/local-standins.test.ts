/**
 * The local stand-ins on their own (cli/lib/local/), against what Google's and Kubernetes'
 * documentation and the client libraries say they answer (docs/gcp-facts.md):
 *
 * - the metadata server as google-auth asks it (the venv's own google-auth, through
 *   GCE_METADATA_HOST/GCE_METADATA_IP: it detects the server, reads the email and a token), and as
 *   GKE's Workload Identity answers: only with the roles/iam.workloadIdentityUser binding;
 * - IAM signBlob: only for a caller holding a role with iam.serviceAccounts.signBlob on the account
 *   (the bootstrap's URL signer role, which the IAM step binds on each signing account to itself);
 * - V4 signed URLs made by the venv's google-cloud-storage pass the check, a changed path,
 *   signature or an expired date does not;
 * - a Memory emptyDir is a tmpfs of its sizeLimit in the sandbox, the rest read-only;
 * - `0.0.0.0:<port>` arguments move to loopback.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { venvPython, imageBaseEnv } from "../cli/lib/appPython";
import { checkV4Signature } from "../cli/lib/local/gcs";
import { WorkloadIdentities } from "../cli/lib/local/identity";
import { rebind } from "../cli/lib/local/plan";
import { run } from "../cli/lib/local/processes";
import { detectIsolation, quantityBytes, sandboxed } from "../cli/lib/local/sandbox";
import { WORKLOAD_IDENTITY_USER, type StackIam } from "../cli/lib/local/stackIam";
import { tempDir } from "./lib/localServers";

const WEB = "dj-test-web@acme-test.iam.gserviceaccount.com";
const OTHER = "dj-test-other@acme-test.iam.gserviceaccount.com";
const IAM: StackIam = {
  accountBindings: [
    { account: WEB, role: WORKLOAD_IDENTITY_USER, member: "serviceAccount:acme-test.svc.id.goog[ns/web]" },
    // The bootstrap's URL signer role (signBlob only), as the IAM step binds it: on each account, to itself.
    { account: WEB, role: "projects/acme-test/roles/djangoPlatformUrlSigner", member: `serviceAccount:${WEB}` },
    { account: OTHER, role: "projects/acme-test/roles/djangoPlatformUrlSigner", member: `serviceAccount:${OTHER}` },
    // A role without signBlob on OTHER does not let WEB sign as it.
    { account: OTHER, role: "roles/iam.serviceAccountUser", member: `serviceAccount:${WEB}` },
  ],
  publicBuckets: new Set(),
};

function post(port: number, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("Workload Identity: the metadata server and signBlob", () => {
  const identities = new WorkloadIdentities();
  let iamServer: import("node:http").Server;
  let iamPort = 0;

  before(async () => {
    const { createServer } = await import("node:http");
    iamServer = createServer((req, res) => void identities.signBlob(req, res, () => IAM));
    await new Promise<void>((resolve) => iamServer.listen(0, "127.0.0.1", () => resolve()));
    iamPort = (iamServer.address() as { port: number }).port;
  });

  after(async () => {
    iamServer.close();
    await identities.close();
  });

  test("google-auth finds it through GCE_METADATA_HOST/IP and gets the bound account's email and a token", async () => {
    const endpoint = await identities.metadataServer({ namespace: "ns", name: "web", gsa: WEB }, IAM, "acme-test");
    assert.equal(endpoint.email, WEB);
    const script = "import google.auth, google.auth.transport.requests as r\n" +
      "creds, project = google.auth.default(scopes=['https://www.googleapis.com/auth/cloud-platform'])\n" +
      "creds.refresh(r.Request())\nprint(project, creds.service_account_email, creds.token.startswith('ya29.'))";
    const out = await run(venvPython(), ["-c", script], { env: { ...imageBaseEnv(), HOME: "/nonexistent", GCE_METADATA_HOST: endpoint.host, GCE_METADATA_IP: endpoint.host } });
    assert.equal(out.stdout.trim(), `acme-test ${WEB} True`);
  });

  test("without the workloadIdentityUser binding, the ServiceAccount gets the pool's identity, not the annotated account", async () => {
    const endpoint = await identities.metadataServer({ namespace: "ns", name: "other", gsa: OTHER }, IAM, "acme-test");
    assert.equal(endpoint.email, "acme-test.svc.id.goog");
    assert.match(endpoint.refused ?? "", /does not hold roles\/iam\.workloadIdentityUser on dj-test-other@/);
  });

  test("a request without Metadata-Flavor: Google is refused", async () => {
    const endpoint = await identities.metadataServer({ namespace: "ns", name: "web", gsa: WEB }, IAM, "acme-test");
    const [host, port] = endpoint.host.split(":");
    const status = await new Promise<number>((resolve) => request({ host, port: Number(port), path: "/computeMetadata/v1/project/project-id" }, (res) => resolve(res.statusCode ?? 0)).end());
    assert.equal(status, 403);
  });

  test("signBlob signs for a caller holding a role with iam.serviceAccounts.signBlob on the account (the URL signer role), and refuses others", async () => {
    const endpoint = await identities.metadataServer({ namespace: "ns", name: "web", gsa: WEB }, IAM, "acme-test");
    const token = await run(venvPython(), ["-c", "import google.auth.compute_engine as c, google.auth.transport.requests as r\nx = c.Credentials()\nx.refresh(r.Request())\nprint(x.token)"], {
      env: { ...imageBaseEnv(), HOME: "/nonexistent", GCE_METADATA_HOST: endpoint.host, GCE_METADATA_IP: endpoint.host },
    });
    const auth = { authorization: `Bearer ${token.stdout.trim()}`, "content-type": "application/json" };
    const body = JSON.stringify({ payload: Buffer.from("to sign").toString("base64") });
    const own = await post(iamPort, `/v1/projects/-/serviceAccounts/${WEB}:signBlob?alt=json`, auth, body);
    assert.equal(own.status, 200, own.body);
    assert.ok((JSON.parse(own.body) as { signedBlob?: string }).signedBlob);
    const other = await post(iamPort, `/v1/projects/-/serviceAccounts/${OTHER}:signBlob?alt=json`, auth, body);
    assert.equal(other.status, 403);
    assert.match(other.body, /iam\.serviceAccounts\.signBlob/);
    assert.equal((await post(iamPort, `/v1/projects/-/serviceAccounts/${WEB}:signBlob`, { "content-type": "application/json" }, body)).status, 401);
  });

  test("a V4 URL that google-cloud-storage signs through signBlob passes the check; changed or expired ones do not", async () => {
    const endpoint = await identities.metadataServer({ namespace: "ns", name: "web", gsa: WEB }, IAM, "acme-test");
    // google-cloud-storage posts to https://iamcredentials.googleapis.com: here its signer is given the stand-in directly.
    const script = [
      "import datetime, google.auth.compute_engine as c, google.auth.transport.requests as r",
      "from google.cloud.storage import _signing",
      "x = c.Credentials(); x.refresh(r.Request())",
      "import requests",
      `def sign(message, access_token, email, universe_domain=None):`,
      `    body = {"payload": __import__("base64").b64encode(message.encode()).decode()}`,
      `    return requests.post("http://127.0.0.1:${iamPort}/v1/projects/-/serviceAccounts/%s:signBlob" % email, json=body, headers={"Authorization": "Bearer " + access_token}).json()["signedBlob"]`,
      "_signing._sign_message = sign",
      `print(_signing.generate_signed_url_v4(None, resource="/media-bucket/uploads/a%20b.txt", expiration=datetime.timedelta(hours=1), api_access_endpoint="http://127.0.0.1:4443", service_account_email="${WEB}", access_token=x.token))`,
    ].join("\n");
    const out = await run(venvPython(), ["-c", script], { env: { ...imageBaseEnv(), HOME: "/nonexistent", GCE_METADATA_HOST: endpoint.host, GCE_METADATA_IP: endpoint.host } });
    const url = new URL(out.stdout.trim());
    const raw = `${url.pathname}${url.search}`;
    const key = (email: string) => identities.publicKey(email);
    assert.deepEqual(await checkV4Signature("GET", raw, url.host, key), { ok: true, signer: WEB });
    assert.equal((await checkV4Signature("GET", raw.replace("a%20b.txt", "c.txt"), url.host, key)).ok, false, "another object");
    assert.equal((await checkV4Signature("GET", raw, "127.0.0.1:9999", key)).ok, false, "another host");
    assert.equal((await checkV4Signature("DELETE", raw, url.host, key)).ok, false, "another method");
    const expired = await checkV4Signature("GET", raw, url.host, key, Date.now() + 2 * 3600_000);
    assert.deepEqual(expired.ok ? undefined : expired.code, "ExpiredToken");
  });
});

describe("the container's filesystem", () => {
  test("a Memory emptyDir is a tmpfs of its sizeLimit; the rest of the filesystem is read-only", async (t) => {
    const isolation = await detectIsolation();
    if (isolation.kind === "none") {
      t.skip(`no mount namespaces here: ${isolation.reason}`);
      return;
    }
    const dir = tempDir("sandbox-");
    const cmd = sandboxed(isolation, ["/bin/sh", "-c", `df -B1 --output=fstype,size /tmp | tail -1; touch /tmp/ok && echo tmp-writable; touch ${dir}/x 2>/dev/null || echo root-read-only`], [
      { path: "/tmp", medium: "Memory", sizeLimit: "64Mi", hostDir: dir },
    ]);
    const out = await run(cmd.command, cmd.args, { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
    const [fs, size] = out.stdout.trim().split("\n")[0]?.trim().split(/\s+/) ?? [];
    assert.equal(fs, "tmpfs");
    assert.equal(Number(size), quantityBytes("64Mi"));
    assert.match(out.stdout, /tmp-writable/);
    assert.match(out.stdout, /root-read-only/);
  });
});

test("0.0.0.0:<container port> arguments move to a loopback port, others stay", () => {
  assert.deepEqual(rebind(["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2"], 8000, 41000).args, ["gunicorn", "--bind", "127.0.0.1:41000", "--workers", "2"]);
  assert.deepEqual(rebind(["--bind=0.0.0.0:8000"], 8000, 41000).args, ["--bind=127.0.0.1:41000"]);
  assert.deepEqual(rebind(["--bind", "0.0.0.0:80000"], 8000, 41000).rewrites, []);
  assert.equal(quantityBytes("1G"), 1e9);
});
