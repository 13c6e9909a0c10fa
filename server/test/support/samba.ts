/**
 * A throwaway, real Samba Active Directory domain controller for tests: `startSamba()` provisions the domain EXAMPLE
 * (realm AD.EXAMPLE.ORG, base DN DC=ad,DC=example,DC=org) into a temporary directory, keeps only the LDAP service
 * (`server services = ldap`) with a self-signed certificate for 127.0.0.1, loads the people and groups below straight
 * into the new sam.ldb (one Python process on Samba's own bindings: much faster than a samba-tool call per object),
 * and starts `samba -M single` in the foreground.
 *
 *   alice "Alice Liddell"  staff, research       (DN CN=Alice Liddell,CN=Users,…)
 *   bob                    staff, ops
 *   carol                  engineering only — and engineering is itself a member of staff (a nested group)
 *   ganymede-svc           no groups: the hub's service account (any domain user may search the directory)
 *
 * Samba's LDAP ports cannot be moved: it needs 127.0.0.1:389, 636, 3268 and 3269 free (and root). Test files run one
 * at a time (vitest.config.ts), so only one test file may use this.
 *
 * No process or directory is left behind: samba runs under a small shell watchdog whose stdin is a pipe from this
 * process, started before provisioning; when the pipe closes (stop(), normal exit, a crash, SIGKILL of the test
 * process) the watchdog stops samba (if started) and deletes the directory.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { canConnect, runTool, startWatchdog, stopWatchdog } from "./service-process.js";

export interface SambaServer {
  /** ldap://127.0.0.1:389 (simple binds allowed without TLS: `ldap server require strong auth = no`). */
  url: string;
  /** ldaps://127.0.0.1:636, with a self-signed certificate (caFile). */
  ldapsUrl: string;
  /** The PEM certificate to trust for ldapsUrl. */
  caFile: string;
  /** DC=ad,DC=example,DC=org */
  baseDn: string;
  /** CN=Users,DC=ad,DC=example,DC=org: where the people and the groups are. */
  usersDn: string;
  /** The service account, as a UPN (AD accepts UPNs as bind names). */
  bindDn: string;
  bindPassword: string;
  /** Passwords of the people in the directory, by sAMAccountName. */
  passwords: Record<"alice" | "bob" | "carol", string>;
  /** Stops samba and removes its directory. */
  stop(): Promise<void>;
}

export const SAMBA_PORTS = [389, 636, 3268, 3269];
const REALM = "AD.EXAMPLE.ORG";
const BASE_DN = "DC=ad,DC=example,DC=org";
const ADMIN_PASSWORD = "Samba-Admin-Secret-1";
const PASSWORDS = { alice: "alice-secret", bob: "bob-secret", carol: "carol-secret" };
const SERVICE = { name: "ganymede-svc", password: "svc-secret" };

/**
 * Fills the provisioned, not yet running, directory (argv: smb.conf, then the passwords as JSON). Complexity is
 * switched off first (pwdProperties bit DOMAIN_PASSWORD_COMPLEX), as `samba-tool domain passwordsettings set
 * --complexity=off` does, so the test passwords may be simple.
 */
const POPULATE = `
import json, sys
import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
lp = LoadParm(); lp.load(sys.argv[1])
pw = json.loads(sys.argv[2])
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
base = str(db.domain_dn())
props = int(db.search(base, scope=ldb.SCOPE_BASE, attrs=["pwdProperties"])[0]["pwdProperties"][0])
m = ldb.Message(); m.dn = ldb.Dn(db, base)
m["pwdProperties"] = ldb.MessageElement(str(props & ~1), ldb.FLAG_MOD_REPLACE, "pwdProperties")
db.modify(m)
db.newuser("alice", pw["alice"], givenname="Alice", surname="Liddell", useusernameascn=None)
db.newuser("bob", pw["bob"])
db.newuser("carol", pw["carol"])
db.newuser(pw["serviceName"], pw["service"])
for group in ["staff", "research", "ops", "engineering"]:
    db.newgroup(group)
for group, members in [("staff", ["alice", "bob", "engineering"]), ("research", ["alice"]), ("ops", ["bob"]), ("engineering", ["carol"])]:
    db.add_remove_group_members(group, members, add_members_operation=True)
`;

/**
 * Waits for "start" on stdin while this process provisions; then runs samba until stdin closes. Whatever happens,
 * the directory goes when stdin closes. samba gets SIGTERM, then SIGKILL after 5 s.
 */
const WATCHDOG = `
dir=$1; shift
exec 2>>"$dir/watchdog.log"
pid=
read -r go || go=
if [ "$go" = start ]; then
  "$@" >>"$dir/samba.out" 2>&1 </dev/null &
  pid=$!
  cat >/dev/null
fi
if [ -n "$pid" ]; then
  kill $pid 2>/dev/null
  i=0
  while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  kill -9 $pid 2>/dev/null
  wait $pid
fi
rm -rf "$dir"
# Cut short while provisioning: let the tools (killed with this process, see run()) finish dying, then clean again.
[ "$go" = start ] || { sleep 1; rm -rf "$dir"; }
`;

