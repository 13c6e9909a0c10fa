import { formatBytes } from "../../../lib/format";
import type { QuotaAmount, User } from "../types";

const cpus = (n: number) => `${Number(n.toFixed(3))}`;

const ROWS: { key: keyof User["quotas"]; label: string; format: (n: number) => string; unit: string }[] = [
  { key: "running_servers", label: "Servers running", format: String, unit: "" },
  { key: "cpu", label: "CPU", format: cpus, unit: " in use" },
  { key: "memory_bytes", label: "Memory", format: formatBytes, unit: " in use" },
  { key: "storage_bytes", label: "Storage", format: formatBytes, unit: " held by your servers" },
];

/**
 * The user's quotas across their servers, each drawn as a meter with the numbers beside it ("CPU 1 of 2 in use");
 * only the quotas their policy sets. Nothing when it sets none.
 */
export function QuotaUse({ quotas }: { quotas: User["quotas"] }) {
  const shown = ROWS.filter((row) => quotas[row.key].limit !== null);
  if (shown.length === 0) return null;
  return (
    <section aria-labelledby="quota-title" className="card quota-use">
      <h2 id="quota-title">Your quota</h2>
      <dl className="facts">
        {shown.map((row) => (
          <QuotaRow key={row.key} label={row.label} amount={quotas[row.key]} format={row.format} unit={row.unit} />
        ))}
      </dl>
    </section>
  );
}

function QuotaRow({ label, amount, format, unit }: { label: string; amount: QuotaAmount; format: (n: number) => string; unit: string }) {
  const limit = amount.limit!;
  return (
    <>
      <dt>{label}</dt>
      <dd className="storage" data-testid={`quota-${label.toLowerCase().replace(/ /g, "-")}`}>
        <meter min={0} max={limit} low={limit * 0.75} high={limit * 0.9} optimum={0} value={amount.used} aria-hidden="true" />
        {format(amount.used)} of {format(limit)}
        {unit}
      </dd>
    </>
  );
}
