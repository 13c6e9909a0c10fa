/**
 * What one user's code can do to another user and to the hub, asked from inside a real kernel: each probe is a
 * Python operation (read a file, list a folder, write, signal or ptrace a process, connect to a socket) that should
 * fail, and the test gets back which exception it raised. The same probes run against every spawner backend; only
 * the paths, PIDs and addresses differ.
 */
import { execute, type KernelTarget } from "./kernel.js";

export type Probe =
  | { kind: "read"; path: string }
  | { kind: "list"; path: string }
  | { kind: "write"; path: string }
  | { kind: "kill"; pid: number }
  | { kind: "ptrace"; pid: number }
  | { kind: "unix"; path: string }
  | { kind: "tcp"; host: string; port: number };

/**
 * `"allowed"` when the operation succeeded (a listing's names in `detail`, as JSON), else the Python exception's
 * class name (and its message in `detail`).
 */
export interface ProbeResult {
  outcome: string;
  detail: string;
}

/**
 * Outcomes that mean "refused": no permission, or not even visible (a sandbox hides the path, a PID namespace the
 * process), or nothing answers.
 */
export const REFUSED = new Set([
  "PermissionError",
  "FileNotFoundError",
  "ProcessLookupError",
  "ConnectionRefusedError",
  "TimeoutError",
  "OSError:EROFS",
]);

const RUNNER = String.raw`
import ctypes, errno, json, os, signal, socket
def _probe(p):
    k = p["kind"]
    if k == "read":
        with open(p["path"], "rb") as f: f.read(16)
    elif k == "list":
        return sorted(os.listdir(p["path"]))
    elif k == "write":
        with open(p["path"], "wb") as f: f.write(b"probe")
    elif k == "kill":
        os.kill(p["pid"], signal.SIGTERM)
    elif k == "ptrace":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        if libc.ptrace(16, p["pid"], None, None) != 0:  # PTRACE_ATTACH
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        libc.ptrace(17, p["pid"], None, None)  # PTRACE_DETACH
    elif k == "unix":
        s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(p["path"]); s.close()
    elif k == "tcp":
        s = socket.create_connection((p["host"], p["port"]), timeout=3); s.close()
def _name(e):
    n = type(e).__name__
    if n == "OSError" and e.errno in (errno.EROFS, errno.EPERM, errno.EACCES, errno.ESRCH):
        return {errno.EROFS: "OSError:EROFS", errno.EPERM: "PermissionError", errno.EACCES: "PermissionError", errno.ESRCH: "ProcessLookupError"}[e.errno]
    if n in ("timeout",): return "TimeoutError"
    return n
_out = {}
for _label, _p in json.loads(__PROBES__).items():
    try:
        _r = _probe(_p); _out[_label] = {"outcome": "allowed", "detail": "" if _r is None else json.dumps(_r)}
    except Exception as e:
        _out[_label] = {"outcome": _name(e), "detail": str(e)}
print("PROBES" + json.dumps(_out))
`;

/** Runs every probe in the kernel and returns the outcome of each, by label. */
export async function runProbes(
  target: KernelTarget,
  kernelId: string,
  probes: Record<string, Probe>,
): Promise<Record<string, ProbeResult>> {
  const code = RUNNER.replace("__PROBES__", JSON.stringify(JSON.stringify(probes)));
  const out = await execute(target, kernelId, code, 60_000);
  const line = out.split("\n").find((l) => l.startsWith("PROBES"));
  if (!line) throw new Error(`the probe runner printed no result: ${out}`);
  return JSON.parse(line.slice("PROBES".length)) as Record<string, ProbeResult>;
}

/** The labels of probes that were not refused, with what happened (an empty object means all were refused). */
export function notRefused(results: Record<string, ProbeResult>): Record<string, ProbeResult> {
  return Object.fromEntries(Object.entries(results).filter(([, r]) => !REFUSED.has(r.outcome)));
}

/** The kernel's Unix identity. */
export async function identityOf(
  target: KernelTarget,
  kernelId: string,
): Promise<{ uid: number; gid: number; groups: number[]; pid: number; home: string }> {
  const code = 'import json, os; print("ID" + json.dumps({"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(), "home": os.path.expanduser("~")}))';
  const out = await execute(target, kernelId, code);
  const line = out.split("\n").find((l) => l.startsWith("ID"));
  if (!line) throw new Error(`no identity printed: ${out}`);
  return JSON.parse(line.slice(2)) as { uid: number; gid: number; groups: number[]; pid: number; home: string };
}

/**
 * Starts a fork bomb in the kernel's server, detached from the kernel: every process forks as fast as it can,
 * sleeping briefly when fork fails; each gives up after `seconds` so a failed test cannot leave it running forever.
 */
export async function startForkBomb(target: KernelTarget, kernelId: string, seconds = 120): Promise<void> {
  const bomb = `import os, time\\nend = time.time() + ${seconds}\\nwhile time.time() < end:\\n    try:\\n        os.fork()\\n    except OSError:\\n        time.sleep(0.05)\\nos._exit(0)`;
  const code = `import subprocess, sys; subprocess.Popen([sys.executable, "-c", "${bomb}"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print("BOMB")`;
  const out = await execute(target, kernelId, code);
  if (!out.includes("BOMB")) throw new Error(`the fork bomb did not start: ${out}`);
}
