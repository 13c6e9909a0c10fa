/** Minimal server-rendered HTML for the few answers that are not the dashboard's (not running, dashboard not built). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — Ganymede</title>
<style>
body{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2330;margin:0;display:grid;place-items:center;min-height:100vh}
.card{background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0001;max-width:28rem;width:calc(100% - 2rem)}
label{display:block;margin:.75rem 0}input{display:block;width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;background:#2c4fd6;color:#fff;border:0;border-radius:6px}
.error{color:#a40000;background:#fde8e8;padding:.5rem;border-radius:6px}
</style></head><body>${body}</body></html>`;
}