export async function startSamba(): Promise<SambaServer> {
  for (const tool of ["/usr/bin/samba-tool", "/usr/sbin/samba", "/usr/bin/ldapsearch"]) {
    if (!existsSync(tool)) throw new Error(`${tool} not found: run scripts/setup.sh --for-tests, which installs Debian's samba, winbind, krb5-user and ldap-utils`);
  }
  for (const port of SAMBA_PORTS) {
    if (await canConnect(port)) {
      throw new Error(`127.0.0.1:${port} is already taken (another Samba or LDAP server?): a Samba AD DC's LDAP ports cannot be moved, so the Active Directory tests need 389, 636, 3268 and 3269 free`);
    }
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "ganymede-samba-"));
  const conf = path.join(dir, "etc/smb.conf");
  const watchdog = startWatchdog(["sh", "-c", WATCHDOG, "watchdog", dir, "/usr/sbin/samba", "-s", conf, "-l", dir, "-M", "single", "--foreground", "--no-process-group"]);
  const stop = async () => {
    await stopWatchdog(watchdog);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const option = (o: string) => `--option=${o}`;
    await runTool([
      "/usr/bin/samba-tool", "domain", "provision", `--realm=${REALM}`, "--domain=EXAMPLE", "--server-role=dc", "--dns-backend=NONE",
      "--host-name=ganymede-dc", `--adminpass=${ADMIN_PASSWORD}`, `--targetdir=${dir}`,
      option("interfaces=lo"), option("bind interfaces only=yes"), option("netbios name=GANYMEDE-DC"),
      option(`pid directory=${dir}/pid`), option(`ncalrpc dir=${dir}/ncalrpc`), option(`winbindd socket directory=${dir}/winbindd`),
      option(`ntp signd socket directory=${dir}/ntp_signd`), option(`log file=${dir}/samba.log`),
    ], { dieWithTest: true });
    mkdirSync(path.join(dir, "tls"), { mode: 0o700 });
    const [key, cert] = [path.join(dir, "tls/key.pem"), path.join(dir, "tls/cert.pem")];
    await runTool([
      "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert,
    ], { dieWithTest: true });
    // Only LDAP; simple binds over plain ldap:// too (provisioning drops this option if given on its command line).
    const provisioned = readFileSync(conf, "utf8");
    if (!/^\s*server services = .*$/m.test(provisioned)) throw new Error(`unexpected smb.conf:\n${provisioned}`);
    writeFileSync(
      conf,
      provisioned.replace(
        /^\s*server services = .*$/m,
        [
          "\tserver services = ldap",
          "\tldap server require strong auth = no",
          "\ttls enabled = yes",
          `\ttls keyfile = ${key}`,
          `\ttls certfile = ${cert}`,
          "\ttls cafile =",
        ].join("\n"),
      ),
    );
    await runTool(["/usr/bin/python3", "-c", POPULATE, conf, JSON.stringify({ ...PASSWORDS, serviceName: SERVICE.name, service: SERVICE.password })], { dieWithTest: true });
    watchdog.stdin!.write("start\n");
    const server: SambaServer = {
      url: "ldap://127.0.0.1:389",
      ldapsUrl: "ldaps://127.0.0.1:636",
      caFile: cert,
      baseDn: BASE_DN,
      usersDn: `CN=Users,${BASE_DN}`,
      bindDn: `${SERVICE.name}@${REALM.toLowerCase()}`,
      bindPassword: SERVICE.password,
      passwords: { ...PASSWORDS },
      stop,
    };
    await waitReady(server, watchdog);
    return server;
  } catch (err) {
    const log = readLogs(dir);
    await stop();
    throw new Error(`samba did not start: ${(err as Error).message}\n${log}`);
  }
}


/** Ready when the service account can bind and search over ldaps:// (Samba has no whoami extended operation). */
async function waitReady(server: SambaServer, watchdog: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    if (watchdog.exitCode !== null) throw new Error(`watchdog exited with ${watchdog.exitCode}`);
    if (await canConnect(636)) {
      try {
        await runTool(
          ["/usr/bin/ldapsearch", "-x", "-H", server.ldapsUrl, "-D", server.bindDn, "-w", server.bindPassword, "-b", server.usersDn, "-s", "base", "dn"],
          { env: { LDAPTLS_CACERT: server.caFile }, dieWithTest: true },
        );
        return;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}


function readLogs(dir: string): string {
  return ["samba.out", "samba.log", "watchdog.log"]
    .map((name) => {
      try {
        return readFileSync(path.join(dir, name), "utf8").split("\n").slice(-40).join("\n");
      } catch {
        return "";
      }
    })
    .filter(Boolean)
    .join("\n");
}

