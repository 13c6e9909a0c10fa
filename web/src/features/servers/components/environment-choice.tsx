import { useId } from "react";
import type { EnvironmentOffer } from "../api/get-environments";
import type { StartOptions } from "../api/start-server";

/**
 * The choice of environment (a radio per environment, with its description) and size, only of what the user's
 * policies offer; nothing to choose when there is at most one environment and no size.
 */
export function EnvironmentChoice({ offer, value, onChange }: { offer: EnvironmentOffer; value: StartOptions; onChange: (v: StartOptions) => void }) {
  const sizeId = useId();
  const { environments, sizes } = offer;
  if (environments.length <= 1 && sizes.length === 0) return null;
  const profile = value.profile ?? offer.default ?? undefined;
  return (
    <>
      {environments.length > 1 && (
        <fieldset className="environments">
          <legend>Environment</legend>
          {environments.map((e) => (
            <label key={e.name} className="environment">
              <input type="radio" name="environment" value={e.name} checked={profile === e.name} onChange={() => onChange({ ...value, profile: e.name })} />
              <span>
                <strong>{e.display_name}</strong>
                {e.gpus > 0 && ` · ${e.gpus} GPU`}
                {e.description && <span className="muted"> — {e.description}</span>}
              </span>
            </label>
          ))}
        </fieldset>
      )}
      {sizes.length > 0 && (
        <>
          <label htmlFor={sizeId}>Size</label>
          <select id={sizeId} value={value.size ?? ""} onChange={(e) => onChange({ ...value, size: e.target.value || undefined })}>
            <option value="">The environment's own</option>
            {sizes.map((s) => (
              <option key={s.name} value={s.name}>
                {s.display_name}
              </option>
            ))}
          </select>
        </>
      )}
    </>
  );
}
