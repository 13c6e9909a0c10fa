/**
 * A throwaway, real OpenLDAP server for tests: `startSlapd()` writes a slapd.conf (back_mdb, the core / cosine /
 * inetorgperson / nis schemas, the memberof overlay), a self-signed certificate for 127.0.0.1, starts slapd on free
 * loopback ports for ldap:// and ldaps://, and loads test/fixtures/directory.ldif with ldapadd (through the running
 * server, so the memberof overlay fills in memberOf).
 *
 * No process is left behind: slapd runs under a small shell watchdog whose stdin is a pipe from this process; when
 * the pipe closes (stop(), normal exit, a crash, SIGKILL of the test process) the watchdog stops slapd and deletes
 * the directory.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "./paths.js";
import { canConnect, freePort, runTool, startWatchdog, stopWatchdog } from "./service-process.js";

export interface SlapdServer {
  /** ldap://<host>:<port> (127.0.0.1 unless started with another host) */
  url: string;
  /** ldaps://<host>:<port>, with a certificate signed by… itself (caFile). */
  ldapsUrl: string;
  /** The PEM certificate to trust for ldapsUrl. */
  caFile: string;
  /** The fixture's service account (may search people and groups). */
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  /** Stops slapd and removes its directory. */
  stop(): Promise<void>;
}

export const FIXTURE_LDIF = path.join(repoRoot, "server/test/fixtures/directory.ldif");
const BASE_DN = "dc=example,dc=org";
const ROOT_DN = `cn=admin,${BASE_DN}`;
const ROOT_PW = "slapd-root-secret";

const slapdConf = (dir: string) => `
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile ${dir}/slapd.pid
TLSCertificateFile ${dir}/cert.pem
TLSCertificateKeyFile ${dir}/key.pem
database mdb
maxsize 16777216
suffix "${BASE_DN}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PW}
directory ${dir}/db
dbnosync
index objectClass,uid,member eq
overlay memberof
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
`;

/** Keeps slapd in the foreground (-d 0) and stops it when stdin closes; see postgres.ts for the same pattern. */
const WATCHDOG = `
dir=$1; shift
exec 2>>"$dir/slapd.log"
"$@" >>"$dir/slapd.log" 2>&1 </dev/null &
pid=$!
cat >/dev/null
kill $pid 2>/dev/null; wait $pid
rm -rf "$dir"
`;

/** `host`: the address slapd listens on (default loopback; the chart's test gives the one pods reach this machine at). */
export async function startSlapd(options: { host?: string } = {}): Promise<SlapdServer> {
  const host = options.host ?? "127.0.0.1";
  if (!existsSync("/usr/sbin/slapd") || !existsSync("/usr/bin/ldapadd")) {
    throw new Error("slapd / ldapadd not found: run scripts/setup.sh --for-tests, which installs Debian's slapd and ldap-utils");
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "ganymede-slapd-"));
  let watchdog: ChildProcess | undefined;
  const stop = async () => {
    if (watchdog) await stopWatchdog(watchdog);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await runTool(["mkdir", "-p", path.join(dir, "db")]);
    await runTool([
      "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
      "-subj", `/CN=${host}`, "-addext", `subjectAltName=DNS:localhost,IP:${host}`,
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
    ]);
    writeFileSync(path.join(dir, "slapd.conf"), slapdConf(dir));
    const [ldapPort, ldapsPort] = [await freePort(), await freePort()];
    const url = `ldap://${host}:${ldapPort}`;
    const ldapsUrl = `ldaps://${host}:${ldapsPort}`;
    const slapd = ["/usr/sbin/slapd", "-f", path.join(dir, "slapd.conf"), "-h", `${url}/ ${ldapsUrl}/`, "-d", "0"];
    watchdog = startWatchdog(["sh", "-c", WATCHDOG, "watchdog", dir, ...slapd]);
    await waitListening(host, ldapPort, watchdog, dir);
    await runTool(["ldapadd", "-x", "-H", url, "-D", ROOT_DN, "-w", ROOT_PW, "-f", FIXTURE_LDIF]);
    return {
      url,
      ldapsUrl,
      caFile: path.join(dir, "cert.pem"),
      bindDn: `cn=hub,ou=services,${BASE_DN}`,
      bindPassword: "hub-service-secret",
      baseDn: BASE_DN,
      stop,
    };
  } catch (err) {
    const log = readLog(dir);
    await stop();
    throw new Error(`slapd did not start: ${(err as Error).message}\n${log}`);
  }
}


async function waitListening(host: string, port: number, watchdog: ChildProcess, dir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (watchdog.exitCode !== null) throw new Error(`watchdog exited with ${watchdog.exitCode}`);
    if (await canConnect(port, host)) return;
    if (Date.now() > deadline) throw new Error(`not listening after ${timeoutMs} ms`);
    if (/daemon: bind|slapd stopped|failed/i.test(readLog(dir))) throw new Error("slapd exited");
    await new Promise((r) => setTimeout(r, 20));
  }
}


function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, "slapd.log"), "utf8");
  } catch {
    return "";
  }
}


