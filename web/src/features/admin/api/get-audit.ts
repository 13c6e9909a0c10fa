import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { AuditFilters, AuditPage } from "../types";

const PAGE = 50;

/** The query string of the audit API for `filters` (empty ones left out), for a page and for the export. */
export function auditQuery(filters: AuditFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  for (const [key, value] of Object.entries(filters)) if (value.trim()) params.set(key, value.trim());
  return params.toString();
}

export function getAudit(filters: AuditFilters, before: number | undefined, signal?: AbortSignal): Promise<AuditPage> {
  const query = auditQuery(filters, { limit: String(PAGE), ...(before ? { before: String(before) } : {}) });
  return api<AuditPage>(`/audit?${query}`, { signal });
}

/** One page of the trail, newest first; polled on the first page so new events show up. */
export function useAudit(filters: AuditFilters, before: number | undefined) {
  return useQuery({
    queryKey: ["audit", filters, before],
    queryFn: ({ signal }) => getAudit(filters, before, signal),
    placeholderData: keepPreviousData,
    refetchInterval: before === undefined ? 10_000 : false,
  });
}
